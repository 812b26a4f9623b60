/**
 * Building the request OpenMail sends: exactly its headers, with the signature over the exact body
 * bytes that go on the wire. Used by send-test and replay. Pure.
 */
import { isHeaderValue } from "./header-value.js";
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
 * An event id HTTP cannot carry in X-Event-Id (control characters, characters beyond Latin-1): undici
 * refused it at send time, and the run counted a request it never sent as a failed delivery ("OpenMail
 * would retry"), or --print wrote a header broken over two lines. Thrown before anything is sent.
 */
export class UnsendableEventIdError extends Error {
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

/** The signed request; throws UnsendableEventIdError for an event id no header can carry. */
export function signedRequest(options: SignOptions): WebhookRequest {
  if (options.eventId !== undefined && !isHeaderValue(options.eventId)) {
    throw new UnsendableEventIdError(options.eventId);
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
