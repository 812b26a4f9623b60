/**
 * The local HTTP receiver (node:http). It accepts POSTs on the webhook path, keeps the body byte for
 * byte within a size limit, and hands each request to the pipeline; everything else gets a short
 * 404/405. It never prints: it reports what happened through callbacks, including what became of
 * every answer (written, the sender gone, refused at shutdown, dropped).
 *
 * Bounds: a budget of body bytes held at once across all requests (past it, 503 with Retry-After,
 * which OpenMail retries), a cap on open connections, header and request deadlines that Node checks
 * every second (its default of 30 s made a 10 s deadline 25-28 s), and a shutdown that ends within
 * its grace period: new requests are refused with 503 at once, and what is still running when the
 * grace period ends is aborted and answered 503 (or dropped, when no answer can be written).
 */
import { setMaxListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type CapturedRequest, headersFromRaw } from "../core/capture.js";
import type { AnswerFate } from "../core/judgement-words.js";
import { CliError } from "../errors.js";
import { InFlight, type InFlightLinks } from "./in-flight.js";

export interface ListenerOptions {
  host: string;
  port: number;
  /** The webhook path, e.g. /webhooks (a trailing slash is accepted too). */
  path: string;
  maxBodySize: number;
  /** Body bytes held at once across all requests (default: DEFAULT_BODY_BUDGET, at least one full body). */
  bodyBudget?: number;
  /** Open connections at most (default 1000). */
  maxConnections?: number;
  /** Deadlines for a request's headers and for the whole request (defaults 10 s and 60 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

// What became of an answer: defined in core, beside the words made from it.
export type { AnswerFate };

export interface WebhookResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
  /** Told once what became of this answer, so nothing claims "answered" unless it was written. */
  onSettled?(fate: AnswerFate): void;
}

export type RefusalReason = "busy" | "shutting-down";
/** headers over Node's 16 KiB limit (431), headers not all arrived within their deadline (408), not HTTP (400). */
export type UnparsedReason = "header-overflow" | "headers-timeout" | "bad-request";

export type ListenerNotice =
  | { type: "ignored"; method: string; path: string; status: number; hint: string }
  | { type: "too-large"; method: string; path: string; limit: number; received: number }
  /** Refused with 503 and Retry-After, not read and not forwarded: too many body bytes in flight, or stopping. */
  | { type: "refused"; reason: RefusalReason; method: string; path: string; status: 503; fate: AnswerFate }
  /** Node's parser gave up on a request before it reached the listener: answered 400, 408 or 431 and closed. */
  | { type: "unparsed"; status: number; reason: UnparsedReason }
  /** Answered 408 and closed: the whole request (its body) did not arrive within the request deadline. */
  | { type: "timed-out"; method: string; path: string; status: 408; limitMs: number }
  /** The sender ended the connection before its body was complete: nobody to answer, nothing processed. */
  | { type: "incomplete-body"; method: string; path: string }
  | { type: "handler-error"; message: string };

export interface WebhookContext {
  /** Aborted when the shutdown's grace period ends: stop forwarding and return. */
  signal: AbortSignal;
}

export interface ListenerHandlers {
  /**
   * `rawHeaders` are Node's `req.rawHeaders` ([name, value, ...] as sent), which `request.headers`
   * was made from: cheaper for the inspector to copy than the header object (see event-index.ts).
   */
  onWebhook(
    request: CapturedRequest,
    context: WebhookContext,
    rawHeaders?: readonly string[],
  ): WebhookResponse | Promise<WebhookResponse>;
  onNotice(notice: ListenerNotice): void;
}

export interface RunningListener {
  /** http://host:port, without the path. */
  origin: string;
  port: number;
  /**
   * Stop accepting (new requests on open connections get 503), let requests in flight finish within
   * `graceMs`, then abort the rest, answer them 503 where an answer can still be written, and close
   * every connection. Resolves within graceMs + SETTLE_MS.
   */
  close(graceMs: number): Promise<void>;
}

