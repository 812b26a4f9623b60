/**
 * OpenMail's webhook signature on Node: sign and verify with node:crypto, synchronously. Pure: no
 * I/O, and the clock is a parameter. The rules and verdicts live in verification.ts and are shared
 * with the Web Crypto entry (web-crypto.ts). This module is the only place in the CLI that computes
 * the HMAC; every command goes through `sign`.
 */
import * as nodeCrypto from "node:crypto";
import { createHash, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import {
  bytesToSign,
  type PendingCheck,
  precheck,
  type RawBody,
  sameHex,
  settle,
  signingInput,
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
  isInMilliseconds,
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
  return hmacSha256Hex(secret, `${timestamp}.`, signingInput(secret, timestamp, rawBody));
}

/**
 * `sign` without the argument checks, for diagnose: it tries the secrets a signer may have used by
 * mistake, an empty one (a whitespace-only secret trimmed) among them.
 */
export function signAnyKey(secret: string, timestamp: string | number, rawBody: RawBody): string {
  return hmacSha256Hex(secret, `${timestamp}.`, bytesToSign(rawBody));
}

/** HMAC over arbitrary bytes with the same key handling; used to try signing mistakes. */
export function hmacHex(secret: string, message: RawBody): string {
  return createHmac("sha256", secret).update(bytesToSign(message)).digest("hex");
}

/**
 * Verify a delivery the way a correct OpenMail receiver does. Never throws for anything in the
 * request: a mistake in the arguments that carry it (a parsed body, an unset secret, no headers) and
 * every problem with the request come back as a verdict with a reason and a message that says the
 * fix. Only the caller's own constants throw, as a TypeError: `now` in milliseconds or not a
 * number/Date, a `toleranceSeconds` that is NaN or negative.
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
 * HMAC-SHA256 (RFC 2104) of `prefix` then `body`, in lowercase hex: the same bytes `createHmac`
 * gives. send-test and replay sign tens of thousands of events a second with one secret, and
 * `createHmac` made an object per event (a native handle the garbage collector must finalise), keyed
 * it again and hashed in three calls: about 5 µs of a send-test event's CPU. Here the key's two
 * blocks are computed once per secret, and an HMAC is two one-shot hashes: the inner one over the
 * key's inner block, the prefix and the body, copied side by side into a reused buffer; the outer one
 * over the key's outer block and that digest. A body too large for the reused buffer is hashed by
 * `createHmac` as it is, not copied.
 */
function hmacSha256Hex(secret: string, prefix: string, body: string | Uint8Array): string {
  const bodyBytes = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength;
  if (bodyBytes > MAX_SCRATCH_BYTES - BLOCK_BYTES - MAX_PREFIX_BYTES || !oneShotHash) {
    return streamedHmacHex(secret, prefix, body);
  }
  const key = keyBlocks(secret);
  // The scratch keeps the last secret's inner block and the last prefix (the same timestamp for a
  // second's worth of events): only what changed is written again.
  if (scratchKey !== key) {
    key.inner.copy(scratch, 0);
    scratchKey = key;
    scratchPrefix = undefined;
  }
  if (prefix !== scratchPrefix) {
    const written = writePrefix(prefix);
    if (written < 0) return streamedHmacHex(secret, prefix, body);
    scratchPrefix = prefix;
    bodyAt = BLOCK_BYTES + written;
  }
  const length = bodyAt + bodyBytes;
  if (scratch.length < length) {
    const grown = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH_BYTES, Math.max(length, 2 * scratch.length)));
    scratch.copy(grown, 0, 0, bodyAt);
    scratch = grown;
    scratchViews.clear();
  }
  if (typeof body === "string") scratch.write(body, bodyAt, "utf8");
  else scratch.set(body, bodyAt);
  // The inner digest as a "binary" (latin1) string, one char per byte, written back losslessly:
  // as a Buffer it cost an ArrayBuffer per event (0.5 µs more per signature).
  key.outer.write(oneShotHash("sha256", scratchView(length), "binary"), BLOCK_BYTES, "latin1");
  return oneShotHash("sha256", key.outer, "hex");
}

