/**
 * Outgoing HTTP through undici: one POST with a deadline, measured, and its answer read into a
 * DeliveryOutcome. Never throws for network trouble: that is an outcome too.
 *
 * Requests go through undici's low-level `dispatch()` with a handler object rather than `request()`:
 * no response stream, no promise chain per chunk. At 50 requests in flight that halved the client's
 * CPU time per request (38 → 22 µs on the machine in BENCHMARKS.md), which is what decides how fast
 * `send-test --count` and `replay` can load a handler. undici itself is loaded on first use, so
 * commands that send nothing (`send-test --print`, `replay --dry-run`) never pay for it.
 *
 * The deadline bounds the whole exchange (connect, headers and body): undici's own timeouts are per
 * phase and per chunk, so a target that dribbled a byte a second, or streamed forever, was never
 * cut off. One sweeping timer per client checks the requests in flight (not a timer per request).
 * Once the kept part of a body is full, the exchange ends there and the rest is discarded unread.
 */
import type { Dispatcher } from "undici";
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
  let agent: Promise<Dispatcher> | undefined;
  let loaded: Dispatcher | undefined;
  const load = () => {
    agent ??= import("undici").then(({ Agent }) => {
      loaded = new Agent({
        connections: options.connections ?? 16,
        keepAliveTimeout: 10_000,
        connect: { timeout: Math.min(options.timeoutMs, 10_000) },
        // undici's own per-phase timers stay; the whole exchange is bounded by the sweep below.
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      return loaded;
    });
    return agent;
  };
  const previewBytes = options.previewBytes ?? DEFAULT_PREVIEW_BYTES;
  const keepSuccessBodies = Boolean(options.keepSuccessBodies);
  const deadlines = new DeadlineSweep(Math.min(100, Math.max(10, options.timeoutMs / 10)));
  return {
    post: async (url, headers, body, postOptions) => {
      const dispatcher = loaded ?? (await load());
      return post(dispatcher, url, headers, body, {
        timeoutMs: options.timeoutMs,
        previewBytes,
        keepSuccessBodies,
        deadlines,
        signal: postOptions?.signal,
      });
    },
    close: async () => {
      if (agent) await closeWithin(await agent, CLOSE_MS);
    },
  };
}

/** How long close() lets requests still in flight finish before their connections are destroyed. */
const CLOSE_MS = 500;

async function closeWithin(dispatcher: Dispatcher, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    dispatcher.close().then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) await dispatcher.destroy();
}

interface InFlight {
  deadline: number;
  expire(): void;
}

/** One interval timer for all requests in flight, running only while there are some. */
class DeadlineSweep {
  private readonly inFlight = new Set<InFlight>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly everyMs: number) {}

  add(entry: InFlight): void {
    this.inFlight.add(entry);
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const item of this.inFlight) if (now >= item.deadline) item.expire();
    }, this.everyMs);
  }

  delete(entry: InFlight): void {
    this.inFlight.delete(entry);
    if (this.inFlight.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

interface ExchangeOptions {
  timeoutMs: number;
  previewBytes: number;
  keepSuccessBodies: boolean;
  deadlines: DeadlineSweep;
  signal?: AbortSignal;
}

/** Where a URL string points, parsed once per distinct URL (a run sends to one or a few). */
const targets = new Map<string, { origin: string; path: string }>();
function targetOf(url: string): { origin: string; path: string } {
  let target = targets.get(url);
  if (!target) {
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    if (targets.size > 100) targets.clear();
    targets.set(url, target);
  }
  return target;
}

function post(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  options: ExchangeOptions,
): Promise<DeliveryOutcome> {
  const { timeoutMs, previewBytes, keepSuccessBodies, deadlines, signal } = options;
  const started = performance.now();
  return new Promise((resolvePromise) => {
    let target: { origin: string; path: string };
    try {
      target = targetOf(url);
    } catch (error) {
      resolvePromise({ kind: "network-error", latencyMs: 0, ...describeNetworkError(error, url) });
      return;
    }
    let status = 0;
    let latencyMs = 0;
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    let keep = false;
    let total = 0;
    let keptBytes = 0;
    const kept: Buffer[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    let stopped: Error | undefined;
    let settled = false;

    const finish = (outcome: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      deadlines.delete(inFlight);
      signal?.removeEventListener("abort", onCallerAbort);
      resolvePromise(outcome);
    };
    /** End the exchange from our side (its outcome already decided). */
    const stop = (why: string) => {
      stopped ??= new Error(why);
      if (controller && !controller.aborted) controller.abort(stopped);
    };
    const answer = (): DeliveryOutcome => ({
      kind: "response",
      status,
      latencyMs,
      bodyPreview: kept.length === 0 ? "" : Buffer.concat(kept).toString("utf8"),
      bodyBytes: total,
      headers: flattenHeaders(responseHeaders),
    });
    const inFlight: InFlight = {
      deadline: started + timeoutMs,
      expire() {
        finish({ kind: "timeout", latencyMs: performance.now() - started, timeoutMs });
        stop("deadline");
      },
    };
    const onCallerAbort = () => {
      const message = "aborted: listen was stopping";
      finish({ kind: "network-error", error: "other", message, latencyMs: performance.now() - started });
      stop("aborted");
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(dispatchController) {
        controller = dispatchController;
        if (stopped) dispatchController.abort(stopped);
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode < 200) return; // 1xx informational: the real answer follows
        status = statusCode;
        latencyMs = performance.now() - started;
        responseHeaders = headers;
        // A success's body is shown nowhere unless relayed: count it, keep nothing.
        keep = keepSuccessBodies || statusCode < 200 || statusCode >= 300;
      },
      onResponseData(_controller, chunk) {
        total += chunk.length;
        if (!keep) return;
        const part = chunk.subarray(0, previewBytes - keptBytes);
        kept.push(part);
        keptBytes += part.length;
        if (keptBytes >= previewBytes) {
          // All that is kept is here: answer now, and discard the rest without waiting for it.
          finish(answer());
          stop("enough");
        }
      },
      onResponseEnd() {
        finish(answer());
      },
      onResponseError(_controller, error) {
        const elapsed = performance.now() - started;
        if (isTimeout(error)) finish({ kind: "timeout", latencyMs: elapsed, timeoutMs });
        else finish({ kind: "network-error", latencyMs: elapsed, ...describeNetworkError(error, url) });
      },
    };
    deadlines.add(inFlight);
    if (signal?.aborted) onCallerAbort();
    else signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
      dispatcher.dispatch({ origin: target.origin, path: target.path, method: "POST", headers, body }, handler);
    } catch (error) {
      handler.onResponseError?.(undefined as never, error as Error);
    }
  });
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
