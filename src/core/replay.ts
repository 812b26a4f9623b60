/**
 * Preparing a saved request for replay: re-sign it with a fresh timestamp (the default), or keep
 * its captured headers; optionally give it a new event id or attempt number. The body's bytes are
 * kept exactly unless a change asks for them to differ. Pure.
 */
import type { CapturedRequest } from "./capture.js";
import type { PreparedDelivery } from "./contract.js";
import { assertSendableHeaders, forwardableHeaders, signedRequest, withExtraHeaders } from "./request.js";
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  describeAge,
  SIGNATURE_HEADER,
  sign,
  TIMESTAMP_HEADER,
  verify,
} from "./signature.js";
import { sameHex } from "./verification.js";

/** One thing to replay: a captured request, or a bare event body to sign fresh. */
export interface ReplayItem {
  /** "file.json", "events.ndjson:12", "standard input". */
  origin: string;
  kind: "capture" | "raw-http" | "payload";
  request: CapturedRequest;
  /**
   * A plain event body met while going through a folder (or looking up an event id), not named by
   * the user: nothing shows where it came from, so it is treated like a capture that does not verify.
   */
  foundInFolder?: boolean;
}

/** What filters and sorting look at. */
export interface ReplayMeta {
  receivedAt: string;
  occurredAt?: string;
  eventType?: string;
  inboxId?: string;
  eventId?: string;
}

export interface ReplayOptions {
  /** Required unless keepSignature. */
  secret?: string;
  keepSignature: boolean;
  newEventId?: string;
  attempt?: number;
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
  /** Re-sign a capture whose captured signature is missing or does not verify (refused otherwise). */
  resignUnverified?: boolean;
}

/**
 * A capture that would be re-signed although its captured signature does not prove it came from
 * OpenMail: anyone who could write to the folder could have put it there.
 */
export class UnverifiedCaptureError extends Error {
  override name = "UnverifiedCaptureError";
  constructor(
    message: string,
    /** Why it does not prove it, without the CLI's advice (the inspector words its own). */
    readonly why: string,
  ) {
    super(message);
  }
}

export function metaOf(request: CapturedRequest, body = parseObject(request.body)): ReplayMeta {
  const str = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    receivedAt: request.receivedAt,
    occurredAt: str(body?.occurred_at),
    eventType: str(body?.event),
    inboxId: str(body?.inbox_id),
    eventId: request.headers["x-event-id"] ?? str(body?.event_id),
  };
}

export interface ReplayFilter {
  field: "event" | "inbox" | "id" | "any";
  value: string;
}

/** "event=message.received", "inbox=inb_1", "id=evt_1", or a bare value matching any of them. */
export function parseFilter(text: string): ReplayFilter | undefined {
  const match = /^(event|type|inbox|inbox_id|id|event_id)=(.+)$/.exec(text);
  if (!match) return text.includes("=") ? undefined : { field: "any", value: text };
  const key = match[1] ?? "";
  const field = key === "type" || key === "event" ? "event" : key.startsWith("inbox") ? "inbox" : "id";
  return { field, value: match[2] ?? "" };
}

export function matchesFilters(meta: ReplayMeta, filters: readonly ReplayFilter[]): boolean {
  return filters.every((filter) => {
    const values =
      filter.field === "event"
        ? [meta.eventType]
        : filter.field === "inbox"
          ? [meta.inboxId]
          : filter.field === "id"
            ? [meta.eventId]
            : [meta.eventType, meta.inboxId, meta.eventId];
    return values.includes(filter.value);
  });
}

