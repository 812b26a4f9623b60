/**
 * Durations above what a Node.js timer can hold (2^31-1 ms, about 24.8 days) are usage errors:
 * taken as given, the timer fires at once and `listen --expect --timeout 597h` reported a false
 * "timed out" straight away.
 */
import { describe, expect, it } from "vitest";
import { durationOption, MAX_DURATION_MS } from "../src/cli-options.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen } from "./helpers/listen.js";

const SECRET = "whsec_duration_0a1b2c3d4e5f";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET, OPENMAIL_API_KEY: "om_live_duration_key_123456" };
const cleanups = cleanupAfterEach();

describe("durationOption", () => {
  it("accepts up to 2^31-1 ms and refuses one millisecond more", () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    expect(durationOption("2147483647ms")).toBe(2 ** 31 - 1);
    expect(durationOption("596h")).toBe(596 * 3_600_000);
    expect(() => durationOption("2147483648ms")).toThrow(/at most 2147483647ms/);
    expect(() => durationOption("597h")).toThrow(/at most 2147483647ms \(about 596h or 24.8 days/);
    expect(() => durationOption("36000m")).toThrow(/at most/);
  });
});

describe("every duration option refuses more than a timer can hold", () => {
  it.each([
    ["listen", ["listen", "--no-tunnel", "--port", "0", "--no-inspect", "--expect", "message.received"], "--timeout"],
    ["listen", ["listen", "--no-tunnel", "--port", "0", "--no-inspect"], "--forward-timeout"],
    ["listen", ["listen", "--no-tunnel", "--port", "0", "--no-inspect"], "--tunnel-timeout"],
    ["listen", ["listen", "--no-tunnel", "--port", "0", "--no-inspect"], "--test-timeout"],
    ["listen", ["listen", "--no-tunnel", "--port", "0", "--no-inspect"], "--api-timeout"],
    ["send-test", ["send-test", "--print"], "--timeout"],
    ["replay", ["replay", "--url", "http://127.0.0.1:9/"], "--timeout"],
    ["send-mail", ["send-mail", "--inbox", "inb_1", "--to", "a@b.c", "--subject", "s", "--text", "t"], "--max-wait"],
    ["inboxes", ["inboxes"], "--api-timeout"],
  ])("%s %s 597h: exit 2, one line naming the option and the maximum", async (_name, args, option) => {
    // Bounded: without the limit, listen takes the option and runs until stopped.
    const result = await runCli([...args, option, "597h"], { env, via: ["timeout", "-s", "KILL", "10"] });
    expect(result.code).toBe(2);
    const [first] = result.stderr.split("\n");
    expect(first).toContain(`option '${option} <duration>' argument '597h' is invalid`);
    expect(first).toMatch(/at most 2147483647ms \(about 596h or 24\.8 days/);
    expect(result.stderr + result.stdout).not.toMatch(/timed out/);
  });

  it("--json also gets the usage error as a record", async () => {
    const result = await runCli(
      ["listen", "--no-tunnel", "--json", "--expect", "message.received", "--timeout", "1000h"],
      {
        env,
      },
    );
    expect(result.code).toBe(2);
    const records = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toEqual([
      expect.objectContaining({
        type: "error",
        code: "usage_error",
        message: expect.stringMatching(/--timeout.*at most/),
      }),
    ]);
  });

  it("listen --expect --timeout 596h (the largest whole hours) waits for the event", async () => {
    const lp = await startListen(["--no-inspect", "--expect", "message.received", "--timeout", "596h"], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const exitCode = new Promise<number | null>((resolve) => lp.child.on("close", resolve));
    // Still waiting after another round trip through the listener (a timer that overflowed fires at once).
    const other = signedEvent(SECRET, { ...messageEvent(), event: "inbox.suspended" });
    expect((await post(lp.url, other.headers, other.body)).status).toBe(200);
    expect(lp.records.some((record) => record.type === "expect")).toBe(false);
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    expect(await exitCode).toBe(0);
    expect(lp.records.find((record) => record.type === "expect")).toMatchObject({ result: "matched" });
  });
});
