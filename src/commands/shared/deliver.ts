/**
 * The delivery loop both send-test and replay run: send with a fixed number in flight, render each
 * result, a throttled progress line and the summary, and turn the outcome into an exit code.
 */
import { EXIT, type ExitCode } from "../../errors.js";
import { fatalConnectionError, type PrepareResult, runDeliveries } from "../../io/delivery-runner.js";
import type { HttpClient } from "../../io/http-client.js";
import type { DeliveryRenderer } from "../../output/delivery-report.js";

/** The live progress line is redrawn at most this often. */
const PROGRESS_INTERVAL_MS = 100;

export interface DeliverOptions {
  total: number;
  concurrency: number;
  url: string;
  client: HttpClient;
  secret?: string;
  renderer: DeliveryRenderer;
  prepare(index: number): Promise<PrepareResult>;
  /** Inputs that could not be read before sending started; they make the exit code 2. */
  unreadable?: number;
  /** Name an item for a skipped line. */
  originOf?(index: number): string;
}

export async function deliverAndReport(options: DeliverOptions): Promise<ExitCode> {
  const { renderer, total } = options;
  const started = performance.now();
  let lastProgress = 0;
  const result = await runDeliveries({
    total,
    concurrency: options.concurrency,
    url: options.url,
    client: options.client,
    secret: options.secret,
    prepare: options.prepare,
    onRecord: renderer.delivery,
    onSkipped: (index, reason) => renderer.skipped(options.originOf?.(index) ?? String(index), reason),
    onProgress: (done, stats) => {
      const now = performance.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS && done < total) return;
      lastProgress = now;
      renderer.progress(done, total, stats, now - started);
    },
  });
  if (result.fatal) throw fatalConnectionError(result.fatal);
  const unreadable = (options.unreadable ?? 0) + result.skipped;
  renderer.summary(result.stats, result.durationMs, unreadable);
  if (unreadable > 0) return EXIT.USAGE;
  return result.stats.passed === result.stats.total ? EXIT.OK : EXIT.CHECK_FAILED;
}
