/**
 * Waiting for the reader of standard output and error to take what was written. On a pipe, Node's
 * standard streams are non-blocking: what the pipe cannot take at once is queued inside the
 * process. Two waits come from that:
 *
 * - before the process exits: process.exit() throws the queue away, and a reader that is behind
 *   (`| jq .` printing to a terminal, `| tee` on a slow disk, a script that reads later) lost the end
 *   of a run's output so: the last NDJSON records and the summary, silently, exit 0;
 * - while a sender runs (send-test, replay): it can wait for its reader, so its records are queued
 *   only up to SENDER_QUEUE_BYTES instead of without bound (terminal.ts's line writer drops and counts
 *   what goes past OUTPUT_QUEUE_BOUND, for listen, which cannot make OpenMail wait).
 */

/** What is waited for of a stream: Node's count of bytes written but not yet taken. */
export interface QueuedOutput {
  readonly writableLength: number;
  readonly destroyed: boolean;
}

/**
 * A reader that takes nothing for this long is not waited for any longer (every wait has a
 * deadline): one that keeps reading, however slowly, is waited for.
 */
export const OUTPUT_PATIENCE_MS = 10_000;
const CHECK_EVERY_MS = 25;

/**
 * After a Ctrl-C (send-test, replay, redact): a reader that takes nothing for this long is not waited
 * for, nor one still behind after OUTPUT_PATIENCE_MS in all. A Ctrl-C asks to leave soon.
 */
export const INTERRUPT_PATIENCE_MS = 2_000;

/** A sender waits for its reader once this much of its output is queued (and goes on at half of it). */
export const SENDER_QUEUE_BYTES = 1024 * 1024;
/**
 * The most stdout's line writer queues for a reader that is behind; lines past it are dropped and
 * counted (terminal.ts). Far above SENDER_QUEUE_BYTES: only a reader that took nothing for
 * OUTPUT_PATIENCE_MS lets a sender get there.
 */
export const OUTPUT_QUEUE_BOUND = 16 * 1024 * 1024;

/** What holds output back before handing it to a stream (terminal.ts's line writer): flushed first. */
const flushes: Array<() => void> = [];
export function beforeOutputWait(flush: () => void): void {
  flushes.push(flush);
}

/**
 * stdout's lines dropped because its reader was more than OUTPUT_QUEUE_BOUND behind (terminal.ts counts
 * them): in all this run, and those of the current stretch, not yet said. Any at all ends the run with
 * exit 1 (cli.ts), as output a reader never took does.
 */
export const droppedLines = { total: 0, unsaid: 0 };

/** Bytes written to the streams and not yet taken by their readers. */
export const queuedBytes = (streams: readonly QueuedOutput[] = [process.stdout, process.stderr]) =>
  // A stream that failed (its reader went away) will take nothing more: cli.ts has said so.
  streams.reduce((sum, stream) => sum + (stream.destroyed ? 0 : stream.writableLength), 0);

/**
 * Resolves with 0 once at most `target` bytes are queued on the streams, or with the bytes still
 * queued once their reader has taken nothing for `patienceMs`.
 */
export async function whenQueuedAtMost(
  streams: readonly QueuedOutput[],
  target: number,
  patienceMs = OUTPUT_PATIENCE_MS,
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<number> {
  let left = queuedBytes(streams);
  const started = Date.now();
  let lastProgress = started;
  while (left > target) {
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
    const now = queuedBytes(streams);
    if (now < left) lastProgress = Date.now();
    else if (Date.now() - lastProgress >= patienceMs) return now;
    if (now > target && Date.now() - started >= deadlineMs) return now;
    left = now;
  }
  return 0;
}

/**
 * A Ctrl-C's report is out (send-test, replay, redact): leave with `code` once the streams' readers
 * have taken what is queued for them, at once when nothing is (a terminal, a file, a pipe with room:
 * the usual case). Leaving at once threw away what a reader that is behind had not taken: the
 * summary the Ctrl-C had just printed, the last records. A reader that takes nothing for
 * INTERRUPT_PATIENCE_MS, one still behind after OUTPUT_PATIENCE_MS, and a second Ctrl-C (or SIGTERM)
 * end the wait, with a line saying how much was not written. The caller has stopped its work: nothing
 * more is sent, saved or printed meanwhile.
 */
export function leaveOnceOutputTaken(
  code: number,
  exitNow: (code: number) => never,
  streams: readonly QueuedOutput[] = [process.stdout, process.stderr],
  patienceMs = INTERRUPT_PATIENCE_MS,
): void {
  for (const flush of flushes) flush();
  if (queuedBytes(streams) === 0) {
    exitNow(code);
    return;
  }
  const leave = (why: string | undefined) => {
    process.off("SIGINT", again);
    process.off("SIGTERM", again);
    const untaken = queuedBytes(streams);
    if (why && untaken > 0 && !process.stderr.destroyed && process.stderr.writableLength === 0) {
      process.stderr.write(`openmail-hooks: ${why}: the last ${untaken} bytes of output were not written\n`);
    }
    exitNow(code);
  };
  const again = () => leave("interrupted again while standard output's reader was behind");
  process.once("SIGINT", again);
  process.once("SIGTERM", again);
  const started = Date.now();
  void whenQueuedAtMost(streams, 0, patienceMs, OUTPUT_PATIENCE_MS).then((left) => {
    if (left === 0) leave(undefined);
    else if (Date.now() - started >= OUTPUT_PATIENCE_MS) {
      leave(`standard output's reader was still behind ${OUTPUT_PATIENCE_MS / 1000} s after the interruption`);
    } else leave(`standard output's reader took nothing for ${patienceMs / 1000} s after the interruption`);
  });
}

/**
 * Before the process exits: resolves with 0 once every stream's queue is empty (at once when nothing
 * is queued: a terminal, a file, a pipe with room), or with the bytes still queued once its reader has
 * taken nothing for `patienceMs`.
 */
export async function whenOutputTaken(
  streams: readonly QueuedOutput[] = [process.stdout, process.stderr],
  patienceMs = OUTPUT_PATIENCE_MS,
): Promise<number> {
  // Lines gathered and not yet written (terminal.ts writes them in a later turn, or after a gap) go first.
  await new Promise((resolve) => setImmediate(resolve));
  for (const flush of flushes) flush();
  return whenQueuedAtMost(streams, 0, patienceMs);
}
