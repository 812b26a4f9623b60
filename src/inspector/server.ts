/**
 * The inspector: a local web page served by `listen` on 127.0.0.1 (node:http), showing every event
 * as an email, its signature checks, its forward and OpenMail's retries, with replay buttons. A JSON
 * API behind it, Server-Sent Events for live updates, a per-run token and Host/Origin checks
 * (guard.ts), and a strict Content-Security-Policy: the page renders payloads as text only.
 *
 * With no page open, noting an event costs one small object and nothing is written anywhere.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { CapturedRequest } from "../core/capture.js";
import { prepareReplay, UnverifiedCaptureError } from "../core/replay.js";
import { UnsendableRequestError } from "../core/request.js";
import { CliError } from "../errors.js";
import { createHttpClient, type HttpClient } from "../io/http-client.js";
import type { Arrival, ReceivedEvent, ReplayFrom } from "../io/webhook-pipeline.js";
import { CONTROL_CHARACTERS } from "../output/sanitize.js";
import { pathFromCwd } from "../output/shown-path.js";
import { createEventIndex, isEntryId, type ListQuery, UnreadableCaptureError } from "./event-index.js";
import { createGuard, SECURITY_HEADERS } from "./guard.js";
import { otherUrl, parseReplayAsk, ReplayRefused, replayFromPage } from "./replay-action.js";
import { curlCommand, replayCommand } from "./shell-commands.js";
import type { SecretInfo, VerdictName } from "./views.js";

// The bundled CLI (scripts/bundle.mjs) runs from dist/bin/ and says where the page is; tsc's output
// and the sources have it beside this file.
declare const __OPENMAIL_HOOKS_INSPECTOR_PAGE__: string | undefined;
const PAGE_DIR = new URL(
  typeof __OPENMAIL_HOOKS_INSPECTOR_PAGE__ === "string" ? __OPENMAIL_HOOKS_INSPECTOR_PAGE__ : "./page/",
  import.meta.url,
);

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
  "/sanitize.js": { file: "sanitize.js", type: "text/javascript; charset=utf-8" },
};

/** Made here rather than read from a file: the page's set of characters to escape is the terminal's. */
const SANITIZE_MODULE = "sanitize.js";
function sanitizeModule(): Buffer {
  return Buffer.from(
    "// The characters the terminal's sanitiser escapes (src/output/sanitize.ts): the page escapes the same.\n" +
      `export const CONTROL_CHARACTERS = ${JSON.stringify(CONTROL_CHARACTERS)};\n`,
  );
}

/** Pages are at most this long. */
const MAX_PAGE_ITEMS = 200;
/** Open pages (event streams) at once. */
const MAX_STREAMS = 16;
/** A stream that falls this far behind is dropped (the page reconnects and reloads). */
const MAX_STREAM_BACKLOG = 4 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

export interface InspectorOptions {
  /** 0 picks a free port. */
  port: number;
  /** When the chosen port is taken: fall back to a free one (the default port) or fail (an explicit one). */
  fallbackToFreePort: boolean;
  listenerUrl: string;
  saveDir?: string;
  /** The secret for an inbox's events (listen --inbox learns one per inbox), else listen's own. */
  secretFor(inboxId: string | undefined): SecretInfo | undefined;
  toleranceSeconds: number;
  forwardTo?: string;
  routes: ReadonlyMap<string, string>;
  forwardTimeoutMs: number;
  /** Edited bodies up to this size are accepted (listen's --max-body-size). */
  maxBodySize: number;
  cwd: string;
  now(): number;
}

export interface Inspector {
  /** The page's address with its token, to print. */
  url: string;
  origin: string;
  /** Show a webhook that just arrived on open pages (nothing happens when none is open). */
  arrival(arrival: Arrival): void;
  /** Note a webhook's outcome (cheap; pushed to open pages). */
  record(event: ReceivedEvent): void;
  /** The replay from the page this request is, if it is one (cheap when none is on its way). */
  replayOf(request: CapturedRequest): ReplayFrom | undefined;
  close(): Promise<void>;
}

