/**
 * The listener's whole-request deadline, with a short one (60 s in listen) so the test stays quick:
 * a real node:http listener on 127.0.0.1 and raw sockets that stall.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ListenerNotice, type RunningListener, startListener } from "../src/io/listener.js";

const running: RunningListener[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((listener) => listener.close(100)));
});

async function listener(onWebhook: () => Promise<{ status: number; body: string }>) {
  const notices: ListenerNotice[] = [];
  let webhooks = 0;
  const started = await startListener(
    {
      host: "127.0.0.1",
      port: 0,
      path: "/webhooks",
      maxBodySize: 4_000,
      bodyBudget: 5_000,
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 1_500,
    },
    {
      onWebhook: () => {
        webhooks += 1;
        return onWebhook();
      },
      onNotice: (notice) => notices.push(notice),
    },
  );
  running.push(started);
  return { ...started, notices, webhooks: () => webhooks };
}

/** Send `head` and `body`, then wait: what came back, and whether the listener closed the connection. */
function exchange(port: number, bytes: number, sent: number, waitMs: number) {
  return new Promise<{ received: string; closedByListener: boolean; afterMs: number }>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const started = performance.now();
    let received = "";
    let closedByListener = true;
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve({ received, closedByListener, afterMs: performance.now() - started }));
    socket.write(
      `POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${bytes}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(sent, 0x20));
    setTimeout(() => {
      closedByListener = false;
      socket.destroy();
    }, waitMs).unref();
  });
}

describe("the listener's whole-request deadline", () => {
  it("answers 408 and closes a request whose body stalls, frees its body budget, and reports it", async () => {
    const { port, notices, webhooks } = await listener(async () => ({ status: 200, body: "ok" }));
    // 3,999 of 4,000 bytes, then silence: it holds 4,000 of the 5,000-byte budget.
    const stalled = exchange(port, 4_000, 3_999, 20_000);
    // Meanwhile a 2,000-byte body does not fit: 503, as documented.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const meanwhile = await exchange(port, 2_000, 2_000, 10_000);
    expect(meanwhile.received).toMatch(/^HTTP\/1\.1 503 /);

    const result = await stalled;
    expect(result.closedByListener).toBe(true);
    expect(result.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(result.received).toContain("the whole request did not arrive within 1.5 s");
    expect(result.afterMs).toBeLessThan(10_000);
    expect(notices).toContainEqual({
      type: "timed-out",
      method: "POST",
      path: "/webhooks",
      status: 408,
      limitMs: 1_500,
    });
    expect(webhooks()).toBe(0);

    // The budget it held is free again.
    const after = await exchange(port, 2_000, 2_000, 10_000);
    expect(after.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(webhooks()).toBe(1);
  }, 30_000);

  it("does not cut a request that arrived whole but whose handler takes longer than the deadline", async () => {
    const { port, notices } = await listener(
      () => new Promise((resolve) => setTimeout(() => resolve({ status: 202, body: "slow but fine" }), 3_500)),
    );
    const result = await exchange(port, 100, 100, 15_000);
    expect(result.received).toMatch(/^HTTP\/1\.1 202 /);
    expect(result.received).toContain("slow but fine");
    expect(notices.filter((notice) => notice.type === "timed-out")).toEqual([]);
  }, 30_000);
});
