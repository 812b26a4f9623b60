/**
 * Real HTTP servers on 127.0.0.1 for tests: a recorder, and OpenMail handlers written
 * independently of the code under test (a correct one and ones with the classic bugs).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Reply {
  status: number;
  body?: string;
  delayMs?: number;
  headers?: Record<string, string>;
}

export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>;

export interface TestServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(handler: Handler = () => ({ status: 200, body: "ok" })): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) waiter.resolve();
      let reply: Reply;
      try {
        reply = await handler(recorded);
      } catch (error) {
        reply = { status: 500, body: `crash: ${(error as Error).message}` };
      }
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      if (res.destroyed) return;
      res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
      res.end(reply.body ?? "");
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitFor(count) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const header = (request: RecordedRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const hmac = (secret: string, timestamp: string, body: Buffer | string) =>
  createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");

function safeEqualHex(expected: string, given: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(given, "hex"));
}

export interface HandlerFlaws {
  /** Accept everything without checking. */
  noVerification?: boolean;
  /** Verify JSON.stringify(JSON.parse(body)) instead of the raw bytes. */
  reserializedBody?: boolean;
  /** Skip the 300 s window. */
  noTimestampCheck?: boolean;
  /** Read header values without checking they exist (throws, so 500). */
  crashOnMissingHeaders?: boolean;
  /** Answer 422 to a lifecycle event without every key of the docs' final example. */
  strictLifecycleSchema?: boolean;
}

/** The handler OpenMail's docs describe: raw body, constant-time compare, 300 s window; flaws optional. */
export function openMailHandler(secret: string, flaws: HandlerFlaws = {}): Handler {
  return (request) => {
    if (flaws.noVerification) return { status: 200, body: "ok" };
    const signature = header(request, "x-signature");
    const timestamp = header(request, "x-timestamp");
    if (flaws.crashOnMissingHeaders) {
      // The bug: assumes both headers are there.
      (signature as string).toLowerCase();
      (timestamp as string).trim();
    }
    if (!signature || !timestamp) return { status: 400, body: "missing headers" };
    const signed = flaws.reserializedBody ? JSON.stringify(JSON.parse(request.body.toString("utf8"))) : request.body;
    if (!safeEqualHex(hmac(secret, timestamp, signed), signature)) return { status: 401, body: "invalid signature" };
    if (!flaws.noTimestampCheck && Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) {
      return { status: 400, body: "stale timestamp" };
    }
    if (flaws.strictLifecycleSchema) {
      const event = JSON.parse(request.body.toString("utf8")) as Record<string, unknown>;
      const keys = ["inbox_id", "inbox_address", "pod_id", "reason"];
      if (/^(inbox|pod)\./.test(String(event.event)) && !keys.every((key) => key in event))
        return { status: 422, body: "lifecycle event without every field" };
    }
    return { status: 200, body: "ok" };
  };
}
