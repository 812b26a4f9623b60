/**
 * A reader that is behind (`| jq .` to a terminal, `| tee` on a slow disk, a script that reads later)
 * gets the whole output: on a pipe, what it has not taken yet is queued in the process, and exiting
 * threw that away (`send-test --print --count 2000 | (sleep 2; …)` got 55 of 2,000 requests).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { beforeOutputWait, whenOutputTaken } from "../src/output-drain.js";
import { runCli, startCli, startWithPausedStdout } from "./helpers/cli.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_output_drain_0123456789" };

describe("a reader that is behind gets the whole output", () => {
  it("send-test --print --count 2000 read only after 2 s: every request arrives, exit 0", async () => {
    const { closed, taken, resume } = startWithPausedStdout(["send-test", "--print", "--count", "2000"], { env });
    // Read, but not for the first 2 s: the pipe (and this side's buffer) fill up, the rest waits in the CLI.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    resume();
    const code = await closed;
    const { stdout, stderr } = taken;
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

describe("a sender waits for a reader that is behind instead of queueing its records without bound", () => {
  it("send-test --count --json stops sending while stdout is not read, and sends the rest, every record arriving, once it is", async () => {
    let requests = 0;
    const sink = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        requests += 1;
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    const { port } = sink.address() as AddressInfo;
    const total = 30_000;
    try {
      const child = startCli(
        ["send-test", "--url", `http://127.0.0.1:${port}/webhooks`, "--count", String(total), "--json"],
        { env },
      );
      const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
      const out = child.stdout as NonNullable<typeof child.stdout>;
      let lines = 0;
      out.setEncoding("utf8").on("data", (chunk: string) => {
        lines += chunk.split("\n").length - 1;
      });
      out.pause();
      child.stdin?.end();
      // Unread, the records queue up to about 1 MiB (some 2,000 of them) and then the run waits: the
      // count at the sink stops moving well before the total (without the wait it runs to the end).
      let stalledAt = -1;
      for (let waited = 0; waited < 20_000 && stalledAt < 0; waited += 1_000) {
        const before = requests;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        if (requests === before && requests > 0) stalledAt = requests;
      }
      expect(stalledAt).toBeGreaterThan(0);
      expect(stalledAt).toBeLessThan(total / 3);
      out.resume();
      const code = await closed;
      expect(code).toBe(0);
      expect(requests).toBe(total);
      // One record per delivery and the summary.
      expect(lines).toBe(total + 1);
    } finally {
      sink.close();
    }
  }, 60_000);
});

describe("listen, which cannot make OpenMail wait, bounds what it queues for a reader that is behind", () => {
  it("drops lines past the bound, says so and how many, and the lines written plus those dropped are every line", async () => {
    const child = startCli(["listen", "--no-tunnel", "--port", "0", "--no-save", "--no-inspect", "--json"], { env });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const out = child.stdout as NonNullable<typeof child.stdout>;
    let stdout = "";
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // The ready record gives the URL; after it, stdout is not read.
    let url = "";
    await new Promise<void>((resolve) => {
      out.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const ready = url ? null : /"localUrl":"(http:[^"]+)"/.exec(stdout);
        if (ready) {
          url = ready[1] as string;
          out.pause();
          resolve();
        }
      });
    });
    // About 950 bytes of records per event: 22,000 events are past the 16 MiB bound.
    const events = 22_000;
    const sent = await runCli(["send-test", "--url", url, "--count", String(events)], { env });
    expect(sent.code).toBe(0);
    expect(stderr).toContain("standard output's reader is 16 MiB behind: its lines are dropped, and counted");
    out.resume();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // One more event once the reader has caught up: written, and the dropped count said.
    expect((await runCli(["send-test", "--url", url], { env })).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGINT");
    const code = await closed;
    const dropped = Number(/caught up; (\d+) lines were dropped/.exec(stderr)?.[1]);
    expect(dropped).toBeGreaterThan(0);
    const written = stdout.trimEnd().split("\n");
    // ready, an arrival and an event record per event, the summary.
    expect(written.length + dropped).toBe(1 + 2 * (events + 1) + 1);
    expect(written.at(-1)).toContain('"type":"summary"');
    // A run whose output was incomplete is not a clean exit.
    expect(code).toBe(1);
  }, 90_000);
});

describe("Ctrl-C after the command is over, while the run waits for its reader", () => {
  it("leaves at once with the run's code (a clean one made 1: the output was not all taken), saying so, not killed by the signal", async () => {
    // About 400 KB of requests: more than the pipe takes, less than makes --print wait for its reader,
    // so the command ends and the run then waits for the reader.
    const child = startCli(["send-test", "--print", "--count", "300"], { env });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("close", (code, signal) => resolve({ code, signal })),
    );
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    let stdout = "";
    const out = child.stdout as NonNullable<typeof child.stdout>;
    out.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    out.pause();
    child.stdin?.end();
    // The first requests are in the pipe once the command has run; then it waits for this reader.
    for (let waited = 0; waited < 20_000 && out.readableLength === 0; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGINT");
    const { code, signal } = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^openmail-hooks: the run was interrupted while standard output's reader was behind: the last \d+ bytes of output were not written\n$/,
    );
    // What the reader had taken is the start of the output, cut short.
    expect(stdout.length).toBeGreaterThan(0);
    expect(stdout.match(/POST \/webhooks HTTP\/1\.1\r\n/g)?.length ?? 0).toBeLessThan(300);
  }, 60_000);
});
