/**
 * The inspector page at the widths people open it at (a phone 360 px, half a laptop screen 700 px,
 * a small laptop 1024 px), in real headless Chromium: what carries a claim (the signature verdict,
 * the answer) is never clipped, the sender and subject keep a column of their own, the detail's
 * values are not squeezed to a character per line, nothing runs off the side of the page, and a size
 * the payload gets wrong is not shown as a size. Screenshots go to a temporary folder (printed), or
 * to OPENMAIL_HOOKS_LAYOUT_SHOTS when set.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchBrowser } from "./helpers/browser.js";
import { tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type InspectedListen, type ListenProcess, startInspectedListen } from "./helpers/listen.js";
import { openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "inspector-layout-secret-42";
const WIDTHS = [360, 700, 1024];
const SHOTS = process.env.OPENMAIL_HOOKS_LAYOUT_SHOTS ?? tempDir("omh-layout-");

const running: ListenProcess[] = [];
const servers: TestServer[] = [];
let browser: BrowserContext;

const SENDER = "Acme Billing <billing@acme-supplies.com>";
const SUBJECT = "Invoice #4521 for November";

/** One valid event (with an attachment whose size is negative) and one with a forged signature. */
async function sendEvents(listen: InspectedListen): Promise<void> {
  const attachments = [
    { filename: "invoice-4521.pdf", contentType: "application/pdf", sizeBytes: -5, extractionMethod: "pdf" },
    { filename: "usage.csv", contentType: "text/csv", sizeBytes: 2048 },
  ];
  const valid = signedEvent(SECRET, messageEvent({}, { from: SENDER, subject: SUBJECT, attachments }));
  await post(listen.url, valid.headers, valid.body);
  const forged = signedEvent("not-the-secret-000000", messageEvent({}, { from: SENDER, subject: "Forged one" }));
  await post(listen.url, forged.headers, forged.body);
}

/**
 * Everything on the page that breaks the layout promises, as sentences (empty: none). Runs in the
 * page; given as text because the tests are typed for Node, not the DOM.
 */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const width = window.innerWidth;
  const name = (el) => (el.id ? "#" + el.id : el.className ? "." + String(el.className).split(" ").join(".") : el.tagName) + " '" + el.innerText.slice(0, 40).replace(/\\n/g, " ") + "'";
  const offPage = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.left < -0.5 || box.right > width + 0.5);
  };
  const clipped = (el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
  if (document.documentElement.scrollWidth > width + 0.5) {
    problems.push("the page is " + document.documentElement.scrollWidth + " px wide in a " + width + " px window");
  }
  for (const el of document.querySelectorAll(".topbar > *, .filters > *")) {
    if (offPage(el)) problems.push(name(el) + " runs off the page");
  }
  for (const row of document.querySelectorAll("tr.row")) {
    // What carries a claim: the verdict and the answer, whole and on the page.
    for (const el of row.querySelectorAll("td.verdict, .answer, .answer-note, .answer-cell > span")) {
      if (clipped(el)) problems.push(name(el) + " is clipped (" + el.scrollWidth + " > " + el.clientWidth + " px)");
      if (offPage(el)) problems.push(name(el) + " runs off the page");
      if (el.getBoundingClientRect().width === 0 && el.innerText) problems.push(name(el) + " is not shown");
    }
    for (const el of row.querySelectorAll(".mail-from, .mail-subject")) {
      const box = el.getBoundingClientRect();
      if (box.width < 150) problems.push(name(el) + " has only " + Math.round(box.width) + " px");
      // The sender, or the subject (its first text: the body's first words after it may be cut), whole.
      const range = document.createRange();
      range.selectNodeContents(el.firstChild);
      const text = range.getBoundingClientRect();
      if (text.right > box.right + 1 || text.bottom > box.bottom + 1 || text.width === 0) problems.push(name(el) + " is cut");
      if (offPage(el)) problems.push(name(el) + " runs off the page");
    }
  }
  const detail = document.getElementById("detail");
  for (const el of detail.querySelectorAll(".card, .actions, .actions > *, .meta > *, .card h3 > *, .card h3 .right > *")) {
    if (offPage(el)) problems.push(name(el) + " runs off the page");
  }
  for (const el of detail.querySelectorAll("dl.fields dd")) {
    const box = el.getBoundingClientRect();
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight);
    const lines = Math.round(box.height / lineHeight);
    if (box.width < 150) problems.push(name(el) + " has only " + Math.round(box.width) + " px");
    if (lines > Math.max(2, Math.ceil(el.innerText.length / 12))) problems.push(name(el) + " takes " + lines + " lines");
  }
  return problems;
})()`;

async function check(page: Page, width: number, label: string): Promise<string[]> {
  await page.setViewportSize({ width, height: 900 });
  await page.locator("tr.row", { hasText: "Forged one" }).waitFor();
  await page.locator("tr.row", { hasText: SUBJECT }).click();
  await page.locator("#email").waitFor();
  // The detail of the clicked row is what is checked (a stacked layout scrolls to it).
  await page.waitForTimeout(100);
  const shot = join(SHOTS, `${label}-${width}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  const problems = (await page.evaluate(LAYOUT_PROBLEMS)) as string[];
  return problems.map((problem) => `${label} at ${width} px: ${problem}`);
}

