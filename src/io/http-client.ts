/**
 * Outgoing HTTP through undici: one POST with a deadline, measured, and its answer read into a
 * DeliveryOutcome. Never throws for network trouble: that is an outcome too.
 *
 * The deadline bounds the whole exchange (connect, headers and body): undici's own timeouts are
 * per phase and per chunk, so a target that dribbled a byte a second, or streamed forever, was
 * never cut off. Past the kept preview, the rest of a body is discarded without waiting for it.
 */
import { Agent, type Dispatcher, request } from "undici";
import type { DeliveryOutcome, NetworkErrorKind } from "../core/contract.js";

/** How much of a response body is kept by default (for display). */
const DEFAULT_PREVIEW_BYTES = 2048;

export interface PostOptions {
  /** Abort the exchange early (listen's shutdown); the outcome is then a network error saying so. */
  signal?: AbortSignal;
}

export interface HttpClient {
  post(url: string, headers: Record<string, string>, body: Uint8Array, options?: PostOptions): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  timeoutMs: number;
  /** Connections kept per origin; set it to the concurrency. */
  connections?: number;
  /** How much of each response body to keep (the rest is read and dropped). */
  previewBytes?: number;
  /** Keep the body of 2xx answers too (listen relays them); otherwise only failures' bodies are read. */
  keepSuccessBodies?: boolean;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const agent = new Agent({
    connections: options.connections ?? 16,
    keepAliveTimeout: 10_000,
    connect: { timeout: Math.min(options.timeoutMs, 10_000) },
    // undici's own timers still bound each phase; the whole exchange is bounded by post()'s deadline.
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  return {
    post: (url, headers, body, postOptions) =>
      post(agent, url, headers, body, {
        timeoutMs: options.timeoutMs,
        previewBytes: options.previewBytes ?? DEFAULT_PREVIEW_BYTES,
        keepSuccessBodies: options.keepSuccessBodies ?? false,
        signal: postOptions?.signal,
      }),
    close: () => closeWithin(agent, CLOSE_MS),
  };
}

/** How long close() lets requests still in flight finish before their connections are destroyed. */
const CLOSE_MS = 500;

async function closeWithin(agent: Agent, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    agent.close().then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) await agent.destroy();
}

interface ExchangeOptions {
  timeoutMs: number;
  previewBytes: number;
  keepSuccessBodies: boolean;
  signal?: AbortSignal;
}

class DeadlineError extends Error {
  override name = "DeadlineError";
}

class CallerAbort extends Error {
  override name = "CallerAbort";
}

async function post(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  options: ExchangeOptions,
): Promise<DeliveryOutcome> {
  const started = performance.now();
  const { timeoutMs } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineError()), timeoutMs);
  const onCallerAbort = () => controller.abort(new CallerAbort());
  if (options.signal?.aborted) onCallerAbort();
  options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  try {
    const response = await request(url, { method: "POST", headers, body, dispatcher, signal: controller.signal });
    const latencyMs = performance.now() - started;
    const success = response.statusCode >= 200 && response.statusCode < 300;
    // A success's body is shown nowhere unless relayed: drain it without buffering (cheaper per request).
    const { preview, total } =
      success && !options.keepSuccessBodies
        ? await drain(response.body)
        : await readPreview(response.body, options.previewBytes);
    return {
      kind: "response",
      status: response.statusCode,
      latencyMs,
      bodyPreview: preview,
      bodyBytes: total,
      headers: flattenHeaders(response.headers),
    };
  } catch (error) {
    const latencyMs = performance.now() - started;
    const reason = controller.signal.aborted ? controller.signal.reason : undefined;
    if (reason instanceof CallerAbort) {
      return { kind: "network-error", error: "other", message: "aborted: listen was stopping", latencyMs };
    }
    if (reason instanceof DeadlineError || isTimeout(error)) return { kind: "timeout", latencyMs, timeoutMs };
    return { kind: "network-error", latencyMs, ...describeNetworkError(error, url) };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onCallerAbort);
  }
}

interface ResponseBody extends AsyncIterable<Buffer> {
  destroy(error?: Error): unknown;
  dump(options?: { limit?: number }): Promise<void>;
}

/** Keep the first `limit` bytes; then stop reading and discard the rest (the stream is destroyed). */
async function readPreview(body: ResponseBody, limit: number): Promise<{ preview: string; total: number }> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  for await (const chunk of body) {
    const room = limit - keptBytes;
    kept.push(chunk.subarray(0, room));
    keptBytes += Math.min(chunk.length, room);
    if (chunk.length >= room) break;
  }
  body.destroy();
  return { preview: Buffer.concat(kept).toString("utf8"), total: keptBytes };
}

/** Discard a body: undici reads up to 128 KiB of it (to keep the connection), then closes it. */
async function drain(body: ResponseBody): Promise<{ preview: string; total: number }> {
  await body.dump();
  return { preview: "", total: 0 };
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO/;

/** Classify a connection failure from the error's code, searching its causes. */
export function describeNetworkError(error: unknown, url: string): { error: NetworkErrorKind; message: string } {
  const codes = collectCodes(error);
  const origin = safeOrigin(url);
  const has = (...wanted: string[]) => codes.some((code) => wanted.includes(code));
  if (has("ECONNREFUSED")) return { error: "refused", message: `connection refused at ${origin}` };
  if (has("ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL")) {
    return { error: "dns", message: `cannot resolve the host of ${origin}` };
  }
  if (codes.some((code) => TLS_CODES.test(code))) {
    return { error: "tls", message: `TLS handshake with ${origin} failed (${codes.find((c) => TLS_CODES.test(c))})` };
  }
  if (has("UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT")) {
    return { error: "connect-timeout", message: `connecting to ${origin} timed out` };
  }
  if (has("ECONNRESET", "UND_ERR_SOCKET", "EPIPE")) {
    return { error: "reset", message: `${origin} closed the connection without an answer` };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { error: "other", message: `request to ${origin} failed: ${message}` };
}

function collectCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== "object" || error === null || depth > 5) return [];
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof record.code === "string" ? [record.code] : [];
  const nested = Array.isArray(record.errors) ? record.errors.flatMap((e) => collectCodes(e, depth + 1)) : [];
  return [...own, ...nested, ...collectCodes(record.cause, depth + 1)];
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
