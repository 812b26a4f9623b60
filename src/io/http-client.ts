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
 * cut off. One sweeping timer per client checks the requests in flight (not a timer per request),
 * and each exchange is one object (undici's handler and the sweep's entry), not a set of closures.
 * Once the kept part of a body is full, the exchange ends there and the rest is discarded unread.
 */
import type { Client, Dispatcher } from "undici";
import type { DeliveryOutcome, NetworkErrorKind } from "../core/contract.js";
import { isWasmOutOfMemory, WASM_MEMORY_ADVICE } from "../errors.js";

/** How much of a response body is kept by default (for display). */
const DEFAULT_PREVIEW_BYTES = 2048;

export interface PostOptions {
  /** Abort the exchange early (listen's shutdown); the outcome is then a network error saying so. */
  signal?: AbortSignal;
}

/**
 * Receives an exchange's outcome, once. `connectionFree`: the answer ended cleanly and its connection
 * is free again (undici is finishing it: a request sent now is queued on that connection, and undici
 * writes it after one turn of the event loop, as it does for a pipelined request, rather than also
 * validating the idle connection in another turn first).
 */
export type OutcomeCallback = (outcome: DeliveryOutcome, connectionFree?: boolean) => void;

export interface HttpClient {
  post(url: string, headers: Record<string, string>, body: Uint8Array, options?: PostOptions): Promise<DeliveryOutcome>;
  /**
   * The same exchange as `post`, its outcome handed to `done` instead of a promise: what the
   * senders use, so a run of 100,000 requests makes no promise per request. `done` is called from
   * inside undici's parser and must not throw (a thrown error there would be taken for the
   * connection's); when it says the connection is free, it may send the next request at once.
   */
  send(
    url: string,
    headers: Record<string, string>,
    body: Uint8Array,
    done: OutcomeCallback,
    options?: PostOptions,
  ): void;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  timeoutMs: number;
  /** Connections kept per origin; set it to the concurrency. */
  connections?: number;
  /** How much of each response body to keep (for display). */
  previewBytes?: number;
  /**
   * Keep the body and headers of 2xx answers too (listen relays them); otherwise only failures'
   * are kept (a success in a load run is counted, and its headers are never shown).
   */
  keepSuccessBodies?: boolean;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  let agent: Promise<Connections> | undefined;
  let loaded: Connections | undefined;
  const load = () => {
    agent ??= loadUndici().then(({ Client, parseHeaders }) => {
      settings.parseHeaders = parseHeaders;
      const clientOptions: Client.Options = {
        keepAliveTimeout: 10_000,
        connect: { timeout: Math.min(options.timeoutMs, 10_000) },
        // No per-phase timers of undici's own: the sweep below bounds the whole exchange, which
        // covers both phases. undici made two timer objects per request, which its timer wheel
        // keeps until its next tick (up to a second) after the answer: at load-test rates, tens of
        // thousands a second promoted to the old generation (replay of 100,000 captures peaked at
        // 152-158 MB with them, 145-150 MB without).
        headersTimeout: 0,
        bodyTimeout: 0,
        // One request at a time on a connection: OpenMail does not pipeline, and a POST is not
        // idempotent.
        pipelining: 1,
      };
      loaded = new Connections((origin) => new Client(origin, clientOptions), options.connections ?? 16);
      return loaded;
    });
    return agent;
  };
  const settings: ExchangeSettings = {
    timeoutMs: options.timeoutMs,
    previewBytes: options.previewBytes ?? DEFAULT_PREVIEW_BYTES,
    keepSuccessBodies: Boolean(options.keepSuccessBodies),
    deadlines: new DeadlineSweep(Math.min(100, Math.max(10, options.timeoutMs / 10))),
  };
  const send: HttpClient["send"] = (url, headers, body, done, postOptions) => {
    if (loaded) {
      exchange(loaded, url, headers, body, settings, done, postOptions?.signal);
      return;
    }
    // Timed from the dispatch, as every later request is: undici's loading is ours, not the handler's.
    const asked = performance.now();
    load().then(
      (connections) => exchange(connections, url, headers, body, settings, done, postOptions?.signal),
      (error: unknown) =>
        done({
          kind: "network-error",
          error: "other",
          message: `request to ${safeOrigin(url)} failed: the HTTP client (undici) did not load: ${(error as Error).message}`,
          latencyMs: performance.now() - asked,
        }),
    );
  };
  return {
    send,
    post: (url, headers, body, postOptions) =>
      new Promise((resolvePromise) => send(url, headers, body, resolvePromise, postOptions)),
    close: async () => {
      if (agent) await (await agent).close(CLOSE_MS);
    },
  };
}

