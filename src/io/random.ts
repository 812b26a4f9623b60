/**
 * Random hex for ids (evt_..., msg_...). crypto.randomBytes costs a few microseconds per call, and
 * a fake event needs about eight ids: drawing 4 KiB at a time and slicing it made send-test's
 * event generation several times cheaper (BENCHMARKS.md).
 */
import { randomBytes } from "node:crypto";

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
/** How much of `pool` is used. */
let used = 0;

function refill(bytes: number): void {
  pool = randomBytes(Math.max(POOL_BYTES, bytes));
  used = 0;
}

export function randomHex(length: number): string {
  const bytes = Math.ceil(length / 2);
  if (used + bytes > pool.length) refill(bytes);
  const hex = pool.toString("hex", used, used + bytes);
  used += bytes;
  return hex.slice(0, length);
}

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");
/** Each byte's two hex digits, high and low. */
const HIGH_DIGIT = new Uint8Array(256);
const LOW_DIGIT = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  HIGH_DIGIT[byte] = HEX_DIGITS[byte >> 4] as number;
  LOW_DIGIT[byte] = HEX_DIGITS[byte & 15] as number;
}

/**
 * `length` random hex digits written into `target` at `offset`: what `randomHex(length)` returns, as
 * bytes, with no string made (send-test writes each event's ids straight into its body).
 */
export function fillRandomHex(target: Uint8Array, offset: number, length: number): void {
  const bytes = Math.ceil(length / 2);
  if (offset + length > target.length) throw new RangeError("fillRandomHex: the digits do not fit the target");
  if (used + bytes > pool.length) refill(bytes);
  const end = offset + length;
  let at = offset;
  let from = used;
  for (; at + 1 < end; at += 2) {
    const byte = pool[from++] as number;
    target[at] = HIGH_DIGIT[byte] as number;
    target[at + 1] = LOW_DIGIT[byte] as number;
  }
  if (at < end) target[at] = HIGH_DIGIT[pool[from] as number] as number;
  used += bytes;
}
