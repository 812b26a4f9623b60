/**
 * What cli.ts tells the rest of the process when standard output or error can no longer be written
 * (a reader that went away, a log on a full disk). An emitter of its own, so that cli.ts need not load
 * the output module or a command to reach them.
 *
 * - "stop": stop as on SIGTERM: listen points its inboxes back and answers what is in flight,
 *   send-test and replay stop sending. Never counted as a second Ctrl-C (on which listen quits at
 *   once): a closed terminal sends SIGHUP first, and the stop line listen then writes is what fails.
 *   Listen for it with onOutputLost, which also hears a stop that came before it was listening.
 * - "stdout": standard output is gone; what would go there goes to standard error, so the end of the
 *   run (the summary, an inbox that could not be put back) is still seen.
 */
import { EventEmitter } from "node:events";

export const outputLost = new EventEmitter();

/** Has "stop" been emitted? A command may not be listening yet when its output goes. */
let stopped = false;

/** cli.ts: output is lost; stop whatever listens now or starts listening later. */
export function emitOutputLostStop(): void {
  stopped = true;
  outputLost.emit("stop");
}

/**
 * Run `onStop` once when output is lost; on the next turn if it already was: a reader can go away
 * while a command starts (a warning written before listen waits for its stop signal), and that stop
 * would otherwise be missed, leaving the command running with nobody to read it. Returns the function
 * that removes it.
 */
export function onOutputLost(onStop: () => void): () => void {
  if (stopped) {
    const soon = setImmediate(onStop);
    return () => clearImmediate(soon);
  }
  outputLost.once("stop", onStop);
  return () => outputLost.off("stop", onStop);
}