/** Where undici 7 keeps them (variables: a bundler leaves these imports to run time, as it does "undici"). */
const UNDICI_CLIENT: string = "undici/lib/dispatcher/client.js";
const UNDICI_UTIL: string = "undici/lib/core/util.js";

/**
 * undici's Client and its parser of raw header lines, loaded on first use. undici's index (fetch,
 * WebSocket, the global dispatcher and the rest) took about 90 ms of CPU to load here, the Client's
 * own modules about 27: a sending command (send-test, replay, a forward) pays only those, before its
 * first request. undici declares no "exports" map, so its files can be required by path; should
 * that layout ever change, the package's own entry is loaded instead.
 */
export async function loadUndici(
  modules = { client: UNDICI_CLIENT, util: UNDICI_UTIL },
): Promise<{ Client: typeof Client; parseHeaders: ParseHeaders }> {
  try {
    const [client, util] = await Promise.all([import(modules.client), import(modules.util)]);
    const Client = (client.default ?? client) as typeof import("undici").Client;
    const parseHeaders = ((util.default ?? util) as { parseHeaders?: ParseHeaders }).parseHeaders;
    if (typeof Client === "function" && typeof parseHeaders === "function") return { Client, parseHeaders };
  } catch {
    // Not where it was: the entry below.
  }
  const undici = await import("undici");
  return { Client: undici.Client, parseHeaders: (raw) => undici.util.parseHeaders(raw) };
}

/** How long close() lets requests still in flight finish before their connections are destroyed. */
const CLOSE_MS = 500;

/**
 * undici Clients (one connection each, one request at a time), at most `max` per origin, each handed
 * the next request when its exchange ends; requests beyond `max` wait their turn in order. This is
 * what undici's Agent and Pool do, without their per-request costs: the Pool looked for a free
 * connection by walking its list on every request (twice when all were busy), and every answer was
 * announced by a 'drain' event relayed from the connection to the Pool to the Agent, each time with
 * a new array. A bare undici loop over Clients of its own used 0.9 µs less CPU per request (20.2
 * against 21.1, 200,000 requests, 3 rounds).
 */
class Connections {
  private readonly origins = new Map<string, OriginConnections>();
  constructor(
    private readonly open: (origin: string) => Dispatcher,
    private readonly max: number,
  ) {}

  dispatch(origin: string, exchange: Exchange): void {
    let connections = this.origins.get(origin);
    if (!connections) {
      connections = new OriginConnections(() => this.open(origin), this.max);
      this.origins.set(origin, connections);
    }
    connections.dispatch(exchange);
  }

  /** Let requests in flight finish for up to `ms`, then destroy the connections. */
  async close(ms: number): Promise<void> {
    const all = [...this.origins.values()].flatMap((origin) => origin.all);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(all.map((client) => client.close())).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), ms);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) await Promise.all(all.map((client) => client.destroy()));
  }
}

class OriginConnections {
  readonly all: Dispatcher[] = [];
  private readonly idle: Dispatcher[] = [];
  private readonly waiting: Exchange[] = [];
  private waitingFrom = 0;
  constructor(
    private readonly open: () => Dispatcher,
    private readonly max: number,
  ) {}

  dispatch(exchange: Exchange): void {
    let client = this.idle.pop();
    if (client === undefined && this.all.length < this.max) {
      client = this.open();
      this.all.push(client);
    }
    if (client === undefined) this.waiting.push(exchange);
    else exchange.start(client, this);
  }

  /**
   * An exchange on `client` ended: the connection goes to the next request waiting, if any (in a
   * microtask: not from inside undici's callback), or back to the idle ones.
   */
  release(client: Dispatcher): void {
    while (this.waitingFrom < this.waiting.length) {
      const next = this.waiting[this.waitingFrom] as Exchange;
      this.waiting[this.waitingFrom++] = undefined as never;
      if (this.waitingFrom === this.waiting.length) {
        this.waiting.length = 0;
        this.waitingFrom = 0;
      }
      // One that ran out of time while waiting has already been answered.
      if (next.settledAlready) continue;
      // One with less than a sweep's time left would be sent only to be cut a moment later, or
      // answered after its deadline before the sweep saw it: it times out now, never sent.
      if (!next.hasTimeToStart()) {
        next.expire();
        continue;
      }
      queueMicrotask(() => next.start(client, this));
      return;
    }
    this.idle.push(client);
  }
}

interface InFlight {
  deadline: number;
  /** Where the sweep keeps it while it is in flight. */
  slot: number;
  expire(): void;
}

