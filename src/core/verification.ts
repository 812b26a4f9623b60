/**
 * The rules of an OpenMail signature check, without the HMAC: what the input must be, the header
 * and timestamp checks, and the verdicts. Pure and runtime-neutral (no node:crypto, no Buffer), so
 * the Node entry (`signature.ts`, synchronous node:crypto) and the Web entry (`web-crypto.ts`,
 * asynchronous crypto.subtle) give the same verdicts for the same input.
 *
 * X-Signature = lowercase hex HMAC-SHA256(secret as UTF-8, `${X-Timestamp}.${rawBody}`),
 * and a receiver rejects timestamps more than 300 s from now, in either direction.
 */

/** The raw body: the exact bytes on the wire. A string is taken as its UTF-8 bytes. A Buffer is a Uint8Array. */
export type RawBody = Uint8Array | ArrayBuffer | string;

/** Headers as Node (`IncomingHttpHeaders`), a plain record, or a fetch `Headers` object give them. */
export type HeaderSource =
  | Record<string, string | readonly string[] | number | undefined>
  | { get(name: string): string | null };

/**
 * One secret, or several while a rotation rolls out (new first, then old): a delivery signed with
 * any of them verifies, and the verdict says which. Unset entries (`undefined`, "") in a list are
 * skipped, so `[process.env.NEW, process.env.OLD]` keeps working once OLD is removed.
 */
export type SecretInput = string | readonly (string | undefined)[];

export const SIGNATURE_HEADER = "x-signature";
export const TIMESTAMP_HEADER = "x-timestamp";
export const EVENT_ID_HEADER = "x-event-id";
/** OpenMail's replay window, in seconds, both into the past and into the future. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
// Up to 15 digits, so a millisecond timestamp still parses (and is then diagnosed as one).
const UNIX_SECONDS = /^\d{1,15}$/;

export type VerifyFailureReason =
  /** The body is not the raw bytes: a parsed object (express.json()), undefined, a stream, a number... */
  | "body_not_raw"
  /** No usable secret: undefined (an unset environment variable), empty, or not a string. */
  | "secret_missing"
  /** The headers argument itself is missing or not a headers object. */
  | "headers_missing"
  | "missing_signature"
  | "missing_timestamp"
  | "malformed_signature"
  | "malformed_timestamp"
  | "signature_mismatch"
  | "timestamp_too_old"
  | "timestamp_in_future";

export type CheckState = "pass" | "fail" | "skipped";

export interface TimestampCheck {
  /** The header value as received. */
  raw: string;
  /** Parsed unix seconds, when the header is a plain integer. */
  seconds?: number;
  /** now - timestamp: positive when the timestamp lies in the past. */
  ageSeconds?: number;
  toleranceSeconds: number;
  within: boolean;
}

export interface Verdict {
  valid: boolean;
  /** The first reason it failed: the arguments, then headers, format, signature, time. */
  reason?: VerifyFailureReason;
  /** One sentence for humans; for a mistake in the arguments it says the fix. */
  message: string;
  checks: { headers: CheckState; signature: CheckState; timestamp: CheckState };
  timestamp?: TimestampCheck;
  /** Which secret the signature matched: its index in the list given (0 for a single secret). */
  secretIndex?: number;
}

export interface VerifyInput {
  /** The raw request body, byte for byte as received: string, Buffer, Uint8Array or ArrayBuffer. */
  body: RawBody;
  headers: HeaderSource;
  /** The webhook secret, or a list while rotating (see SecretInput). Undefined gives `secret_missing`. */
  secret: SecretInput | undefined;
  /**
   * Allowed distance between the timestamp and `now`, in seconds (default 300): a number >= 0
   * (`Infinity` turns the check off). Anything else (`NaN`, a string, a negative number) throws a TypeError.
   */
  toleranceSeconds?: number;
  /**
   * The time to judge the timestamp against (default: the current time): unix seconds, or a `Date`.
   * A number above 1e11 is milliseconds (`Date.now()`), not seconds, and throws a TypeError saying to
   * pass `Math.floor(Date.now() / 1000)` or a `Date`; so does `NaN` or a string.
   */
  now?: number | Date;
}

/**
 * A check that got past everything but the HMAC: the caller computes the expected signature for
 * each secret (synchronously or not), then calls `settle` with the index of the one that matched.
 */
