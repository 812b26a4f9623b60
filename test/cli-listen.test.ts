import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromCaptureObject } from "../src/core/capture.js";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen } from "./helpers/listen.js";
import { closedPort, openMailHandler } from "./helpers/servers.js";

const SECRET = "whsec_listen_0a1b2c3d4e5f6789";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function listen(args: string[] = [], options: { env?: Record<string, string | undefined>; cwd?: string } = {}) {
  const process = await startListen(args, { env: options.env ?? env, cwd: options.cwd });
  cleanups.push(() => process.stop("SIGKILL"));
  return process;
}

const target = serverStarter(cleanups);

const events = (lp: ListenProcess) => lp.records.filter((r) => r.type === "event");
/** The n-th event record (1-based), once it has arrived. */
async function eventRecord(lp: ListenProcess, n: number) {
  await lp.waitFor(() => events(lp).length >= n);
  return events(lp)[n - 1] as Record<string, unknown>;
}

describe("listen: receiving", () => {
  it("announces readiness, verifies a signed event and saves its exact bytes before answering", async () => {
    const lp = await listen();
    expect(lp.ready.localUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    const event = messageEvent({}, { subject: "Grüße 👋" });
    // Unusual formatting: the capture must keep these bytes, not a re-serialization.
    const body = Buffer.from(
      `{ "event" : "message.received",\r\n "event_id": "${event.event_id}", "inbox_id": "inb_main" }\n`,
    );
    const request = signedEvent(SECRET, event, { body });
    const response = await post(lp.url, request.headers, request.body);
    expect(response.status).toBe(200);
    // The answer carries its length (one write), not chunked framing.
    expect(response.headers["content-length"]).toBe(String(Buffer.byteLength(response.body)));
    expect(response.headers["transfer-encoding"]).toBeUndefined();
    const record = await eventRecord(lp, 1);
    expect(record).toMatchObject({ eventId: event.event_id, verification: { valid: true }, status: 200 });
    const capture = JSON.parse(readFileSync(String(record.capturePath), "utf8"));
    const { request: saved } = fromCaptureObject(capture);
    expect(Buffer.from(saved.body).equals(body)).toBe(true);
    expect(saved.headers["x-signature"]).toBe(request.headers["X-Signature"]);
    expect(capture.verification).toMatchObject({ valid: true });
    // The capture verifies offline too.
    expect((await runCli(["verify", String(record.capturePath)], { env })).code).toBe(0);
  });

  it("flags tampered and stale events and answers 400", async () => {
    const lp = await listen();
    const event = messageEvent();
    const tampered = signedEvent(SECRET, event);
    tampered.body = Buffer.from(tampered.body.toString().replace("Hello", "Hellp"));
    expect((await post(lp.url, tampered.headers, tampered.body)).status).toBe(400);
    const stale = signedEvent(SECRET, messageEvent(), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect((await post(lp.url, stale.headers, stale.body)).status).toBe(400);
    await eventRecord(lp, 2);
    const [first, second] = events(lp);
    expect(first).toMatchObject({ verification: { valid: false, reason: "signature_mismatch" }, status: 400 });
    expect(second).toMatchObject({ verification: { valid: false, reason: "timestamp_too_old" }, status: 400 });
  });

  it("accepts unverified events with no secret, and --status forces the answer", async () => {
    const noSecret = await listen([], { env: {} });
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(noSecret.url, request.headers, request.body)).status).toBe(200);
    expect(await eventRecord(noSecret, 1)).toMatchObject({ verification: { valid: null, reason: "no_secret" } });
    expect(noSecret.ready).toMatchObject({ secret: null });

    const forced = await listen(["--status", "503"]);
    expect((await post(forced.url, request.headers, request.body)).status).toBe(503);
  });

  it("marks redeliveries of an event_id as retries, also across runs", async () => {
    const cwd = tempDir();
    const first = await listen([], { cwd });
    const event = messageEvent();
    const attempt1 = signedEvent(SECRET, event);
    await post(first.url, attempt1.headers, attempt1.body);
    const attempt2 = signedEvent(SECRET, { ...event, attempt: 2 });
    await post(first.url, attempt2.headers, attempt2.body);
    await eventRecord(first, 2);
    expect(events(first)[0]?.duplicate).toBeNull();
    expect(events(first)[1]).toMatchObject({ attempt: 2, duplicate: { timesSeen: 2, inFolder: false } });
    expect(await first.stop()).toBe(0);

    const second = await listen([], { cwd });
    await post(second.url, attempt2.headers, attempt2.body);
    // Numbered as in the first run: the earlier delivery in the folder counts, so this is #2 (not #1).
    expect(await eventRecord(second, 1)).toMatchObject({ duplicate: { timesSeen: 2, inFolder: true } });
    await post(second.url, attempt2.headers, attempt2.body);
    expect(await eventRecord(second, 2)).toMatchObject({ duplicate: { timesSeen: 3, inFolder: false } });
  });

  it("a forged request reusing a real event's X-Event-Id is no retry, and does not make the real one after it look like one", async () => {
    const lp = await listen([]);
    const event = messageEvent();
    // Forged first: the id of an event that will really arrive, a signature that does not match.
    const forgedBody = Buffer.from(JSON.stringify({ ...event, event_id: "evt_other" }));
    const forged = { ...signedEvent(SECRET, event).headers, "X-Signature": "0".repeat(64) };
    expect((await post(lp.url, forged, forgedBody)).status).toBe(400);
    const real = signedEvent(SECRET, event);
    expect((await post(lp.url, real.headers, real.body)).status).toBe(200);
    const forgedAgain = { ...real.headers, "X-Signature": "1".repeat(64) };
    expect((await post(lp.url, forgedAgain, real.body)).status).toBe(400);
    await eventRecord(lp, 3);
    expect(events(lp).map((record) => record.duplicate)).toEqual([null, null, null]);
    expect(await lp.stop()).toBe(0);
    expect(lp.records.at(-1)).toMatchObject({ type: "summary", retries: 0 });
  });

  it("removes temporary files a crashed run left, in its background pass over the folder", async () => {
    const dir = join(tempDir(), "events");
    const first = await listen(["--save-dir", dir]);
    const request = signedEvent(SECRET, messageEvent());
    await post(first.url, request.headers, request.body);
    await eventRecord(first, 1);
    await first.stop("SIGKILL");
    // What kill -9 mid-save leaves: a temporary file of a process that is gone (pid above pid_max).
    const leftover = join(dir, `.tmp-${2 ** 22 + 1}-${"ab".repeat(16)}`);
    writeFileSync(leftover, '{"format":"openmail-hooks.capture/v1","bo');
    const second = await listen(["--save-dir", dir]);
    // Events wait for the pass (ids and sweep), so once one is recorded the sweep is done.
    await post(second.url, request.headers, request.body);
    expect(await eventRecord(second, 1)).toMatchObject({ duplicate: { inFolder: true } });
    expect(readdirSync(dir).filter((name) => name.startsWith(".tmp-"))).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".json"))).toHaveLength(2);
  });

  it("answers 404/405 to anything but POST on the path, and never forwards it", async () => {
    const app = await target();
    const lp = await listen(["--forward-to", app.url]);
    const base = lp.url.replace(/\/webhooks$/, "");
    expect((await post(`${base}/other`, {}, "x")).status).toBe(404);
    expect((await post(lp.url, {}, "", "GET")).status).toBe(405);
    expect((await post(`${lp.url}/`, { "content-type": "application/json" }, "{}")).status).not.toBe(404);
    await lp.waitFor((r) => r.type === "ignored" && r.status === 405);
    expect(lp.records.filter((r) => r.type === "ignored")).toHaveLength(2);
    await eventRecord(lp, 1);
    expect(app.requests).toHaveLength(1);
  });

  it("answers 413 above --max-body-size and keeps serving", async () => {
    const lp = await listen(["--max-body-size", "1kb"]);
    const big = signedEvent(SECRET, messageEvent({}, { body_text: "x".repeat(5000) }));
    expect((await post(lp.url, big.headers, big.body)).status).toBe(413);
    await lp.waitFor((r) => r.type === "rejected");
    const small = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, small.headers, small.body)).status).toBe(200);
  });

  it("keeps a hostile event id inside the folder, with 0700/0600 modes and no secret in captures", async () => {
    const lp = await listen();
    const hostile = "../../../etc/evil\u001b[31m\n";
    const request = signedEvent(SECRET, messageEvent({ event_id: hostile }));
    request.headers["X-Event-Id"] = "../../escape";
    await post(lp.url, request.headers, request.body);
    const record = await eventRecord(lp, 1);
    const dir = String(lp.ready.saveDir);
    expect(String(record.capturePath).startsWith(`${dir}/`)).toBe(true);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9TZ-]+_escape\.json$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files[0] ?? "")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, files[0] ?? ""), "utf8")).not.toContain(SECRET);
  });

  it("exits 2 with a clear line when the port is in use", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const port = String((blocker.address() as { port: number }).port);
    const result = await runCli(["listen", "--no-tunnel", "--port", port], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("listen: forwarding", () => {
  it("forwards the exact bytes and headers, and the handler's own verification passes", async () => {
    const app = await target(openMailHandler(SECRET));
    const lp = await listen(["--forward-to", `${app.url}/hooks`]);
    const body = Buffer.from(`{"event":"message.received","event_id":"evt_fwd_1",  "inbox_id":"inb_main"}\r\n`);
    const request = signedEvent(SECRET, { event_id: "evt_fwd_1" }, { body });
    request.headers["X-Custom"] = "kept";
    const response = await post(lp.url, request.headers, request.body);
    expect(response.status).toBe(200);
    expect(response.body).toBe("ok");
    const received = app.requests[0];
    expect(received?.url).toBe("/hooks");
    expect(received?.body.equals(body)).toBe(true);
    for (const name of ["content-type", "x-timestamp", "x-signature", "x-event-id", "x-custom"]) {
      expect(received?.headers[name]).toBe(
        request.headers[Object.keys(request.headers).find((k) => k.toLowerCase() === name) ?? ""],
      );
    }
    expect(await eventRecord(lp, 1)).toMatchObject({ forward: { status: 200, accepted: true }, status: 200 });
  });

  it("relays the handler's failure with a hint, and routes by inbox", async () => {
    const main = await target(() => ({ status: 401, body: "invalid signature" }));
    const support = await target();
    const lp = await listen(["--forward-to", main.url, "--route", `inb_support=${support.url}/support`]);
    const toMain = signedEvent(SECRET, messageEvent({ inbox_id: "inb_main" }));
    const toSupport = signedEvent(SECRET, messageEvent({ inbox_id: "inb_support" }));
    const mainAnswer = await post(lp.url, toMain.headers, toMain.body);
    expect(mainAnswer).toMatchObject({ status: 401, body: "invalid signature" });
    expect(mainAnswer.headers["content-length"]).toBe(String("invalid signature".length));
    expect((await post(lp.url, toSupport.headers, toSupport.body)).status).toBe(200);
    await eventRecord(lp, 2);
    expect(main.requests).toHaveLength(1);
    expect(support.requests).toHaveLength(1);
    expect(support.requests[0]?.url).toBe("/support");
    expect(events(lp)[0]?.forward).toMatchObject({ status: 401, accepted: false });
    const forward = events(lp)[0]?.forward as { hint: string } | undefined;
    expect(String(forward?.hint)).toMatch(
      /different secret; if the secrets match, it verifies a parsed \(re-serialized\) body/,
    );
  });

  it("a handler that takes its time holds up neither the save nor its result in the capture", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = await target(async () => {
      await held;
      return { status: 200, body: "handled" };
    });
    const lp = await listen(["--forward-to", app.url]);
    const dir = String(lp.ready.saveDir);
    const slow = signedEvent(SECRET, messageEvent({ event_id: "evt_slow_handler" }));
    const answer = post(lp.url, slow.headers, slow.body);
    await app.waitFor(1);
    // Saved while the handler is still busy: the capture does not wait for the forward...
    const name = await eventually(() => readdirSync(dir).find((file) => file.endsWith("_evt_slow_handler.json")));
    expect(JSON.parse(readFileSync(join(dir, name), "utf8")).forward).toBeUndefined();
    release();
    expect(await answer).toMatchObject({ status: 200, body: "handled" });
    expect(await eventRecord(lp, 1)).toMatchObject({ forward: { status: 200 }, status: 200 });
    // ...and the handler's result is added to it afterwards.
    const capture = await eventually(() => {
      const saved = JSON.parse(readFileSync(join(dir, name), "utf8"));
      return saved.forward ? saved : undefined;
    });
    expect(capture.forward).toMatchObject({ status: 200, outcome: "response", accepted: true });
  });

  it("answers 502 when the target is down, and still keeps the capture", async () => {
    const port = await closedPort();
    const lp = await listen(["--forward-to", `http://127.0.0.1:${port}/webhooks`]);
    const request = signedEvent(SECRET, messageEvent());
    const response = await post(lp.url, request.headers, request.body);
    expect(response.status).toBe(502);
    expect(response.body).toMatch(/forward failed: connection refused at http:\/\/127\.0\.0\.1/);
    const record = await eventRecord(lp, 1);
    expect(record).toMatchObject({ status: 502, forward: { outcome: "refused" } });
    // A quick forward's result is in the capture as it is saved (README: written once when it can be).
    const capture = await eventually(() => {
      const saved = JSON.parse(readFileSync(String(record.capturePath), "utf8"));
      return saved.forward ? saved : undefined;
    });
    expect(capture.forward).toMatchObject({ outcome: "refused", status: null, accepted: false });
  });
});

/** Poll `read` until it returns a value (at most 5 s). */
async function eventually<T>(read: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = read();
    if (value !== undefined || Date.now() > deadline) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("listen: output", () => {
  it("prints a subject full of escape sequences clean, and never the secret", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), `OPENMAIL_WEBHOOK_SECRET=${SECRET}\n`);
    const child = (await import("./helpers/cli.js")).startCli(["listen", "--no-tunnel", "--port", "0", "--verbose"], {
      cwd,
      env: {},
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    while (!/Webhook URL\s+(http:\S+)/.test(stdout)) await new Promise((resolve) => setTimeout(resolve, 20));
    const url = /Webhook URL\s+(http:\S+)/.exec(stdout)?.[1] ?? "";
    const evil = "Pay now\u001b[2J\u001b]0;pwned\u0007\u001b[31m!\u009b1m\u202e";
    const request = signedEvent(SECRET, messageEvent({}, { subject: evil, from: "x\u001b[1m@y.z" }));
    expect((await post(url, request.headers, request.body)).status).toBe(200);
    while (!stdout.includes("saved ")) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stdout).toContain("subj  Pay now!\\u202e");
    for (const control of ["\u001b", "\u009b", "\u0007"]) expect(stdout).not.toContain(control);
    expect(stdout).not.toContain(SECRET);
    expect(stdout).toMatch(/Secret\s+\*{8}6789 \(\d+ chars\) from \.env file/);
    expect(stdout).toContain(`(${SECRET.length} chars)`);
    expect(stdout).toMatch(/Summary\n\s+received 1 · verified 1/);
  });

  it("handles 500 concurrent signed requests: 500 answers, 500 captures", async () => {
    const lp = await listen();
    const requests = Array.from({ length: 500 }, () => signedEvent(SECRET, messageEvent()));
    const answers = await Promise.all(requests.map((r) => post(lp.url, r.headers, r.body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await eventRecord(lp, 500);
    expect(readdirSync(String(lp.ready.saveDir)).filter((f) => f.endsWith(".json"))).toHaveLength(500);
  });

  it("lets a request in flight finish on Ctrl-C, and quits at once on a second Ctrl-C", async () => {
    const slow = await target(() => ({ status: 200, body: "late", delayMs: 1500 }));
    const graceful = await listen(["--forward-to", slow.url]);
    const first = signedEvent(SECRET, messageEvent());
    const answered = post(graceful.url, first.headers, first.body);
    await slow.waitFor(1);
    const exited = graceful.stop("SIGINT");
    expect((await answered).status).toBe(200);
    expect(await exited).toBe(0);
    expect(graceful.records.at(-1)).toMatchObject({ type: "summary", received: 1, forwarded: { "200": 1 } });

    const stuck = await target(() => ({ status: 200, delayMs: 20_000 }));
    const impatient = await listen(["--forward-to", stuck.url]);
    const second = signedEvent(SECRET, messageEvent());
    post(impatient.url, second.headers, second.body).catch(() => {});
    await stuck.waitFor(1);
    impatient.child.kill("SIGINT");
    // Signals are not queued: wait until the first one has been taken before sending the second.
    while (!impatient.stderr().includes("stopping")) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await impatient.stop("SIGINT")).toBe(130);
  });

  it("prints the summary on SIGINT and SIGTERM and exits 0", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const lp = await listen();
      const request = signedEvent(SECRET, messageEvent());
      await post(lp.url, request.headers, request.body);
      await eventRecord(lp, 1);
      expect(await lp.stop(signal)).toBe(0);
      expect(lp.records.at(-1)).toMatchObject({ type: "summary", received: 1, verified: 1, retries: 0 });
    }
  });
});
