/**
 * send-test and replay's latency percentiles in bounded memory (a7 L16): every latency was kept (8 bytes
 * each, 128 MB for --count 10,000,000); the histogram holds a fixed 270 KB and each percentile is
 * within its stated precision of the exact one.
 */
import { describe, expect, it } from "vitest";
import { LATENCY_PRECISION, LatencyHistogram } from "../src/core/latency-histogram.js";
import { createDeliveryStats } from "../src/core/stats.js";
import { seededRandom } from "./helpers/random.js";

/** Nearest rank, as the summary always defined a percentile: the ceil(q * n)-th smallest. */
function exact(values: number[], q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

const allowed = (value: number) => Math.max(value * LATENCY_PRECISION.relative, LATENCY_PRECISION.absoluteMs);

const DISTRIBUTIONS: Record<string, (next: () => number) => number> = {
  // A local handler: most under a millisecond, a tail to tens.
  "log-normal around 0.4 ms": (next) => Math.exp(Math.log(0.4) + 1.2 * gaussian(next)),
  "uniform 0-15 s": (next) => next() * 15_000,
  "two modes (1 ms and 2 s)": (next) => (next() < 0.97 ? 1 + next() * 0.2 : 2000 + next() * 300),
  "sub-microsecond to a minute": (next) => 10 ** (next() * 11 - 4),
};

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

describe("LatencyHistogram", () => {
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    it(`${name}: p50, p95, p99 within the stated precision of the exact percentiles; max exact`, () => {
      for (const [seed, count] of [
        [1, 1],
        [2, 7],
        [3, 1000],
        [4, 100_000],
      ] as const) {
        const next = seededRandom(seed);
        const values = Array.from({ length: count }, () => draw(next));
        const histogram = new LatencyHistogram();
        for (const value of values) histogram.record(value);
        const summary = histogram.summary();
        for (const [q, key] of [
          [0.5, "p50"],
          [0.95, "p95"],
          [0.99, "p99"],
        ] as const) {
          const want = exact(values, q);
          expect(Math.abs(summary[key] - want), `${key} of ${count}: ${summary[key]} vs ${want}`).toBeLessThanOrEqual(
            allowed(want),
          );
        }
        expect(summary.max).toBe(Math.max(...values));
        expect(histogram.count).toBe(count);
      }
    });
  }

  it("the same latency every time is reported as itself; nothing recorded reads as zeros", () => {
    const histogram = new LatencyHistogram();
    expect(histogram.summary()).toEqual({ p50: 0, p95: 0, p99: 0, max: 0 });
    for (let i = 0; i < 50; i++) histogram.record(12.3456);
    expect(histogram.summary()).toEqual({ p50: 12.3456, p95: 12.3456, p99: 12.3456, max: 12.3456 });
  });

  it("latencies past the counted range, negative or NaN do not break it", () => {
    const histogram = new LatencyHistogram();
    histogram.record(Number.NaN);
    histogram.record(-5);
    histogram.record(10 ** 12);
    const summary = histogram.summary();
    expect(summary.p50).toBeLessThanOrEqual(LATENCY_PRECISION.absoluteMs);
    expect(summary.max).toBe(10 ** 12);
    expect(Number.isFinite(summary.p99)).toBe(true);
  });
});

describe("delivery stats keep no latency per request (a7 L16)", () => {
  it("4,000,000 recorded latencies hold well under 1 MB of buffers (each one kept: 32 MB or more)", () => {
    const before = process.memoryUsage().arrayBuffers;
    const stats = createDeliveryStats();
    const next = seededRandom(9);
    let largest = 0;
    for (let i = 0; i < 4_000_000; i++) {
      const latency = next() * 50;
      if (latency > largest) largest = latency;
      stats.record(200, latency, true, true);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(1024 * 1024);
    const summary = stats.summary();
    expect(summary.total).toBe(4_000_000);
    expect(summary.latencyMs.max).toBe(largest);
    // Uniform over 0-50 ms: the percentiles sit where they must, within the stated precision.
    expect(Math.abs(summary.latencyMs.p50 - 25)).toBeLessThan(0.1);
    expect(Math.abs(summary.latencyMs.p99 - 49.5)).toBeLessThan(0.1);
  });
});