export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often Node checks those deadlines (its default, 30 s, made them up to 30 s late). */
const TIMEOUT_CHECK_MS = 1_000;
/** Body bytes held at once across all requests; about three times that is the memory they cost. */
export const DEFAULT_BODY_BUDGET = 48 * 1024 * 1024;
// Past it new connections are closed at once (OpenMail retries); below it, memory per idle connection is small.
const DEFAULT_MAX_CONNECTIONS = 1000;
/** How long the rest of a refused body is read (and discarded) so the answer reaches the sender. */
const DRAIN_MS = 5_000;
/** After the grace period: time for refusals to be written and handlers to return. */
export const SETTLE_MS = 600;
const RETRY_AFTER_SECONDS = "5";

interface Pending {
  res: ServerResponse;
  /** Set once the listener itself answered (a 503 at the end of a shutdown): that answer's fate. */
  refused?: Promise<AnswerFate>;
}

export async function startListener(options: ListenerOptions, handlers: ListenerHandlers): Promise<RunningListener> {
  const webhookPath = options.path.replace(/\/+$/, "") || "/";
  const budget = new BodyBudget(Math.max(options.bodyBudget ?? DEFAULT_BODY_BUDGET, 1));
  const pending = new InFlight<Exchange>();
  // Every handler's context: one signal, aborted once when close()'s grace period ends, which is when
  // every request still in flight is aborted. An AbortController per forwarded request (and a
  // listener on each) cost about 10 µs of each forward's hop (notes-w2). Unlimited listeners: each
  // forward in flight listens on it (Node warns past 10 by default).
  const graceOver = new AbortController();
  setMaxListeners(0, graceOver.signal);
  const webhookContext: WebhookContext = { signal: graceOver.signal };
  const settledWaiters = new Set<() => void>();
  const state = { stopping: false };
  // Sockets with a request being handled: a parse error on them (bytes after the request) must
  // not answer 400 over the answer still to come.
  const busySockets = new WeakMap<Socket, number>();
  const shared: Shared = {
    webhookPath,
    options,
    handlers,
    budget,
    state,
    webhookContext,
    done(exchange) {
      pending.delete(exchange);
      const socket = exchange.req.socket;
      const left = (busySockets.get(socket) ?? 1) - 1;
      busySockets.set(socket, left);
      if (left === 0 && socket.listenerCount("openmail-hooks:ended") > 0) socket.emit("openmail-hooks:ended");
      if (pending.size === 0) for (const waiter of settledWaiters) waiter();
    },
  };

  const server: Server = createServer(
    {
      headersTimeout: options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      const socket = req.socket;
      busySockets.set(socket, (busySockets.get(socket) ?? 0) + 1);
      const exchange = new Exchange(req, res, shared);
      pending.add(exchange);
      exchange.start();
    },
  );
  // Every header is kept (a request padded with filler headers must not lose its signature);
  // their total size stays bounded by Node's 16 KiB header limit (431 past it).
  server.maxHeadersCount = 0;
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if ((busySockets.get(socket) ?? 0) > 0) {
      // The request deadline passed while a request's body was still arriving (a sender that stalls
      // mid-body): without an answer here its connection and body budget were held for ever.
      if (error.code === "ERR_HTTP_REQUEST_TIMEOUT" && timeOutUnfinishedBody(socket)) return;
      // The sender hung up mid-body (its end of the connection closed before the declared length):
      // nothing more can arrive. Without this the body and its budget were held until the request
      // deadline, so a few such senders kept every real webhook out with 503 for a minute.
      if (error.code === "HPE_INVALID_EOF_STATE" && dropUnfinishedBody(socket)) return;
      // Anything else the parser gives up on inside a body still arriving (a chunk size that is not
      // hex): that body can never end. Answered 400 and closed now, not left to the request deadline.
      if (refuseUnfinishedBody(socket)) return;
      // Garbage after a request: let that request's answer go out first, then close.
      socket.once("openmail-hooks:ended", () => socket.destroySoon());
      return;
    }
    const status = clientErrorStatus(error);
    // A connection reset before anything was sent is not a request: nothing to answer or show.
    if (answerRaw(socket, status)) handlers.onNotice({ type: "unparsed", status, reason: unparsedReason(status) });
  });

  /** Answer 408 to the request on `socket` whose body is unfinished, then close; false if there is none. */
  function timeOutUnfinishedBody(socket: Socket): boolean {
    const seconds = Math.round(requestTimeoutMs / 100) / 10;
    return answerUnfinishedBody(socket, 408, `the whole request did not arrive within ${seconds} s`, (method, path) =>
      handlers.onNotice({ type: "timed-out", method, path, status: 408, limitMs: requestTimeoutMs }),
    );
  }

  /** Answer 400 to the request on `socket` whose body the parser gave up on, then close; false if there is none. */
  function refuseUnfinishedBody(socket: Socket): boolean {
    return answerUnfinishedBody(socket, 400, "the body is not valid HTTP (its framing is broken)", () =>
      handlers.onNotice({ type: "unparsed", status: 400, reason: "bad-request" }),
    );
  }

  /** Answer `status` to the request on `socket` whose body is unfinished, then close; false if there is none. */
  function answerUnfinishedBody(
    socket: Socket,
    status: number,
    why: string,
    notify: (method: string, path: string) => void,
  ): boolean {
    const res = unfinishedAnswerOn(socket);
    if (!res) return false;
    const { method = "POST", url = "/" } = res.req;
    notify(method, url);
    const body = `openmail-hooks: ${why}\n`;
    // Once its answer is written Node detaches the request from the connection, so closing that
    // alone would leave the body's reader waiting: the request is destroyed too, and given up.
    const close = () => {
      res.req.destroy();
      socket.destroy();
    };
    res.once("finish", close);
    setTimeout(close, DRAIN_MS).unref();
    writeAnswer(res, { status, body }, true);
    return true;
  }

  /** The answer still to be written to a request on `socket` whose body has not all arrived, if any. */
  function unfinishedAnswerOn(socket: Socket): ServerResponse | undefined {
    for (const { res } of pending.toArray()) {
      if (res.socket === socket && !res.req.complete && !res.headersSent) return res;
    }
    return undefined;
  }

  /** Give up the request on `socket` whose body is unfinished, and the connection; false if there is none. */
  function dropUnfinishedBody(socket: Socket): boolean {
    const res = unfinishedAnswerOn(socket);
    if (!res) return false;
    const { method = "POST", url = "/" } = res.req;
    handlers.onNotice({ type: "incomplete-body", method, path: url });
    // The request's "close" ends its exchange (body read as aborted: its budget released).
    res.req.destroy();
    socket.destroy();
    return true;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;

  const allSettled = (ms: number) =>
    pending.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            settledWaiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          settledWaiters.add(done);
        });

  return {
    origin: `http://${host}:${port}`,
    port,
    async close(graceMs) {
      state.stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await allSettled(graceMs);
      // Grace is over: abort what is left and answer it now, where an answer can still be written.
      graceOver.abort();
      for (const entry of pending.toArray()) {
        if (entry.res.headersSent || entry.res.destroyed) continue;
        // Refused if the 503 is written before the connections close; dropped otherwise.
        const res = entry.res;
        entry.refused = new Promise<AnswerFate>((resolve) => {
          res.once("finish", () => resolve({ kind: "refused", status: 503 }));
          res.once("close", () =>
            resolve(res.writableFinished ? { kind: "refused", status: 503 } : { kind: "dropped" }),
          );
        });
        writeAnswer(res, serviceUnavailable("stopping: not processed, send it again later"), true);
      }
      await allSettled(SETTLE_MS);
      server.closeAllConnections();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 50).unref())]);
    },
  };
}

