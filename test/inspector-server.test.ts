/**
 * The inspector's server as `listen` runs it, over plain HTTP: where it listens, who it answers,
 * the headers that keep payloads inert, its JSON API and pagination over a large capture folder.
 * (The page itself is tested in a real browser: inspector-browser.test.ts.)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, get as httpGet } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeCaptures } from "./helpers/captures.js";
import { startCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen } from "./helpers/listen.js";
import { openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "inspector-test-secret-0123";

const running: ListenProcess[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((listen) => listen.stop()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function listen(args: string[] = []): Promise<ListenProcess & { inspector: { origin: string; token: string } }> {
  const process = await startListen(args, { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
  running.push(process);
  const url = new URL(String((process.ready as unknown as { inspectorUrl: string }).inspectorUrl));
  const token = new URLSearchParams(url.hash.slice(1)).get("token") ?? "";
  return Object.assign(process, { inspector: { origin: url.origin, token } });
}

function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

function get(url: string, headers: Record<string, string> = {}) {
  return post(url, headers, "", "GET");
}

/** A read of the inspector's API as the page makes it: the token in the X-Inspector-Token header. */
function apiGet(inspector: { origin: string; token: string }, path: string) {
  return get(`${inspector.origin}${path}`, { "x-inspector-token": inspector.token });
}

/** The first listed event's replay endpoint, and the headers the page sends with a replay. */
async function firstReplay(inspector: { origin: string; token: string }) {
  const list = JSON.parse((await apiGet(inspector, "/api/events")).body);
  return {
    url: `${inspector.origin}/api/events/${encodeURIComponent(list.items[0].id)}/replay`,
    headers: { "content-type": "application/json", "x-inspector-token": inspector.token, origin: inspector.origin },
  };
}

