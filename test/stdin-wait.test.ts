/**
 * Standard input that does not end (notes-t3 F23): the command says what it waits for, and the
 * wait has a deadline (a minute of silence; shortened here through the reader's own option).
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { describeReadError, InputStalledError, readStdinBounded } from "../src/io/request-input.js";
import { collect, startCli } from "./helpers/cli.js";

const SECRET = "whsec_stdin_wait_0123456789";

describe("standard input that does not end", () => {
  it("verify - says what it waits for after a few seconds, then reads what comes and verifies it", async () => {
    const child = startCli(["verify", "-", "--secret", SECRET]);
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const deadline = Date.now() + 15_000;
    while (!/waiting for standard input to end/.test(stderr) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stderr).toMatch(
      /waiting for standard input to end \(whatever writes to it has not closed it yet; gives up after 60 s without data\)/,
    );
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = Buffer.from('{"event":"message.received","event_id":"evt_stdin"}');
    const capture = serializeCapture({
      receivedAt: new Date().toISOString(),
      method: "POST",
      path: "/webhooks",
      headers: { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body) },
      body,
    });
    const result = await collect(child, capture);
    expect(result.code).toBe(0);
  });

  it("gives up after the silence limit with a line saying what to do; data keeps it waiting", async () => {
    const waiting: string[] = [];
    const silent = new PassThrough();
    const gaveUp = readStdinBounded(silent, 1024, {
      onWaiting: (text) => waiting.push(text),
      noticeMs: 20,
      silenceLimitMs: 300,
    });
    const error = await gaveUp.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputStalledError);
    expect(waiting).toHaveLength(1);
    expect(describeReadError("standard input", error)).toBe(
      "standard input: nothing arrived for 300 ms and it did not end; end it (Ctrl-D on a terminal), pipe a file in, or name the file instead of -",
    );

    // A slow writer that keeps sending is waited for; its end ends the read.
    const slow = new PassThrough();
    const read = readStdinBounded(slow, 1024, { onWaiting: () => {}, silenceLimitMs: 300 });
    for (const part of ["a", "b", "c", "d"]) {
      slow.write(part);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    slow.end("e");
    expect((await read).toString()).toBe("abcde");
  });

  it("is still bounded in size", async () => {
    const big = new PassThrough();
    const read = readStdinBounded(big, 4, { onWaiting: () => {} });
    big.write("12345");
    await expect(read).rejects.toThrow(/over the input limit/);
  });
});
