/**
 * The inspector page in real headless Chromium (Debian's package, driven by playwright-core): live
 * updates, the email and signature views, replays that reach a handler, hostile payloads that stay
 * inert, a cross-origin page that cannot act, and a folder of 10,000 captures. The README's
 * screenshots come from here (saved to docs/ when OPENMAIL_HOOKS_SCREENSHOTS=1).
 */
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchBrowser } from "./helpers/browser.js";
import { writeCaptures } from "./helpers/captures.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type InspectedListen, type ListenProcess, startInspectedListen } from "./helpers/listen.js";
import { openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "inspector-browser-secret-42";
const SCREENSHOTS =
  process.env.OPENMAIL_HOOKS_SCREENSHOTS === "1" ? resolve(import.meta.dirname, "../docs") : tempDir("omh-shots-");

type Inspected = InspectedListen;

const running: ListenProcess[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
let browser: BrowserContext;

async function listen(args: string[] = []): Promise<Inspected> {
  const process = await startInspectedListen(args, { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
  running.push(process);
  return process;
}

async function handler(): Promise<TestServer> {
  const server = await startServer(openMailHandler(SECRET));
  servers.push(server);
  return server;
}

/** A page that records every request and dialog, and fails on script errors. */
async function openPage(url: string) {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const requests: string[] = [];
  const dialogs: string[] = [];
  const problems: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(url);
  return { page, requests, dialogs, problems };
}

const hmac = (timestamp: string, body: Buffer) =>
  createHmac("sha256", SECRET).update(`${timestamp}.`).update(body).digest("hex");

/** The text as a person sees it (Playwright's innerText, not the DOM property). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
const seen = (locator: Locator) => locator.innerText();

const row = (page: Page, text: string) => page.locator("tr.row", { hasText: text });

describe.skipIf(!browserAvailable())("the inspector page in Chromium", () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const page of browser.pages()) await page.close();
    await Promise.all(running.splice(0).map((process) => process.stop()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it("shows an event sent with send-test without a reload, as an email with a valid signature", async () => {
    const app = await handler();
    const process = await listen(["--forward-to", `${app.url}/webhooks`]);
    const { page, problems } = await openPage(process.inspectorUrl);
    await page.locator("#conn.live").waitFor();
    // Page-side code is given as text: the tests are typed for Node, not the DOM.
    await page.evaluate("window.sameDocument = true");

    const sent = await runCli(
      [
        "send-test",
        "--url",
        process.url,
        "--from",
        "Acme Billing <billing@acme-supplies.com>",
        "--subject",
        "Invoice #4521 for November",
        "--attachment",
        "invoice-4521.pdf",
        "--text",
        "Hi,\n\nPlease find attached invoice #4521 for $1,250.00, due on December 15.\n\nThanks,\nAcme Billing",
      ],
      { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } },
    );
    expect(sent.code).toBe(0);
    await row(page, "Invoice #4521 for November").waitFor();
    expect(await page.evaluate("window.sameDocument")).toBe(true);

    // More deliveries for the screenshot: a lifecycle event, a retry, a rejected signature.
    const env = { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } };
    await runCli(
      ["send-test", "--url", process.url, "--event", "inbox.suspended", "--reason", "high_bounce_rate"],
      env,
    );
    await runCli(["send-test", "--url", process.url, "--event-id", "evt_7f2a3b4c", "--attempt", "1"], env);
    await runCli(["send-test", "--url", process.url, "--event-id", "evt_7f2a3b4c", "--attempt", "2"], env);
    await runCli(["send-test", "--url", process.url, "--scenario", "tampered-body"], env);
    await runCli(
      [
        "send-test",
        "--url",
        process.url,
        "--from",
        "Jane Doe <jane@example.com>",
        "--subject",
        "Question about my order",
        "--attachment",
        "photo.jpg",
      ],
      env,
    );
    await expect.poll(() => page.locator("tr.row").count()).toBeGreaterThanOrEqual(6);
    await page.locator("tr.row").first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "inspector-list.png") });

    await row(page, "Invoice #4521 for November").click();
    const email = page.locator("#email");
    await email.waitFor();
    expect(await seen(email)).toContain("Acme Billing <billing@acme-supplies.com>");
    expect(await seen(page.locator("#detail-title"))).toBe("Invoice #4521 for November");
    const attachments = await seen(page.locator("#attachments"));
    expect(attachments).toContain("invoice-4521.pdf");
    expect(attachments).toContain("application/pdf");
    expect(await seen(page.locator("#verification"))).toContain("✓ signature valid");
    expect(await seen(page.locator("#forward"))).toContain("200 OK");
    await page.screenshot({ path: join(SCREENSHOTS, "inspector-detail.png") });

    // A retry shows every delivery of its event_id side by side.
    await row(page, "attempt 2").click();
    await page.locator("#deliveries").waitFor();
    expect(await page.locator("#deliveries .delivery").count()).toBe(2);
    expect(problems).toEqual([]);
  });

  it("explains a signature that fails, with verify's Why and Fix", async () => {
    const process = await listen();
    const event = messageEvent({}, { subject: "Tampered in transit" });
    const signed = signedEvent(SECRET, event);
    // The classic mistake: the body was parsed and pretty-printed again after signing.
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(signed.body.toString()), null, 2));
    await post(process.url, signed.headers, reserialized);
    const { page } = await openPage(process.inspectorUrl);
    await row(page, "Tampered in transit").click();
    const verification = page.locator("#verification");
    await verification.waitFor();
    const text = await seen(verification);
    expect(text).toContain("✗ signature does not match");
    expect(text).toContain("Why:");
    expect(text).toContain("re-serialized as compact JSON");
    expect(text).toContain("Fix:");
    expect(text).toContain("raw body");
  });

  it("replays to the handler re-signed: the same bytes with a fresh signature, linked to the original", async () => {
    const app = await handler();
    const process = await listen(["--forward-to", `${app.url}/webhooks`]);
    const event = messageEvent({}, { subject: "Replay me" });
    const oldTimestamp = Math.floor(Date.now() / 1000) - 120;
    const signed = signedEvent(SECRET, event, { timestamp: oldTimestamp });
    await post(process.url, signed.headers, signed.body);
    await app.waitFor(1);

    const { page } = await openPage(process.inspectorUrl);
    await row(page, "Replay me").first().click();
    await page.locator("#replay-resign").click();
    await page.locator("#replay-outcome").waitFor();
    expect(await seen(page.locator("#replay-outcome"))).toContain("200 OK");

    await app.waitFor(2);
    const replayed = app.requests[1];
    expect(replayed?.body.equals(signed.body)).toBe(true);
    const timestamp = String(replayed?.headers["x-timestamp"]);
    expect(Number(timestamp)).toBeGreaterThan(oldTimestamp);
    expect(replayed?.headers["x-signature"]).toBe(hmac(timestamp, signed.body));
    expect(replayed?.headers["x-signature"]).not.toBe(signed.headers["X-Signature"]);
    expect(replayed?.headers["x-event-id"]).toBe(event.event_id);

    // The replay is in the list like any delivery, and the original's detail links to it.
    await page.locator("tr.row", { hasText: "↺ replay" }).waitFor();
    await page.locator("#replays .delivery").first().waitFor();
    // Verbatim: the captured headers, untouched.
    await page.locator("#replay-verbatim").click();
    await page.locator("#replay-outcome", { hasText: "Verbatim replay" }).waitFor();
    await app.waitFor(3);
    expect(app.requests[2]?.headers["x-timestamp"]).toBe(String(oldTimestamp));
    expect(app.requests[2]?.headers["x-signature"]).toBe(signed.headers["X-Signature"]);

    // Copy as curl (signed just now), as a replay command, and download the capture.
    await page.locator("#copy-curl").click();
    const curl = await seen(page.locator("#command-text"));
    expect(curl).toContain(`curl -sS -X POST ${app.url}/webhooks`);
    expect(curl).toMatch(/X-Signature: [0-9a-f]{64}/);
    expect(curl).toContain(String(event.event_id));
    await page.locator("#copy-replay").click();
    await page.locator("#command-text", { hasText: "openmail-hooks replay" }).waitFor();
    expect(await seen(page.locator("#command-text"))).toMatch(/^npx openmail-hooks replay \S+\.json --url \S+$/);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator("#detail a", { hasText: "Download capture" }).click(),
    ]);
    const saved = JSON.parse(readFileSync(await download.path(), "utf8"));
    expect(saved.format).toBe("openmail-hooks.capture/v1");
    expect(saved.body).toBe(signed.body.toString());
  });

  it("replays an edited body, signed, to another URL", async () => {
    const app = await handler();
    const other = await handler();
    const process = await listen(["--forward-to", `${app.url}/webhooks`]);
    const event = messageEvent({}, { subject: "Edit me" });
    const signed = signedEvent(SECRET, event);
    await post(process.url, signed.headers, signed.body);
    await app.waitFor(1);

    const { page } = await openPage(process.inspectorUrl);
    await row(page, "Edit me").click();
    await page.locator("#replay-target").selectOption("url");
    await page.locator("#replay-url").fill(`${other.url}/hooks/openmail`);
    await page.locator("#replay-edit").click();
    const editor = page.locator("#edit-body");
    expect(await editor.inputValue()).toBe(signed.body.toString());
    const edited = signed.body.toString().replace('"subject":"Edit me"', '"subject":"Edited in the inspector"');
    expect(edited).not.toBe(signed.body.toString());
    await editor.fill(edited);
    await page.locator("#edit-send").click();
    await page.locator("#replay-outcome", { hasText: "Edited replay" }).waitFor();

    await other.waitFor(1);
    const received = other.requests[0];
    expect(received?.url).toBe("/hooks/openmail");
    expect(received?.body.toString()).toBe(edited);
    const timestamp = String(received?.headers["x-timestamp"]);
    expect(received?.headers["x-signature"]).toBe(hmac(timestamp, Buffer.from(edited)));
    expect(await seen(page.locator("#replay-outcome"))).toContain("200 OK");
    expect(app.requests).toHaveLength(1);
  });

  it("renders a hostile payload as text: nothing runs, nothing loads, no request leaves", async () => {
    const process = await listen();
    const hostile = {
      subject: `<script>alert("subject")</script><img src=x onerror=alert(1)>`,
      from: `"<img src=http://attacker.example/pixel.png onerror=alert(2)>" <x@evil.example>`,
      to: `javascript:alert(3)`,
      body_text: `Hi \u001b]8;;http://attacker.example/\u0007click\u001b]8;;\u0007 \u001b[31mred\u001b[0m <iframe src="http://attacker.example/"></iframe> <a href="javascript:alert(4)">x</a>`,
      cc: [`<svg onload=alert(5)>`],
      attachments: [
        {
          filename: `javascript:alert(6)//<svg onload=alert(7)>.pdf`,
          contentType: `text/html"><script>alert(8)</script>`,
          sizeBytes: 10,
          url: "javascript:alert(9)",
          parsedText: `<style>@import url(http://attacker.example/x.css)</style><link rel=stylesheet href=http://attacker.example/y.css>`,
          extractionMethod: "pdf",
        },
      ],
    };
    const event = messageEvent({ inbox_id: `<b onmouseover=alert(10)>inb</b>` }, hostile);
    const signed = signedEvent(SECRET, event);
    await post(process.url, signed.headers, signed.body);

    const { page, requests, dialogs, problems } = await openPage(process.inspectorUrl);
    const hostileRow = page.locator("tr.row").first();
    await hostileRow.waitFor();
    await hostileRow.hover();
    await hostileRow.click();
    await page.locator("#email").waitFor();
    await page.locator("#attachments details summary").click();
    await page.locator("#show-raw").click();
    await page.locator("#detail-title").hover();
    await page.waitForTimeout(300);

    expect(await seen(page.locator("#detail-title"))).toBe(hostile.subject);
    const emailText = await seen(page.locator("#email"));
    expect(emailText).toContain("javascript:alert(6)//<svg onload=alert(7)>.pdf");
    expect(emailText).toContain("\\x1b]8;;http://attacker.example/\\x07click");
    expect(emailText).toContain('<iframe src="http://attacker.example/"></iframe>');
    const injected = (await page.evaluate(`({
      scripts: document.querySelectorAll("script").length,
      active: document.querySelectorAll(
        "#rows img, #rows svg, #rows iframe, #rows a, #detail a, #detail img, #detail svg, #detail iframe, #detail style, #detail link",
      ).length,
      links: [...document.querySelectorAll("#detail a")].map((a) => a.href),
    })`)) as { scripts: number; active: number; links: string[] };
    expect(injected.scripts).toBe(1);
    expect(injected.active).toBe(1); // the page's own download link
    expect(injected.links).toHaveLength(1);
    expect(injected.links[0]?.startsWith(`${process.origin}/api/events/`)).toBe(true);
    expect(dialogs).toEqual([]);
    expect(requests.filter((url) => !url.startsWith(`${process.origin}/`))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("cannot be driven by another page open in the same browser", async () => {
    const app = await handler();
    const process = await listen(["--forward-to", `${app.url}/webhooks`]);
    const signed = signedEvent(SECRET, messageEvent({}, { subject: "Target of CSRF" }));
    await post(process.url, signed.headers, signed.body);
    await app.waitFor(1);
    const tokenHeader = { "x-inspector-token": process.token };
    const list = JSON.parse((await post(`${process.origin}/api/events`, tokenHeader, "", "GET")).body);
    const replayUrl = `${process.origin}/api/events/${encodeURIComponent(list.items[0].id)}/replay`;

    // The attacker even knows the token: the Origin check alone must stop it.
    const attacker = await serveHtml(`<!doctype html><body><form id="f" method="POST" enctype="text/plain"
      action="${replayUrl}?token=${process.token}"><input name='{"target":"forward","mode":"resign","x":"' value='"}'></form>
      <script>
        const body = JSON.stringify({ target: "forward", mode: "resign" });
        Promise.allSettled([
          fetch(${JSON.stringify(replayUrl)}, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body }),
          fetch(${JSON.stringify(replayUrl)}, { method: "POST", headers: { "content-type": "application/json", "x-inspector-token": ${JSON.stringify(process.token)} }, body }),
          fetch(${JSON.stringify(`${replayUrl.replace(/\/replay$/, "/download")}?token=${process.token}`)}).then((r) => r.text()),
        ]).then((results) => {
          document.title = results.map((r) => r.status + ":" + (r.value && typeof r.value === "string" ? r.value.length : "")).join(",");
          document.getElementById("f").submit();
        });
      </script></body>`);
    servers.push(attacker);
    const page = await browser.newPage();
    await page.goto(attacker.url);
    await page.waitForURL((url) => url.href.startsWith(replayUrl), { timeout: 10_000 });
    expect(await page.content()).toContain("cross");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(app.requests).toHaveLength(1);
    const after = JSON.parse((await post(`${process.origin}/api/events`, tokenHeader, "", "GET")).body);
    expect(after.items.filter((item: { kind: string }) => item.kind === "replay")).toEqual([]);
  });

  it("opens on a folder of 10,000 captures a page at a time, and finds an old one", async () => {
    const saveDir = join(tempDir(), "events");
    mkdirSync(saveDir);
    const ids = writeCaptures(saveDir, 10_000, SECRET, (index) =>
      index === 17 ? "Needle from long ago" : `Newsletter ${index}`,
    );
    const process = await listen(["--save-dir", saveDir]);
    const started = Date.now();
    const { page, problems } = await openPage(process.inspectorUrl);
    await page.locator("tr.row").first().waitFor();
    const firstRowMs = Date.now() - started;
    console.log(`inspector: first rows of 10,000 captures after ${firstRowMs} ms`);
    expect(await page.locator("tr.row").count()).toBe(50);
    expect(await seen(page.locator("#count"))).toBe("10,000 deliveries");
    expect(await seen(page.locator("tr.row").first())).toContain("Newsletter 9999");

    // "Older" appends the next page; the scroll observer may append more once the end is in view
    // again, so the list grows by whole pages of 50 without ever repeating a row.
    await page.locator("#older").click();
    await expect.poll(() => page.locator("tr.row").count()).toBeGreaterThanOrEqual(100);
    // One snapshot of the rows: counted apart, the observer could append a page in between.
    const subjects = await page.locator("tr.row").allInnerTexts();
    expect(subjects.length % 50).toBe(0);
    expect(new Set(subjects).size).toBe(subjects.length);

    await page.locator("#f-q").fill("needle");
    await row(page, "Needle from long ago").waitFor({ timeout: 20_000 });
    await row(page, "Needle from long ago").click();
    await page.locator("#email").waitFor();
    expect(await seen(page.locator("#detail"))).toContain(ids[17] as string);
    expect(await seen(page.locator("#verification"))).toContain("✓ signature valid");
    expect(problems).toEqual([]);
  });
});

async function serveHtml(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
