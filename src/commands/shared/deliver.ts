/**
 * The delivery loop both send-test and replay run: send with a fixed number in flight, render each
 * result, a throttled progress line and the summary, and turn the outcome into an exit code.
 */

import { createDeliveryStats, type DeliveryStats } from "../../core/stats.js";
import { EXIT, type ExitCode } from "../../errors.js";
import { fatalConnectionError, type RunOptions, runDeliveries } from "../../io/delivery-runner.js";
import type { DeliveryRenderer } from "../../output/delivery-report.js";
import type { Output } from "../../output/terminal.js";
import { leaveOnceOutputTaken } from "../../output-drain.js";
import { onOutputLost } from "../../output-lost.js";

/**
 * Run `report` on the first Ctrl-C (or SIGTERM), then leave with 130 (143). Returns the function
 * that removes the handlers again.
 */
export function onInterrupt(report: () => void, exitNow: (code: number) => never = process.exit): () => void {
  const handle = (signal: NodeJS.Signals) => {
    stopHearing();
    interrupted = true;
    report();
    // What a reader that is behind has not taken yet (the report just printed) is waited for, briefly.
    leaveOnceOutputTaken(signal === "SIGINT" ? 130 : 143, exitNow);
  };
  // Output that can no longer be written stops the run as SIGTERM does (cli.ts sets the exit code).
  process.once("SIGINT", handle);
  process.once("SIGTERM", handle);
  const stopHearingLostOutput = onOutputLost(() => handle("SIGTERM"));
  const stopHearing = () => {
    process.off("SIGINT", handle);
    process.off("SIGTERM", handle);
    stopHearingLostOutput();
  };
  return stopHearing;
}

let interrupted = false;
/** Never settles: where a command's loop waits once interrupted (the process leaves from onInterrupt). */
const HALTED: Promise<never> = new Promise(() => {});

/**
 * After a Ctrl-C's report, while its output is being taken (onInterrupt): a command's loop does no
 * more work and prints nothing more, by awaiting this (undefined until then).
 */
export function haltedByInterrupt(): Promise<never> | undefined {
  return interrupted ? HALTED : undefined;
}

/** The live progress line is redrawn at most this often. */
const PROGRESS_INTERVAL_MS = 100;

/** What runDeliveries is given to send (its RunOptions), and how the run is reported. */
export interface DeliverOptions
  extends Pick<RunOptions, "total" | "concurrency" | "url" | "client" | "secret" | "secretSource" | "prepare"> {
  renderer: DeliveryRenderer;
  /** Where the renderer writes: its progress line is cleared when the run ends. */
  output: Output;
  /** Inputs that could not be read before sending started; they make the exit code 2. */
  unreadable?: number;
  /** Name an item for a skipped line. */
  originOf?(index: number): string;
  /** Ctrl-C: remove what is half-written (send-test --save's temporary files) before leaving. */
  abandon?(): void;
}

export async function deliverAndReport(options: DeliverOptions): Promise<ExitCode> {
  const { renderer, total } = options;
  const started = performance.now();
  let lastProgress = 0;
  // What Ctrl-C and the slow-stretch line report: counters updated in place (no object per answer).
  let done = 0;
  let skipped = 0;
  let stats: DeliveryStats = createDeliveryStats();
  // Ctrl-C: say what finished before leaving, not nothing.
  let sending = 0;
  // Set by runDeliveries: after a Ctrl-C nothing more is sent, recorded or shown.
  let stopRun = () => {};
  const stopOnInterrupt = onInterrupt(() => {
    stopRun();
    clearInterval(ticker);
    options.abandon?.();
    const inFlight = Math.max(0, sending - done);
    renderer.interrupted(done, total, inFlight);
    renderer.summary(stats, performance.now() - started, (options.unreadable ?? 0) + skipped, inFlight);
  });
  // While a request is slow, say so (terminals only): which one, and how long it has waited.
  let lastAnswerAt = started;
  const ticker = setInterval(() => {
    const quiet = performance.now() - lastAnswerAt;
    if (done < total && quiet >= 1_000) renderer.waiting(done, total, quiet);
  }, 1_000);
  let result: Awaited<ReturnType<typeof runDeliveries>>;
  try {
    result = await runDeliveries({
      total,
      concurrency: options.concurrency,
      url: options.url,
      client: options.client,
      secret: options.secret,
      secretSource: options.secretSource,
      prepare: options.prepare,
      stopWith: (stop) => {
        stopRun = stop;
      },
      // A reader of stdout that is behind makes the run wait (a slot is used again once it has room),
      // so what is queued for it stays bounded and nothing is dropped.
      onRecord: (record) => {
        renderer.delivery(record);
        return options.output.roomForOutput();
      },
      onSending: () => {
        sending += 1;
      },
      onSkipped: (index, reason) => {
        skipped += 1;
        renderer.skipped(options.originOf?.(index) ?? String(index), reason);
      },
      onProgress: (answered, runStats) => {
        done = answered;
        stats = runStats;
        const now = performance.now();
        lastAnswerAt = now;
        if (now - lastProgress < PROGRESS_INTERVAL_MS && answered < total) return;
        lastProgress = now;
        renderer.progress(answered, total, runStats, now - started);
      },
    });
  } finally {
    clearInterval(ticker);
    stopOnInterrupt();
    options.output.endProgress();
  }
  if (result.fatal) throw fatalConnectionError(result.fatal);
  const unreadable = (options.unreadable ?? 0) + result.skipped;
  renderer.summary(result.stats, result.durationMs, unreadable);
  if (unreadable > 0) return EXIT.USAGE;
  return result.stats.passed === result.stats.total ? EXIT.OK : EXIT.CHECK_FAILED;
}