/** What every request's exchange shares: made once per listener. */
interface Shared {
  webhookPath: string;
  options: ListenerOptions;
  handlers: ListenerHandlers;
  budget: BodyBudget;
  state: { stopping: boolean };
  webhookContext: WebhookContext;
  /** The exchange is over (its answer's fate told, its body budget released): forget it. */
  done(exchange: Exchange): void;
}

/** Where a request's exchange is found by the event listeners shared by every request (below). */
const EXCHANGE = Symbol("openmail-hooks.exchange");
type Tagged = { [EXCHANGE]?: Exchange };

/**
 * One request, from its headers to its answer's fate. A webhook's path is driven by callbacks, not
 * promises: at thousands of events a second, the promises, closures and async frames an awaited
 * path made for every request were a large share of listen's CPU and of its allocation per event
 * (notes-n4). The event listeners are shared functions that find the exchange on the request.
 * Requests that are not webhooks (or are refused) take the awaited path in `answerOther`.
 */
class Exchange implements Pending, InFlightLinks<Exchange> {
  refused?: Promise<AnswerFate>;
  inFlightPrev: Exchange | undefined = undefined;
  inFlightNext: Exchange | undefined = undefined;
  private reservation: Reservation | undefined;
  /** The body: allocated at its declared length, or (chunked) gathered in `chunks` and joined. */
  private preallocated: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  /** True from the first byte awaited until the body is read (or reading stopped). */
  reading = false;
  private response: WebhookResponse | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly shared: Shared,
  ) {}

  start(): void {
    const { req, shared } = this;
    const rawPath = req.url ?? "/";
    const exact = rawPath === shared.webhookPath && !rawPath.includes("?");
    const pathname = exact ? rawPath : (rawPath.split("?")[0] ?? "/").replace(/\/+$/, "") || "/";
    const declared = declaredLength(req);
    const webhook = pathname === shared.webhookPath && req.method === "POST" && !shared.state.stopping;
    if (!webhook || (declared !== undefined && declared > shared.options.maxBodySize)) {
      this.after(answerOther(this, pathname, rawPath, declared));
      return;
    }
    const reservation = shared.budget.reserve(declared ?? 0);
    if (!reservation) {
      this.after(refuse(req, this.res, shared.handlers, "busy"));
      return;
    }
    this.reservation = reservation;
    if (declared !== undefined) this.preallocated = Buffer.allocUnsafe(declared);
    else this.chunks = [];
    this.reading = true;
    (req as Tagged)[EXCHANGE] = this;
    req.on("data", onBodyData);
    req.on("end", onBodyEnd);
    req.on("error", onBodyError);
    req.on("close", onBodyClose);
  }

  /** A chunk of the body; reading stops here when it is too large, over the budget, or more than declared. */
  data(chunk: Buffer): void {
    if (!this.reading) return;
    const size = this.size + chunk.length;
    const preallocated = this.preallocated;
    if (size > this.shared.options.maxBodySize) this.bodyRead("too-large");
    // Node enforces Content-Length, so more bytes than declared cannot arrive; guard anyway.
    else if (preallocated && size > preallocated.length) this.bodyRead("aborted");
    else if (!preallocated && !this.reservation?.grow(chunk.length)) this.bodyRead("busy");
    else {
      if (preallocated) chunk.copy(preallocated, this.size);
      else this.chunks?.push(chunk);
      this.size = size;
    }
  }

  /** The whole body as one buffer, or "aborted" when fewer bytes than declared arrived. */
  complete(): Buffer | "aborted" {
    const preallocated = this.preallocated;
    if (preallocated) return this.size === preallocated.length ? preallocated : "aborted";
    return Buffer.concat(this.chunks ?? [], this.size);
  }

  bodyRead(result: Buffer | "too-large" | "busy" | "aborted"): void {
    if (!this.reading) return;
    this.reading = false;
    const { req, res, shared } = this;
    req.removeListener("data", onBodyData);
    if (result === "aborted") this.over();
    else if (result === "too-large") {
      const { maxBodySize } = shared.options;
      const method = req.method ?? "POST";
      const path = req.url ?? "/";
      shared.handlers.onNotice({ type: "too-large", method, path, limit: maxBodySize, received: Number.NaN });
      this.after(settleAnswer(req, res, tooLarge(maxBodySize), true));
    } else if (result === "busy") this.after(refuse(req, res, shared.handlers, "busy"));
    else this.deliver(result);
  }

  /** Hand the request to the pipeline; its answer may come at once or later. */
  private deliver(body: Buffer): void {
    const { req, shared } = this;
    const request: CapturedRequest = {
      receivedAt: receivedAtNow(),
      method: "POST",
      path: req.url ?? "/",
      headers: headersFromRaw(req.rawHeaders),
      body,
    };
    let answer: WebhookResponse | Promise<WebhookResponse>;
    try {
      answer = shared.handlers.onWebhook(request, shared.webhookContext, req.rawHeaders);
    } catch (error) {
      answer = this.handlerFailed(error);
    }
    if (answer instanceof Promise) {
      answer.then(
        (response) => this.respond(response),
        (error) => this.respond(this.handlerFailed(error)),
      );
    } else this.respond(answer);
  }

  private handlerFailed(error: unknown): WebhookResponse {
    this.shared.handlers.onNotice({ type: "handler-error", message: (error as Error).message });
    return { status: 500, body: "openmail-hooks: internal error\n" };
  }

  private respond(response: WebhookResponse): void {
    this.response = response;
    if (this.refused) {
      this.refused.then((fate) => this.answered(fate));
      return;
    }
    // Not closed after it, even when stopping: a request that follows on this connection gets its
    // 503 in order; close() closes every connection once nothing is left in flight.
    const res = this.res;
    if (answerGone(res)) {
      this.answered(SENDER_GONE);
      return;
    }
    res.on("close", onAnswerClose);
    writeAnswer(res, response, false);
  }

  /** The answer's fate is known: tell the pipeline, then let the request go. */
  answered(fate: AnswerFate): void {
    try {
      this.response?.onSettled?.(fate);
    } finally {
      this.over();
    }
  }

  private over(): void {
    this.reservation?.release();
    this.shared.done(this);
  }

  /** The exchange ends when `work` (an answer not to a webhook, or a refusal) settles. */
  private after(work: Promise<unknown>): void {
    void work.finally(() => this.over());
  }
}