export interface PendingCheck {
  kind: "pending";
  secrets: ReadonlyArray<{ secret: string; index: number }>;
  /** The X-Timestamp header exactly as received: it is part of the signed message. */
  rawTimestamp: string;
  signature: string;
  body: string | Uint8Array;
  timestamp: TimestampCheck;
}

/** Every check that needs no HMAC: a final verdict, or what is left to compute. */
export function precheck(input: VerifyInput): Verdict | PendingCheck {
  const given = (input ?? {}) as Partial<VerifyInput>;
  // The caller's constants first: a wrong one throws whatever the request or the environment holds.
  const tolerance =
    given.toleranceSeconds == null ? DEFAULT_TOLERANCE_SECONDS : checkedTolerance(given.toleranceSeconds);
  const now = given.now == null ? Math.floor(Date.now() / 1000) : checkedNow(given.now);
  const secrets = usableSecrets(given.secret);
  if (typeof secrets === "string") return inputProblem("secret_missing", secrets);
  const body = rawBodyOf(given.body);
  if (typeof body === "object" && "problem" in body) return inputProblem("body_not_raw", body.problem);
  if (!isHeaderSource(given.headers)) {
    return inputProblem(
      "headers_missing",
      Array.isArray(given.headers)
        ? "the headers are an array (entries, or Node's req.rawHeaders): pass the headers object itself (req.headers in Node, request.headers in a fetch handler), or Object.fromEntries(entries)"
        : `no headers were given (${describeValue(given.headers)}): pass the request's headers (req.headers in Node, request.headers in a fetch handler)`,
    );
  }

  const signature = getHeader(given.headers, SIGNATURE_HEADER)?.trim();
  const rawTimestamp = getHeader(given.headers, TIMESTAMP_HEADER)?.trim();

  if (!signature || rawTimestamp === undefined || rawTimestamp === "") {
    const reason = !signature ? "missing_signature" : "missing_timestamp";
    const missing = [!signature && "X-Signature", !rawTimestamp && "X-Timestamp"].filter(Boolean).join(" and ");
    return {
      valid: false,
      reason,
      message: `missing ${missing} header`,
      checks: { headers: "fail", signature: "skipped", timestamp: "skipped" },
    };
  }

  const timestamp = checkTimestamp(rawTimestamp, now, tolerance);
  if (timestamp.seconds === undefined) {
    return {
      valid: false,
      reason: "malformed_timestamp",
      message: `X-Timestamp is not unix seconds: ${JSON.stringify(rawTimestamp.slice(0, 40))}`,
      checks: { headers: "pass", signature: "skipped", timestamp: "fail" },
      timestamp,
    };
  }

  if (!HEX_SIGNATURE.test(signature)) {
    return {
      valid: false,
      reason: "malformed_signature",
      message: "X-Signature is not 64 lowercase hex characters",
      checks: { headers: "pass", signature: "fail", timestamp: timestamp.within ? "pass" : "fail" },
      timestamp,
    };
  }
  return { kind: "pending", secrets, rawTimestamp, signature, body, timestamp };
}

/** The verdict once the HMAC is known: `matched` is the index of the secret that matched, or -1. */
export function settle(pending: PendingCheck, matched: number): Verdict {
  const { timestamp } = pending;
  const timestampState: CheckState = timestamp.within ? "pass" : "fail";
  if (matched < 0) {
    const several = pending.secrets.length > 1 ? ` (tried ${pending.secrets.length} secrets)` : "";
    return {
      valid: false,
      reason: "signature_mismatch",
      message: `signature does not match the body, timestamp and secret${several}`,
      checks: { headers: "pass", signature: "fail", timestamp: timestampState },
      timestamp,
    };
  }
  if (!timestamp.within) {
    const past = (timestamp.ageSeconds ?? 0) > 0;
    return {
      valid: false,
      reason: past ? "timestamp_too_old" : "timestamp_in_future",
      message: describeAge(timestamp),
      checks: { headers: "pass", signature: "pass", timestamp: "fail" },
      timestamp,
      secretIndex: matched,
    };
  }
  return {
    valid: true,
    message: "signature valid and timestamp within tolerance",
    checks: { headers: "pass", signature: "pass", timestamp: "pass" },
    timestamp,
    secretIndex: matched,
  };
}