describe("listen's inspector server", () => {
  it("listens on 127.0.0.1 and puts its URL, with a token, in the ready record", async () => {
    const process = await listen();
    const inspectorUrl = String((process.ready as unknown as { inspectorUrl: string }).inspectorUrl);
    expect(inspectorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{20,}$/);
    const page = await get(`${process.inspector.origin}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("/app.js");
  });

  it("is off with --no-inspect", async () => {
    const process = await startListen(["--no-inspect"], { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
    running.push(process);
    expect((process.ready as unknown as { inspectorUrl: unknown }).inspectorUrl).toBeNull();
  });

  it("serves every response with a strict CSP and no-referrer", async () => {
    const { inspector } = await listen();
    for (const path of ["/", "/app.js", "/api/events"]) {
      const response = await apiGet(inspector, path);
      expect(response.status).toBe(200);
      const csp = String(response.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(response.headers["referrer-policy"]).toBe("no-referrer");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("answers the API only with the token, only at its own Host, only to its own Origin", async () => {
    const { inspector } = await listen();
    const api = `${inspector.origin}/api/events`;
    expect((await get(api)).status).toBe(401);
    expect((await get(`${api}?token=wrong-${inspector.token}`)).status).toBe(401);
    expect((await get(api, { "x-inspector-token": inspector.token })).status).toBe(200);
    // DNS rebinding: a name that resolves to 127.0.0.1 still carries its own Host.
    const port = new URL(inspector.origin).port;
    const rebound = await get(api, { "x-inspector-token": inspector.token, host: `attacker.example:${port}` });
    expect(rebound.status).toBe(421);
    const crossOrigin = await get(api, { "x-inspector-token": inspector.token, origin: "http://attacker.example" });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await get(api, { "x-inspector-token": inspector.token, "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
  });

  it("takes the token in the URL only where a browser cannot send a header: the live stream and a download (a7 L20)", async () => {
    const process = await listen();
    const signed = signedEvent(SECRET, messageEvent());
    await post(process.url, signed.headers, signed.body);
    const { inspector } = process;
    const id = encodeURIComponent(JSON.parse((await apiGet(inspector, "/api/events")).body).items[0].id);
    const withQuery = (path: string) => get(`${inspector.origin}${path}?token=${inspector.token}`);
    for (const path of ["/api/events", `/api/events/${id}`, `/api/events/${id}/commands`, "/api/status"]) {
      const refused = await withQuery(path);
      expect(refused.status, path).toBe(401);
      expect(JSON.parse(refused.body).error).toContain("missing or wrong token");
      expect((await apiGet(inspector, path)).status, path).toBe(200);
    }
    const download = await withQuery(`/api/events/${id}/download`);
    expect(download.status).toBe(200);
    expect(download.body).toContain(String(messageEvent().event));
    // The stream stays open: its status line is enough.
    const stream = await new Promise<number>((resolve, reject) => {
      const request = httpGet(`${inspector.origin}/api/stream?token=${inspector.token}`, { agent: false }, (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      });
      request.on("error", reject);
    });
    expect(stream).toBe(200);
  });

  it("refuses replays without its Origin, its token in the header, or a JSON body", async () => {
    const handler = await startServer(openMailHandler(SECRET));
    servers.push(handler);
    const process = await listen(["--forward-to", `${handler.url}/webhooks`]);
    const event = messageEvent();
    const signed = signedEvent(SECRET, event);
    await post(process.url, signed.headers, signed.body);
    await handler.waitFor(1);
    const { inspector } = process;
    const list = JSON.parse((await apiGet(inspector, "/api/events")).body);
    const id = list.items[0].id as string;
    const replay = `${inspector.origin}/api/events/${encodeURIComponent(id)}/replay`;
    const body = JSON.stringify({ target: "forward", mode: "resign" });
    const json = { "content-type": "application/json" };
    const own = inspector.origin;
    // No Origin (not a browser page), another Origin, the token only in the URL, a form's content type.
    expect((await post(replay, { ...json, "x-inspector-token": inspector.token }, body)).status).toBe(403);
    expect(
      (await post(replay, { ...json, "x-inspector-token": inspector.token, origin: "http://127.0.0.1:1" }, body))
        .status,
    ).toBe(403);
    expect((await post(`${replay}?token=${inspector.token}`, { ...json, origin: own }, body)).status).toBe(401);
    const form = { "content-type": "text/plain", "x-inspector-token": inspector.token, origin: own };
    expect((await post(replay, form, body)).status).toBe(415);
    expect(handler.requests).toHaveLength(1);
    // The page's own request goes through.
    const sent = await post(replay, { ...json, "x-inspector-token": inspector.token, origin: own }, body);
    expect(sent.status).toBe(200);
    await handler.waitFor(2);
    expect(Buffer.compare(handler.requests[1]?.body ?? Buffer.alloc(0), signed.body)).toBe(0);
  });

  it("answers a replay with the status's hint only where the judgement shows one", async () => {
    const handler = await startServer(() => ({ status: 500, body: "boom" }));
    servers.push(handler);
    const process = await listen(["--forward-to", `${handler.url}/webhooks`]);
    // Signed with the right secret 20 minutes ago: it fails verification (stale), its signature matches.
    const signed = signedEvent(SECRET, messageEvent(), { timestamp: Math.floor(Date.now() / 1000) - 1200 });
    await post(process.url, signed.headers, signed.body);
    await handler.waitFor(1);
    const { inspector } = process;
    const { url: replay, headers } = await firstReplay(inspector);
    const ask = async (mode: string) => {
      const answer = await post(replay, headers, JSON.stringify({ target: "forward", mode }));
      expect(answer.status).toBe(200);
      return JSON.parse(answer.body) as { item: { forward: unknown }; hint: unknown };
    };
    // Verbatim, still stale: a 500 to an event that fails verification says itself what is wrong (no hint).
    const verbatim = await ask("verbatim");
    expect(verbatim.item.forward).toMatchObject({ judgement: "failed-bad", status: 500 });
    expect(verbatim.hint).toBeNull();
    // Re-signed, valid: a 500 is the handler's mistake, and the status's hint says where to look.
    const resigned = await ask("resign");
    expect(resigned.item.forward).toMatchObject({ judgement: "rejected-valid", status: 500 });
    expect(resigned.hint).toEqual(expect.stringMatching(/\S/));
  });

  it("refuses to replay an edited body whose event_id no header can carry, saying why (422, nothing sent)", async () => {
    const handler = await startServer(openMailHandler(SECRET));
    servers.push(handler);
    const process = await listen();
    const signed = signedEvent(SECRET, messageEvent());
    await post(process.url, signed.headers, signed.body);
    const { inspector } = process;
    const { url: replay, headers } = await firstReplay(inspector);
    const edited = JSON.stringify({ event: "message.received", event_id: "evt_\u0007bell" });
    const body = JSON.stringify({ target: "url", url: `${handler.url}/webhooks`, mode: "resign", body: edited });
    const answer = await post(replay, headers, body);
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body).error).toBe(
      'its event_id "evt_\\u0007bell" cannot be sent in the X-Event-Id header (control characters or characters beyond Latin-1): not sent',
    );
    expect(handler.requests).toHaveLength(0);
  });

  it("refuses a verbatim replay of a capture whose header HTTP cannot carry, saying why (422, nothing sent; a7 L11)", async () => {
    const handler = await startServer(openMailHandler(SECRET));
    servers.push(handler);
    const saveDir = tempDir();
    writeCaptures(saveDir, 1, SECRET);
    // A capture is a file anyone can edit: a header value with CR/LF in it.
    const [name] = readdirSync(saveDir).filter((entry) => entry.endsWith(".json"));
    const file = join(saveDir, name ?? "");
    const capture = JSON.parse(readFileSync(file, "utf8"));
    capture.headers["x-foo"] = "a\r\nb";
    writeFileSync(file, JSON.stringify(capture));
    const { inspector } = await listen(["--save-dir", saveDir]);
    const { url: replay, headers } = await firstReplay(inspector);
    const body = JSON.stringify({ target: "url", url: `${handler.url}/webhooks`, mode: "verbatim" });
    const answer = await post(replay, headers, body);
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body).error).toMatch(
      /^its captured header "x-foo" cannot be sent as it is \(its value "a\\r\\nb" holds control characters .*\): not sent; replayed without --keep-signature, it is re-signed/,
    );
    expect(handler.requests).toHaveLength(0);
  });

  it("gives back an unsaved event's headers as they arrived: repeated, in any case, Latin-1", async () => {
    const process = await listen(["--no-save"]);
    const signed = signedEvent(SECRET, messageEvent());
    // Node's client sends each value of an array as a line of its own, and Latin-1 bytes as they are.
    const extra = { "X-Note": ["caf\u00e9 \u00ff", "two"], "X-Mixed-Case": "v" } as unknown as Record<string, string>;
    expect((await post(process.url, { ...signed.headers, ...extra }, signed.body)).status).toBe(200);
    await process.waitFor((record) => record.type === "event");
    const { inspector } = process;
    const list = JSON.parse((await apiGet(inspector, "/api/events")).body);
    expect(list.items[0].id).toBe("live-1");
    const file = JSON.parse(
      (await get(`${inspector.origin}/api/events/live-1/download?token=${inspector.token}`)).body,
    );
    expect(file.headers["x-note"]).toBe("caf\u00e9 \u00ff, two");
    expect(file.headers["x-mixed-case"]).toBe("v");
    for (const [name, value] of Object.entries(signed.headers)) expect(file.headers[name.toLowerCase()]).toBe(value);
    expect(Buffer.from(file.body)).toEqual(signed.body);
    const detail = JSON.parse((await apiGet(inspector, "/api/events/live-1")).body);
    expect(detail.request.headers).toContainEqual(["x-note", "caf\u00e9 \u00ff, two"]);
  });

  it("shows the saved capture of a --redact run as redacted", async () => {
    const process = await listen(["--redact"]);
    const event = messageEvent({}, { from: "Ana Lopez <ana.lopez@example.com>", subject: "My phone is 555-0142" });
    const signed = signedEvent(SECRET, event);
    await post(process.url, signed.headers, signed.body);
    await process.waitFor((record) => record.type === "event");
    const { inspector } = process;
    const list = JSON.parse((await apiGet(inspector, "/api/events")).body);
    const detail = JSON.parse((await apiGet(inspector, `/api/events/${encodeURIComponent(list.items[0].id)}`)).body);
    expect(detail.redacted).toBe(true);
    expect(JSON.stringify(detail.email)).not.toContain("ana.lopez@example.com");
  });

  it("pages through a folder of captures newest first, and searches all of it", async () => {
    const saveDir = join(tempDir(), "events");
    const ids = writeCaptures(saveDir, 2600, SECRET, (index) =>
      index === 3 ? "needle in the haystack" : `Note ${index}`,
    );
    const { inspector } = await listen(["--save-dir", saveDir]);
    const page = async (query: string) => JSON.parse((await apiGet(inspector, `/api/events?${query}`)).body);

    const first = await page("limit=50");
    expect(first.total).toBe(2600);
    expect(first.items).toHaveLength(50);
    expect(first.items[0].eventId).toBe(ids[2599]);
    expect(first.items[0].verdict).toBe("valid");
    const second = await page(`limit=50&cursor=${encodeURIComponent(first.next)}`);
    expect(second.items[0].eventId).toBe(ids[2549]);
    expect(new Set([...first.items, ...second.items].map((item: { id: string }) => item.id)).size).toBe(100);

    // A search reads a bounded slice per request, then says where to go on.
    let found: Array<{ eventId: string }> = [];
    let cursor: string | null = null;
    let requests = 0;
    do {
      const result = await page(`limit=50&q=needle${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      found = found.concat(result.items);
      cursor = result.complete ? null : result.next;
      requests += 1;
    } while (cursor && requests < 10);
    expect(found.map((item) => item.eventId)).toEqual([ids[3]]);
    expect(requests).toBeGreaterThan(1);

    const detail = JSON.parse((await apiGet(inspector, `/api/events/${encodeURIComponent(first.items[0].id)}`)).body);
    expect(detail.email.subject).toBe("Note 2599");
    expect(detail.verification.valid).toBe(true);
    expect(detail.verification.checks.map((check: { state: string }) => check.state)).toEqual(["pass", "pass", "pass"]);
  });

  it("lists and opens captures whose names are not ASCII (a cloned folder's), never hidden or dash-led ones (notes-t4)", async () => {
    const saveDir = join(tempDir(), "events");
    writeCaptures(saveDir, 1, SECRET, () => "Named in Japanese");
    const [written] = readdirSync(saveDir).filter((name) => name.endsWith(".json"));
    const content = readFileSync(join(saveDir, String(written)));
    rmSync(join(saveDir, String(written)));
    const shown = ["2026-11-28T10-00-01-000Z_evt_\u65e5\u672c.json", '2026-11-28T10-00-00-000Z_evt_a;b "q".json'];
    for (const name of [...shown, ".hidden.json", "-dash.json"]) writeFileSync(join(saveDir, name), content);
    const { inspector } = await listen(["--save-dir", saveDir]);
    const api = (path: string) => apiGet(inspector, path);

    const list = JSON.parse((await api("/api/events?limit=50")).body);
    expect(list.items.map((item: { id: string }) => item.id)).toEqual(shown);
    for (const name of shown) {
      const detail = await api(`/api/events/${encodeURIComponent(name)}`);
      expect(detail.status).toBe(200);
      expect(JSON.parse(detail.body).email.subject).toBe("Named in Japanese");
      const download = await api(`/api/events/${encodeURIComponent(name)}/download`);
      expect(download.status).toBe(200);
      const disposition = String(download.headers["content-disposition"]);
      expect(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)?.[1] ?? "")).toBe(name);
    }
    for (const name of [".hidden.json", "-dash.json"]) {
      expect((await api(`/api/events/${encodeURIComponent(name)}`)).status).toBe(404);
    }
  });

  it("lists a FIFO, a link to /dev/zero and a folder in the capture folder as unreadable, and stays answerable and stoppable", async () => {
    const saveDir = join(tempDir(), "events");
    const [goodId] = writeCaptures(saveDir, 1, SECRET);
    const fifo = "2026-11-28T08-00-01-000Z_evt_fifo.json";
    const zero = "2026-11-28T08-00-02-000Z_evt_zero.json";
    const folder = "2026-11-28T08-00-03-000Z_evt_folder.json";
    const broken = "2026-11-28T08-00-04-000Z_evt_broken.json";
    execFileSync("mkfifo", [join(saveDir, fifo)]);
    symlinkSync("/dev/zero", join(saveDir, zero));
    mkdirSync(join(saveDir, folder));
    writeFileSync(join(saveDir, broken), "{ not json");
    const lp = await listen(["--save-dir", saveDir]);
    const { inspector } = lp;
    const api = (path: string) => apiGet(inspector, `/api/${path}`);

    // More page loads than the thread pool has threads: a FIFO's open held one each, and then every save.
    const lists = await Promise.all(Array.from({ length: 6 }, () => api("events?limit=50")));
    const items = JSON.parse(lists[0]?.body ?? "{}").items as Array<{ id: string; eventId: string | null }>;
    expect(lists.every((list) => list.status === 200)).toBe(true);
    const problems = Object.fromEntries(items.map((item) => [item.id, JSON.stringify(item)]));
    expect(problems[fifo]).toContain("not a regular file (a device, FIFO or socket)");
    expect(problems[zero]).toContain("a symbolic link");
    expect(problems[folder]).toContain("a folder");
    expect(items.some((item) => item.eventId === goodId)).toBe(true);

    for (const [name, reason] of [
      [fifo, "not a regular file"],
      [zero, "a symbolic link"],
      [broken, "unreadable capture:"],
    ] as const) {
      const detail = await api(`events/${encodeURIComponent(name)}`);
      expect(detail.status, name).toBe(422);
      expect(JSON.parse(detail.body).error, name).toContain(reason);
    }
    // A file that is gone is still "no such event".
    expect((await api("events/2026-11-28T08-00-09-000Z_evt_gone.json")).status).toBe(404);

    // Webhooks are still answered and saved.
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    const exited = await Promise.race([lp.stop(), new Promise((resolve) => setTimeout(() => resolve("hung"), 8_000))]);
    expect(exited).toBe(0);
  });

  it("keeps a cut list item for an event with a huge subject, and the whole subject in the detail", async () => {
    const lp = await listen([]);
    const { inspector } = lp;
    const subject = `Huge ${"S".repeat(1_000_000)}`;
    const request = signedEvent(SECRET, messageEvent({}, { subject, from: `${"f".repeat(5_000)}@example.com` }));
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    await lp.waitFor((r) => r.type === "event");
    const list = JSON.parse((await apiGet(inspector, "/api/events")).body);
    const item = list.items[0];
    expect(item.subject).toHaveLength(300);
    expect(item.subject.endsWith("…")).toBe(true);
    expect(item.from).toHaveLength(300);
    const detail = JSON.parse((await apiGet(inspector, `/api/events/${encodeURIComponent(item.id)}`)).body);
    expect(detail.email.subject).toBe(subject);
  });

  it("fails with a clear message when an explicit --inspect-port is taken, and moves on from a taken default", async () => {
    // A taken port whose neighbour below is free (other tests hold ports too: look for a pair).
    let blocker = createServer();
    let taken = 0;
    for (let attempt = 0; attempt < 50; attempt++) {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      taken = (blocker.address() as AddressInfo).port;
      if (await portIsFree(taken - 1)) break;
      await new Promise((resolve) => blocker.close(resolve));
    }
    try {
      const child = startCli(["listen", "--no-tunnel", "--port", "0", "--inspect-port", String(taken)]);
      child.stdin?.end();
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise((resolve) => child.on("close", resolve));
      expect(code).toBe(2);
      expect(stderr).toContain(`inspector port ${taken} on 127.0.0.1 is already in use`);
      expect(stderr).toContain("--inspect-port");

      // The default (the listener's port + 1) taken: a free port instead.
      const process = await listen(["--port", String(taken - 1)]);
      expect(process.url).toContain(`:${taken - 1}/`);
      const url = String((process.ready as unknown as { inspectorUrl: string }).inspectorUrl);
      expect(new URL(url).port).not.toBe(String(taken));
      expect((await get(new URL(url).origin)).status).toBe(200);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