function exchangeOf(req: IncomingMessage): Exchange | undefined {
  return (req as Tagged)[EXCHANGE];
}
function onBodyData(this: IncomingMessage, chunk: Buffer): void {
  exchangeOf(this)?.data(chunk);
}
function onBodyEnd(this: IncomingMessage): void {
  const exchange = exchangeOf(this);
  if (exchange?.reading) exchange.bodyRead(exchange.complete());
}
function onBodyError(this: IncomingMessage): void {
  exchangeOf(this)?.bodyRead("aborted");
}
function onBodyClose(this: IncomingMessage): void {
  const exchange = exchangeOf(this);
  if (exchange?.reading) exchange.bodyRead(this.complete ? exchange.complete() : "aborted");
}
/** "close" always comes, after "finish" when the answer was written: one listener tells both. */
function onAnswerClose(this: ServerResponse): void {
  exchangeOf(this.req)?.answered(this.writableFinished ? WRITTEN : SENDER_GONE);
}

/** A request that is not a webhook to read: wrong path or method, stopping, or declared too large. */
async function answerOther(
  exchange: Exchange,
  pathname: string,
  rawPath: string,
  declared: number | undefined,
): Promise<void> {
  const { req, res } = exchange;
  const { options, handlers, webhookPath, state } = exchange.shared;
  const method = req.method ?? "GET";
  if (pathname !== webhookPath) {
    const hint = `not a webhook: OpenMail POSTs to ${options.path}`;
    handlers.onNotice({ type: "ignored", method, path: rawPath, status: 404, hint });
    return void (await settleAnswer(req, res, { status: 404, body: `openmail-hooks: ${hint}\n` }, false));
  }
  if (method !== "POST") {
    const hint = "webhooks are POST requests";
    handlers.onNotice({ type: "ignored", method, path: rawPath, status: 405, hint });
    const response = { status: 405, headers: { allow: "POST" }, body: `openmail-hooks: ${hint}\n` };
    return void (await settleAnswer(req, res, response, false));
  }
  if (state.stopping) return refuse(req, res, handlers, "shutting-down");
  handlers.onNotice({ type: "too-large", method, path: rawPath, limit: options.maxBodySize, received: declared ?? 0 });
  return void (await settleAnswer(req, res, tooLarge(options.maxBodySize), true));
}

