/**
 * A set of event ids that stays small however many it holds: each id is kept as a 64-bit
 * fingerprint in an open-addressing table of typed arrays, with the time it was first seen beside it
 * as a 32-bit offset: 12 bytes a slot, at most half the slots full, so 24 to 48 bytes per id (a
 * string in a Set or Map costs 100 or more). How many times an id was seen is stored only for ids
 * seen more than once (redeliveries are few). `listen` keeps the ids of a whole run and of a save
 * folder of hundreds of thousands of captures this way; the table is what grows with a run's
 * events (the V8 heap stays flat, BENCHMARKS.md). Two different ids share a fingerprint with a
 * probability of about n² / 2⁶⁵ (under 10⁻⁸ for a million ids); the cost of that is one event shown
 * as a redelivery when it was not. Pure.
 */

import { detachOnceBeforeReleases, releaseBuffers } from "./release-buffer.js";

export interface IdIndex {
  /**
   * Count one more sighting of `id`; returns what was known before it (`firstSeenAtMs` is NaN when
   * the first sighting's time was not a time within about 48 days after the index's first sighting).
   */
  see(id: string, atMs: number): { count: number; firstSeenAtMs: number };
  /** Add `id` without counting a sighting (an id known from elsewhere, such as a saved capture). */
  add(id: string): void;
  has(id: string): boolean;
  readonly size: number;
  /** Bytes held by the table's typed arrays (what grows with the ids). */
  readonly byteLength: number;
}

const EMPTY = 0;
/** In `seenAt`: an id added but never seen; a sighting whose time did not fit an offset. */
const NOT_SEEN = 0;
const TIME_UNKNOWN = 0xffffffff;
/** Offsets count from this long before the first sighting, so a clock stepping back is still a time. */
const BASE_MARGIN_MS = 24 * 3600 * 1000;

export function createIdIndex(initialCapacity = 1024): IdIndex {
  detachOnceBeforeReleases(); // its growth releases the outgrown tables
  let capacity = 1;
  while (capacity < initialCapacity * 2) capacity *= 2;
  let high = new Uint32Array(capacity);
  let low = new Uint32Array(capacity);
  // 1 + milliseconds since `baseMs` of the first sighting, or NOT_SEEN / TIME_UNKNOWN.
  let seenAt = new Uint32Array(capacity);
  let size = 0;
  let baseMs = Number.NaN;
  // Sightings beyond the first, by fingerprint: only ids seen more than once are here.
  const repeats = new Map<string, number>();

  /** The slot holding (h, l), or the empty slot where it would go. */
  const slotOf = (h: number, l: number): number => {
    const mask = capacity - 1;
    let slot = (l ^ (h >>> 7)) & mask;
    while (high[slot] !== EMPTY && (high[slot] !== h || low[slot] !== l)) slot = (slot + 1) & mask;
    return slot;
  };

  const grow = () => {
    const [oldHigh, oldLow, oldSeenAt] = [high, low, seenAt];
    capacity *= 2;
    high = new Uint32Array(capacity);
    low = new Uint32Array(capacity);
    seenAt = new Uint32Array(capacity);
    for (let i = 0; i < oldHigh.length; i++) {
      const h = oldHigh[i] as number;
      if (h === EMPTY) continue;
      const slot = slotOf(h, oldLow[i] as number);
      high[slot] = h;
      low[slot] = oldLow[i] as number;
      seenAt[slot] = oldSeenAt[i] as number;
    }
    releaseBuffers(oldHigh, oldLow, oldSeenAt);
  };

  const insert = (h: number, l: number): number => {
    let slot = slotOf(h, l);
    if (high[slot] === EMPTY) {
      if ((size + 1) * 2 > capacity) {
        grow();
        slot = slotOf(h, l);
      }
      high[slot] = h;
      low[slot] = l;
      size += 1;
    }
    return slot;
  };

  const offsetOf = (atMs: number): number => {
    if (Number.isNaN(baseMs) && Number.isFinite(atMs)) baseMs = atMs - BASE_MARGIN_MS;
    const offset = Math.floor(atMs - baseMs) + 1;
    return offset >= 1 && offset < TIME_UNKNOWN ? offset : TIME_UNKNOWN;
  };

  return {
    see(id, atMs) {
      const [h, l] = fingerprint(id);
      const slot = insert(h, l);
      const stored = seenAt[slot] as number;
      if (stored === NOT_SEEN) {
        seenAt[slot] = offsetOf(atMs);
        return { count: 0, firstSeenAtMs: 0 };
      }
      const key = `${h}:${l}`;
      const count = 1 + (repeats.get(key) ?? 0);
      repeats.set(key, count);
      return { count, firstSeenAtMs: stored === TIME_UNKNOWN ? Number.NaN : baseMs + stored - 1 };
    },
    add(id) {
      const [h, l] = fingerprint(id);
      insert(h, l);
    },
    has(id) {
      const [h, l] = fingerprint(id);
      return high[slotOf(h, l)] !== EMPTY;
    },
    get size() {
      return size;
    },
    get byteLength() {
      return high.byteLength + low.byteLength + seenAt.byteLength;
    },
  };
}

/** Two independent 32-bit hashes of the string (FNV-1a and a murmur3-style mix); the first is never 0. */
export function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    let k = Math.imul(c, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    b ^= Math.imul(k, 0x1b873593);
    b = (b << 13) | (b >>> 19);
    b = (Math.imul(b, 5) + 0xe6546b64) | 0;
  }
  b ^= b >>> 16;
  b = Math.imul(b, 0x85ebca6b);
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  a >>>= 0;
  return [a === EMPTY ? 1 : a, b >>> 0];
}
