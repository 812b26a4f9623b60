/**
 * OpenMail's webhook signature: sign, verify. Pure: no I/O, and the clock is a parameter.
 *
 * X-Signature = lowercase hex HMAC-SHA256(secret as UTF-8, `${X-Timestamp}.${rawBody}`),
 * and a receiver rejects timestamps more than 300 s from now, in either direction.
 * This module is the only place that computes the HMAC; every command goes through `sign`.
 */
import { createHmac } from "node:crypto";

/** The raw body: the exact bytes on the wire. A string is taken as its UTF-8 bytes. */
export type RawBody = Uint8Array | string;

/** Headers as Node (`IncomingHttpHeaders`), a plain record, or a fetch `Headers` object give them. */
export type HeaderSource =
  | Record<string, string | readonly string[] | number | undefined>
  | { get(name: string): string | null };

export const SIGNATURE_HEADER = "x-signature";
export const TIMESTAMP_HEADER = "x-timestamp";
export const EVENT_ID_HEADER = "x-event-id";
/** OpenMail's replay window, in seconds, both into the past and into the future. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
// Up to 15 digits, so a millisecond timestamp still parses (and is then diagnosed as one).
const UNIX_SECONDS = /^\d{1,15}$/;

/** Lowercase hex HMAC-SHA256 of `${timestamp}.${rawBody}` keyed with the secret's UTF-8 bytes. */
export function sign(secret: string, timestamp: string | number, rawBody: RawBody): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex");
}

/** HMAC over arbitrary bytes with the same key handling; used to try signing mistakes. */
export function hmacHex(secret: string, message: RawBody): string {
  return createHmac("sha256", secret).update(message).digest("hex");
}

/** Case-insensitive header lookup that never throws; arrays are joined as HTTP does. */
export function getHeader(headers: HeaderSource, name: string): string | undefined {
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
  let difference = 0;
  for (let i = 0; i < 64; i++) difference |= expectedHex.charCodeAt(i) ^ candidate.charCodeAt(i);
  return difference === 0;
}

export type VerifyFailureReason =
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
  /** The first reason it failed, in the order a receiver checks: headers, format, signature, time. */
  reason?: VerifyFailureReason;
  /** One sentence for humans. */
  message: string;
  checks: { headers: CheckState; signature: CheckState; timestamp: CheckState };
  timestamp?: TimestampCheck;
}

export interface VerifyInput {
  /** The raw request body, byte for byte as received. */
  body: RawBody;
  headers: HeaderSource;
  secret: string;
  /** Allowed distance between the timestamp and `now`, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The time to judge the timestamp against, in unix seconds (default: the current time). */
  now?: number;
}

/**
 * Verify a delivery the way a correct OpenMail receiver does. Never throws on malformed input:
 * every problem comes back as a verdict with a reason.
 */
export function verify(input: VerifyInput): Verdict {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const signature = getHeader(input.headers, SIGNATURE_HEADER)?.trim();
  const rawTimestamp = getHeader(input.headers, TIMESTAMP_HEADER)?.trim();

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

  const timestampState: CheckState = timestamp.within ? "pass" : "fail";
  if (!HEX_SIGNATURE.test(signature)) {
    return {
      valid: false,
      reason: "malformed_signature",
      message: "X-Signature is not 64 lowercase hex characters",
      checks: { headers: "pass", signature: "fail", timestamp: timestampState },
      timestamp,
    };
  }

  if (!signaturesEqual(sign(input.secret, rawTimestamp, input.body), signature)) {
    return {
      valid: false,
      reason: "signature_mismatch",
      message: "signature does not match the body, timestamp and secret",
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
    };
  }

  return {
    valid: true,
    message: "signature valid and timestamp within tolerance",
    checks: { headers: "pass", signature: "pass", timestamp: "pass" },
    timestamp,
  };
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

/** "timestamp is 421 s old (tolerance 300 s)". */
export function describeAge(check: TimestampCheck): string {
  if (check.ageSeconds === undefined) return `timestamp ${JSON.stringify(check.raw.slice(0, 40))} is not unix seconds`;
  return `timestamp is ${ageText(check.ageSeconds)} (tolerance ${check.toleranceSeconds} s)`;
}