let lastReceivedMs = Number.NaN;
let lastReceivedIso = "";
/** The time now as an ISO string: made once per millisecond (many requests arrive within one). */
function receivedAtNow(): string {
  const ms = Date.now();
  if (ms !== lastReceivedMs) {
    lastReceivedMs = ms;
    lastReceivedIso = new Date(ms).toISOString();
  }
  return lastReceivedIso;
}

/** Answer 503 with Retry-After (too many body bytes in flight, or stopping); OpenMail retries it. */
async function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: ListenerHandlers,
  reason: RefusalReason,
): Promise<void> {
  const text =
    reason === "busy" ? "busy: too many large bodies at once, send it again later" : "stopping: send it again later";
  const fate = await settleAnswer(req, res, serviceUnavailable(text), true);
  const method = req.method ?? "GET";
  handlers.onNotice({ type: "refused", reason, method, path: req.url ?? "/", status: 503, fate });
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function tooLarge(limit: number): WebhookResponse {
  return { status: 413, body: `openmail-hooks: body larger than ${limit} bytes (raise --max-body-size)\n` };
}

function serviceUnavailable(reason: string): WebhookResponse {
  return { status: 503, headers: { "retry-after": RETRY_AFTER_SECONDS }, body: `openmail-hooks: ${reason}\n` };
}

/** Bytes of request bodies held at once. One request is always let in, whatever its size. */
class BodyBudget {
  used = 0;
  holders = 0;
  constructor(readonly limit: number) {}

  reserve(bytes: number): Reservation | undefined {
    if (this.holders > 0 && this.used + bytes > this.limit) return undefined;
    this.used += bytes;
    this.holders += 1;
    return new Reservation(this, bytes);
  }
}

/** One request's share of the budget (a class: two closures per request cost more). */
class Reservation {
  private released = false;
  constructor(
    private readonly budget: BodyBudget,
    private held: number,
  ) {}

  grow(more: number): boolean {
    const budget = this.budget;
    if (budget.holders > 1 && budget.used + more > budget.limit) return false;
    budget.used += more;
    this.held += more;
    return true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.used -= this.held;
    this.budget.holders -= 1;
  }
}

/**
 * Write an answer and report its fate once known. With `closeAfter` the connection closes after
 * it; a body not read yet is read and discarded first (for up to DRAIN_MS), because closing with
 * unread bytes resets the connection and the sender would never see the answer.
 */
function settleAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  response: WebhookResponse,
  closeAfter: boolean,
): Promise<AnswerFate> {
  if (answerGone(res)) return Promise.resolve(SENDER_GONE);
  // "close" always comes, after "finish" when the answer was written: one listener tells both.
  const fate = new Promise<AnswerFate>((resolve) => {
    res.on("close", () => resolve(res.writableFinished ? WRITTEN : SENDER_GONE));
  });
  if (closeAfter && !req.complete) keepReadingUntilSenderDone(req);
  writeAnswer(res, response, closeAfter);
  return fate;
}

