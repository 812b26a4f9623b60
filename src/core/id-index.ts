/**
 * A set of event ids that stays small however many it holds: each id is kept as a 64-bit
 * fingerprint in an open-addressing table of typed arrays (about 20 bytes per id, against 100 or
 * more for a string in a Set or Map), with a count and a first-seen time beside it. `listen` keeps
 * the ids of a whole run and of a save folder of hundreds of thousands of captures this way, so its
 * memory stays flat (BENCHMARKS.md). Two different ids share a fingerprint with a probability of
 * about n² / 2⁶⁵ (under 10⁻⁸ for a million ids); the cost of that is one event shown as a
 * redelivery when it was not. Pure.
 */

export interface IdIndex {
  /** Count one more sighting of `id`; returns what was known before it. */
  see(id: string, atMs: number): { count: number; firstSeenAtMs: number };
  /** Add `id` without counting a sighting (an id known from elsewhere, such as a saved capture). */
  add(id: string): void;
  has(id: string): boolean;
  readonly size: number;
}

const EMPTY = 0;

export function createIdIndex(initialCapacity = 1024): IdIndex {
  let capacity = 1;
  while (capacity < initialCapacity * 2) capacity *= 2;
  let high = new Uint32Array(capacity);
  let low = new Uint32Array(capacity);
  let counts = new Uint32Array(capacity);
  let firstSeen = new Float64Array(capacity);
  let size = 0;

  /** The slot holding (h, l), or the empty slot where it would go. */
  const slotOf = (h: number, l: number): number => {
    const mask = capacity - 1;
    let slot = (l ^ (h >>> 7)) & mask;
    while (high[slot] !== EMPTY && (high[slot] !== h || low[slot] !== l)) slot = (slot + 1) & mask;
    return slot;
  };

  const grow = () => {
    const [oldHigh, oldLow, oldCounts, oldFirst] = [high, low, counts, firstSeen];
    capacity *= 2;
    high = new Uint32Array(capacity);
    low = new Uint32Array(capacity);
    counts = new Uint32Array(capacity);
    firstSeen = new Float64Array(capacity);
    for (let i = 0; i < oldHigh.length; i++) {
      const h = oldHigh[i] as number;
      if (h === EMPTY) continue;
      const slot = slotOf(h, oldLow[i] as number);
      high[slot] = h;
      low[slot] = oldLow[i] as number;
      counts[slot] = oldCounts[i] as number;
      firstSeen[slot] = oldFirst[i] as number;
    }
  };

  const insert = (id: string): number => {
    const [h, l] = fingerprint(id);
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

  return {
    see(id, atMs) {
      const slot = insert(id);
      const before = { count: counts[slot] as number, firstSeenAtMs: firstSeen[slot] as number };
      if (before.count === 0) firstSeen[slot] = atMs;
      counts[slot] = before.count + 1;
      return before;
    },
    add(id) {
      insert(id);
    },
    has(id) {
      const [h, l] = fingerprint(id);
      return high[slotOf(h, l)] !== EMPTY;
    },
    get size() {
      return size;
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
