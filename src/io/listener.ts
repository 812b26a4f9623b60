/**
 * The local HTTP receiver (node:http). It accepts POSTs on the webhook path, keeps the body byte for
 * byte within a size limit, and hands each request to the pipeline; everything else gets a short
 * 404/405. It never prints: it reports what happened through callbacks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type CapturedRequest, normalizeHeaders } from "../core/capture.js";
import { CliError } from "../errors.js";

export interface ListenerOptions {
  host: string;
  port: number;
  /** The webhook path, e.g. /webhooks (a trailing slash is accepted too). */
  path: string;
  maxBodySize: number;
}

export interface WebhookResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
  /** Told once what became of this answer, so nothing claims "answered" unless it was written. */
  onSettled?(fate: AnswerFate): void;
}

/**
 * What became of an answer: written to the sender, never delivered because the sender hung up
 * first, or replaced by a refusal (e.g. 503 at shutdown) with that status.
 */
export type AnswerFate = { kind: "written" } | { kind: "sender-gone" } | { kind: "refused"; status: number };

export type ListenerNotice =
  | { type: "ignored"; method: string; path: string; status: number; hint: string }
  | { type: "too-large"; method: string; path: string; limit: number; received: number }
  | { type: "handler-error"; message: string };

export interface ListenerHandlers {
  onWebhook(request: CapturedRequest): Promise<WebhookResponse>;
  onNotice(notice: ListenerNotice): void;
}

export interface RunningListener {
  /** http://host:port, without the path. */
  origin: string;
  port: number;
  /** Stop accepting, let requests in flight finish within `graceMs`, then drop what is left. */
  close(graceMs: number): Promise<void>;
}

const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;

export async function startListener(options: ListenerOptions, handlers: ListenerHandlers): Promise<RunningListener> {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const webhookPath = options.path.replace(/\/+$/, "") || "/";

  const server: Server = createServer((req, res) => {
    inFlight += 1;
    handle(req, res, options, webhookPath, handlers).finally(() => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;

  return {
    origin: `http://${host}:${port}`,
    port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            drained = resolve;
          }),
          new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

function listenError(error: NodeJS.ErrnoException, options: ListenerOptions): Error {
  if (error.code === "EADDRINUSE") {
    return new CliError(
      `port ${options.port} on ${options.host} is already in use (another listen running?); choose another with --port`,
      { code: "port_in_use" },
    );
  }
  if (error.code === "EACCES") {
    return new CliError(`no permission to listen on port ${options.port}; use a port above 1023 with --port`, {
      code: "port_in_use",
    });
  }
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") {
    return new CliError(`cannot listen on host ${options.host}: no such local address; check --host`);
  }
  return error;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ListenerOptions,
  webhookPath: string,
  handlers: ListenerHandlers,
): Promise<void> {
  const method = req.method ?? "GET";
  const rawPath = req.url ?? "/";
  const pathname = (rawPath.split("?")[0] ?? "/").replace(/\/+$/, "") || "/";

  if (pathname !== webhookPath) {
    const hint = `not a webhook: OpenMail POSTs to ${options.path}`;
    handlers.onNotice({ type: "ignored", method, path: rawPath, status: 404, hint });
    return reply(req, res, { status: 404, body: `openmail-hooks: ${hint}\n` });
  }
  if (method !== "POST") {
    const hint = "webhooks are POST requests";
    handlers.onNotice({ type: "ignored", method, path: rawPath, status: 405, hint });
    return reply(req, res, { status: 405, headers: { allow: "POST" }, body: `openmail-hooks: ${hint}\n` });
  }

  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > options.maxBodySize) {
    handlers.onNotice({ type: "too-large", method, path: rawPath, limit: options.maxBodySize, received: declared });
    return reply(req, res, tooLarge(options.maxBodySize), true);
  }

  const body = await readBody(req, options.maxBodySize);
  if (body === "too-large") {
    handlers.onNotice({ type: "too-large", method, path: rawPath, limit: options.maxBodySize, received: Number.NaN });
    return reply(req, res, tooLarge(options.maxBodySize), true);
  }
  if (body === "aborted") return;

  const request: CapturedRequest = {
    receivedAt: new Date().toISOString(),
    method,
    path: rawPath,
    headers: normalizeHeaders(req.headers),
    body,
  };
  let response: WebhookResponse;
  try {
    response = await handlers.onWebhook(request);
  } catch (error) {
    handlers.onNotice({ type: "handler-error", message: (error as Error).message });
    response = { status: 500, body: "openmail-hooks: internal error\n" };
  }
  reply(req, res, response);
  // Count the request as in flight until its answer is out, so close() never cuts an answer short.
  await answered(res);
}

function answered(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once("finish", resolve);
    res.once("close", resolve);
  });
}

function tooLarge(limit: number): WebhookResponse {
  return { status: 413, body: `openmail-hooks: body larger than ${limit} bytes (raise --max-body-size)\n` };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large" | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (value: Buffer | "too-large" | "aborted") => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.pause();
        settle("too-large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => settle(Buffer.concat(chunks, size)));
    req.on("error", () => settle("aborted"));
    req.on("close", () => settle(req.complete ? Buffer.concat(chunks, size) : "aborted"));
  });
}

function reply(req: IncomingMessage, res: ServerResponse, response: WebhookResponse, closeAfter = false): void {
  if (res.destroyed || res.headersSent) {
    response.onSettled?.({ kind: "sender-gone" });
    return;
  }
  if (response.onSettled) {
    const settled = response.onSettled;
    let told = false;
    const tell = (fate: AnswerFate) => {
      if (told) return;
      told = true;
      settled(fate);
    };
    res.once("finish", () => tell({ kind: "written" }));
    res.once("close", () => tell(res.writableFinished ? { kind: "written" } : { kind: "sender-gone" }));
  }
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8", ...response.headers };
  if (closeAfter) headers.connection = "close";
  res.writeHead(response.status, headers);
  res.end(response.body);
  // A refused oversized body is not drained: close the connection once the answer is out.
  if (closeAfter) res.on("finish", () => req.destroy());
}
