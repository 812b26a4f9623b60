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

/**
 * `length` random hex digits written into `target` at `offset`: what `randomHex(length)` returns, as
 * bytes, with no string made (send-test writes each event's ids straight into its body).
 */
export function fillRandomHex(target: Uint8Array, offset: number, length: number): void {
  const bytes = Math.ceil(length / 2);
  if (offset + length > target.length) throw new RangeError("fillRandomHex: the digits do not fit the target");
  if (used + bytes > pool.length) refill(bytes);
  for (let i = 0; i < length; i++) {
    const byte = pool[used + (i >> 1)] as number;
    target[offset + i] = HEX_DIGITS[(i & 1) === 0 ? byte >> 4 : byte & 15] as number;
  }
  used += bytes;
}
