/**
 * A Ctrl-C of send-test, replay or redact prints what finished, then left at once: on a pipe whose reader
 * was behind, what it had not taken yet (the summary the Ctrl-C had just printed, the last records) was
 * thrown away. Now the process waits for the reader, briefly, and nothing more is sent or printed meanwhile.
 */
import { describe, expect, it } from "vitest";
import { leaveOnceOutputTaken } from "../src/output-drain.js";
import { startWithPausedStdout } from "./helpers/cli.js";
import { startServer } from "./helpers/servers.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_interrupt_drain_0123456789" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Ctrl-C with a reader that is behind", () => {
  it("send-test --count --json: the reader still gets every record and the summary, exit 130", async () => {
    const server = await startServer(() => ({ status: 200, body: "ok" }));
    try {
      // Not read: the pipe fills, then about 1 MiB waits in the CLI (it then waits for room).
      const { child, closed, taken, resume } = startWithPausedStdout(
        ["send-test", "--url", server.url, "--count", "1000000", "--concurrency", "4", "--json"],
        { env },
      );
      await sleep(2_000);
      child.kill("SIGINT");
      // The reader comes back after the Ctrl-C, well within the wait's patience.
      await sleep(700);
      resume();
      const code = await closed;
      const { stdout, stderr } = taken;
      const records = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      const last = records[records.length - 1];
      expect(last.type).toBe("summary");
      const deliveries = records.filter((record) => record.type === "delivery").length;
      expect(deliveries).toBeGreaterThan(100);
      expect(last.sent).toBe(deliveries);
      expect(stderr).not.toMatch(/not written/);
      expect(code).toBe(130);
    } finally {
      await server.close();
    }
  }, 20_000);
});

describe("leaveOnceOutputTaken", () => {
  const leaving = () => {
    let resolveExit: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      resolveExit = resolve;
    });
    const exitNow = ((code: number) => {
      resolveExit(code);
    }) as (code: number) => never;
    return { exited, exitNow };
  };

  it("leaves at once when nothing is queued", () => {
    let code: number | undefined;
    leaveOnceOutputTaken(
      130,
      ((exit: number) => {
        code = exit;
      }) as (code: number) => never,
      [{ writableLength: 0, destroyed: false }],
    );
    // Synchronously: not a turn later, when a command's work could go on.
    expect(code).toBe(130);
  });

  it("waits while the reader takes some, then leaves with the code", async () => {
    const { exited, exitNow } = leaving();
    const stream = { writableLength: 500, destroyed: false };
    const reader = setInterval(() => {
      stream.writableLength = Math.max(0, stream.writableLength - 100);
    }, 30);
    try {
      leaveOnceOutputTaken(143, exitNow, [stream], 200);
      expect(await exited).toBe(143);
      expect(stream.writableLength).toBe(0);
    } finally {
      clearInterval(reader);
    }
  });

  it("gives up on a reader that takes nothing for the patience", async () => {
    const { exited, exitNow } = leaving();
    const started = Date.now();
    leaveOnceOutputTaken(130, exitNow, [{ writableLength: 4096, destroyed: false }], 150);
    expect(await exited).toBe(130);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});
