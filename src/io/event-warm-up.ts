/**
 * listen's rehearsal of its per-event work before its URL is announced (beside undici's warm-up in
 * warm-up.ts, which send-test shares: this module is listen's alone, so send-test never loads the
 * inspection code it needs).
 */
import type { CapturedRequest } from "../core/capture.js";
import { inspectRequest } from "../core/inspect.js";
import { sign } from "../core/signature.js";
import type { CaptureStore } from "./capture-store.js";

/**
 * A made-up event, signed with `secret` when there is one, for rehearsing listen's per-event work
 * before its URL is announced. It never reaches the pipeline: nothing is printed, counted, kept or
 * sent for it.
 */
export function warmUpEvent(secret: string | undefined, now: number): CapturedRequest {
  const timestamp = String(Math.floor(now / 1000));
  const body = Buffer.from(
    JSON.stringify({
      event: "message.received",
      event_id: "evt_warm_up",
      attempt: 1,
      inbox_id: "inb_warm_up",
      message: { from: "warm-up@example.com", to: "inbox@example.com", subject: "warm-up", attachments: [] },
    }),
  );
  const headers: Record<string, string> = { "content-type": "application/json", "x-timestamp": timestamp };
  if (secret !== undefined) headers["x-signature"] = sign(secret, timestamp, body);
  return { receivedAt: new Date(now).toISOString(), method: "POST", path: "/webhooks", headers, body };
}

/**
 * listen's first events paid for what a process does once: the save path's first create and fsyncs
 * in the folder (and the thread pool's first calls), and compiling the code that verifies and saves
 * (the slowest requests of the first second, BENCHMARKS.md). This rehearses both on `event`: it is
 * inspected (the result dropped) and written to a temporary file that is removed again (never a
 * capture). Bounded by `deadlineMs`; never a failure.
 */
export async function warmUpEventPath(
  event: CapturedRequest,
  options: { store?: Pick<CaptureStore, "warmUp">; secret?: string; toleranceSeconds: number; now: number },
  deadlineMs = 2_000,
): Promise<void> {
  inspectRequest(event, { secret: options.secret, toleranceSeconds: options.toleranceSeconds, now: options.now });
  if (!options.store) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolveDeadline) => {
    timer = setTimeout(resolveDeadline, deadlineMs);
  });
  await Promise.race([options.store.warmUp(event).catch(() => {}), deadline]);
  clearTimeout(timer);
}
