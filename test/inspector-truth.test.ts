/**
 * What the inspector says must be true, and the same as the terminal: a forward coloured and worded
 * by its judgement (a 401 to a forged event is right, a 200 is not), invisible and bidi characters
 * shown escaped wherever the request is shown, a capture that does not verify refused re-signing with
 * a 4xx and its verbatim curl offered. Real headless Chromium and real HTTP (notes-t4.md G1, G5, G6).
 */

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { type ClientRequest, get as httpGet } from "node:http";
import { join } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { captureFileName, serializeCapture } from "../src/core/capture.js";
import { browserAvailable, launchBrowser } from "./helpers/browser.js";
import { writeCaptures } from "./helpers/captures.js";
import { tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type InspectedListen, type ListenProcess, startInspectedListen, startPrettyListen } from "./helpers/listen.js";
import { startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "inspector-truth-secret-0042";

type Inspected = InspectedListen;

const running: ListenProcess[] = [];
const servers: TestServer[] = [];
let browser: BrowserContext | undefined;

async function listen(args: string[] = [], cwd?: string): Promise<Inspected> {
  const process = await startInspectedListen(args, { env: { OPENMAIL_WEBHOOK_SECRET: SECRET }, cwd });
  running.push(process);
  return process;
}

/** A handler that answers the status the request asks for in X-Want (as a handler that does not verify would). */
async function obedientHandler(): Promise<TestServer> {
  const server = await startServer((request) => ({ status: Number(request.headers["x-want"] ?? 200), body: "done" }));
  servers.push(server);
  return server;
}

function api(process: Inspected, path: string, init: { method?: string; body?: string } = {}) {
  const headers: Record<string, string> = { "X-Inspector-Token": process.token };
  if (init.method === "POST") Object.assign(headers, { Origin: process.origin, "Content-Type": "application/json" });
  return post(`${process.origin}${path}`, headers, init.body ?? "", init.method ?? "GET");
}

async function openPage(url: string) {
  const page = await (browser as BrowserContext).newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(url);
  return { page, problems };
}

// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
const seen = (locator: Locator) => locator.innerText();
const row = (page: Page, text: string) => page.locator("tr.row", { hasText: text });

/** Three forwards judged three ways: a forged event accepted, a forged one rejected, a valid one failed. */
async function sendJudgedTrio(process: Inspected): Promise<void> {
  const forged = (subject: string) => signedEvent("not-the-listeners-secret", messageEvent({}, { subject }));
  const acceptedBad = forged("Forged and accepted");
  await post(process.url, { ...acceptedBad.headers, "X-Want": "200" }, acceptedBad.body);
  const rejected = forged("Forged and rejected");
  await post(process.url, { ...rejected.headers, "X-Want": "401" }, rejected.body);
  const valid = signedEvent(SECRET, messageEvent({}, { subject: "Valid and failed" }));
  await post(process.url, { ...valid.headers, "X-Want": "500" }, valid.body);
  await process.waitFor((record) => record.type === "event" && record.seq === 3);
}

afterEach(async () => {
  for (const page of browser?.pages() ?? []) await page.close();
  await Promise.all(running.splice(0).map((process) => process.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("the inspector's server tells the truth (HTTP)", () => {
  it("judges a forward as the terminal does, for this run's events and for captures read back from the folder", async () => {
    const app = await obedientHandler();
    const first = await listen(["--forward-to", `${app.url}/webhooks`]);
    await sendJudgedTrio(first);
    const judgements = first.records
      .filter((record) => record.type === "event")
      .map((record) => (record.forward as { judgement: string }).judgement);
    expect(judgements).toEqual(["accepted-bad", "rejected-as-expected", "rejected-valid"]);

    const bySubject = async (process: Inspected) => {
      const list = JSON.parse((await api(process, "/api/events")).body);
      const found: Record<string, { judgement: string; good: boolean; note: string | null }> = {};
      for (const item of list.items) found[item.subject] = item.forward;
      return found;
    };
    const check = (found: Awaited<ReturnType<typeof bySubject>>) => {
      expect(found["Forged and accepted"]).toMatchObject({ judgement: "accepted-bad", good: false });
      expect(found["Forged and accepted"]?.note).toContain(
        "your handler accepted an event with a bad signature: it does not verify",
      );
      expect(found["Forged and rejected"]).toMatchObject({
        judgement: "rejected-as-expected",
        good: true,
        note: "✓ rejected as expected",
      });
      expect(found["Valid and failed"]).toMatchObject({
        judgement: "rejected-valid",
        good: false,
        note: "OpenMail would retry: attempt 2 of 5 in 30 s",
      });
    };
    check(await bySubject(first));
    await first.stop();

    // The same captures, read back by the next run (no forward target now): judged the same way.
    const second = await listen([], first.cwd);
    check(await bySubject(second));
  });

  it("refuses to re-sign a capture that does not verify with a 4xx worded for the page, and offers the verbatim curl", async () => {
    const process = await listen();
    const body = Buffer.from(JSON.stringify(messageEvent({ event_id: "evt_unsigned_1" })));
    await post(process.url, { "Content-Type": "application/json", "X-Timestamp": "<b>1</b>" }, body);
    await process.waitFor((record) => record.type === "event");
    const list = JSON.parse((await api(process, "/api/events")).body);
    const id = encodeURIComponent(list.items[0].id);

    const commands = await api(process, `/api/events/${id}/commands`);
    expect(commands.status).toBe(409);
    const refused = JSON.parse(commands.body);
    expect(refused.error).toContain("not re-signed");
    expect(refused.error).toContain("Replay it verbatim");
    expect(refused.error).not.toContain("--resign-unverified");
    expect(refused.error).not.toContain("inspector error");
    expect(refused.curl).toContain("x-timestamp: <b>1</b>");
    expect(refused.curl).toContain("evt_unsigned_1");
    expect(refused.curlNote).toContain("verbatim");

    const resign = await api(process, `/api/events/${id}/replay`, {
      method: "POST",
      body: JSON.stringify({ target: "listener", mode: "resign" }),
    });
    expect(resign.status).toBe(409);
    expect(JSON.parse(resign.body).error).toContain("Replay it verbatim");
    // Nothing was sent: the listener still has only the one request.
    expect(process.records.filter((record) => record.type === "event")).toHaveLength(1);
  });
});

describe("the inspector judges captures itself, and says what became of an answer", () => {
  it("does not take a capture's word for its own signature or forward: list, filter and detail agree", async () => {
    const cwd = tempDir();
    const dir = join(cwd, ".openmail-hooks", "events");
    mkdirSync(dir, { recursive: true });
    const write = (subject: string, secret: string, extra: Record<string, unknown>, edit = (body: Buffer) => body) => {
      const event = messageEvent({ event_id: `evt_${subject.replace(/\W/g, "")}` }, { subject });
      const { headers, body } = signedEvent(secret, event, { timestamp: Math.floor(Date.now() / 1000) - 60 });
      const receivedAt = new Date(Date.now() - 60_000).toISOString();
      const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
      const request = { receivedAt, method: "POST", path: "/webhooks", headers: lowered, body: edit(body) };
      writeFileSync(join(dir, captureFileName(receivedAt, String(event.event_id))), serializeCapture(request, extra));
    };
    const claimsValid = { verification: { valid: true, reason: null, message: "signature valid" } };
    const claimsAccepted = {
      url: "http://127.0.0.1:1/webhooks",
      outcome: "response",
      status: 200,
      latencyMs: 5,
      accepted: true,
      judgement: "accepted",
    };
    write("Planted claims valid", "another-secret", { ...claimsValid, forward: claimsAccepted });
    write("Redacted since", SECRET, { ...claimsValid, redacted: true }, (body) =>
      Buffer.from(body.toString().replace("ana@example.com", "<redacted>")),
    );
    const process = await listen([], cwd);
    const list = JSON.parse((await api(process, "/api/events")).body);
    const item = (subject: string) => list.items.find((one: { subject: string }) => one.subject === subject);
    const detailOf = async (subject: string) =>
      JSON.parse((await api(process, `/api/events/${encodeURIComponent(item(subject).id)}`)).body);

    expect(item("Planted claims valid")).toMatchObject({ verdict: "invalid" });
    expect(item("Planted claims valid").forward).toMatchObject({ judgement: "accepted-bad", good: false });
    expect((await detailOf("Planted claims valid")).verification.valid).toBe(false);
    const valid = JSON.parse((await api(process, "/api/events?verdict=valid")).body);
    expect(valid.items).toEqual([]);

    expect(item("Redacted since")).toMatchObject({ verdict: "unverified" });
    expect(item("Redacted since").verdictMessage).toContain("redacted");
    const redacted = await detailOf("Redacted since");
    expect(redacted.verification.valid).toBeNull();
    expect(redacted.verification.message).toBe(item("Redacted since").verdictMessage);
  });

  it("lists a capture too large to read for the list by its name, and still opens it", async () => {
    const cwd = tempDir();
    const dir = join(cwd, ".openmail-hooks", "events");
    writeCaptures(dir, 1, SECRET, () => "Small and read");
    const event = messageEvent(
      { event_id: "evt_large_1" },
      { subject: "Large", body_text: "x".repeat(3 * 1024 * 1024) },
    );
    const { headers, body } = signedEvent(SECRET, event);
    const receivedAt = new Date().toISOString();
    const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const request = { receivedAt, method: "POST", path: "/webhooks", headers: lowered, body };
    writeFileSync(join(dir, captureFileName(receivedAt, "evt_large_1")), serializeCapture(request, {}));
    const process = await listen([], cwd);
    const list = JSON.parse((await api(process, "/api/events")).body);
    expect(list.items).toHaveLength(2);
    const [large, small] = list.items;
    expect(small).toMatchObject({ subject: "Small and read", verdict: "valid", listNote: null });
    expect(large).toMatchObject({ subject: null, verdict: "unverified", eventId: "evt_large_1" });
    expect(large.listNote).toMatch(/^a large capture \(3\.0 MB\), not read for the list: open it to see it$/);
    const detail = JSON.parse((await api(process, `/api/events/${encodeURIComponent(large.id)}`)).body);
    expect(detail.email.subject).toBe("Large");
    expect(detail.verification.valid).toBe(true);
  });

  it("says an answer the sender hung up on was not delivered", async () => {
    const slow = await startServer(() => ({ status: 200, body: "late", delayMs: 1500 }));
    servers.push(slow);
    const process = await listen(["--forward-to", `${slow.url}/webhooks`]);
    const signed = signedEvent(SECRET, messageEvent({}, { subject: "Hung up on" }));
    const controller = new AbortController();
    const sent = fetch(process.url, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
      signal: controller.signal,
    }).catch(() => undefined);
    setTimeout(() => controller.abort(), 300);
    await sent;
    await process.waitFor((record) => record.type === "event" && record.answer === "sender-gone");
    const list = JSON.parse((await api(process, "/api/events")).body);
    expect(list.items[0].answered).toMatchObject({
      status: 200,
      undelivered: "the sender hung up before the answer: 200 not delivered",
    });
  });
});

describe("a replay from the inspector to this listener is a replay, not an OpenMail retry", () => {
  const replayTwice = async (origin: string, token: string, id: string) => {
    for (const mode of ["resign", "verbatim"]) {
      const sent = await post(
        `${origin}/api/events/${encodeURIComponent(id)}/replay`,
        { "X-Inspector-Token": token, Origin: origin, "Content-Type": "application/json" },
        JSON.stringify({ target: "listener", mode }),
      );
      expect(sent.status).toBe(200);
    }
  };

  it("in the --json records and the summary", async () => {
    const process = await listen();
    const signed = signedEvent(SECRET, messageEvent({ event_id: "evt_replayed_1" }));
    await post(process.url, signed.headers, signed.body);
    const first = await process.waitFor((record) => record.type === "event");
    const id = String(first.capturePath).split("/").pop() as string;
    await replayTwice(process.origin, process.token, id);
    await process.waitFor((record) => record.type === "event" && record.seq === 3);
    const events = process.records.filter((record) => record.type === "event");
    for (const replayed of events.slice(1)) {
      expect(replayed.eventId).toBe("evt_replayed_1");
      expect(replayed.duplicate).toBeNull();
      expect(replayed.replay).toEqual({ of: id, originalReceivedAt: first.receivedAt });
    }
    expect(events[0]?.replay).toBeNull();
    // The page lists them as replayed, linked to the original, not as retries.
    const list = JSON.parse((await api(process, "/api/events")).body);
    const deliveries = list.items.filter((item: { kind: string }) => item.kind === "delivery");
    expect(deliveries.map((item: { replayOf: string | null }) => item.replayOf)).toEqual([id, id, null]);
    expect(deliveries.every((item: { retry: unknown }) => item.retry === null)).toBe(true);
    // OpenMail's own redelivery after them is its second delivery, counted as the one retry.
    await post(process.url, signed.headers, signed.body);
    const retried = await process.waitFor((record) => record.type === "event" && record.seq === 4);
    expect(retried.duplicate).toMatchObject({ timesSeen: 2 });
    await process.stop("SIGTERM");
    const summary = process.records.find((record) => record.type === "summary");
    expect(summary).toMatchObject({ received: 4, retries: 1 });
  });

  it("in the terminal", async () => {
    const process = await startPrettyListen([], { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
    running.push(process as unknown as ListenProcess);
    const inspector = new URL((await process.waitForText(/Inspector\s+(http:\S+)/))[1] as string);
    const token = new URLSearchParams(inspector.hash.slice(1)).get("token") ?? "";
    const signed = signedEvent(SECRET, messageEvent({ event_id: "evt_replayed_2" }));
    await post(process.url, signed.headers, signed.body);
    await process.waitForText(/<--.*evt_replayed_2/);
    const list = JSON.parse(
      (await post(`${inspector.origin}/api/events`, { "X-Inspector-Token": token }, "", "GET")).body,
    );
    await replayTwice(inspector.origin, token, list.items[0].id);
    const arrived = list.items[0].receivedAt.slice(11, 19);
    await process.waitForText(/(?:↺ replay from the inspector[^\n]*\n[\s\S]*){2}/);
    const lines = process.stdout().split("\n");
    const replayed = lines.filter((text) => text.includes("↺ replay from the inspector"));
    expect(replayed).toHaveLength(2);
    for (const text of replayed) expect(text).toContain(`(of ${arrived})`);
    expect(process.stdout()).not.toMatch(/retry #/);
    await process.stop("SIGINT");
    expect(process.stdout()).toMatch(/received 3 · .* · retries 0/);
  });
});

describe.skipIf(!browserAvailable())("the inspector page tells the truth (Chromium)", () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("colours and words each forward by its judgement, in the terminal's words", async () => {
    const app = await obedientHandler();
    const process = await listen(["--forward-to", `${app.url}/webhooks`]);
    await sendJudgedTrio(process);
    const { page, problems } = await openPage(process.inspectorUrl);

    const answer = (subject: string) => row(page, subject).locator(".answer");
    await answer("Forged and accepted").waitFor();
    expect(await answer("Forged and accepted").getAttribute("class")).toContain("bad");
    expect(await seen(answer("Forged and accepted"))).toContain("your handler accepted an event with a bad signature");
    expect(await answer("Forged and rejected").getAttribute("class")).toContain("ok");
    expect(await seen(answer("Forged and rejected"))).toContain("✓ rejected as expected");
    expect(await answer("Valid and failed").getAttribute("class")).toContain("bad");

    await row(page, "Forged and accepted").click();
    const detailAnswer = page.locator("#forward-answer");
    await detailAnswer.waitFor();
    expect(await detailAnswer.getAttribute("class")).toContain("bad");
    const acceptedText = await seen(detailAnswer);
    expect(acceptedText).toContain("200 OK");
    expect(acceptedText).toContain("your handler accepted an event with a bad signature: it does not verify");
    expect(acceptedText).not.toContain("would count it delivered");

    await row(page, "Forged and rejected").click();
    await page.locator("#detail-title", { hasText: "Forged and rejected" }).waitFor();
    expect(await page.locator("#forward-answer").getAttribute("class")).toContain("ok");
    const rejectedText = await seen(page.locator("#forward-answer"));
    expect(rejectedText).toContain("401 Unauthorized");
    expect(rejectedText).toContain("✓ rejected as expected");
    expect(rejectedText).not.toContain("would retry");
    expect(problems).toEqual([]);
  });

  it("shows bidi overrides and invisible characters escaped in the list, the email and the request (Pretty, Exact bytes, Copy)", async () => {
    const process = await listen();
    const subject = "Invoice \u202e8102 ,1 lirpA eud ,00.000,05$\u202c";
    const event = messageEvent(
      { event_id: "evt_\u200bbidi" },
      {
        subject,
        from: "billing@\u200bacme.com",
        body_text: "Pay to IBAN \u2066FR76\u2069 \u2060x\ufeffy\u2028z tag\u{e0041}end",
      },
    );
    const signed = signedEvent(SECRET, event);
    await post(process.url, { ...signed.headers, "X-Event-Id": "evt_bidi" }, signed.body);
    await process.waitFor((record) => record.type === "event");
    const { page, problems } = await openPage(process.inspectorUrl);
    const raw = /[\u200b\u202c\u202e\u2060\u2066\u2069\u2028\ufeff]|\udb40\udc41/;

    const first = page.locator("tr.row").first();
    await first.waitFor();
    const listed = await seen(first);
    expect(listed).toContain("billing@\\u200bacme.com");
    expect(listed).not.toMatch(raw);

    await first.click();
    await page.locator("#email-body").waitFor();
    const email = await seen(page.locator("#email"));
    expect(email).toContain("\\u2066FR76\\u2069 \\u2060x\\ufeffy\\u2028z tag\\u{e0041}end");
    expect(email).not.toMatch(raw);

    // Pretty: the same JSON, with the characters as \u escapes.
    const body = page.locator("#request-body");
    const pretty = await seen(body);
    expect(pretty).toContain('"subject": "Invoice \\u202e8102 ,1 lirpA eud ,00.000,05$\\u202c"');
    expect(pretty).not.toMatch(raw);
    expect(JSON.parse(pretty)).toEqual(event);

    // Exact bytes: each character a highlighted escape, so that it cannot pass for text.
    await page.locator("#show-raw").click();
    const exact = await seen(body);
    expect(exact).toContain("Invoice \\u202e8102");
    expect(exact).not.toMatch(raw);
    expect(await body.locator(".esc").count()).toBeGreaterThanOrEqual(9);
    expect(await seen(body.locator(".esc").first())).toBe("\\u200b");

    // Copy puts what is shown on the clipboard, not the raw characters.
    await (browser as BrowserContext).grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: process.origin,
    });
    await page.locator("#request button", { hasText: "Copy" }).click();
    await page.locator("#request button", { hasText: "Copied" }).waitFor();
    const copied = String(await page.evaluate("navigator.clipboard.readText()"));
    expect(copied).toContain("Invoice \\u202e8102");
    expect(copied).not.toMatch(raw);
    expect(problems).toEqual([]);
  });

  it("offers the verbatim curl, with the reason, when a capture does not verify", async () => {
    const process = await listen();
    const body = Buffer.from(JSON.stringify(messageEvent({ event_id: "evt_unsigned_2" }, { subject: "Never signed" })));
    await post(process.url, { "Content-Type": "application/json", "X-Timestamp": "1" }, body);
    await process.waitFor((record) => record.type === "event");
    const { page, problems } = await openPage(process.inspectorUrl);
    await row(page, "Never signed").click();
    await page.locator("#copy-curl").click();
    const refusal = page.locator("#command-refusal");
    await refusal.waitFor();
    expect(await seen(refusal)).toContain("not re-signed");
    expect(await seen(refusal)).not.toContain("inspector error");
    const curl = await seen(page.locator("#command-text"));
    expect(curl).toContain("curl -sS -X POST");
    expect(curl).toContain("x-timestamp: 1");
    expect(curl).toContain("evt_unsigned_2");

    await page.locator("#replay-resign").click();
    await page.locator("#replay-outcome", { hasText: "Not sent" }).waitFor();
    expect(await seen(page.locator("#replay-outcome"))).toContain("Replay it verbatim");
    // (Chromium logs every 4xx answer to a fetch; the two refusals are the expected ones.)
    expect(problems.filter((problem) => !problem.includes("status of 409"))).toEqual([]);
  });
  it("opens events from the keyboard: Tab reaches the rows, Enter and Space open them", async () => {
    const process = await listen();
    for (const subject of ["Keyboard one", "Keyboard two"]) {
      const signed = signedEvent(SECRET, messageEvent({}, { subject }));
      await post(process.url, signed.headers, signed.body);
    }
    await process.waitFor((record) => record.type === "event" && record.seq === 2);
    const { page, problems } = await openPage(process.inspectorUrl);
    await page.locator("tr.row").nth(1).waitFor();
    await page.locator("#f-clear").focus();
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.className")).toContain("row");
    await page.keyboard.press("Enter");
    await page.locator("#detail-title", { hasText: "Keyboard two" }).waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press(" ");
    await page.locator("#detail-title", { hasText: "Keyboard one" }).waitFor();
    expect(problems).toEqual([]);
  });

  it("says plainly that listen is not running once it stopped, instead of 'reconnecting…' for ever", async () => {
    const process = await listen();
    const signed = signedEvent(SECRET, messageEvent({}, { subject: "Before the stop" }));
    await post(process.url, signed.headers, signed.body);
    await process.waitFor((record) => record.type === "event");
    const { page } = await openPage(process.inspectorUrl);
    await page.locator("#conn.live").waitFor();
    await row(page, "Before the stop").waitFor();
    await process.stop("SIGTERM");
    await page.locator("#conn", { hasText: "listen is not running" }).waitFor({ timeout: 20_000 });
    expect(await seen(page.locator("#banner"))).toContain("start it again, then open the inspector URL it prints");
    await row(page, "Before the stop").click();
    await page.locator("#detail", { hasText: "Could not load this event" }).waitFor();
    expect(await seen(page.locator("#detail"))).toContain("listen is not running");
  });

  it("says a link's token is wrong instead of showing an empty run, and where the right link is (notes-t5 H6)", async () => {
    const process = await listen();
    for (const subject of ["Held one", "Held two"]) {
      const signed = signedEvent(SECRET, messageEvent({}, { subject }));
      await post(process.url, signed.headers, signed.body);
    }
    await process.waitFor((record) => record.type === "event" && record.seq === 2);
    for (const url of [`${process.origin}/#token=not-this-runs-token`, `${process.origin}/`]) {
      const { page } = await openPage(url);
      await page.locator("#detail", { hasText: "token is missing or wrong" }).waitFor();
      expect(await seen(page.locator("#detail"))).toContain("open the inspector URL that listen printed");
      // Give the list time to have been (wrongly) rendered as empty.
      await page.locator("#conn:not(.live)").waitFor();
      await page.waitForTimeout(500);
      expect(await page.locator("#count").textContent()).toBe("");
      const note = (await page.locator("#list-note").textContent()) ?? "";
      expect(note).not.toContain("Waiting for events");
      if (url.includes("#token=")) expect(note).toContain("Could not load the deliveries: missing or wrong token");
    }
  });

  it("says the capture folder is gone when it was removed while listen runs, instead of listing memory as all there is", async () => {
    const cwd = tempDir();
    const process = await listen([], cwd);
    const saved = signedEvent(SECRET, messageEvent({}, { subject: "Saved before the removal" }));
    await post(process.url, saved.headers, saved.body);
    await process.waitFor((record) => record.type === "event");
    const { page, problems } = await openPage(process.inspectorUrl);
    await row(page, "Saved before the removal").waitFor();
    expect(await page.locator("#folder-note").isHidden()).toBe(true);

    const folder = join(cwd, ".openmail-hooks", "events");
    rmSync(folder, { recursive: true });
    const unsaved = signedEvent(SECRET, messageEvent({}, { subject: "Arrived after the removal" }));
    expect((await post(process.url, unsaved.headers, unsaved.body)).status).toBe(500);
    // The folder's listing is reused for a moment: read the page again until it is listed afresh.
    const note = page.locator("#folder-note");
    for (let tries = 0; tries < 40 && (await note.isHidden()); tries++) {
      await page.waitForTimeout(250);
      await page.reload();
      await row(page, "Arrived after the removal").waitFor();
    }
    const said = await seen(note);
    expect(said).toContain("the capture folder is gone (removed while listen runs)");
    expect(said).toContain("the list shows only this run's events still held in memory");
    expect(said).toContain("create the folder again or restart listen");

    // The folder back: the note goes with the next listing.
    mkdirSync(folder, { mode: 0o700 });
    for (let tries = 0; tries < 40 && (await note.isVisible()); tries++) {
      await page.waitForTimeout(250);
      await page.reload();
      await row(page, "Arrived after the removal").waitFor();
    }
    expect(await note.isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it("says why live updates are off when too many pages are open", async () => {
    const process = await listen();
    // Sixteen open streams (other tabs): the next page's stream is refused.
    const streams = await Promise.all(
      Array.from(
        { length: 16 },
        () =>
          new Promise<ClientRequest>((resolve, reject) => {
            const request = httpGet(`${process.origin}/api/stream?token=${process.token}`, { agent: false }, (res) => {
              expect(res.statusCode).toBe(200);
              resolve(request);
            });
            request.on("error", reject);
          }),
      ),
    );
    try {
      const { page } = await openPage(process.inspectorUrl);
      await page.locator("#banner", { hasText: "too many inspector pages are open" }).waitFor();
      expect(await seen(page.locator("#banner"))).toContain("Close another inspector page, then reload this one");
      expect(await seen(page.locator("#conn"))).not.toContain("reconnecting");
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it("labels the answer of a capture from the folder truthfully instead of a bare dash", async () => {
    const cwd = tempDir();
    writeCaptures(join(cwd, ".openmail-hooks", "events"), 1, SECRET, () => "Saved by an earlier run");
    const process = await listen([], cwd);
    const { page } = await openPage(process.inspectorUrl);
    const answer = row(page, "Saved by an earlier run").locator("td").last();
    await answer.waitFor();
    expect(await seen(answer)).toBe("not recorded");
    expect(await answer.locator("span").getAttribute("title")).toContain("does not record");
  });
  it("sends a replay once when its button is clicked twice", async () => {
    const slow = await startServer(() => ({ status: 200, body: "ok", delayMs: 800 }));
    servers.push(slow);
    const process = await listen(["--forward-to", `${slow.url}/webhooks`]);
    const signed = signedEvent(SECRET, messageEvent({}, { subject: "Click me twice" }));
    await post(process.url, signed.headers, signed.body);
    await slow.waitFor(1);
    const { page } = await openPage(process.inspectorUrl);
    await row(page, "Click me twice").click();
    await page.locator("#replay-resign").dblclick();
    await page.locator("#replay-outcome", { hasText: "200 OK" }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(slow.requests).toHaveLength(2); // the delivery and one replay
    expect(await page.locator("#replay-resign").isEnabled()).toBe(true);
  });
});
