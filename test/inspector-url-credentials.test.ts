/**
 * The inspector's "another URL…" replay, and its copied commands, take a URL with a user name and
 * password no more than the CLI's --url does (a7 L14): the same rule and the same words, nothing sent,
 * and the password shown nowhere (not in the answer, the list, or a replay record).
 */
import type { BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchBrowser } from "./helpers/browser.js";
import { runCli } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type InspectedListen, type ListenProcess, startInspectedListen } from "./helpers/listen.js";
import { openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "inspector-credentials-secret-7";
const PASSWORD = "s3cr3tPW";
const env = { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } };

const running: ListenProcess[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A listen forwarding to a handler, with one event in its list; the other handler is the replay's target. */
async function setUp(): Promise<{ listen: InspectedListen; app: TestServer; other: TestServer; id: string }> {
  const app = await startServer(openMailHandler(SECRET));
  const other = await startServer(openMailHandler(SECRET));
  servers.push(app, other);
  const listen = await startInspectedListen(["--forward-to", `${app.url}/webhooks`], env);
  running.push(listen);
  const signed = signedEvent(SECRET, messageEvent({}, { subject: "Replay me" }));
  await post(listen.url, signed.headers, signed.body);
  await app.waitFor(1);
  const list = await post(`${listen.origin}/api/events`, { "x-inspector-token": listen.token }, "", "GET");
  return { listen, app, other, id: JSON.parse(list.body).items[0].id as string };
}

/** What the CLI says of the same URL, up to its advice on --header (the part the page cannot follow). */
async function cliWords(url: string): Promise<string> {
  const result = await runCli(["send-test", "--url", url], env);
  expect(result.code).toBe(2);
  const said = result.stderr.trim();
  const rule = said.slice(said.indexOf("http://"), said.indexOf(" (send-test and replay"));
  expect(rule).toContain("a URL with a user name or password is refused");
  return rule;
}

describe("a URL with a user name and password given to the inspector", () => {
  it("is refused by the replay and command API with the CLI's words; nothing is sent or kept", async () => {
    const { listen, app, other, id } = await setUp();
    const url = other.url.replace("http://", `http://alice:${PASSWORD}@`);
    const rule = await cliWords(`${url}/hook`);
    const headers = { "content-type": "application/json", "x-inspector-token": listen.token, origin: listen.origin };
    const base = `${listen.origin}/api/events/${encodeURIComponent(id)}`;
    for (const mode of ["resign", "verbatim"]) {
      const answer = await post(`${base}/replay`, headers, JSON.stringify({ target: "url", url: `${url}/hook`, mode }));
      expect(answer.status).toBe(400);
      const error = JSON.parse(answer.body).error as string;
      expect(error.startsWith(rule)).toBe(true);
      expect(answer.body).not.toContain(PASSWORD);
      expect(answer.body).not.toContain("alice");
    }
    const command = await post(
      `${base}/commands?url=${encodeURIComponent(`${url}/hook`)}`,
      { "x-inspector-token": listen.token },
      "",
      "GET",
    );
    expect(command.status).toBe(400);
    expect((JSON.parse(command.body).error as string).startsWith(rule)).toBe(true);
    expect(command.body).not.toContain(PASSWORD);
    // Nothing was sent, and no replay was recorded.
    expect(other.requests).toHaveLength(0);
    expect(app.requests).toHaveLength(1);
    const list = await post(`${listen.origin}/api/events`, { "x-inspector-token": listen.token }, "", "GET");
    expect(JSON.parse(list.body).items).toHaveLength(1);
    expect(list.body).not.toContain(PASSWORD);
  });

  describe.skipIf(!browserAvailable())("in Chromium", () => {
    let browser: BrowserContext;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("says on the page that it was not sent and why, and the list gains no replay", async () => {
      const { listen, other } = await setUp();
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(listen.inspectorUrl);
      await page.locator("tr.row", { hasText: "Replay me" }).click();
      await page.locator("#replay-target").selectOption("url");
      const url = `${other.url.replace("http://", `http://alice:${PASSWORD}@`)}/hook`;
      await page.locator("#replay-url").fill(url);
      await page.locator("#replay-resign").click();
      const outcome = page.locator("#replay-outcome");
      await outcome.waitFor();
      const rule = await cliWords(url);
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
      const said = await outcome.innerText();
      expect(said.startsWith(`Not sent: ${rule}`)).toBe(true);
      expect(said).not.toContain(PASSWORD);
      await page.locator("#copy-curl").click();
      await page.locator("#action-panel .notice.bad").waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
      const panel = await page.locator("#action-panel").innerText();
      expect(panel).toContain("a URL with a user name or password is refused");
      expect(panel).not.toContain(PASSWORD);
      expect(await page.locator("#command-text").count()).toBe(0);
      expect(await page.locator("tr.row").count()).toBe(1);
      expect(other.requests).toHaveLength(0);
      await page.close();
    });
  });
});
