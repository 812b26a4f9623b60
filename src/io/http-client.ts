/**
 * Outgoing HTTP through undici: one POST with a deadline, measured, and its answer read into a
 * DeliveryOutcome. Never throws for network trouble: that is an outcome too.
 */
import { Agent, type Dispatcher, request } from "undici";
import type { DeliveryOutcome, NetworkErrorKind } from "../core/contract.js";

/** How much of a response body is kept by default (for display). */
const DEFAULT_PREVIEW_BYTES = 2048;

export interface HttpClient {
  post(url: string, headers: Record<string, string>, body: Uint8Array): Promise<DeliveryOutcome>;
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
    // The deadline is undici's own timers: an answer's headers must arrive within it (what OpenMail
    // waits for), and its body may not stall longer. Cheaper than an AbortController and a timer per
    // request, which cost about a fifth of send-test's time at 10,000 events (BENCHMARKS.md).
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  return {
    post: (url, headers, body) =>
      post(
        agent,
        url,
        headers,
        body,
        options.timeoutMs,
        options.previewBytes ?? DEFAULT_PREVIEW_BYTES,
        options.keepSuccessBodies,
      ),
    close: () => agent.close(),
  };
}

async function post(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  timeoutMs: number,
  previewBytes: number,
  keepSuccessBodies = false,
): Promise<DeliveryOutcome> {
  const started = performance.now();
  try {
    const response = await request(url, { method: "POST", headers, body, dispatcher });
    const latencyMs = performance.now() - started;
    const success = response.statusCode >= 200 && response.statusCode < 300;
    // A success's body is shown nowhere unless relayed: drain it without buffering (cheaper per request).
    const { preview, total } =
      success && !keepSuccessBodies ? await drain(response.body) : await readPreview(response.body, previewBytes);
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
    if (isTimeout(error)) return { kind: "timeout", latencyMs, timeoutMs };
    return { kind: "network-error", latencyMs, ...describeNetworkError(error, url) };
  }
}

async function readPreview(body: AsyncIterable<Buffer>, limit: number): Promise<{ preview: string; total: number }> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (keptBytes < limit) {
      kept.push(chunk.subarray(0, limit - keptBytes));
      keptBytes += Math.min(chunk.length, limit - keptBytes);
    }
  }
  return { preview: Buffer.concat(kept).toString("utf8"), total };
}

async function drain(body: { dump(): Promise<void> }): Promise<{ preview: string; total: number }> {
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
