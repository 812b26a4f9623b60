/**
 * OpenMail's webhook signature with Web Crypto (crypto.subtle), for runtimes without node:crypto
 * or Buffer: Cloudflare Workers, Vercel's edge runtime, browsers, Deno. Asynchronous, because
 * crypto.subtle is. The same rules and verdicts as the Node entry (verification.ts).
 */
import {
  precheck,
  type RawBody,
  sameHex,
  settle,
  signingInput,
  type Verdict,
  type VerifyInput,
} from "./verification.js";

/** The part of crypto.subtle used here, declared locally so no DOM or Node types are needed. */
interface HmacKey {
  readonly type: string;
}
interface Subtle {
  importKey(
    format: "raw",
    keyData: Uint8Array,
    algorithm: { name: "HMAC"; hash: "SHA-256" },
    extractable: false,
    usages: ["sign"],
  ): Promise<HmacKey>;
  sign(algorithm: "HMAC", key: HmacKey, data: Uint8Array): Promise<ArrayBuffer>;
}

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Imported keys by secret: importing costs about as much as signing a small body. Bounded. */
const keys = new Map<string, Promise<HmacKey>>();
const MAX_CACHED_KEYS = 16;

function subtle(): Subtle {
  const api = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
  if (!api) {
    throw new Error(
      "openmail-hooks: this runtime has no Web Crypto (globalThis.crypto.subtle); on Node, import the package without the worker/browser condition",
    );
  }
  return api;
}

function hmacKey(secret: string): Promise<HmacKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value as string);
    key = subtle().importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
    // A rejected import must not stay cached.
    key.catch(() => keys.delete(secret));
  }
  return key;
}

async function hmacHex(secret: string, prefix: string, body: string | Uint8Array): Promise<string> {
  const head = encoder.encode(prefix);
  const tail = typeof body === "string" ? encoder.encode(body) : body;
  const message = new Uint8Array(head.length + tail.length);
  message.set(head, 0);
  message.set(tail, head.length);
  const mac = new Uint8Array(await subtle().sign("HMAC", await hmacKey(secret), message));
  let hex = "";
  for (const byte of mac) hex += HEX[byte];
  return hex;
}

/** Lowercase hex HMAC-SHA256 of `${timestamp}.${rawBody}` keyed with the secret's UTF-8 bytes. */
export async function signAsync(secret: string, timestamp: string | number, rawBody: RawBody): Promise<string> {
  return hmacHex(secret, `${timestamp}.`, signingInput(secret, timestamp, rawBody));
}

/**
 * Verify a delivery with Web Crypto. Never rejects on anything in the request: the verdict says what
 * is wrong. Rejects with a TypeError only for a wrong `now` or `toleranceSeconds` (as `verify` throws).
 */
export async function verifyAsync(input: VerifyInput): Promise<Verdict> {
  const check = precheck(input);
  if (!("kind" in check)) return check;
  for (const { secret, index } of check.secrets) {
    const expected = await hmacHex(secret, `${check.rawTimestamp}.`, check.body);
    if (sameHex(expected, check.signature)) return settle(check, index);
  }
  return settle(check, -1);
}
