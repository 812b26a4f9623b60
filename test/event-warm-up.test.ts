/**
 * listen's rehearsal of a whole webhook before its URL (rehearseWebhook): the made-up event goes
 * through the handler it is given, forwarded to a loopback target of its own; a handler that hangs
 * is given up at the deadline, and nothing it opened is left open.
 */
import { getActiveResourcesInfo } from "node:process";
import { describe, expect, it } from "vitest";
import { rehearseWebhook, warmUpEvent } from "../src/io/event-warm-up.js";
import type { WebhookResponse } from "../src/io/listener.js";

const SECRET = "whsec_rehearsal_test";
const CLIENT = { timeoutMs: 1_000, previewBytes: 1024, keepSuccessBodies: true };

/** Open sockets and servers (timers come and go with vitest itself). */
const openHandles = () =>
  getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap" || kind === "TCPServerWrap");

/** Sockets destroyed a moment ago finish closing in a later turn: wait for them (up to 2 s). */
async function openHandlesSettled(): Promise<number> {
  const deadline = Date.now() + 2_000;
  let last = openHandles().length;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    const now = openHandles().length;
    if (now === last) return now;
    last = now;
  }
  return last;
}

describe("rehearseWebhook", () => {
  it("hands the event to the handler, whose forward reaches the rehearsal's own target and is answered", async () => {
    const before = await openHandlesSettled();
    const event = warmUpEvent(SECRET, Date.now());
    const seen: Array<{ body: string; target: string; forwardStatus?: number }> = [];
    await rehearseWebhook(event, CLIENT, (targetUrl, client) => async (request) => {
      const outcome = await client.post(targetUrl, { "content-type": "application/json" }, request.body);
      seen.push({
        body: Buffer.from(request.body).toString("utf8"),
        target: targetUrl,
        forwardStatus: outcome.kind === "response" ? outcome.status : undefined,
      });
      return { status: 200, body: "ok\n" };
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body).toBe(Buffer.from(event.body).toString("utf8"));
    expect(seen[0]?.target).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    expect(seen[0]?.forwardStatus).toBe(200);
    expect(await openHandlesSettled()).toBe(before);
  });

  it("gives up on a handler that never answers at its deadline, and closes what it opened", async () => {
    const before = await openHandlesSettled();
    const started = Date.now();
    let asked = 0;
    await rehearseWebhook(
      warmUpEvent(SECRET, Date.now()),
      CLIENT,
      () => () => {
        asked += 1;
        return new Promise<WebhookResponse>(() => {});
      },
      300,
    );
    expect(asked).toBe(1);
    // The deadline, then the scratch listener's own settling time at most (SETTLE_MS), not the hang.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await openHandlesSettled()).toBe(before);
  });
});
