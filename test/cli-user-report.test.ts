/**
 * Defects a new user reported against the built CLI: each output line must state only what holds
 * (timeout hints, interrupted runs), real servers on 127.0.0.1.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCaptures } from "./helpers/captures.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { collect, runCli, startCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startPrettyListen } from "./helpers/listen.js";
import { startInPty } from "./helpers/pty.js";
import { startServer } from "./helpers/servers.js";

const SECRET = "whsec_user_report_0123456789";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

describe("listen --forward-timeout hint", () => {
  it("names the --forward-timeout that passed, not OpenMail's 15 s, when it is shorter", async () => {
    const slow = await startServer(() => ({ status: 200, body: "late", delayMs: 3000 }));
    cleanups.push(() => slow.close());
    const lp = await startPrettyListen(["--forward-to", slow.url, "--forward-timeout", "1s", "--no-save"], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(504);
    const [hint] = await lp.waitForText(/hint: .*/);
    expect(hint).toMatch(/did not answer within the 1 s --forward-timeout/);
    expect(hint).toMatch(/whether it would also exceed OpenMail's 15 s wait is unknown/);
    expect(hint).not.toMatch(/longer than OpenMail waits/);
  });
});

describe("send-test interrupted with Ctrl-C", () => {
  it("exits 130, counts the requests in flight as interrupted, and prints no latency without answers", async () => {
    const slow = await startServer(() => ({ status: 200, body: "late", delayMs: 20_000 }));
    cleanups.push(() => slow.close());
    const child = startCli(["send-test", "--url", slow.url, "--count", "3", "--concurrency", "2", "--timeout", "30s"], {
      env,
    });
    const result = collect(child);
    await slow.waitFor(2);
    child.kill("SIGINT");
    const { code, stdout, stderr } = await result;
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted \(Ctrl-C\): 0 of 3 answered, 2 in flight \(no answer\)/);
    expect(stdout).toMatch(/Sent 2 to /);
    expect(stdout).toMatch(/passed 0 · failed 0 · interrupted 2/);
    expect(stdout).not.toMatch(/latency/);
  });
});

describe("replay on a terminal", () => {
  it("takes its progress line off the screen at the end, so the next output is not glued to it", async () => {
    const app = await startServer();
    cleanups.push(() => app.close());
    const cwd = tempDir();
    writeCaptures(join(cwd, ".openmail-hooks", "events"), 2, SECRET);
    const pty = startInPty(["replay", "--last", "1", "--url", app.url], { columns: 60, env, cwd });
    expect(await pty.exited).toBe(0);
    const output = pty.output();
    const lastProgress = output.lastIndexOf("sent 1/1");
    expect(lastProgress).toBeGreaterThan(-1);
    // After the last progress text, the line is erased ("\r" + erase line) before anything else.
    const rest = output.slice(lastProgress);
    const lineEnd = rest.search(/[\r\n]/);
    expect(rest.slice(lineEnd, lineEnd + 5)).toBe("\r\u001b[2K");
  });
});

describe("listen at 60 columns", () => {
  it("prints the suggested verify command's capture path whole (never cut with …), so it can be copied", async () => {
    const cwd = tempDir();
    const pty = startInPty(["listen", "--no-tunnel", "--port", "0", "--no-inspect"], { columns: 60, env, cwd });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    const url = (await pty.waitForText(/Webhook URL\s+(http:\S+)/))[1] ?? "";
    const request = signedEvent("not-the-secret", messageEvent({ event_id: "evt_a9narrow0123456789" }));
    expect((await post(url, request.headers, request.body)).status).toBe(400);
    await pty.waitForText(/why:[\s\S]*evt_a9narrow0123456789\.json/);
    const [file] = readdirSync(join(cwd, ".openmail-hooks", "events"));
    expect(pty.output()).toContain(`.openmail-hooks/events/${file}`);
    expect(pty.output()).not.toMatch(/why:[^\n]*…/);
  });
});

describe("usage errors come first", () => {
  it("send-test --scenario bogus is refused before anything else is printed; durations accept h", async () => {
    const bogus = await runCli(["send-test", "--url", "http://127.0.0.1:9/", "--scenario", "bogus"], { env });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/unknown --scenario bogus/);
    expect(bogus.stderr + bogus.stdout).not.toMatch(/signing with secret/);
    const hour = await runCli(["send-test", "--timeout", "1h", "--print"], { env });
    expect(hour.code).toBe(0);
  });
});
