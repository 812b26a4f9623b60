/** Delivery statistics for summaries: status histogram and latency percentiles. Pure. */

export type LatencySummary = {
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

export interface DeliveryStats {
  /** `passed`: met its expectation (a 2xx in time, or the rejection a stale replay should get). */
  record(status: number | string, latencyMs: number, passed: boolean, accepted: boolean): void;
  readonly total: number;
  readonly passed: number;
  summary(): {
    total: number;
    passed: number;
    failed: number;
    accepted: number;
    statuses: Record<string, number>;
    latencyMs: LatencySummary;
  };
}

export function createDeliveryStats(): DeliveryStats {
  const statuses: Record<string, number> = {};
  // A growable typed array keeps 10^6 latencies in 8 MB without boxing.
  let latencies = new Float64Array(1024);
  let total = 0;
  let passed = 0;
  let accepted = 0;
  return {
    record(status, latencyMs, ok, wasAccepted) {
      const key = String(status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (total === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[total] = latencyMs;
      total += 1;
      if (ok) passed += 1;
      if (wasAccepted) accepted += 1;
    },
    get total() {
      return total;
    },
    get passed() {
      return passed;
    },
    summary() {
      return {
        total,
        passed,
        failed: total - passed,
        accepted,
        statuses: { ...statuses },
        latencyMs: percentiles(latencies.subarray(0, total)),
      };
    },
  };
}

export function percentiles(values: Float64Array | number[]): LatencySummary {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