export async function startInspector(options: InspectorOptions): Promise<Inspector> {
  const token = randomBytes(18).toString("base64url");
  const index = createEventIndex({
    dir: options.saveDir,
    secretFor: options.secretFor,
    toleranceSeconds: options.toleranceSeconds,
    now: options.now,
  });
  const streams = new Set<ServerResponse>();
  let heartbeat: NodeJS.Timeout | undefined;
  let client: HttpClient | undefined;
  const forwardTarget = (inboxId: string | undefined) =>
    (inboxId !== undefined ? options.routes.get(inboxId) : undefined) ?? options.forwardTo;

  const broadcast = (type: string, data: unknown) => {
    if (streams.size === 0) return;
    const chunk = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) {
      if (stream.writableLength > MAX_STREAM_BACKLOG) {
        stream.destroy();
        streams.delete(stream);
      } else {
        stream.write(chunk);
      }
    }
  };

  let guard: ReturnType<typeof createGuard> = () => ({ status: 503, message: "starting" });
  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: Error) => {
      if (res.headersSent) res.destroy();
      else if (error instanceof UnreadableCaptureError) {
        sendJson(res, 422, { error: `unreadable capture: ${error.message}` });
      } else if (error instanceof UnsendableRequestError) {
        // Its replay or curl would carry a header no HTTP client sends (an X-Event-Id, a captured header
        // with CR/LF): said, not an inspector error.
        sendJson(res, 422, { error: error.message });
      } else sendJson(res, 500, { error: `inspector error: ${error.message}` });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://inspector.invalid");
    const method = req.method ?? "GET";
    const isApi = url.pathname.startsWith("/api/");
    const refusal = guard({
      method,
      headers: req.headers,
      queryToken: tokenMayBeInQuery(method, url.pathname) ? url.searchParams.get("token") : null,
      needsToken: isApi,
    });
    if (refusal) return sendJson(res, refusal.status, { error: refusal.message });

    const page = STATIC_FILES[url.pathname === "/index.html" ? "/" : url.pathname];
    if (page && (method === "GET" || method === "HEAD")) return sendStatic(res, page.file, page.type);
    if (!isApi) return sendJson(res, 404, { error: "not found" });

    const parts = url.pathname.slice("/api/".length).split("/").map(decodeURIComponent);
    if (method === "GET" && parts[0] === "stream" && parts.length === 1) return openStream(res);
    if (method === "GET" && parts[0] === "status" && parts.length === 1) return sendJson(res, 200, status());
    if (parts[0] !== "events") return sendJson(res, 404, { error: "not found" });
    if (parts.length === 1 && method === "GET") return sendJson(res, 200, await index.list(listQuery(url)));

    const id = parts[1] ?? "";
    if (!isEntryId(id)) return sendJson(res, 404, { error: "no such event" });
    const action = parts[2];
    if (parts.length === 2 && method === "GET") {
      const detail = await index.detail(id);
      return detail ? sendJson(res, 200, detail) : sendJson(res, 404, { error: "no such event (deleted?)" });
    }
    if (action === "download" && parts.length === 3 && method === "GET") return download(res, id);
    if (action === "commands" && parts.length === 3 && method === "GET") return commands(res, id, url);
    if (action === "replay" && parts.length === 3 && method === "POST") return replay(req, res, id);
    return sendJson(res, method === "GET" || method === "POST" ? 404 : 405, { error: "not found" });
  }

  function status() {
    const secret = options.secretFor(undefined);
    return {
      listenerUrl: options.listenerUrl,
      forwardTo: options.forwardTo ?? null,
      routes: Object.fromEntries(options.routes),
      saveDir: options.saveDir ?? null,
      secret: secret ? { source: secret.source, masked: secret.masked } : null,
      toleranceSeconds: options.toleranceSeconds,
    };
  }

  function openStream(res: ServerResponse): void {
    if (streams.size >= MAX_STREAMS) {
      sendJson(res, 503, { error: `too many inspector pages are open (${MAX_STREAMS} at most)` });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    res.write("retry: 2000\n\n");
    streams.add(res);
    res.on("close", () => {
      streams.delete(res);
      if (streams.size === 0 && heartbeat) {
        clearInterval(heartbeat);
        heartbeat = undefined;
      }
    });
    heartbeat ??= setInterval(() => {
      for (const stream of streams) stream.write(": keep-alive\n\n");
    }, HEARTBEAT_MS).unref();
  }

  async function download(res: ServerResponse, id: string): Promise<void> {
    const file = await index.captureFile(id);
    if (!file) return sendJson(res, 404, { error: "no such event" });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "application/json; charset=utf-8",
      "content-disposition": attachmentDisposition(file.name),
      "cache-control": "no-store",
    });
    res.end(file.content);
  }

  async function commands(res: ServerResponse, id: string, url: URL): Promise<void> {
    const loaded = await index.load(id);
    if (!loaded) return sendJson(res, 404, { error: "no such event" });
    const detail = await index.detail(id);
    const inboxId = detail?.item.inboxId ?? undefined;
    const asked = url.searchParams.get("url");
    let target: string;
    try {
      // Checked as a replay's URL is: a command the page shows must not carry a password either.
      target = asked ? otherUrl(asked) : forwardTarget(inboxId) || options.listenerUrl;
    } catch (error) {
      if (error instanceof ReplayRefused) return sendJson(res, 400, { error: error.message });
      throw error;
    }
    const secret = options.secretFor(inboxId);
    const capturePath = detail?.capturePath;
    const shownPath = capturePath ? pathFromCwd(capturePath, options.cwd) : null;
    const prepare = (keepSignature: boolean) =>
      prepareReplay(
        { origin: id, kind: "capture", request: loaded.request },
        { secret: secret?.secret, keepSignature },
        Math.floor(options.now() / 1000),
      );
    try {
      const sent = prepare(secret === undefined);
      sendJson(res, 200, {
        url: target,
        curl: curlCommand(target, sent.headers, sent.body),
        curlNote: secret
          ? `signed just now: a handler accepts it for ${options.toleranceSeconds} s`
          : "the captured signature (listen has no secret to re-sign with)",
        replay: shownPath ? replayCommand(shownPath, target) : null,
      });
    } catch (error) {
      if (!(error instanceof UnverifiedCaptureError)) throw error;
      // Signing would vouch for a body OpenMail may never have sent: refused, with what is still possible.
      const verbatim = prepare(true);
      sendJson(res, 409, {
        error: unverifiedCaptureRefusal(error),
        url: target,
        curl: curlCommand(target, verbatim.headers, verbatim.body),
        curlNote: "verbatim: the captured headers and signature, as they arrived (not re-signed)",
        replay: shownPath ? replayCommand(shownPath, target, { verbatim: true }) : null,
      });
    }
  }

  async function replay(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const raw = await readJsonBody(req, options.maxBodySize * 2 + 64 * 1024);
    if (raw === undefined) return sendJson(res, 413, { error: "request too large" });
    const loaded = await index.load(id);
    if (!loaded) return sendJson(res, 404, { error: "no such event, or its body is no longer kept" });
    try {
      const ask = parseReplayAsk(JSON.parse(raw));
      const inboxId = (await index.detail(id))?.item.inboxId ?? undefined;
      const record = await replayFromPage({ id, request: loaded.request, inboxId }, ask, {
        secret: options.secretFor(inboxId)?.secret,
        toleranceSeconds: options.toleranceSeconds,
        listenerUrl: options.listenerUrl,
        forwardTarget,
        now: options.now,
        beforeSendToListener: (signature) => index.expectReplay(signature, id, loaded.request.receivedAt),
        client: () => {
          client ??= createHttpClient({
            timeoutMs: options.forwardTimeoutMs,
            connections: 4,
            previewBytes: 64 * 1024,
            keepSuccessBodies: true,
          });
          return client;
        },
      });
      const item = index.addReplay(record);
      broadcast("item", item);
      sendJson(res, 200, { item, notes: record.notes, hint: record.hint ?? null });
    } catch (error) {
      if (error instanceof ReplayRefused || error instanceof SyntaxError) {
        return sendJson(res, 400, { error: error.message });
      }
      if (error instanceof UnverifiedCaptureError)
        return sendJson(res, 409, { error: unverifiedCaptureRefusal(error) });
      throw error;
    }
  }

  const pageCache = new Map<string, Buffer>();
  async function sendStatic(res: ServerResponse, file: string, type: string): Promise<void> {
    let content = pageCache.get(file);
    if (!content) {
      content = file === SANITIZE_MODULE ? sanitizeModule() : await readFile(new URL(file, PAGE_DIR));
      pageCache.set(file, content);
    }
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache" });
    res.end(content);
  }

  const port = await listenOn(server, options.port, options.fallbackToFreePort);
  guard = createGuard(port, token);
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/#token=${token}`,
    origin,
    arrival(arrival) {
      if (streams.size > 0) broadcast("item", index.arrivalItem(arrival));
    },
    replayOf(request) {
      return index.takeReplay(request);
    },
    record(event) {
      // With no page open the item is not made (nor sent) now; it is made if a page asks for it.
      const item = index.addLive(event, streams.size > 0);
      if (item) broadcast("item", item);
    },
    async close() {
      if (heartbeat) clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await client?.close();
    },
  };
}