/** Build the request to send for one item, with notes for the developer. */
export function prepareReplay(item: ReplayItem, options: ReplayOptions, nowSeconds: number): PreparedDelivery {
  const { request } = item;
  const notes: string[] = [];
  // What the report says about the event (its type, the attempt it was) is read from its body only
  // when something asks (a record shown, a retry judged): a load run shows nothing for most events,
  // and the body's JSON.parse was a tenth of replay's own work per event.
  const described = new DescribedBody(request.body);
  const capturedId = request.headers["x-event-id"];

  if (options.keepSignature) {
    const timestamp = request.headers["x-timestamp"]?.trim() ?? "";
    const age = checkTimestamp(timestamp, nowSeconds, DEFAULT_TOLERANCE_SECONDS);
    const stale = !age.within;
    if (stale) {
      notes.push(
        `${item.origin}: sent with its captured signature; ${describeAge(age)}, so a correct handler rejects it (expected)`,
      );
    }
    const headers = withExtraHeaders(forwardableHeaders(request.headers), options.extraHeaders);
    // A captured header no HTTP client sends (CR/LF in a value): the item is skipped and named, not sent.
    assertSendableHeaders(
      headers,
      "replayed without --keep-signature, it is re-signed and sent with OpenMail's own headers only",
    );
    return new ReplayDelivery(
      item.kind,
      described,
      headers,
      Buffer.from(request.body),
      capturedId ?? described.eventId,
      undefined,
      notes,
      stale ? "4xx" : "2xx",
    );
  }

  if (options.secret === undefined) throw new Error("replay needs a secret to re-sign");
  // A bare body given explicitly is the user's own; a capture or raw request must prove where it
  // came from before the real secret vouches for it, and so must a bare body found in a folder
  // (a cloned repository can ship one, which replay --last would sign with the real secret).
  if (item.kind === "payload" && item.foundInFolder) {
    const why =
      "a plain event body found in a capture folder, with no captured signature to show it came from OpenMail";
    if (!options.resignUnverified) {
      throw new UnverifiedCaptureError(
        `${why}: not signed (--resign-unverified sends it anyway; to send a body of your own, name its file)`,
        why,
      );
    }
    notes.push(`${item.origin}: ${why}; signing it anyway`);
  } else if (item.kind !== "payload" && !capturedSignatureMatches(request, options.secret)) {
    // verify() says why (or finds it valid after all: a header it reads in another way).
    const captured = verify({
      body: request.body,
      headers: request.headers,
      secret: options.secret,
      // Only the signature matters here: captures are old by nature.
      toleranceSeconds: Number.MAX_SAFE_INTEGER,
      now: nowSeconds,
    });
    if (!captured.valid) {
      const why = `the captured signature does not verify with this secret (${captured.message})`;
      if (!options.resignUnverified) {
        throw new UnverifiedCaptureError(
          `${why}, so it may not be what OpenMail sent: not re-signed (--resign-unverified sends it anyway)`,
          why,
        );
      }
      notes.push(`${item.origin}: ${why}; re-signing with it anyway`);
    }
  }

  // The captured bytes themselves (a view, not a copy) unless a change asks for them to differ.
  let body = asBuffer(request.body);
  if (options.newEventId !== undefined || options.attempt !== undefined) {
    const rewritten = rewriteBody(body, { eventId: options.newEventId, attempt: options.attempt });
    for (const note of rewritten.notes) notes.push(`${item.origin}: ${note}`);
    body = rewritten.body;
  }
  // The id goes in a header: the captured one, else the body's (read now, then).
  const eventId = options.newEventId ?? capturedId ?? described.eventId;
  // An id no header can carry throws here (UnsendableEventIdError): the item is skipped and named.
  const signed = signedRequest({
    body,
    secret: options.secret,
    timestamp: nowSeconds,
    eventId,
    contentType: request.headers["content-type"] || undefined,
    extraHeaders: options.extraHeaders,
  });
  return new ReplayDelivery(item.kind, described, signed.headers, body, eventId, options.attempt, notes);
}

/** The fields of an event body the report names, parsed from its bytes on first use. */
class DescribedBody {
  private parsed: Record<string, unknown> | undefined;
  private read = false;
  constructor(private readonly bytes: Uint8Array) {}

