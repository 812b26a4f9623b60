/** Delivery statistics for summaries: status histogram and latency percentiles. Pure. */
import { LatencyHistogram, type LatencyPercentiles } from "./latency-histogram.js";

export type LatencySummary = LatencyPercentiles;

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
  // Percentiles in a fixed 270 KB, within 0.05% (latency-histogram.ts): every latency kept was 8 bytes
  // each, 128 MB for send-test --count 10,000,000.
  const latencies = new LatencyHistogram();
  let total = 0;
  let passed = 0;
  let accepted = 0;
  return {
    record(status, latencyMs, ok, wasAccepted) {
      const key = String(status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      latencies.record(latencyMs);
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
        latencyMs: latencies.summary(),
      };
    },
  };
}