/**
 * `toleranceSeconds` as given, or a TypeError: these options are constants in the calling code, so a
 * wrong one is a bug to fix there, not a verdict on a request (NaN made every delivery "in the future").
 */
function checkedTolerance(tolerance: unknown): number {
  if (typeof tolerance === "number" && tolerance >= 0) return tolerance;
  throw new TypeError(
    `openmail-hooks: toleranceSeconds must be a number of seconds >= 0 (OpenMail's window is 300), not ${describeOption(tolerance)}`,
  );
}

/** Milliseconds from 1e11 on: as seconds that is the year 5138, as milliseconds March 1973. */
const MILLISECONDS_FROM = 1e11;

/** `now` in unix seconds, or a TypeError that says what to pass. */
function checkedNow(now: unknown): number {
  if (typeof now === "number" && Number.isFinite(now) && now >= 0) {
    if (now < MILLISECONDS_FROM) return now;
    throw new TypeError(
      `openmail-hooks: now is in unix seconds, and ${now} is milliseconds (Date.now()): pass Math.floor(Date.now() / 1000), or a Date`,
    );
  }
  // A Date from any realm; an invalid one (new Date("yesterday")) has NaN for its time.
  if (Object.prototype.toString.call(now) === "[object Date]") {
    const ms = (now as Date).getTime();
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  throw new TypeError(
    `openmail-hooks: now must be unix seconds (Math.floor(Date.now() / 1000)) or a valid Date, not ${describeOption(now)}`,
  );
}

/** An option's value for an error message: options are not secrets, so a number or short string is shown. */
function describeOption(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (Object.prototype.toString.call(value) === "[object Date]")
    return Number.isNaN((value as Date).getTime()) ? "an invalid Date" : "a Date";
  return describeValue(value);
}

function inputProblem(reason: VerifyFailureReason, message: string): Verdict {
  return {
    valid: false,
    reason,
    message,
    checks: { headers: reason === "headers_missing" ? "fail" : "skipped", signature: "skipped", timestamp: "skipped" },
  };
}

const SECRET_FIX = "set it to the webhook secret from the OpenMail dashboard (Settings, Webhook secret)";

/** The last single secret's list: a receiver verifies with the same secret all day. */
let lastSingle: { secret: string; usable: ReadonlyArray<{ secret: string; index: number }> } | undefined;

/** The secrets worth trying with their indexes, or why there are none. */
function usableSecrets(secret: unknown): ReadonlyArray<{ secret: string; index: number }> | string {
  if (typeof secret === "string") {
    if (secret === "") return `the webhook secret is empty: ${SECRET_FIX}`;
    if (lastSingle?.secret !== secret)
      lastSingle = { secret, usable: Object.freeze([Object.freeze({ secret, index: 0 })]) };
    return lastSingle.usable;
  }
  if (secret === undefined || secret === null) {
    return `no webhook secret (${describeValue(secret)}): ${SECRET_FIX}, e.g. in OPENMAIL_WEBHOOK_SECRET`;
  }
  if (!Array.isArray(secret))
    return `the webhook secret is ${describeValue(secret)}, not a string: ${secretAsString(secret)}`;
  const usable: Array<{ secret: string; index: number }> = [];
  for (const [index, entry] of secret.entries()) {
    if (entry === undefined || entry === null || entry === "") continue;
    if (typeof entry !== "string")
      return `secret[${index}] is ${describeValue(entry)}, not a string: ${secretAsString(entry)}`;
    usable.push({ secret: entry, index });
  }
  return usable.length > 0 ? usable : `none of the ${secret.length} webhook secrets given is set: ${SECRET_FIX}`;
}

/**
 * The fix for a secret given as something else. Bytes are not taken as a key: OpenMail's key is the
 * secret string's UTF-8 bytes, and a string is what the dashboard shows and what an env var holds.
 */
function secretAsString(secret: unknown): string {
  return isBytes(secret)
    ? 'pass the secret as a string (bytes.toString("utf8") in Node, new TextDecoder().decode(bytes) elsewhere)'
    : `pass the secret string itself: ${SECRET_FIX}`;
}

function isBytes(value: unknown): boolean {
  return ArrayBuffer.isView(value) || /^\[object (Shared)?ArrayBuffer\]$/.test(Object.prototype.toString.call(value));
}

const RAW_BODY_HINT =
  "verify the raw bytes, e.g. express.raw({ type: 'application/json' }) in Express or await request.text() in a fetch handler";

/**
 * The arguments of `sign`/`signAsync` checked, for both entries: a signature made with an empty
 * secret or over `NaN.` is one no receiver accepts, so it is a TypeError here rather than a silent
 * wrong value. A string timestamp is signed as given (it is the X-Timestamp header, byte for byte).
 */
export function signingInput(secret: unknown, timestamp: unknown, rawBody: unknown): string | Uint8Array {
  if (typeof secret !== "string" || secret === "") {
    const what = secret === "" ? "an empty string" : describeValue(secret);
    const fix = isBytes(secret)
      ? secretAsString(secret)
      : "pass the webhook secret from the OpenMail dashboard (Settings, Webhook secret)";
    throw new TypeError(`cannot sign: the secret must be a non-empty string, not ${what}: ${fix}`);
  }
  if (
    typeof timestamp === "number" ? !Number.isSafeInteger(timestamp) || timestamp < 0 : typeof timestamp !== "string"
  ) {
    throw new TypeError(
      `cannot sign: the timestamp must be unix seconds, a whole number >= 0 or its string (Math.floor(Date.now() / 1000)), not ${describeOption(timestamp)}`,
    );
  }
  if (typeof timestamp === "number" && timestamp >= MILLISECONDS_FROM) {
    throw new TypeError(
      `cannot sign: the timestamp is unix seconds, and ${timestamp} is milliseconds (Date.now()): pass Math.floor(Date.now() / 1000)`,
    );
  }
  return bytesToSign(rawBody);
}

/** The body's bytes (or text) to sign; a TypeError naming what is wrong with one that cannot be. */
export function bytesToSign(body: unknown): string | Uint8Array {
  const bytes = rawBodyOf(body);
  if (typeof bytes === "object" && "problem" in bytes) throw new TypeError(`cannot sign: ${bytes.problem}`);
  return bytes;
}

/** The body as bytes or text for the HMAC, or why it is not a raw body. */
export function rawBodyOf(body: unknown): string | Uint8Array | { problem: string } {
  if (typeof body === "string") return body;
  // isView and the tag test also hold for bytes made in another realm (a vm context, a test runner).
  if (ArrayBuffer.isView(body)) {
    return body instanceof Uint8Array ? body : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  if (/^\[object (Shared)?ArrayBuffer\]$/.test(Object.prototype.toString.call(body))) {
    return new Uint8Array(body as ArrayBuffer);
  }
  if (body === undefined || body === null) {
    return { problem: `no body was given (${describeValue(body)}): ${RAW_BODY_HINT}` };
  }
  if (typeof body === "object" && isStream(body)) {
    return { problem: `the body is a stream, not its bytes: read it first; ${RAW_BODY_HINT}` };
  }
  // A Blob, a File, or the fetch Request/Response itself: something that holds the bytes.
  if (typeof body === "object" && typeof (body as { arrayBuffer?: unknown }).arrayBuffer === "function") {
    return {
      problem: `the body is ${describeValue(body)}, not its bytes: pass await body.arrayBuffer() (await request.text() or await request.arrayBuffer() in a fetch handler)`,
    };
  }
  if (typeof body === "object") return { problem: `the body is a parsed object: ${RAW_BODY_HINT}` };
  return { problem: `the body is ${describeValue(body)}: ${RAW_BODY_HINT}` };
}

function isStream(value: object): boolean {
  const candidate = value as { pipe?: unknown; getReader?: unknown };
  return typeof candidate.pipe === "function" || typeof candidate.getReader === "function";
}

function isHeaderSource(headers: unknown): headers is HeaderSource {
  return typeof headers === "object" && headers !== null && !Array.isArray(headers);
}

/**
 * "undefined", "null", "a number", "an array", "a Buffer", "a Blob": names a value without showing it
 * (it may be a secret). An object made by a class is named by its class; a plain one is "an object".
 */
function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  const name = type === "object" ? className(value as object) : type;
  // "an object", "an Int32Array", "a Uint8Array".
  return `${/^([aeiou]|[AEIO])/.test(name) ? "an" : "a"} ${name}`;
}

function className(value: object): string {
  let name: unknown;
  try {
    name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  } catch {
    // A Proxy whose traps throw: an object, then.
  }
  return typeof name === "string" && /^[A-Za-z_$][\w$]{0,40}$/.test(name) && name !== "Object" ? name : "object";
}

/** Case-insensitive header lookup that never throws; arrays are joined as HTTP does. */
export function getHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  const wanted = name.toLowerCase();
  if (typeof (headers as { get?: unknown }).get === "function") {
    const value = (headers as { get(name: string): string | null }).get(wanted);
    return value ?? undefined;
  }
  const record = headers as Record<string, string | readonly string[] | number | undefined>;
  // Node's IncomingHttpHeaders are lower-cased already: try that first, then any case.
  const direct = Object.hasOwn(record, wanted) ? record[wanted] : undefined;
  if (direct !== undefined) return headerText(direct);
  for (const key in record) {
    if (!Object.hasOwn(record, key) || key.toLowerCase() !== wanted) continue;
    const value = record[key];
    if (value !== undefined) return headerText(value);
  }
  return undefined;
}

