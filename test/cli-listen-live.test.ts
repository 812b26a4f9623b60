/**
 * listen's live output (issue 10): the arrival line at once, one outcome line when the answer is
 * settled, warnings only where something is wrong, and records a machine can follow.
 */
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen, startPrettyListen } from "./helpers/listen.js";
import { openMailHandler } from "./helpers/servers.js";

const SECRET = "whsec_live_0a1b2c3d4e5f6789";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

const target = serverStarter(cleanups);

async function listen(args: string[]): Promise<ListenProcess> {
  const lp = await startListen(args, { env });
  cleanups.push(() => lp.stop("SIGKILL"));
  return lp;
}

const stale = () => Math.floor(Date.now() / 1000) - 360;

describe("listen: which way the warnings point", () => {
  it("a correct handler's 4xx to a bad event is one quiet line, with no retry schedule or hint", async () => {
    const handler = await target(openMailHandler(SECRET));
    const lp = await startPrettyListen(["--forward-to", `${handler.url}/webhooks`], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent(), { timestamp: stale() });
    expect((await post(lp.url, request.headers, request.body)).status).toBe(400);
    await lp.waitForText(/<-- .*\n/);
    expect(lp.stdout()).toMatch(/<-- \[400 Bad Request\] handler \S+ ms · ✓ rejected as expected · answered 400/);
    expect(lp.stdout()).not.toMatch(/would retry|hint:/);
  });

  it("a handler that accepts an event failing verification is called out loudly", async () => {
    const handler = await target(openMailHandler(SECRET, { noVerification: true }));
    const lp = await startPrettyListen(["--forward-to", `${handler.url}/webhooks`], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const forged = signedEvent("whsec_not_the_secret_000000", messageEvent());
    expect((await post(lp.url, forged.headers, forged.body)).status).toBe(200);
    await lp.waitForText(/✗ your handler accepted an event with a bad signature: it does not verify/);
    const request = signedEvent(SECRET, messageEvent(), { timestamp: stale() });
    await post(lp.url, request.headers, request.body);
    await lp.waitForText(
      /✗ your handler accepted a stale event \(timestamp is 360 s old[^\n]*: it does not check the timestamp/,
    );
  });

  it("an X-Event-Id that differs from the body's event_id gets a ! line (OpenMail sends the same id)", async () => {
    const lp = await startPrettyListen([], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent({ event_id: "evt_in_body" }));
    request.headers["X-Event-Id"] = "evt_in_header";
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    await lp.waitForText(/! X-Event-Id evt_in_header differs from the body's event_id evt_in_body/);
    const same = signedEvent(SECRET, messageEvent({ event_id: "evt_same" }));
    await post(lp.url, same.headers, same.body);
    await lp.waitForText(/evt_same/);
    expect(lp.stdout().match(/differs from the body's event_id/g)).toHaveLength(1);
  });

  it("a body that is JSON but no object is labelled so, and one that is no JSON at all '(not JSON)'", async () => {
    const lp = await startPrettyListen([], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    await post(lp.url, { "Content-Type": "application/json" }, "[1,2,3]");
    await lp.waitForText(/--> \(JSON, not an object\)/);
    await post(lp.url, { "Content-Type": "application/json" }, "{not json");
    await lp.waitForText(/--> \(not JSON\)/);
    expect(lp.stdout().match(/\(not JSON\)/g)).toHaveLength(1);
    // An inbox event whose inbox_id is not a string is not called a pod event.
    await post(
      lp.url,
      { "Content-Type": "application/json" },
      '{"event":"inbox.suspended","event_id":"evt_n","inbox_id":5}',
    );
    await lp.waitForText(/inbox\.suspended evt_n · \(no inbox_id\)/);
    expect(lp.stdout()).not.toMatch(/evt_n · pod event/);
  });

  it("a valid event rejected gets the hint and OpenMail's retry schedule", async () => {
    const handler = await target(openMailHandler("whsec_another_secret_99999"));
    const lp = await startPrettyListen(["--forward-to", `${handler.url}/webhooks`], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    await post(lp.url, request.headers, request.body);
    await lp.waitForText(/OpenMail would retry: attempt 2 of 5 in 30 s/);
    expect(lp.stdout()).toMatch(/hint: the signature verifies with this secret[^\n]*different secret/);
    expect(lp.stdout()).toMatch(/response: invalid signature/);
  });
});

describe("listen: arrival first, outcome when it comes", () => {
  it("shows the arrival while the handler is still working, then the outcome", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = await target(async () => {
      await released;
      return { status: 200, body: "ok" };
    });
    const lp = await startPrettyListen(["--forward-to", handler.url], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const event = messageEvent({}, { subject: "Slow one", from: "ana@example.com" });
    const request = signedEvent(SECRET, event);
    const answered = post(lp.url, request.headers, request.body);
    await lp.waitForText(/--> message\.received/);
    expect(lp.stdout()).toMatch(
      new RegExp(
        `\\d\\d:\\d\\d:\\d\\d --> message\\.received ${event.event_id} · inb_main · ana@example\\.com → Slow one · ✓ verified`,
      ),
    );
    expect(lp.stdout()).not.toContain("<--");
    release();
    expect((await answered).status).toBe(200);
    await lp.waitForText(new RegExp(`<-- \\[200 OK\\] handler \\S+ m?s · answered 200 \\[${event.event_id}\\]`));
  });

  it("is two lines per event by default, and shows the email with --verbose", async () => {
    const handler = await target();
    for (const verbose of [false, true]) {
      const lp = await startPrettyListen(["--forward-to", handler.url, ...(verbose ? ["--verbose"] : [])], { env });
      cleanups.push(() => lp.stop("SIGKILL"));
      const request = signedEvent(SECRET, messageEvent({}, { body_text: "line one\nline two" }));
      await post(lp.url, request.headers, request.body);
      await lp.waitForText(/<-- .*\n/);
      const events = lp.stdout().slice(lp.stdout().indexOf("Waiting for events"));
      const lines = events.split("\n").filter((line) => line.trim() && !line.startsWith("Waiting"));
      if (verbose) {
        expect(events).toMatch(/subj\s+Hello/);
        expect(events).toMatch(/body\s+line one/);
        expect(events).toMatch(/saved \.openmail-hooks\/events\//);
      } else expect(lines).toHaveLength(2);
    }
  });

  it("--json: an arrival record at once, then the event record, both with the schema version", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = await target(async () => {
      await released;
      return { status: 200 };
    });
    const lp = await listen(["--forward-to", handler.url]);
    const request = signedEvent(SECRET, messageEvent());
    const answered = post(lp.url, request.headers, request.body);
    const arrival = await lp.waitFor((r) => r.type === "arrival");
    expect(arrival).toMatchObject({
      schemaVersion: 1,
      seq: 1,
      verification: { valid: true },
      forwardTo: `${handler.url}/`,
    });
    expect(typeof arrival.capturePath).toBe("string");
    expect(lp.records.some((r) => r.type === "event")).toBe(false);
    release();
    await answered;
    const event = await lp.waitFor((r) => r.type === "event");
    expect(event).toMatchObject({ schemaVersion: 1, seq: 1, status: 200, answer: "written" });
    expect(event.forward).toMatchObject({ status: 200, judgement: "accepted" });
    expect(lp.ready).toMatchObject({ schemaVersion: 1 });
    // The fields in their documented order: the envelope first, the outcome's fields after the arrival's.
    const keysOf = (type: string) => {
      const line =
        lp
          .stdout()
          .split("\n")
          .find((text) => text.startsWith(`{"type":"${type}"`)) ?? "{}";
      return Object.keys(JSON.parse(line));
    };
    const arrivalKeys = ["type", "schemaVersion", "seq", "receivedAt", "eventId", "eventType", "attempt", "inboxId"];
    const restKeys = [
      "bytes",
      "verification",
      "payload",
      "duplicate",
      "replay",
      "forwardTo",
      "filteredOut",
      "capturePath",
    ];
    expect(keysOf("arrival")).toEqual([...arrivalKeys, ...restKeys, "saveError"]);
    expect(keysOf("event")).toEqual([...arrivalKeys, ...restKeys, "saveError", "forward", "status", "answer"]);
  });
});

describe("listen: an answer nobody received is not called answered", () => {
  it("shows the sender hanging up before the handler's answer", async () => {
    const handler = await target(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return { status: 200, body: "late" };
    });
    const lp = await listen(["--forward-to", handler.url]);
    const request = signedEvent(SECRET, messageEvent());
    const controller = new AbortController();
    const sent = fetch(lp.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    }).catch(() => "aborted");
    await lp.waitFor((r) => r.type === "arrival");
    controller.abort();
    expect(await sent).toBe("aborted");
    const event = await lp.waitFor((r) => r.type === "event");
    expect(event).toMatchObject({ answer: "sender-gone", forward: { status: 200 } });
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(lp.records.at(-1)).toMatchObject({ type: "summary", senderGone: 1 });
  });
});
