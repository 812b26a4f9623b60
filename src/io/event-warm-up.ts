/**
 * listen's rehearsal of its per-event work before its URL is announced (beside undici's warm-up in
 * warm-up.ts, which send-test shares: this module is listen's alone, so send-test never loads the
 * inspection code it needs).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { CapturedRequest } from "../core/capture.js";
import { inspectRequest } from "../core/inspect.js";
import { sign } from "../core/signature.js";
import type { CaptureStore } from "./capture-store.js";
import { createHttpClient, type HttpClient, type HttpClientOptions } from "./http-client.js";
import { type ListenerHandlers, type RunningListener, startListener } from "./listener.js";

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

/**
 * listen's first events after its URL ran code nothing had run yet (the listener's, the pipeline's
 * forward and answer, the renderer's lines), each function compiled on its first call: with a
 * forward target, the first ten requests of a fresh listen took 5-14 ms inside the process against
 * under 0.5 once warm (notes-f8). This sends `event` once through that whole path before the URL is
 * announced, on scratch instances of the same code: `handlerFor(targetUrl, client)` makes the
 * webhook handler (a pipeline and renderer of its own, writing nowhere) that a listener on a loopback
 * port of its own hands the event to, forwarding through `client` to a loopback server of ours that
 * answers 200. undici is loaded and warmed on the way, as warmUpHttp does. Nothing of it reaches the
 * user's handler, the output, the counts, the save folder or the inspector, which never see these
 * instances. Bounded by `deadlineMs`; never a failure (only the first events would be slower).
 */
export async function rehearseWebhook(
  event: CapturedRequest,
  clientOptions: HttpClientOptions,
  handlerFor: (targetUrl: string, client: HttpClient) => ListenerHandlers["onWebhook"],
  deadlineMs = 2_000,
): Promise<void> {
  const target = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}\n');
    });
  });
  const forwarding = createHttpClient({ ...clientOptions, timeoutMs: deadlineMs, connections: 1 });
  const sender = createHttpClient({ timeoutMs: deadlineMs, connections: 1 });
  let listener: RunningListener | undefined;
  let over = false;
  /** Closes what is open; called again by a step that finishes after the deadline. */
  const closeAll = async () => {
    over = true;
    const opened = listener;
    listener = undefined;
    await Promise.all([sender.close(), forwarding.close(), opened?.close(0)]);
    if (target.listening) {
      target.closeAllConnections();
      await new Promise((resolveClosed) => target.close(resolveClosed));
    }
  };
  const run = async () => {
    await new Promise<void>((resolve, reject) => {
      target.once("error", reject);
      target.listen(0, "127.0.0.1", resolve);
    });
    if (over) return closeAll();
    const { port } = target.address() as AddressInfo;
    listener = await startListener(
      { host: "127.0.0.1", port: 0, path: event.path, maxBodySize: event.body.length },
      { onWebhook: handlerFor(`http://127.0.0.1:${port}${event.path}`, forwarding), onNotice() {} },
    );
    if (over) return closeAll();
    await sender.post(`${listener.origin}${event.path}`, event.headers, event.body);
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolveDeadline) => {
    timer = setTimeout(resolveDeadline, deadlineMs);
  });
  try {
    await Promise.race([run().catch(() => {}), deadline]);
  } finally {
    clearTimeout(timer);
    await closeAll();
  }
}
