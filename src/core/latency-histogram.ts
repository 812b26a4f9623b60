/**
 * Latency percentiles in a fixed amount of memory, however many requests: a log-linear histogram
 * (the layout of HdrHistogram). Latencies are counted in whole microseconds; below 1,024 µs each
 * microsecond has its own bucket, and above it every power of two is cut into 1,024 equal buckets,
 * so a bucket is never wider than 1/1,024 of the values in it. A percentile is reported as the middle
 * of its bucket (kept within the smallest and largest latency seen), so it is within
 * LATENCY_PRECISION of the exact one: 1/2,048 of it (0.05%), or 0.5 µs, whichever is larger (a
 * latency's fraction of a microsecond stays inside its bucket). The largest latency is kept exactly. 270 KB in all, where
 * every latency kept was 8 bytes each (128 MB for send-test --count 10,000,000). Pure.
 */

/** Bits of sub-bucket per power of two: 2^10 = 1,024 buckets, each 1/1,024 of its octave's start. */
const SUB_BITS = 10;
const SUB_COUNT = 1 << SUB_BITS;
/** Latencies are counted up to 2^42 µs (51 days, past any --timeout); longer ones in the last bucket. */
const TOP_BITS = 42;
const LARGEST_US = 2 ** TOP_BITS - 1;
const BUCKETS = (TOP_BITS - SUB_BITS + 1) * SUB_COUNT;

/** How close a reported percentile is to the exact one (said in README where percentiles are printed). */
export const LATENCY_PRECISION = { relative: 1 / (2 * SUB_COUNT), absoluteMs: 0.0005 };

export type LatencyPercentiles = {
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private lowestMs = Number.POSITIVE_INFINITY;
  private highestMs = 0;

  get count(): number {
    return this.total;
  }

  /** Count one latency, in milliseconds (negative or NaN counted as 0). */
  record(ms: number): void {
    const safe = Number.isNaN(ms) ? 0 : Math.max(ms, 0);
    const index = bucketOf(safe * 1000);
    this.counts[index] = (this.counts[index] as number) + 1;
    this.total += 1;
    if (safe < this.lowestMs) this.lowestMs = safe;
    if (safe > this.highestMs) this.highestMs = safe;
  }

  /**
   * The latency at quantile `q` (0 < q <= 1), in milliseconds, as the nearest-rank definition takes it
   * from the sorted latencies (the ceil(q * n)-th smallest), within LATENCY_PRECISION.
   */
  at(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.counts[index] as number;
      if (seen >= rank) {
        const [low, width] = bucketRange(index);
        const middleMs = (low + width / 2) / 1000;
        return Math.min(this.highestMs, Math.max(this.lowestMs, middleMs));
      }
    }
    return this.highestMs;
  }

  summary(): LatencyPercentiles {
    if (this.total === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
    return { p50: this.at(0.5), p95: this.at(0.95), p99: this.at(0.99), max: this.highestMs };
  }
}

/** The bucket of a latency in microseconds (fractions dropped). */
function bucketOf(microseconds: number): number {
  const us = microseconds < LARGEST_US ? Math.floor(microseconds) : LARGEST_US;
  if (us < SUB_COUNT) return us;
  const magnitude = highestBit(us);
  const shift = magnitude - SUB_BITS;
  // The top SUB_BITS + 1 bits of the value: from SUB_COUNT to 2 * SUB_COUNT - 1.
  const top = Math.floor(us / 2 ** shift);
  return (shift + 1) * SUB_COUNT + (top - SUB_COUNT);
}

/** A bucket's lowest value and width, in microseconds. */
function bucketRange(index: number): [number, number] {
  if (index < SUB_COUNT) return [index, 1];
  const shift = Math.floor(index / SUB_COUNT) - 1;
  const top = SUB_COUNT + (index % SUB_COUNT);
  return [top * 2 ** shift, 2 ** shift];
}

/** The position of the highest set bit of a positive integer below 2^53 (Math.clz32 takes 32 bits only). */
function highestBit(value: number): number {
  if (value < 2 ** 32) return 31 - Math.clz32(value);
  return 32 + (31 - Math.clz32(Math.floor(value / 2 ** 32)));
}
