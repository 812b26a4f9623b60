/**
 * Random hex for ids (evt_..., msg_...). crypto.randomBytes costs a few microseconds per call, and
 * a fake event needs about eight ids: drawing 4 KiB at a time and slicing it made send-test's
 * event generation several times cheaper (BENCHMARKS.md).
 */
import { randomBytes } from "node:crypto";

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

export function randomHex(length: number): string {
  const bytes = Math.ceil(length / 2);
  if (offset + bytes > pool.length) {
    pool = randomBytes(Math.max(POOL_BYTES, bytes));
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return hex.slice(0, length);
}
