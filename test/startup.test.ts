/**
 * Start-up work that would slow every run, checked by what the built CLI loads and when (a preload
 * notes it), not by the clock: `listen --forward-to` warms undici before its URL is printed (events
 * may arrive as soon as it is), and the commands that send nothing never load undici at all.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { collect, runCli, startCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen } from "./helpers/listen.js";

const cleanups = cleanupAfterEach();
const server = serverStarter(cleanups);
const PRELOAD = resolve(import.meta.dirname, "helpers/load-log.cjs");
const SECRET = "whsec_startup_test";

function loadLog(): { env: Record<string, string>; lines: () => string[] } {
  const file = join(tempDir("omh-load-"), "log");
  return {
    env: { NODE_OPTIONS: `--require ${PRELOAD}`, OMH_LOAD_LOG: file, OPENMAIL_WEBHOOK_SECRET: SECRET },
    lines: () => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : []),
  };
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** listen --forward-to a handler answering 200, saving, started with the load log, once its URL is out. */
async function listenForwardingUntilItsUrl() {
  const handler = await server(() => ({ status: 200, body: "ok" }));
  const log = loadLog();
  const cwd = tempDir();
  const saveDir = join(cwd, "events");
  const listen = await startListen(["--forward-to", handler.url, "--save-dir", saveDir], { env: log.env, cwd });
  cleanups.push(() => listen.stop());
  await until(() => log.lines().includes("url"));
  return { handler, log, saveDir, listen };
}