  private fields(): Record<string, unknown> | undefined {
    if (!this.read) {
      this.parsed = parseObject(this.bytes);
      this.read = true;
    }
    return this.parsed;
  }
  get eventType(): string | undefined {
    const value = this.fields()?.event;
    return typeof value === "string" ? value : undefined;
  }
  get eventId(): string | undefined {
    const value = this.fields()?.event_id;
    return typeof value === "string" ? value : undefined;
  }
  get attempt(): number | undefined {
    const value = this.fields()?.attempt;
    return typeof value === "number" ? value : undefined;
  }
}

/**
 * A replayed event ready to send: its request, and what the report says about it (label, type,
 * attempt), those read from the captured body when asked (see DescribedBody). The attempt is the one
 * asked for (--attempt), else the captured body's, else 1.
 */
class ReplayDelivery implements PreparedDelivery {
  capturePath?: string;
  constructor(
    private readonly kind: ReplayItem["kind"],
    private readonly described: DescribedBody,
    readonly headers: Record<string, string>,
    readonly body: Buffer,
    readonly eventId: string | undefined,
    private readonly attemptAsked: number | undefined,
    readonly notes: string[],
    readonly expect?: "2xx" | "4xx",
  ) {}
  get eventType(): string | undefined {
    return this.described.eventType;
  }
  get label(): string {
    return this.described.eventType ?? this.kind;
  }
  get attempt(): number {
    return this.attemptAsked ?? this.described.attempt ?? 1;
  }
}

/**
 * Does the captured signature match the captured timestamp and body with this secret? When it does,
 * verify() (with the unlimited tolerance used here) says valid too: this is its answer for that case,
 * one HMAC without the verdict objects and header searches, which replay pays per event. Anything else
 * (a header missing, malformed or not matching) is left to verify() to judge and describe.
 */
function capturedSignatureMatches(request: CapturedRequest, secret: string): boolean {
  const signature = request.headers[SIGNATURE_HEADER]?.trim();
  const timestamp = request.headers[TIMESTAMP_HEADER]?.trim();
  if (signature?.length !== 64 || !timestamp || !UNIX_SECONDS.test(timestamp)) return false;
  // Equal to a digest's 64 lowercase hex characters: then it is 64 lowercase hex characters itself.
  return sameHex(sign(secret, timestamp, request.body), signature);
}

/** What verify() takes for a timestamp (up to 15 digits). */
const UNIX_SECONDS = /^\d{1,15}$/;

export interface BodyChanges {
  eventId?: string;
  attempt?: number;
}

/**
 * Change `event_id` and/or `attempt` at the top level of a JSON body, touching only those values'
 * bytes when it can find them, so the rest of the body stays byte for byte as captured.
 */
export function rewriteBody(body: Buffer, changes: BodyChanges): { body: Buffer; notes: string[] } {
  if (changes.eventId === undefined && changes.attempt === undefined) return { body, notes: [] };
  const parsed = parseObject(body);
  if (!parsed) throw new Error("the body is not a JSON object, so its event_id or attempt cannot be changed");
  let text = body.toString("utf8");
  const edits: Array<[string, string]> = [];
  if (changes.eventId !== undefined) edits.push(["event_id", JSON.stringify(changes.eventId)]);
  if (changes.attempt !== undefined) edits.push(["attempt", String(changes.attempt)]);

  const notes: string[] = [];
  for (const [key, value] of edits) {
    const pattern = new RegExp(`("${key}"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|-?\\d+(?:\\.\\d+)?)`);
    const edited = text.replace(pattern, (_, prefix: string) => `${prefix}${value}`);
    const check = parseObject(Buffer.from(edited));
    if (edited !== text && check && JSON.stringify(check[key]) === value) {
      text = edited;
      continue;
    }
    // Not found at the top level in place: rebuild the JSON (its formatting changes, its content does not).
    const rebuilt = { ...(parseObject(Buffer.from(text)) ?? parsed), [key]: JSON.parse(value) };
    text = JSON.stringify(rebuilt);
    notes.push(`added ${key} by re-serializing the body (compact JSON)`);
  }
  return { body: Buffer.from(text), notes };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function parseObject(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(asBuffer(body).toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
