/**
 * What cli.ts tells the rest of the process when standard output or error can no longer be written
 * (a reader that went away, a log on a full disk). An emitter of its own, so that cli.ts need not load
 * the output module or a command to reach them.
 *
 * - "stop": stop as on SIGTERM: listen points its inboxes back and answers what is in flight,
 *   send-test and replay stop sending. Never counted as a second Ctrl-C (on which listen quits at
 *   once): a closed terminal sends SIGHUP first, and the stop line listen then writes is what fails.
 * - "stdout": standard output is gone; what would go there goes to standard error, so the end of the
 *   run (the summary, an inbox that could not be put back) is still seen.
 */
import { EventEmitter } from "node:events";

export const outputLost = new EventEmitter();
