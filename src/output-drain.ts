/**
 * Waiting, before the process exits, for the reader of standard output and error to take what was
 * written. On a pipe, Node's standard streams are non-blocking: what the pipe cannot take at once is
 * queued inside the process, and process.exit() throws that queue away. A reader that is behind
 * (`| jq .` printing to a terminal, `| tee` on a slow disk, a script that reads later) lost the end
 * of a run's output so: the last NDJSON records and the summary, silently, exit 0.
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

/** What holds output back before handing it to a stream (terminal.ts's line writer): flushed first. */
const flushes: Array<() => void> = [];
export function beforeOutputWait(flush: () => void): void {
  flushes.push(flush);
}

/**
 * Resolves with 0 once every stream's queue is empty (at once when nothing is queued: a terminal, a
 * file, a pipe with room), or with the bytes still queued once its reader has taken nothing for
 * `patienceMs`.
 */
export async function whenOutputTaken(
  streams: readonly QueuedOutput[] = [process.stdout, process.stderr],
  patienceMs = OUTPUT_PATIENCE_MS,
): Promise<number> {
  // Lines gathered and not yet written (terminal.ts writes them in a later turn, or after a gap) go first.
  await new Promise((resolve) => setImmediate(resolve));
  for (const flush of flushes) flush();
  // A stream that failed (its reader went away) will take nothing more: cli.ts has said so.
  const queued = () => streams.reduce((sum, stream) => sum + (stream.destroyed ? 0 : stream.writableLength), 0);
  let left = queued();
  let lastProgress = Date.now();
  while (left > 0) {
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
    const now = queued();
    if (now < left) lastProgress = Date.now();
    else if (Date.now() - lastProgress >= patienceMs) return now;
    left = now;
  }
  return 0;
}