function headerText(value: string | readonly string[] | number): string {
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/**
 * Constant-time comparison of a candidate signature with the expected lowercase hex: every one of
 * the 64 characters is compared whatever the first difference. Done on the strings rather than with
 * crypto.timingSafeEqual, whose two Buffer allocations per call cost about 15% of verifying a
 * 4 KiB body (BENCHMARKS.md); the lengths and alphabet are checked first, so no length leaks.
 */
export function signaturesEqual(expectedHex: string, candidate: string): boolean {
  if (!HEX_SIGNATURE.test(candidate) || !HEX_SIGNATURE.test(expectedHex)) return false;
  return sameHex(expectedHex, candidate);
}

/**
 * The constant-time loop alone, for callers that know both are 64 lowercase hex characters (verify:
 * the header passed the format check in `precheck`, the other is a digest), which saves two regular
 * expression tests per call on the hot path.
 */
export function sameHex(expectedHex: string, candidate: string): boolean {
  let difference = 0;
  for (let i = 0; i < 64; i++) difference |= expectedHex.charCodeAt(i) ^ candidate.charCodeAt(i);
  return difference === 0;
}

export function checkTimestamp(raw: string, now: number, toleranceSeconds: number): TimestampCheck {
  if (!UNIX_SECONDS.test(raw)) return { raw, toleranceSeconds, within: false };
  const seconds = Number(raw);
  const ageSeconds = now - seconds;
  return { raw, seconds, ageSeconds, toleranceSeconds, within: Math.abs(ageSeconds) <= toleranceSeconds };
}

/** "421 s old", "360 s in the future", "84701648 s old (980 days)". */
export function ageText(ageSeconds: number): string {
  const span = Math.abs(ageSeconds);
  const rough =
    span >= 2 * 86_400
      ? ` (${Math.round(span / 86_400)} days)`
      : span >= 2 * 3_600
        ? ` (${Math.round(span / 3_600)} hours)`
        : "";
  return ageSeconds >= 0 ? `${span} s old${rough}` : `${span} s in the future${rough}`;
}

/**
 * An X-Timestamp in milliseconds (Date.now()), which read as seconds lies thousands of years ahead:
 * unix seconds as checkTimestamp reads them, 13 digits or more, from MILLISECONDS_FROM on. The one
 * definition, for verify's timestamp line and diagnose's findings alike.
 */
export function isMillisecondsHeader(raw: string): boolean {
  return raw.length >= 13 && UNIX_SECONDS.test(raw) && Number(raw) >= MILLISECONDS_FROM;
}

/** isMillisecondsHeader of a checked timestamp's header. */
export function isInMilliseconds(check: TimestampCheck): boolean {
  return isMillisecondsHeader(check.raw);
}

/** "timestamp is 421 s old (tolerance 300 s)". */
export function describeAge(check: TimestampCheck): string {
  if (check.ageSeconds === undefined) return `timestamp ${JSON.stringify(check.raw.slice(0, 40))} is not unix seconds`;
  if (isInMilliseconds(check)) return `timestamp ${check.raw} is in milliseconds; OpenMail sends unix seconds`;
  return `timestamp is ${ageText(check.ageSeconds)} (tolerance ${check.toleranceSeconds} s)`;
}
