/**
 * Building the request OpenMail sends: exactly its headers, with the signature over the exact body
 * bytes that go on the wire. Used by send-test and replay. Pure.
 */
import { isHeaderName, isHeaderValue } from "./header-value.js";
import { sign } from "./signature.js";

export interface WebhookRequest {
  headers: Record<string, string>;
  body: Buffer;
}

export interface SignOptions {
  body: Buffer;
  secret: string;
  /** Unix seconds. */
  timestamp: number | string;
  eventId?: string;
  /** Content-Type in place of OpenMail's application/json (replay keeps a capture's own). */
  contentType?: string;
  /** Added after OpenMail's headers (so they can override them, on purpose). */
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

/**
 * A request no HTTP client sends as it is (a header HTTP cannot carry): thrown before anything is
 * sent, so the item is named as not sent, never counted as a delivery that failed ("OpenMail would
 * retry", "the handler may still have received it").
 */
export class UnsendableRequestError extends Error {}

/**
 * An event id HTTP cannot carry in X-Event-Id (control characters, characters beyond Latin-1): undici
 * refused it at send time, and the run counted a request it never sent as a failed delivery ("OpenMail
 * would retry"), or --print wrote a header broken over two lines. Thrown before anything is sent.
 */
export class UnsendableEventIdError extends UnsendableRequestError {
  /** `event_id "…" cannot be sent in the X-Event-Id header (…)`, for a caller's own message. */
  readonly detail: string;
  constructor(eventId: string) {
    const shown = JSON.stringify(eventId.length > 60 ? `${eventId.slice(0, 60)}…` : eventId);
    const detail = `event_id ${shown} cannot be sent in the X-Event-Id header (control characters or characters beyond Latin-1)`;
    super(`its ${detail}: not sent`);
    this.name = "UnsendableEventIdError";
    this.detail = detail;
  }
}

/**
 * A captured header that cannot be sent as it is (`replay --keep-signature` sends the captured headers;
 * a capture is a file anyone can edit): a value with CR, LF or other control characters, or
 * characters beyond Latin-1, or a name that is not an HTTP token. undici refused it at send time.
 */
export class UnsendableHeaderError extends UnsendableRequestError {
  /** `advice`: what to do instead, said after "not sent". */
  constructor(name: string, value: string, advice?: string) {
    const shownName = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
    const problem = isHeaderName(name)
      ? `its value ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} holds control characters (CR, LF, …) or characters beyond Latin-1`
      : "it is not a valid header name";
    super(
      `its captured header ${shownName} cannot be sent as it is (${problem}): not sent${advice ? `; ${advice}` : ""}`,
    );
    this.name = "UnsendableHeaderError";
  }
}

/** Throws UnsendableHeaderError for the first header HTTP cannot carry as it is. */
export function assertSendableHeaders(headers: Record<string, string>, advice?: string): void {
  for (const name in headers) {
    const value = headers[name] as string;
    if (!isHeaderName(name) || !isHeaderValue(value)) throw new UnsendableHeaderError(name, value, advice);
  }
}

/** The signed request; throws UnsendableEventIdError for an event id no header can carry. */
export function signedRequest(options: SignOptions): WebhookRequest {
  if (options.eventId !== undefined && !isHeaderValue(options.eventId)) {
    throw new UnsendableEventIdError(options.eventId);
  }
  // A capture's own Content-Type (replay keeps it) may hold what no header can carry.
  if (options.contentType !== undefined && !isHeaderValue(options.contentType)) {
    throw new UnsendableHeaderError("content-type", options.contentType);
  }
  const timestamp = String(options.timestamp);
  const headers: Record<string, string> = {
    "Content-Type": options.contentType ?? "application/json",
    "X-Timestamp": timestamp,
    "X-Signature": sign(options.secret, timestamp, options.body),
  };
  if (options.eventId !== undefined) headers["X-Event-Id"] = options.eventId;
  const extra = options.extraHeaders;
  return { headers: extra && extra.length > 0 ? withExtraHeaders(headers, extra) : headers, body: options.body };
}

/** Add headers, replacing any of the same name whatever its case. */
export function withExtraHeaders(
  headers: Record<string, string>,
  extra: ReadonlyArray<readonly [string, string]> = [],
): Record<string, string> {
  const out = { ...headers };
  for (const [name, value] of extra) {
    for (const key of Object.keys(out)) if (key.toLowerCase() === name.toLowerCase()) delete out[key];
    out[name] = value;
  }
  return out;
}

/** The event id in a JSON body, if it has one. */
export function eventIdOf(body: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(body).toString("utf8")) as { event_id?: unknown };
    return typeof parsed.event_id === "string" ? parsed.event_id : undefined;
  } catch {
    return undefined;
  }
}

/** Unix seconds from milliseconds. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and those the client recomputes for the new connection.
const NOT_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "expect",
]);

/** The received headers to pass on to the developer's handler: all end-to-end ones, unchanged. */
export function forwardableHeaders(headers: Record<string, string>): Record<string, string> {
  // A loop, not entries/filter/fromEntries: this runs on every forward's way out (a quarter of the
  // time from parsed to dispatched, notes-w2). Copied into a null-prototype map, as received.
  const forwarded: Record<string, string> = Object.create(null);
  for (const name in headers) {
    if (!NOT_FORWARDED.has(name.toLowerCase())) forwarded[name] = headers[name] as string;
  }
  return forwarded;
}
