/**
 * The first request a process makes through undici pays for compiling its HTTP parser and warming
 * its code (tens of ms on a busy machine). send-test reports each request's latency as the
 * handler's, so it sends one throwaway request to a loopback server of its own first; nothing
 * reaches the user's endpoint.
 */
import type { AddressInfo } from "node:net";
import type { CapturedRequest } from "../core/capture.js";
import { inspectRequest } from "../core/inspect.js";
import { sign } from "../core/signature.js";
import type { CaptureStore } from "./capture-store.js";
import { createHttpClient } from "./http-client.js";

/** Bounded: gives up silently after `deadlineMs`; warming is an optimisation, never a failure. */
export async function warmUpHttp(deadlineMs = 2_000): Promise<void> {
  // node:http is loaded here, not with the module: send-test imports this module, and
  // `send-test --print` sends nothing.
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  const client = createHttpClient({ timeoutMs: deadlineMs, connections: 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    await client.post(`http://127.0.0.1:${port}/`, { "content-type": "application/json" }, Buffer.from("{}"));
  } catch {
    // Only the first latency shown would be higher.
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

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
