/**
 * Send many deliveries with a fixed number in flight, shared by send-test and replay. Work is
 * prepared lazily, one item at a time, so memory stays flat however many events are sent.
 */
import {
  type DeliveryRecord,
  isFatalNetworkError,
  judgeDelivery,
  meetsExpectation,
  type PreparedDelivery,
  responseHint,
} from "../core/contract.js";
import { verify } from "../core/signature.js";
import { createDeliveryStats, type DeliveryStats } from "../core/stats.js";
import { CliError, EXIT } from "../errors.js";
import type { HttpClient } from "./http-client.js";

export type PrepareResult = PreparedDelivery | { skipped: string };

export interface RunOptions {
  total: number;
  concurrency: number;
  url: string;
  client: HttpClient;
  /** Secret used to tell whether a request's signature verified, for hints. */
  secret?: string;
  /** Where that secret came from, named in the hint for a rejected valid signature. */
  secretSource?: string;
  prepare(index: number): Promise<PrepareResult> | PrepareResult;
  /** Called for every delivery, in completion order; may save a capture and set record.capturePath. */
  onRecord(record: DeliveryRecord): Promise<void> | void;
  onSkipped?(index: number, reason: string): void;
  onProgress?(done: number, stats: DeliveryStats): void;
  /** A request is about to go out (so an interruption can count the ones in flight). */
  onSending?(index: number): void;
}

export interface RunResult {
  stats: DeliveryStats;
  skipped: number;
  durationMs: number;
  /** The connection failure that stopped the run, if the endpoint was not reachable at all. */
  fatal?: DeliveryRecord;
}

export async function runDeliveries(options: RunOptions): Promise<RunResult> {
  const stats = createDeliveryStats();
  const started = performance.now();
  let next = 0;
  let done = 0;
  let skipped = 0;
  let fatal: DeliveryRecord | undefined;

  const worker = async () => {
    while (next < options.total && !fatal) {
      const index = next++;
      const prepared = await options.prepare(index);
      if ("skipped" in prepared) {
        skipped += 1;
        options.onSkipped?.(index, prepared.skipped);
        continue;
      }
      options.onSending?.(index);
      const outcome = await options.client.post(options.url, prepared.headers, prepared.body);
      const record = buildRecord(index, options.url, prepared, outcome, options.secret, options.secretSource);
      if (isFatalNetworkError(outcome)) {
        fatal ??= record;
        continue;
      }
      const status = outcome.kind === "response" ? outcome.status : outcome.kind;
      stats.record(status, outcome.latencyMs, record.passed, record.verdict.accepted);
      await options.onRecord(record);
      done += 1;
      options.onProgress?.(done, stats);
    }
  };

  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency, options.total)) }, worker);
  await Promise.all(workers);
  return { stats, skipped, durationMs: performance.now() - started, fatal };
}

export function buildRecord(
  index: number,
  url: string,
  delivery: PreparedDelivery,
  outcome: DeliveryRecord["outcome"],
  secret: string | undefined,
  secretSource?: string,
): DeliveryRecord {
  // Only a 4xx answer needs to know whether the signature was good (for the hint).
  const rejected = outcome.kind === "response" && outcome.status >= 400 && outcome.status < 500;
  const signatureValid =
    secret === undefined || !rejected
      ? undefined
      : verify({ body: delivery.body, headers: delivery.headers, secret }).valid;
  const verdict = judgeDelivery(outcome, delivery.attempt);
  const passed = meetsExpectation(delivery, outcome, verdict);
  return {
    index,
    url,
    delivery,
    outcome,
    verdict,
    passed,
    // A rejection that was expected needs no hint.
    hint:
      passed && delivery.expect === "4xx"
        ? undefined
        : responseHint(outcome, { signatureValid, secretSource, timeoutOption: "--timeout" }),
    capturePath: delivery.capturePath,
  };
}

/** The one-line usage error for an endpoint that is not there: "connection refused at ..., is your server running?" */
export function fatalConnectionError(record: DeliveryRecord): CliError {
  const { outcome } = record;
  const message = outcome.kind === "network-error" ? outcome.message : record.verdict.summary;
  const hint = record.hint ? `: ${record.hint}` : "";
  return new CliError(`${message}${hint}`, { code: "connection_failed", exitCode: EXIT.USAGE });
}
