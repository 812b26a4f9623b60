/**
 * A reader that is behind (`| jq .` to a terminal, `| tee` on a slow disk, a script that reads later)
 * gets the whole output: on a pipe, what it has not taken yet is queued in the process, and exiting
 * threw that away (`send-test --print --count 2000 | (sleep 2; …)` got 55 of 2,000 requests).
 */
import { describe, expect, it } from "vitest";
import { beforeOutputWait, whenOutputTaken } from "../src/output-drain.js";
import { startCli } from "./helpers/cli.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_output_drain_0123456789" };

describe("a reader that is behind gets the whole output", () => {
  it("send-test --print --count 2000 read only after 2 s: every request arrives, exit 0", async () => {
    const child = startCli(["send-test", "--print", "--count", "2000"], { env });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    let stdout = "";
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // Read, but not for the first 2 s: the pipe (and this side's buffer) fill up, the rest waits in the CLI.
    const out = child.stdout as NonNullable<typeof child.stdout>;
    out.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    out.pause();
    child.stdin?.end();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    out.resume();
    const code = await closed;
    expect(stderr).toBe("");
    expect(stdout.match(/POST \/webhooks HTTP\/1\.1\r\n/g)?.length).toBe(2000);
    expect(code).toBe(0);
  });
});

/** A stream as whenOutputTaken sees it, whose queue a test empties (or not). */
function fakeStream(queued: number): { writableLength: number; destroyed: boolean } {
  return { writableLength: queued, destroyed: false };
}

describe("whenOutputTaken", () => {
  it("resolves at once with nothing queued", async () => {
    expect(await whenOutputTaken([fakeStream(0), fakeStream(0)], 50)).toBe(0);
  });

  it("waits for a slow reader as long as it keeps taking some, however long that is in all", async () => {
    const stream = fakeStream(2000);
    // 50 bytes every 40 ms: the whole takes ~1.6 s, twice the patience, but never stalls for it.
    const reader = setInterval(() => {
      stream.writableLength = Math.max(0, stream.writableLength - 50);
    }, 40);
    try {
      expect(await whenOutputTaken([stream], 800)).toBe(0);
      expect(stream.writableLength).toBe(0);
    } finally {
      clearInterval(reader);
    }
  });

  it("gives up on a reader that takes nothing for the patience, saying how much is left", async () => {
    const stream = fakeStream(4096);
    const started = Date.now();
    expect(await whenOutputTaken([stream], 100)).toBe(4096);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it("first writes what is held back (lines waiting out the writer's gap), then waits for that too", async () => {
    const stream = fakeStream(0);
    let held = 600;
    // A writer holding 600 bytes back: flushed, they reach the stream, whose reader takes 100 per 30 ms.
    beforeOutputWait(() => {
      stream.writableLength += held;
      held = 0;
    });
    const reader = setInterval(() => {
      stream.writableLength = Math.max(0, stream.writableLength - 100);
    }, 30);
    try {
      expect(await whenOutputTaken([stream], 800)).toBe(0);
      expect(held).toBe(0);
      expect(stream.writableLength).toBe(0);
    } finally {
      clearInterval(reader);
    }
  });

  it("does not wait for a stream that failed (its reader went away)", async () => {
    const gone = { writableLength: 512, destroyed: true };
    expect(await whenOutputTaken([gone, fakeStream(0)], 10_000)).toBe(0);
  });
});