/**
 * Put the prefix after the key's inner block; its length in bytes, or -1 if it is too long to keep
 * there. An ASCII prefix (a timestamp and its dot) is copied a character at a time: replay signs with
 * two timestamps in turn (the captured one to check, the current one to send), and a Buffer write
 * call for each cost more than the copy.
 */
function writePrefix(prefix: string): number {
  if (prefix.length <= MAX_PREFIX_BYTES) {
    let at = 0;
    while (at < prefix.length) {
      const code = prefix.charCodeAt(at);
      if (code > 0x7f) break;
      scratch[BLOCK_BYTES + at] = code;
      at += 1;
    }
    if (at === prefix.length) return at;
  }
  const written = Buffer.byteLength(prefix, "utf8");
  if (written > MAX_PREFIX_BYTES) return -1;
  scratch.write(prefix, BLOCK_BYTES, "utf8");
  return written;
}

/** The same HMAC by `createHmac`, for what does not fit the scratch (or runtimes without `crypto.hash`). */
function streamedHmacHex(secret: string, prefix: string, body: string | Uint8Array): string {
  return createHmac("sha256", hmacKey(secret)).update(prefix).update(body).digest("hex");
}

/**
 * The first `length` bytes of the scratch, as a view made once per length: bodies of a run come
 * from a few templates, so a handful of lengths recur, and a view per signature was an object each.
 */
function scratchView(length: number): Buffer {
  let view = scratchViews.get(length);
  if (view === undefined) {
    if (scratchViews.size >= MAX_SCRATCH_VIEWS) scratchViews.clear();
    view = scratch.subarray(0, length);
    scratchViews.set(length, view);
  }
  return view;
}

/**
 * `crypto.hash` arrived in Node 20.12, Bun 1.1.3x and Deno 2.2, and the Node entry also serves Bun
 * and Deno: read from the namespace (a named import of a missing export fails the whole module on
 * link) and, where it is missing, sign with `createHmac` as before.
 */
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

/** SHA-256's block size: HMAC pads its key to one block. */
const BLOCK_BYTES = 64;
/** Messages up to this size are copied into the reused buffer; larger ones are streamed. */
const MAX_SCRATCH_BYTES = 64 * 1024;
/** A prefix (`${timestamp}.`) longer than this is not kept in the scratch (a timestamp is 10-11 bytes). */
const MAX_PREFIX_BYTES = 64;
let scratch = Buffer.allocUnsafeSlow(4096);
/** Whose inner block the scratch starts with, which prefix follows it, and where the body goes. */
let scratchKey: KeyBlocks | undefined;
let scratchPrefix: string | undefined;
let bodyAt = BLOCK_BYTES;
const scratchViews = new Map<number, Buffer>();
const MAX_SCRATCH_VIEWS = 64;

/**
 * A secret's HMAC key blocks: `inner` is the key XOR 0x36 repeated (RFC 2104's ipad), `outer` the key
 * XOR 0x5c (opad) followed by room for the inner digest. A key longer than a block is its SHA-256.
 */
interface KeyBlocks {
  inner: Buffer;
  outer: Buffer;
}

/**
 * Keys by secret, each as key blocks and as a key object: a receiver verifies with the same one or
 * two secrets all day. Bounded, oldest out first.
 */
const blocks = new Map<string, KeyBlocks>();
const keys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 16;

function keyBlocks(secret: string): KeyBlocks {
  let found = blocks.get(secret);
  if (!found) {
    let key = Buffer.from(secret, "utf8");
    if (key.length > BLOCK_BYTES) key = createHash("sha256").update(key).digest();
    const inner = Buffer.alloc(BLOCK_BYTES, 0x36);
    const outer = Buffer.alloc(BLOCK_BYTES + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i] = (inner[i] as number) ^ (key[i] as number);
      outer[i] = (outer[i] as number) ^ (key[i] as number);
    }
    found = { inner, outer };
    if (blocks.size >= MAX_CACHED_KEYS) blocks.delete(blocks.keys().next().value as string);
    blocks.set(secret, found);
  }
  return found;
}

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
    const expected = hmacSha256Hex(secret, `${check.rawTimestamp}.`, check.body);
    if (sameHex(expected, check.signature)) return index;
  }
  return -1;
}