describe("start-up", () => {
  it("listen --forward-to warms undici before it prints its URL (and forwards the first event)", async () => {
    const handler = await server(() => ({ status: 200, body: "ok" }));
    const log = loadLog();
    const listen = await startListen(["--forward-to", handler.url, "--no-save"], { env: log.env });
    cleanups.push(() => listen.stop());
    await until(() => log.lines().includes("url"));
    // undici loaded, then a made-up webhook through a scratch listener of its own and on to a
    // loopback target of its own (rehearseWebhook), all before the URL.
    expect(log.lines()).toEqual(["undici", "request POST /webhooks", "request POST /webhooks", "url"]);
    const { headers, body } = signedEvent(SECRET, messageEvent());
    const answer = await post(listen.url, headers, body);
    expect(answer.status).toBe(200);
    expect(handler.requests).toHaveLength(1);
    expect(handler.requests[0]?.body.equals(body)).toBe(true);
  });

  it("that rehearsed webhook is nowhere to be seen: not printed, counted, forwarded, saved or in the inspector", async () => {
    const { handler, log, saveDir, listen } = await listenForwardingUntilItsUrl();
    expect(log.lines().indexOf("request POST /webhooks")).toBeLessThan(log.lines().indexOf("url"));
    const { headers, body } = signedEvent(SECRET, messageEvent({ event_id: "evt_after_rehearsal" }));
    expect((await post(listen.url, headers, body)).status).toBe(200);
    const event = await listen.waitFor((r) => r.type === "event");
    expect(event).toMatchObject({ seq: 1, eventId: "evt_after_rehearsal", forward: { status: 200 } });
    const ready = listen.records.find((r) => r.type === "ready") as { inspectorUrl: string };
    const token = new URL(ready.inspectorUrl).hash.replace("#token=", "");
    const inspector = await fetch(new URL("/api/events", ready.inspectorUrl), {
      headers: { "x-inspector-token": token },
    });
    const listed = JSON.stringify(await inspector.json());
    expect(listed).toContain("evt_after_rehearsal");
    expect(listed).not.toContain("evt_warm_up");
    expect(await listen.stop()).toBe(0);
    const summary = listen.records.find((r) => r.type === "summary");
    expect(summary).toMatchObject({ received: 1 });
    expect(listen.stdout()).not.toContain("evt_warm_up");
    expect(listen.records.filter((r) => r.type === "arrival" || r.type === "event")).toHaveLength(2);
    expect(handler.requests).toHaveLength(1);
    expect(readdirSync(saveDir).filter((name) => name.endsWith(".json"))).toHaveLength(1);
  });

  it("listen --forward-to rehearses a save before it prints its URL, and leaves nothing of it in the folder", async () => {
    const { handler, log, saveDir, listen } = await listenForwardingUntilItsUrl();
    // The rehearsal's fsync came first; its temporary file is gone, and it was never a capture.
    expect(log.lines().indexOf("fsync")).toBeGreaterThanOrEqual(0);
    expect(log.lines().indexOf("fsync")).toBeLessThan(log.lines().indexOf("url"));
    expect(readdirSync(saveDir)).toEqual([".gitignore"]);
    const { headers, body } = signedEvent(SECRET, messageEvent({ event_id: "evt_warm_up" }));
    expect((await post(listen.url, headers, body)).status).toBe(200);
    const record = await listen.waitFor((r) => r.type === "event");
    // The rehearsal's made-up event (same id) is not remembered: this one is no redelivery.
    expect(record).toMatchObject({ seq: 1, verification: { valid: true }, status: 200, forward: { status: 200 } });
    expect(record.duplicate ?? null).toBeNull();
    expect(readdirSync(saveDir).filter((name) => name.endsWith(".json"))).toHaveLength(1);
    expect(readdirSync(saveDir).filter((name) => name.startsWith(".tmp-"))).toEqual([]);
    expect(handler.requests).toHaveLength(1);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`a ${signal} during that rehearsal waits for it to clean up, then exits 130 without a URL`, async () => {
      const handler = await server(() => ({ status: 200, body: "ok" }));
      const log = loadLog();
      const cwd = tempDir();
      const saveDir = join(cwd, "events");
      // The rehearsal's file fsync is held back for a second: its temporary file is surely there.
      const env = { ...log.env, OMH_HOLD_FIRST_FSYNC_MS: "1000" };
      const child = startCli(
        ["listen", "--no-tunnel", "--port", "0", "--forward-to", handler.url, "--save-dir", saveDir],
        { env, cwd },
      );
      cleanups.push(async () => void child.kill("SIGKILL"));
      const result = collect(child);
      await until(() => log.lines().includes("fsync"));
      expect(readdirSync(saveDir).filter((name) => name.startsWith(".tmp-"))).toHaveLength(1);
      child.kill(signal);
      const { code, stdout } = await result;
      expect(code).toBe(130);
      expect(readdirSync(saveDir)).toEqual([".gitignore"]);
      expect(stdout).not.toMatch(/http:\/\/127\.0\.0\.1:\d+/);
      expect(handler.requests).toHaveLength(0);
    });
  }

  it("listen loads the OpenMail client only with --inbox or registrations an earlier run left", async () => {
    const plain = loadLog();
    const cwd = tempDir();
    const listen = await startListen([], { env: plain.env, cwd });
    cleanups.push(() => listen.stop());
    await until(() => plain.lines().includes("url"));
    await listen.stop();
    expect(plain.lines()).toEqual(["url"]);

    // An (empty) registrations file: the session is loaded to read it, and listen starts as before.
    writeFileSync(
      join(cwd, ".openmail-hooks/events/.inbox-registrations.json"),
      '{"version":1,"pending":[],"ownUrls":[]}',
    );
    const left = loadLog();
    const again = await startListen([], { env: left.env, cwd });
    cleanups.push(() => again.stop());
    await until(() => left.lines().includes("url"));
    expect(left.lines()).toEqual(["openmail", "url"]);
  });

  it("send-test --print loads none of sending's code: HTTP client, delivery runner, delivery report", async () => {
    const log = loadLog();
    const print = await runCli(["send-test", "--print"], { env: { ...log.env, OMH_LOAD_LOG_CODE: "1" } });
    expect(print.code).toBe(0);
    expect(print.stdout).toMatch(/^POST \/webhooks HTTP\/1\.1\r?\n/);
    const SENDING = ["code:http-client", "code:delivery-runner", "code:delivery-report"];
    for (const code of SENDING) expect(log.lines()).not.toContain(code);
    // The same check sees them where they are used: a run that sends loads all three.
    const handler = await server(() => ({ status: 200, body: "ok" }));
    const sent = loadLog();
    const send = await runCli(["send-test", "--url", handler.url], { env: { ...sent.env, OMH_LOAD_LOG_CODE: "1" } });
    expect(send.code).toBe(0);
    expect(sent.lines()).toEqual(expect.arrayContaining(SENDING));
    // replay --dry-run prints what it would send: no HTTP client, no delivery runner either.
    const cwd = tempDir();
    const request = join(cwd, "request.http");
    writeFileSync(request, print.stdout);
    const dry = loadLog();
    const dryRun = await runCli(["replay", "--dry-run", request], { env: { ...dry.env, OMH_LOAD_LOG_CODE: "1" }, cwd });
    expect(dryRun.code).toBe(0);
    for (const code of ["code:http-client", "code:delivery-runner"]) expect(dry.lines()).not.toContain(code);
  });

  it("send-test --print and replay --dry-run never load undici", async () => {
    const log = loadLog();
    const print = await runCli(["send-test", "--print"], { env: log.env });
    expect(print.code).toBe(0);
    const cwd = tempDir();
    const request = join(cwd, "request.http");
    writeFileSync(request, print.stdout);
    const dryRun = await runCli(["replay", "--dry-run", request], { env: log.env, cwd });
    expect(dryRun.code).toBe(0);
    expect(log.lines()).toEqual([]);
  });
});