describe.skipIf(!browserAvailable())("the inspector page at 360, 700 and 1024 px wide", () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    console.log(`inspector layout screenshots: ${SHOTS}`);
  });
  afterEach(async () => {
    for (const page of browser.pages()) await page.close();
    await Promise.all(running.splice(0).map((process) => process.stop()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it("keeps the verdict, the answer, the sender and the subject readable, and the detail's values whole", async () => {
    const handler = await startServer(openMailHandler(SECRET));
    servers.push(handler);
    const env = { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } };
    // listen's own answers ("answered 200", "answered 400") and a forward's ("401 … ✓ rejected as expected").
    const plain = await startInspectedListen([], env);
    const forwarding = await startInspectedListen(["--forward-to", `${handler.url}/webhooks`], env);
    running.push(plain, forwarding);
    await sendEvents(plain);
    await sendEvents(forwarding);
    await handler.waitFor(2);

    const problems: string[] = [];
    for (const [label, listen] of [
      ["listen", plain],
      ["forward", forwarding],
    ] as const) {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(listen.inspectorUrl);
      for (const width of WIDTHS) problems.push(...(await check(page, width, label)));
      // The size the payload got wrong is said to be wrong, not shown as "-5 B".
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
      const attachments = await page.locator("#attachments").innerText();
      if (attachments.includes("-5 B") || !attachments.includes("invalid size (-5)") || !attachments.includes("2 KB")) {
        problems.push(`${label}: the attachments' sizes read ${JSON.stringify(attachments)}`);
      }
      await page.close();
    }
    expect(problems).toEqual([]);
  });

  it("keeps unbroken long values, a lifecycle event, retries and the editor inside a narrow window", async () => {
    const listen = await startInspectedListen([], { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
    running.push(listen);
    const long = messageEvent(
      { event_id: `evt_${"7".repeat(120)}`, inbox_id: `inb_${"x".repeat(90)}` },
      { from: `${"a".repeat(150)}@example.com`, subject: `LONG${"s".repeat(300)}`, body_text: "b".repeat(2000) },
    );
    for (const attempt of [1, 2]) {
      const signed = signedEvent(SECRET, { ...long, attempt });
      await post(listen.url, { ...signed.headers, [`x-${"h".repeat(60)}`]: "v".repeat(200) }, signed.body);
    }
    const lifecycle = {
      event: "inbox.suspended",
      event_id: "evt_lifecycle_1",
      occurred_at: "2026-11-26T10:05:00.000Z",
      inbox_id: "inb_main",
      inbox_address: `${"q".repeat(120)}@acme.openmail.sh`,
      pod_id: "pod_1",
      reason: "high_bounce_rate",
    };
    const signed = signedEvent(SECRET, lifecycle);
    await post(listen.url, signed.headers, signed.body);

    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(listen.inspectorUrl);
    const problems: string[] = [];
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.locator("tr.row", { hasText: "LONG" }).first().click();
      await page.locator("#deliveries").waitFor();
      await page.locator("#replay-edit").click();
      await page.locator("#edit-body").waitFor();
      await page.screenshot({ path: join(SHOTS, `long-${width}.png`), fullPage: true });
      const overflow = (await page.evaluate(
        "[document.documentElement.scrollWidth, [...document.querySelectorAll('#detail .card, #detail .actions, #edit-body, tr.row')].filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5).map((el) => el.id || el.className)]",
      )) as [number, string[]];
      if (overflow[0] > width) problems.push(`long values at ${width} px: the page is ${overflow[0]} px wide`);
      for (const name of overflow[1]) problems.push(`long values at ${width} px: ${name} runs off the page`);
      await page.locator("tr.row", { hasText: "inbox.suspended" }).click();
      await page.locator("#lifecycle").waitFor();
      await page.screenshot({ path: join(SHOTS, `lifecycle-${width}.png`), fullPage: true });
      const lifecycleWidth = (await page.evaluate("document.documentElement.scrollWidth")) as number;
      if (lifecycleWidth > width) problems.push(`lifecycle at ${width} px: the page is ${lifecycleWidth} px wide`);
    }
    expect(problems).toEqual([]);
  });
});
