/**
 * OpenMail's webhook signature on Node: sign and verify with node:crypto, synchronously. Pure: no
 * I/O, and the clock is a parameter. The rules and verdicts live in verification.ts and are shared
 * with the Web Crypto entry (web-crypto.ts). This module is the only place in the CLI that computes
 * the HMAC; every command goes through `sign`.
 */
import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import {
  type PendingCheck,
  precheck,
  type RawBody,
  rawBodyOf,
  sameHex,
  settle,
  type Verdict,
  type VerifyInput,
} from "./verification.js";

export {
  ageText,
  type CheckState,
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  describeAge,
  EVENT_ID_HEADER,
  getHeader,
  type HeaderSource,
  type RawBody,
  type SecretInput,
  SIGNATURE_HEADER,
  signaturesEqual,
  TIMESTAMP_HEADER,
  type TimestampCheck,
  type Verdict,
  type VerifyFailureReason,
  type VerifyInput,
} from "./verification.js";

/** Lowercase hex HMAC-SHA256 of `${timestamp}.${rawBody}` keyed with the secret's UTF-8 bytes. */
export function sign(secret: string, timestamp: string | number, rawBody: RawBody): string {
  // A cached key object: send-test and replay sign tens of thousands of events with one secret, and
  // encoding the secret again each time was a third of the HMAC's cost.
  return createHmac("sha256", hmacKey(requireSecret(secret)))
    .update(`${timestamp}.`)
    .update(bytesToSign(rawBody))
    .digest("hex");
}

/** HMAC over arbitrary bytes with the same key handling; used to try signing mistakes. */
export function hmacHex(secret: string, message: RawBody): string {
  return createHmac("sha256", secret).update(bytesToSign(message)).digest("hex");
}

/**
 * Verify a delivery the way a correct OpenMail receiver does. Never throws: a mistake in the
 * arguments (a parsed body, an unset secret, no headers) and every problem with the request come
 * back as a verdict with a reason and a message that says the fix.
 */
export function verify(input: VerifyInput): Verdict {
  const check = precheck(input);
  return "kind" in check ? settle(check, matchingSecret(check)) : check;
}

/** `sign` as a promise, for code shared with the Web Crypto entry (where signing is asynchronous). */
export async function signAsync(secret: string, timestamp: string | number, rawBody: RawBody): Promise<string> {
  return sign(secret, timestamp, rawBody);
}

/** `verify` as a promise, for code shared with the Web Crypto entry (where verifying is asynchronous). */
export async function verifyAsync(input: VerifyInput): Promise<Verdict> {
  return verify(input);
}

/**
 * Key objects by secret: a receiver verifies with the same one or two secrets all day, and a key
 * object spares each call encoding the secret again. Bounded, oldest out first.
 */
const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 16;

function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value as string);
    key = createSecretKey(Buffer.from(secret, "utf8"));
    keys.set(secret, key);
  }
  return key;
}

function matchingSecret(check: PendingCheck): number {
  for (const { secret, index } of check.secrets) {
    const expected = createHmac("sha256", hmacKey(secret))
      .update(`${check.rawTimestamp}.`)
      .update(check.body)
      .digest("hex");
    if (sameHex(expected, check.signature)) return index;
  }
  return -1;
}

function bytesToSign(body: RawBody): string | Uint8Array {
  const bytes = rawBodyOf(body);
  if (typeof bytes === "object" && "problem" in bytes) throw new TypeError(`cannot sign: ${bytes.problem}`);
  return bytes;
}

function requireSecret(secret: string): string {
  if (typeof secret !== "string") throw new TypeError("cannot sign: the secret must be a string");
  return secret;
}
