/** listen's smaller conveniences and truths (issue 10 items 10 and 11). */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { runCli, startCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen, startPrettyListen } from "./helpers/listen.js";
import { closedPort } from "./helpers/servers.js";

const SECRET = "whsec_options_0a1b2c3d4e5f6789";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

const target = serverStarter(cleanups);

describe("listen: forward targets as people type them", () => {
  it.each([
    ["3000", "http://127.0.0.1:3000/"],
    ["localhost:3000/webhooks", "http://localhost:3000/webhooks"],
  ])("--forward-to %s means %s", async (given, meant) => {
    const lp = await startListen(["--forward-to", given], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    expect(lp.ready).toMatchObject({ forwardTo: meant });
  });

  it("warns at start-up when the forward target does not answer, and still runs", async () => {
    const port = await closedPort();
    const lp = await startListen(["--forward-to", `http://127.0.0.1:${port}/webhooks`], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const warning = await lp.waitFor((r) => r.type === "warning");
    expect(warning.message).toMatch(/does not answer \(nothing is listening there\): start your app/);
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(502);
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(lp.records.at(-1)).toMatchObject({ type: "summary", forwarded: { refused: 1 } });
  });

  it("says so when it makes an existing capture folder private (a change to the user's files)", async () => {
    const cwd = tempDir();
    const folder = join(cwd, "shared-events");
    mkdirSync(folder, { mode: 0o755 });
    chmodSync(folder, 0o755);
    const lp = await startListen(["--save-dir", folder], { env, cwd });
    cleanups.push(() => lp.stop("SIGKILL"));
    expect(lp.stderr()).toContain(`made the capture folder ${folder} private: mode 0755 → 0700`);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    await lp.stop("SIGINT");
    // A folder that is already private, or one listen creates, is not mentioned.
    const again = await startListen(["--save-dir", folder], { env, cwd });
    cleanups.push(() => again.stop("SIGKILL"));
    expect(again.stderr()).not.toContain("made the capture folder");
  });

  it("refuses a --forward-to that is this listener itself (events would loop), exit 2", async () => {
    const port = await closedPort();
    const result = await runCli(
      ["listen", "--no-tunnel", "--port", String(port), "--forward-to", `http://localhost:${port}/webhooks/`],
      { env },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is this listener itself: each event would be forwarded back to it in a loop/);
  });

  it("refuses a --path with control characters, and shows them escaped, not raw", async () => {
    const result = await runCli(["listen", "--no-tunnel", "--port", "0", "--path", "/hooks\u001b[32mX"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected a path like /webhooks");
    expect(result.stderr).toContain("\\x1b[32m");
    expect(result.stderr).not.toContain("\u001b");
  });

  it("says local only for a loopback listener, and not when it listens on every interface", async () => {
    const local = await startPrettyListen([], { env });
    cleanups.push(() => local.stop("SIGKILL"));
    await local.waitForText(/Waiting for events/);
    expect(local.stdout()).toMatch(/Webhook URL\s+http:\/\/127\.0\.0\.1:\d+\/webhooks \(local only\)/);
    const everywhere = await startPrettyListen(["--host", "0.0.0.0"], { env });
    cleanups.push(() => everywhere.stop("SIGKILL"));
    await everywhere.waitForText(/Waiting for events/);
    expect(everywhere.stdout()).toMatch(/\(no tunnel; reachable from your network\)/);
    expect(everywhere.stdout()).not.toContain("local only");
  });

  it("the summary names a failed forward for what it is", async () => {
    const port = await closedPort();
    const lp = await startPrettyListen(["--forward-to", `http://127.0.0.1:${port}/webhooks`], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    await post(lp.url, request.headers, request.body);
    await lp.waitForText(/<-- /);
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(lp.stdout()).toMatch(/forwarded: connection refused ×1/);
    expect(lp.stdout()).not.toContain("network-error");
    expect(lp.stderr()).toMatch(/warning: http:\/\/127\.0\.0\.1:\d+\/webhooks does not answer/);
  });

  it("shows an HTML error page by its title, not raw", async () => {
    const html =
      "<!DOCTYPE html><html><head><title>TypeError: Cannot read properties of undefined</title></head><body><pre>at handler (app.js:12)</pre></body></html>";
    const handler = await target(() => ({ status: 500, body: html, headers: { "content-type": "text/html" } }));
    const lp = await startPrettyListen(["--forward-to", handler.url], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    await post(lp.url, request.headers, request.body);
    await lp.waitForText(/response: .*\n/);
    expect(lp.stdout()).toMatch(/response: TypeError: Cannot read properties of undefined \(HTML page\)/);
    expect(lp.stdout()).not.toContain("<html>");
  });
});

describe("listen --events", () => {
  it("forwards only the listed types; others are answered 200 and not forwarded", async () => {
    const handler = await target(() => ({ status: 200, body: "ok" }));
    const lp = await startListen(["--forward-to", handler.url, "--events", "inbox.suspended"], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const message = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, message.headers, message.body)).status).toBe(200);
    const skipped = await lp.waitFor((r) => r.type === "event");
    expect(skipped).toMatchObject({ filteredOut: true, forward: null, status: 200 });
    expect(handler.requests).toHaveLength(0);
    const suspended = signedEvent(SECRET, {
      event: "inbox.suspended",
      event_id: "evt_suspended_1",
      occurred_at: "2026-11-26T10:05:00.000Z",
      delivered_at: "2026-11-26T10:05:01.000Z",
      attempt: 1,
      inbox_id: "inb_1",
      inbox_address: "a@b.openmail.sh",
      pod_id: "pod_1",
      reason: "abuse",
    });
    await post(lp.url, suspended.headers, suspended.body);
    await lp.waitFor((r) => r.type === "event" && r.eventId === "evt_suspended_1");
    expect(handler.requests).toHaveLength(1);
    // A type not forwarded whose signature fails is refused as any event is, not acknowledged.
    const forged = signedEvent("whsec_not_the_secret_000000", messageEvent({ event_id: "evt_forged_filtered" }));
    expect((await post(lp.url, forged.headers, forged.body)).status).toBe(400);
    const refused = await lp.waitFor((r) => r.type === "event" && r.eventId === "evt_forged_filtered");
    expect(refused).toMatchObject({ filteredOut: true, status: 400 });
  });

  it("refuses an unknown event type in --events with the list of known ones", async () => {
    const result = await runCli(["listen", "--no-tunnel", "--events", "message.recieved"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown event type "message\.recieved"; use any of message\.received/);
  });
});

describe("listen: settings and folders", () => {
  it("--dotenv with a missing file is the tool's own one-line error, exit 2", async () => {
    const result = await runCli(["--dotenv", "nope.env", "listen", "--no-tunnel", "--port", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^openmail-hooks: env file not found: .*nope\.env; check the --dotenv path\n$/);
  });

  it("--save-dir that cannot be created fails at once, exit 2", async () => {
    const result = await runCli(["listen", "--no-tunnel", "--port", "0", "--save-dir", "/proc/forbidden/x"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot create the capture folder .*choose another with --save-dir/);
  });

  it("the first capture drops a .gitignore into ./.openmail-hooks (captures hold real email)", async () => {
    const cwd = tempDir();
    const lp = await startListen([], { env, cwd });
    cleanups.push(() => lp.stop("SIGKILL"));
    const gitignore = join(cwd, ".openmail-hooks", ".gitignore");
    expect(existsSync(gitignore)).toBe(true);
    expect(readFileSync(gitignore, "utf8")).toMatch(/^\*$/m);
  });

  it("a --save-dir listen creates gets a .gitignore too; a folder that already existed is left as it is", async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, "existing"));
    for (const dir of ["captures/dev", "existing"]) {
      const lp = await startListen(["--save-dir", dir], { env, cwd });
      cleanups.push(() => lp.stop("SIGKILL"));
      const signed = signedEvent(SECRET, messageEvent());
      await post(lp.url, signed.headers, signed.body);
      await lp.waitFor((record) => record.type === "event");
      await lp.stop("SIGTERM");
    }
    expect(readFileSync(join(cwd, "captures/dev/.gitignore"), "utf8")).toMatch(/^\*$/m);
    // Only the capture folder itself: its parent may be the user's (or the repository's root).
    expect(existsSync(join(cwd, "captures/.gitignore"))).toBe(false);
    expect(existsSync(join(cwd, "existing/.gitignore"))).toBe(false);
    // redact's copies are meant to be shared: no .gitignore there.
    await runCli(["redact", join(cwd, "captures/dev"), "--out-dir", "shared"], { env, cwd });
    expect(existsSync(join(cwd, "shared"))).toBe(true);
    expect(existsSync(join(cwd, "shared/.gitignore"))).toBe(false);
  });

  it("a one-character secret is '(1 char)'", async () => {
    const lp = await startPrettyListen([], { env: { OPENMAIL_WEBHOOK_SECRET: "x" } });
    cleanups.push(() => lp.stop("SIGKILL"));
    await lp.waitForText(/Secret .*\n/);
    expect(lp.stdout()).toMatch(/\*{8} \(1 char\) from/);
  });

  it("a capture folder removed while listen runs: each event says the folder is gone and what to do (500)", async () => {
    const cwd = tempDir();
    const lp = await startPrettyListen([], { env, cwd });
    cleanups.push(() => lp.stop("SIGKILL"));
    rmSync(join(cwd, ".openmail-hooks", "events"), { recursive: true });
    for (const n of [1, 2]) {
      const request = signedEvent(SECRET, messageEvent());
      const answer = await post(lp.url, request.headers, request.body);
      expect(answer.status).toBe(500);
      expect(answer.body).toMatch(/not saved \(the capture folder is gone \(removed while listen runs\)\)/);
      await lp.waitForText(new RegExp(`(?:✗ NOT saved[^]*){${n}}`));
    }
    expect(lp.stdout()).toMatch(
      /✗ NOT saved: the capture folder is gone \(removed while listen runs\); it will be answered 500 so OpenMail retries \(create the folder again or restart listen, which creates it; or run with --no-save\)/,
    );
    expect(lp.stdout()).not.toMatch(/ENOENT/);
  });

  it("a capture folder that stops working mid-run: answered 500, with what to do", async () => {
    const cwd = tempDir();
    const lp = await startPrettyListen([], { env, cwd });
    cleanups.push(() => lp.stop("SIGKILL"));
    const folder = join(cwd, ".openmail-hooks", "events");
    rmSync(folder, { recursive: true });
    writeFileSync(folder, "not a folder any more");
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(500);
    await lp.waitForText(/<-- .*\n/);
    expect(lp.stdout()).toMatch(
      /✗ NOT saved: .*answered 500 so OpenMail retries \(fix the folder, or run with --no-save\)/,
    );
  });
});

describe("listen: output lost while it starts", () => {
  it("a reader gone before listen waits for Ctrl-C (its first line is a start-up warning) still stops it, exit 141", async () => {
    const cwd = tempDir();
    // A folder others can read: listen makes it private and says so on standard error as it starts,
    // before it listens for Ctrl-C (or for its output going away).
    const saveDir = join(cwd, "captures");
    mkdirSync(saveDir, { mode: 0o755 });
    chmodSync(saveDir, 0o755);
    const child = startCli(["listen", "--no-tunnel", "--port", "0", "--no-inspect", "--save-dir", saveDir], {
      env,
      cwd,
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    // The reader of standard error goes away at once, as `2>&1 | true` does.
    child.stderr?.destroy();
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(resolve, 15_000, "running"))]);
    // It stopped by itself (not left running with nobody reading it), after its banner, with a summary.
    expect(code).toBe(141);
    expect(stdout).toMatch(/Summary/);
    expect(statSync(saveDir).mode & 0o777).toBe(0o700);
  });
});