async function listenOn(server: Server, port: number, fallback: boolean): Promise<number> {
  const attempt = (wanted: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(error);
      server.once("error", onError);
      server.listen(wanted, "127.0.0.1", () => {
        server.off("error", onError);
        resolve();
      });
    });
  try {
    await attempt(port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (fallback && (code === "EADDRINUSE" || code === "EACCES")) await attempt(0);
    else if (code === "EADDRINUSE" || code === "EACCES") {
      throw new CliError(
        `inspector port ${port} on 127.0.0.1 is ${code === "EADDRINUSE" ? "already in use" : "not allowed"}; choose another with --inspect-port (0 for any), or --no-inspect`,
        { code: "port_in_use" },
      );
    } else throw error;
  }
  return (server.address() as AddressInfo).port;
}

/**
 * The two reads a browser makes without a way to add a header: the live stream (EventSource) and a
 * capture's download link. Only they take the token as ?token=; every other route wants the
 * X-Inspector-Token header (a token in a URL ends up in history and logs).
 */
function tokenMayBeInQuery(method: string, pathname: string): boolean {
  return method === "GET" && (pathname === "/api/stream" || /^\/api\/events\/[^/]+\/download$/.test(pathname));
}

function listQuery(url: URL): ListQuery {
  const param = (name: string) => url.searchParams.get(name)?.trim() || undefined;
  const limit = Number(param("limit") ?? 50);
  const verdict = param("verdict");
  return {
    cursor: url.searchParams.get("cursor") ?? undefined,
    limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_PAGE_ITEMS) : 50,
    type: param("type"),
    inbox: param("inbox"),
    verdict:
      verdict === "valid" || verdict === "invalid" || verdict === "unverified" ? (verdict as VerdictName) : undefined,
    text: param("q"),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify(body));
}

/** The body as text, or undefined when it is larger than `limit`. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Why the page does not re-sign a capture, and what it can do instead (the CLI's words name a flag). */
function unverifiedCaptureRefusal(error: UnverifiedCaptureError): string {
  return `not re-signed: ${error.why}, so it may not be what OpenMail sent, and signing it would vouch for it. Replay it verbatim (its captured signature), or use Edit & replay to sign a body you have checked`;
}

/**
 * Content-Disposition for a capture's name, which may be any text (a cloned folder's `…_evt_日本.json`):
 * a plain ASCII fallback, and the exact name as RFC 6266's filename* (a header value takes Latin-1 only).
 */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  const exact = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