/**
 * After an early answer with Connection: close, Node ends the connection as soon as the answer is
 * written (socket.destroySoon), while the sender is still sending: the unread bytes turn that into
 * a reset, and the sender sees a broken pipe instead of the answer. Instead, only our side is ended,
 * and the rest of the body is read and discarded until the sender closes (or DRAIN_MS passes).
 */
function keepReadingUntilSenderDone(req: IncomingMessage): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  timer.unref();
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
  };
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
  req.resume();
}

const PLAIN_TEXT = "text/plain; charset=utf-8";
const WRITTEN: AnswerFate = Object.freeze({ kind: "written" });
const SENDER_GONE: AnswerFate = Object.freeze({ kind: "sender-gone" });

/** No answer can be written any more: the connection is gone, or an answer went out already. */
function answerGone(res: ServerResponse): boolean {
  return res.destroyed || res.headersSent || res.socket?.destroyed === true;
}

function writeAnswer(res: ServerResponse, response: WebhookResponse, closeAfter: boolean): void {
  if (res.destroyed || res.headersSent) return;
  const { body } = response;
  // With its length the answer goes out in one write: without, Node chunks it (size line, body, end).
  const length = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  const headers: Record<string, string> =
    response.headers === undefined
      ? { "content-type": PLAIN_TEXT, "content-length": length }
      : { "content-type": PLAIN_TEXT, ...response.headers, "content-length": length };
  if (closeAfter) headers.connection = "close";
  res.writeHead(response.status, headers);
  res.end(response.body);
}

function unparsedReason(status: number): UnparsedReason {
  return status === 431 ? "header-overflow" : status === 408 ? "headers-timeout" : "bad-request";
}

function clientErrorStatus(error: NodeJS.ErrnoException): number {
  if (error.code === "HPE_HEADER_OVERFLOW") return 431;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

/** An answer written straight to a socket the HTTP parser gave up on; false when it could not be. */
function answerRaw(socket: Socket, status: number): boolean {
  if (!socket.writable) {
    socket.destroy();
    return false;
  }
  const reason =
    status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), DRAIN_MS).unref();
  return true;
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