/**
 * One interval timer for all requests in flight, running only while there are some. The requests
 * sit in an array of reused slots, not a Set: with a long-lived Set, each garbage collection of the
 * young generation kept (and promoted) the exchanges that had passed through it since the last one,
 * with all they referenced; the young-generation collections of a 40,000-request run took 2-5x
 * longer (120-240 ms against 50 for a bare undici loop), and the old generation was collected 3 times
 * instead of once. A cleared slot holds nothing.
 */
class DeadlineSweep {
  private readonly slots: Array<InFlight | undefined> = [];
  private readonly free: number[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(readonly everyMs: number) {}

  add(entry: InFlight): void {
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.slots.length;
    this.slots[slot] = entry;
    entry.slot = slot;
    this.size += 1;
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < this.slots.length; i++) {
        const item = this.slots[i];
        if (item !== undefined && now >= item.deadline) item.expire();
      }
    }, this.everyMs);
  }

  delete(entry: InFlight): void {
    if (this.slots[entry.slot] !== entry) return;
    this.slots[entry.slot] = undefined;
    this.free.push(entry.slot);
    this.size -= 1;
    if (this.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

export type ParseHeaders = (raw: Buffer[]) => Record<string, string | string[] | undefined>;

interface ExchangeSettings {
  /** undici's own parser of raw header lines (set when undici is loaded). */
  parseHeaders?: ParseHeaders;
  timeoutMs: number;
  previewBytes: number;
  keepSuccessBodies: boolean;
  deadlines: DeadlineSweep;
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

function exchange(
  connections: Connections,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  settings: ExchangeSettings,
  done: OutcomeCallback,
  signal: AbortSignal | undefined,
): void {
  const started = performance.now();
  let target: { origin: string; path: string };
  try {
    target = targetOf(url);
  } catch (error) {
    done({ kind: "network-error", latencyMs: 0, ...describeNetworkError(error, url) });
    return;
  }
  const handler = new Exchange(url, settings, done, started, signal, {
    origin: target.origin,
    path: target.path,
    method: "POST",
    headers,
    body,
  });
  settings.deadlines.add(handler);
  if (signal?.aborted) handler.callerAborted();
  else handler.listen();
  if (!handler.settledAlready) connections.dispatch(target.origin, handler);
}

/**
 * One exchange: undici's handler, its deadline's entry in the sweep, and what is kept of the
 * answer, in one object (no closures per request). Settles once, whichever comes first: the answer,
 * an error, the deadline, or the caller's abort.
 *
 * It implements the handler interface undici's HTTP/1.1 client calls itself (onConnect, onHeaders,
 * onData, onComplete, onError), which undici 7 marks deprecated in favour of onRequestStart and
 * friends. A handler with the newer methods is wrapped per request in two more objects, and every
 * answer's headers and trailers are parsed into objects, that a load run never looks at: about
 * 0.3-0.5 µs of a request's 20. The headers are parsed here only when they are kept.
 */
class Exchange implements Dispatcher.DispatchHandler, InFlight {
  readonly deadline: number;
  slot = -1;
  private status = 0;
  private latencyMs = 0;
  private responseHeaders: Record<string, string | string[] | undefined> | undefined;
  private keep = false;
  private total = 0;
  private keptBytes = 0;
  private kept: Buffer[] | undefined;
  private abortRequest: ((error?: Error) => void) | undefined;
  private stopped: Error | undefined;
  private settled = false;
  private onAbort: (() => void) | undefined;
  /** The connection it was given, and whom to give it back to when it ends. */
  private client: Dispatcher | undefined;
  private connections: OriginConnections | undefined;

  constructor(
    private readonly url: string,
    private readonly settings: ExchangeSettings,
    private readonly done: OutcomeCallback,
    private readonly started: number,
    private readonly signal: AbortSignal | undefined,
    private readonly request: Dispatcher.DispatchOptions,
  ) {
    this.deadline = started + settings.timeoutMs;
  }

  get settledAlready(): boolean {
    return this.settled;
  }

  /** Send the request on `client` (a connection of `connections`, all its own until it ends). */
  start(client: Dispatcher, connections: OriginConnections): void {
    this.client = client;
    this.connections = connections;
    if (this.settled) {
      this.giveBack();
      return;
    }
    try {
      client.dispatch(this.request, this);
    } catch (error) {
      this.onError(error as Error);
    }
  }

  /** Follow the caller's signal (listen's shutdown), if there is one. */
  listen(): void {
    if (!this.signal) return;
    this.onAbort = () => this.callerAborted();
    this.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  callerAborted(): void {
    const message = "aborted: listen was stopping";
    this.finish({ kind: "network-error", error: "stopped", message, latencyMs: performance.now() - this.started });
    this.stop("aborted");
  }

  /** Whether at least one sweep of the deadlines is left before this exchange's deadline. */
  hasTimeToStart(): boolean {
    return this.deadline - performance.now() >= this.settings.deadlines.everyMs;
  }

  expire(): void {
    this.finish({ kind: "timeout", latencyMs: performance.now() - this.started, timeoutMs: this.settings.timeoutMs });
    this.stop("deadline");
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
    if (this.stopped) abort(this.stopped);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx informational: the real answer follows
    this.status = statusCode;
    this.latencyMs = performance.now() - this.started;
    // A success's body is shown nowhere unless relayed: count it, keep nothing.
    this.keep = this.settings.keepSuccessBodies || statusCode >= 300;
    if (this.keep) this.responseHeaders = (this.settings.parseHeaders as ParseHeaders)(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.total += chunk.length;
    if (!this.keep) return true;
    const { previewBytes } = this.settings;
    const part = chunk.subarray(0, previewBytes - this.keptBytes);
    if (!this.kept) this.kept = [];
    this.kept.push(part);
    this.keptBytes += part.length;
    if (this.keptBytes >= previewBytes) {
      // All that is kept is here: answer now, and discard the rest without waiting for it.
      this.finish(this.answer());
      this.stop("enough");
    }
    return true;
  }

  onComplete(): void {
    this.finish(this.answer(), true);
  }

  onError(error: Error): void {
    const elapsed = performance.now() - this.started;
    if (isTimeout(error)) this.finish({ kind: "timeout", latencyMs: elapsed, timeoutMs: this.settings.timeoutMs });
    else {
      // Headers came (status set), then the connection failed: an answer cut short, not no answer at all.
      const answered = this.status > 0 ? { status: this.status, bodyBytes: this.total } : undefined;
      this.finish({ kind: "network-error", latencyMs: elapsed, ...describeNetworkError(error, this.url, answered) });
    }
  }

  private finish(outcome: DeliveryOutcome, connectionFree = false): void {
    if (this.settled) return;
    this.settled = true;
    this.settings.deadlines.delete(this);
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
    this.giveBack();
    this.done(outcome, connectionFree);
  }

  /**
   * The connection is free for the next request once this one has its outcome: one cut short here
   * (deadline, abort, enough of the body) is aborted right after, and a request given the same
   * connection meanwhile waits inside undici until the connection is usable again.
   */
  private giveBack(): void {
    const { client, connections } = this;
    if (client === undefined || connections === undefined) return;
    this.client = undefined;
    connections.release(client);
  }

  /** End the exchange from our side (its outcome already decided); undici's abort runs once. */
  private stop(why: string): void {
    this.stopped ??= new Error(why);
    this.abortRequest?.(this.stopped);
  }

  private answer(): DeliveryOutcome {
    return {
      kind: "response",
      status: this.status,
      latencyMs: this.latencyMs,
      bodyPreview: this.kept ? Buffer.concat(this.kept).toString("utf8") : "",
      bodyBytes: this.total,
      headers: this.keep && this.responseHeaders ? flattenHeaders(this.responseHeaders) : NO_HEADERS,
    };
  }
}

/** The headers of a success that is only counted (see keepSuccessBodies): shared, never changed. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO/;

/**
 * Classify a connection failure from the error's code, searching its causes. `answered`: the
 * status line and headers had arrived when it failed (the body was cut short).
 */
export function describeNetworkError(
  error: unknown,
  url: string,
  answered?: { status: number; bodyBytes: number },
): { error: NetworkErrorKind; message: string } {
  const codes = collectCodes(error);
  const origin = safeOrigin(url);
  const has = (...wanted: string[]) => codes.some((code) => wanted.includes(code));
  if (answered && has("ECONNRESET", "UND_ERR_SOCKET", "EPIPE")) {
    // Not "without an answer": the handler answered, and the connection broke before the body ended.
    const got = `${answered.bodyBytes} byte${answered.bodyBytes === 1 ? "" : "s"} of it arrived`;
    return {
      error: "other",
      message: `${origin} answered ${answered.status}, then the connection ${has("ECONNRESET") ? "was reset" : "closed"} before the body ended (${got}): an incomplete answer`,
    };
  }
  if (has("UND_ERR_SOCKET") && (error as Error).message === "bad response") {
    // undici's word for an interim 100 Continue it never asked for (or bytes with no request waiting):
    // the handler is still there, it sent no final status line.
    return {
      error: "other",
      message: `${origin} sent "100 Continue" (not asked for) or other bytes that are not an answer, and no final status; the HTTP client gave up on the connection`,
    };
  }
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
  if (isWasmOutOfMemory(error))
    return { error: "other", message: `request to ${origin} not sent: ${WASM_MEMORY_ADVICE}` };
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
