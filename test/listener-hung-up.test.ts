/**
 * A sender that hangs up mid-body (its end of the connection closed before the declared length
 * arrived): Node's parser reports that as a client error on the connection, not as the request's end,
 * so the body and its share of the body budget were held until the request deadline (60 s in listen):
 * six such 8 MiB bodies, their senders long gone, kept every real webhook out with 503 for a minute.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ListenerNotice, type RunningListener, startListener } from "../src/io/listener.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { rawExchange } from "./helpers/http.js";
import { startListen } from "./helpers/listen.js";

const running: RunningListener[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((listener) => listener.close(100)));
});
const cleanups = cleanupAfterEach();

/** Declare `bytes`, send `sent` of them, then close this end of the connection (FIN) and forget it. */
function hangUpMidBody(port: number, bytes: number, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        `POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n`,
      );
      socket.end(Buffer.alloc(sent, 0x20), () => resolve());
    });
    socket.on("error", () => {});
    socket.resume();
  });
}

/** A whole request of `bytes`: the answer's status line. */
async function post(port: number, bytes: number): Promise<string> {
  const head = `POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${bytes}\r\n\r\n`;
  const received = await rawExchange(port, [
    { afterMs: 0, data: Buffer.concat([Buffer.from(head), Buffer.alloc(bytes, 0x20)]) },
  ]);
  return received.split("\r\n")[0] ?? "";
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A listener with a 5,000-byte body budget and listen's own 60 s deadline, and the notices it gives. */
async function budgetListener(): Promise<{ listener: RunningListener; notices: ListenerNotice[] }> {
  const notices: ListenerNotice[] = [];
  const listener = await startListener(
    {
      host: "127.0.0.1",
      port: 0,
      path: "/webhooks",
      maxBodySize: 4_000,
      bodyBudget: 5_000,
      headersTimeoutMs: 10_000,
      // listen's own deadline: only giving the body up at once frees the budget in time.
      requestTimeoutMs: 60_000,
    },
    { onWebhook: async () => ({ status: 200, body: "ok" }), onNotice: (notice) => notices.push(notice) },
  );
  running.push(listener);
  return { listener, notices };
}

describe("a sender that hangs up mid-body", () => {
  it("is given up at once: its body budget is free for the next webhook, and it is reported", async () => {
    const { listener, notices } = await budgetListener();
    // 3,999 of 4,000 bytes, then the sender is gone: it held 4,000 of the 5,000-byte budget.
    await hangUpMidBody(listener.port, 4_000, 3_999);
    await until(() => notices.length > 0, 5_000);
    expect(notices).toEqual([{ type: "incomplete-body", method: "POST", path: "/webhooks" }]);
    // A 2,000-byte webhook fits again (it got 503 "busy" while the dead body held the budget).
    expect(await post(listener.port, 2_000)).toBe("HTTP/1.1 200 OK");
  });

  it("a chunked body whose framing breaks is answered 400 at once (not at the 60 s deadline), its budget freed", async () => {
    const { listener, notices } = await budgetListener();
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(listener.port, "127.0.0.1");
      let received = "";
      socket.on("data", (chunk) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(received));
      // 3,900 bytes in one good chunk (held in the budget), then a chunk size that is not hex.
      socket.write(
        `POST /webhooks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nf3c\r\n${" ".repeat(3900)}\r\nzz\r\n`,
      );
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("the body is not valid HTTP");
    expect(notices).toEqual([{ type: "unparsed", status: 400, reason: "bad-request" }]);
    expect(await post(listener.port, 2_000)).toBe("HTTP/1.1 200 OK");
  });

  it("listen --json says so in a rejected record (reason incomplete-body), and Ctrl-C does not wait for it", async () => {
    const listen = await startListen(["--no-inspect", "--no-save"]);
    cleanups.push(async () => void (await listen.stop("SIGKILL")));
    const port = Number(new URL(listen.url).port);
    await hangUpMidBody(port, 4_000, 100);
    const record = await listen.waitFor((r) => r.type === "rejected", 5_000);
    expect(record).toEqual({
      type: "rejected",
      schemaVersion: 1,
      reason: "incomplete-body",
      status: null,
      method: "POST",
      path: "/webhooks",
    });
    // Nothing is left in flight: the stop does not sit out the 5 s grace for a sender that is gone.
    const started = Date.now();
    expect(await listen.stop("SIGINT")).toBe(0);
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
