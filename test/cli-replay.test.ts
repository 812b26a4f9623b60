import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureFileName, serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen } from "./helpers/listen.js";
import { closedPort, openMailHandler, type RecordedRequest, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_replay_7e6d5c4b3a29";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function handler(flawless = true): Promise<TestServer> {
  const server = await startServer(flawless ? openMailHandler(SECRET) : () => ({ status: 200, body: "ok" }));
  cleanups.push(() => server.close());
  return server;
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** A capture file as listen writes it, signed at `timestamp`. */
function writeCapture(
  dir: string,
  name: string,
  event: Record<string, unknown>,
  options: { timestamp?: number; receivedAt?: string; body?: string; secret?: string } = {},
) {
  const body = Buffer.from(options.body ?? JSON.stringify(event));
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const path = join(dir, name);
  writeFileSync(
    path,
    serializeCapture({
      receivedAt: options.receivedAt ?? new Date(Number(timestamp) * 1000).toISOString(),
      method: "POST",
      path: "/webhooks",
      headers: {
        "content-type": "application/json",
        "x-timestamp": timestamp,
        "x-signature": sign(options.secret ?? SECRET, timestamp, body),
        "x-event-id": String(event.event_id),
        host: "example.ngrok-free.app",
      },
      body,
    }),
  );
  return { path, body };
}

/** Captured headers signed with SECRET now, and the body. */
function signedHeaders(body: string, eventId: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    headers: { "x-event-id": eventId, "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body) },
    body: Buffer.from(body),
  };
}

const ids = (requests: RecordedRequest[]) => requests.map((r) => JSON.parse(r.body.toString()).event_id);

describe("replay: round trip through listen", () => {
  it("re-sends what listen saved, freshly signed, with the exact bytes", async () => {
    const lp = await startListen([], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const original = Buffer.from(
      `{"event":"message.received", "event_id":"evt_rt_1","inbox_id":"inb_1",\n "attempt":1}`,
    );
    const request = signedEvent(
      SECRET,
      { event_id: "evt_rt_1" },
      { body: original, timestamp: Math.floor(Date.now() / 1000) - 200 },
    );
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    const record = await lp.waitFor((r) => r.type === "event");
    const app = await handler();

    const result = await runCli(["replay", String(record.capturePath), "--url", `${app.url}/webhooks`], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ 200 OK/);
    const [replayed] = app.requests;
    expect(replayed?.body.equals(original)).toBe(true);
    expect(replayed?.headers["x-event-id"]).toBe("evt_rt_1");
    expect(replayed?.headers["x-timestamp"]).not.toBe(request.headers["X-Timestamp"]);
    expect(replayed?.url).toBe("/webhooks");
  });
});

describe("replay: a stale capture from listen", () => {
  it("is accepted re-signed, and rejected (as expected) with --keep-signature", async () => {
    const lp = await startListen([], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    // A correctly signed event whose timestamp is already 10 minutes old: listen flags it, and saves it.
    const request = signedEvent(SECRET, messageEvent(), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect((await post(lp.url, request.headers, request.body)).status).toBe(400);
    const record = await lp.waitFor((r) => r.type === "event");
    expect(record).toMatchObject({ verification: { valid: false, reason: "timestamp_too_old" } });
    const app = await handler();

    const resigned = await runCli(["replay", String(record.capturePath), "--url", app.url, "--json"], { env });
    expect(resigned.code).toBe(0);
    expect(lines(resigned.stdout)[0]).toMatchObject({ status: 200, passed: true });

    const verbatim = await runCli(
      ["replay", String(record.capturePath), "--url", app.url, "--keep-signature", "--json"],
      {
        env,
      },
    );
    expect(verbatim.code).toBe(0);
    expect(lines(verbatim.stdout)[0]).toMatchObject({ status: 400, expected: "4xx", passed: true });
    for (const sent of app.requests) expect(sent.body.equals(request.body)).toBe(true);
  });
});

describe("replay: signatures", () => {
  it("--keep-signature sends the captured headers untouched; a correct handler rejects the stale capture, as expected", async () => {
    const dir = tempDir();
    const old = Math.floor(Date.now() / 1000) - 3600;
    const { path, body } = writeCapture(dir, "old.json", messageEvent(), { timestamp: old });
    const app = await handler();
    const result = await runCli(["replay", path, "--keep-signature", "--url", app.url, "--json"], { env: {} });
    expect(result.code).toBe(0);
    const [delivery] = lines(result.stdout);
    expect(delivery).toMatchObject({ status: 400, expected: "4xx", passed: true });
    expect(delivery.notes[0]).toMatch(/correct handler rejects it \(expected\)/);
    expect(app.requests[0]?.headers["x-timestamp"]).toBe(String(old));
    expect(app.requests[0]?.body.equals(body)).toBe(true);

    // A handler without replay protection accepts it: that is the failure.
    const lax = await handler(false);
    const laxResult = await runCli(["replay", path, "--keep-signature", "--url", lax.url], { env: {} });
    expect(laxResult.code).toBe(1);
    expect(laxResult.stdout).toMatch(/should have been rejected/);
  });

  it("a captured header HTTP cannot carry (CR/LF in a value, a bad name) is named as not sent, never as a failed delivery (a7 L11)", async () => {
    const dir = tempDir();
    const capture = (name: string, headers: Record<string, string>) => {
      const body = Buffer.from(JSON.stringify(messageEvent({ event_id: `evt_${name}` })));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const path = join(dir, `${name}.json`);
      writeFileSync(
        path,
        serializeCapture({
          receivedAt: new Date().toISOString(),
          method: "POST",
          path: "/webhooks",
          headers: {
            "content-type": "application/json",
            "x-timestamp": timestamp,
            "x-signature": sign(SECRET, timestamp, body),
            ...headers,
          },
          body,
        }),
      );
      return path;
    };
    const crlf = capture("crlf", { "x-foo": "a\r\nb" });
    const badName = capture("badname", { "x foo": "b" });
    const app = await handler();
    for (const [path, named] of [
      [
        crlf,
        /crlf\.json: its captured header "x-foo" cannot be sent as it is \(its value "a\\r\\nb" holds control characters/,
      ],
      [badName, /badname\.json: its captured header "x foo" cannot be sent as it is \(it is not a valid header name\)/],
    ] as const) {
      const result = await runCli(["replay", path, "--keep-signature", "--url", app.url], { env: {} });
      expect(result.stderr).toMatch(named);
      expect(result.stderr).toMatch(
        /not sent; replayed without --keep-signature, it is re-signed and sent with OpenMail's own headers only/,
      );
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/would retry|may still have received|failed 1/);
      expect(result.stdout).toMatch(/not sent 1 \(named above\)/);
      expect(result.code).toBe(2);
      // --dry-run prints no header broken over two lines: the same refusal.
      const dry = await runCli(["replay", path, "--keep-signature", "--dry-run"], { env: {} });
      expect(dry.stderr).toMatch(named);
      expect(dry.stdout).toBe("");
      expect(dry.code).toBe(2);
    }
    // Re-signed, the captured x-foo is not sent at all, so it goes.
    const resigned = await runCli(["replay", crlf, "--url", app.url], { env });
    expect(resigned.code).toBe(0);
    expect(app.requests).toHaveLength(1);
    expect(app.requests[0]?.headers["x-foo"]).toBeUndefined();
    // A captured Content-Type, which a re-signed replay keeps, is checked as well.
    const badType = capture("badtype", { "content-type": "application/json\nx-injected: 1" });
    const typed = await runCli(["replay", badType, "--url", app.url], { env });
    expect(typed.stderr).toMatch(/badtype\.json: its captured header "content-type" cannot be sent as it is/);
    expect(typed.code).toBe(2);
    expect(app.requests).toHaveLength(1);
  });

  it("refuses to re-sign a capture whose captured signature does not verify or is missing, unless told to", async () => {
    const dir = tempDir();
    const { path: other } = writeCapture(dir, "other.json", messageEvent({ event_id: "evt_other" }), {
      secret: "someone-elses-secret",
    });
    // A tampered capture: the body was replaced and the signature removed (issue 14 item 3).
    const tampered = join(dir, "tampered.json");
    writeFileSync(
      tampered,
      serializeCapture({
        receivedAt: "2026-11-26T10:00:00.000Z",
        method: "POST",
        path: "/webhooks",
        headers: { "content-type": "application/json", "x-event-id": "evt_tampered" },
        body: Buffer.from(JSON.stringify(messageEvent({ event_id: "evt_tampered" }))),
      }),
    );
    const { path: good } = writeCapture(dir, "good.json", messageEvent({ event_id: "evt_good_sig" }));
    const app = await handler();
    const refused = await runCli(["replay", other, tampered, good, "--url", app.url], { env });
    expect(refused.code).toBe(2);
    expect(ids(app.requests)).toEqual(["evt_good_sig"]);
    expect(refused.stderr).toMatch(/other\.json: the captured signature does not verify with this secret/);
    expect(refused.stderr).toMatch(
      /tampered\.json: the captured signature .*\(missing X-Signature.*--resign-unverified/,
    );

    const forced = await runCli(["replay", other, tampered, "--resign-unverified", "--url", app.url], { env });
    expect(forced.code).toBe(0);
    expect(ids(app.requests).slice(1)).toEqual(["evt_other", "evt_tampered"]);
    expect(`${forced.stdout}${forced.stderr}`).toMatch(/re-signing with it anyway/);
  });

  it("a plain event body found in a capture folder is not signed (a cloned repo can ship one); named as a file it is", async () => {
    const cwd = tempDir();
    const folder = join(cwd, ".openmail-hooks/events");
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const planted = join(folder, "2026-11-28T09-00-00-000Z_evt_planted.json");
    writeFileSync(planted, JSON.stringify(messageEvent({ event_id: "evt_planted" })));
    writeCapture(folder, "2026-11-28T08-00-00-000Z_evt_real.json", messageEvent({ event_id: "evt_real" }));
    const app = await handler();

    for (const args of [["--last", "5"], ["evt_planted"], [folder]]) {
      const result = await runCli(["replay", ...args, "--url", app.url], { env, cwd });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/a plain event body found in a capture folder.*not signed \(--resign-unverified/);
      // Refused, not "unreadable": the summary counts it as not sent.
      expect(result.stdout).not.toMatch(/unreadable/);
      expect(result.stdout).toMatch(/not sent 1 \(named above\)/);
    }
    expect(ids(app.requests)).not.toContain("evt_planted");
    expect(ids(app.requests)).toContain("evt_real");

    const named = await runCli(["replay", planted, "--url", app.url], { env, cwd });
    expect(named.code).toBe(0);
    expect(ids(app.requests).at(-1)).toBe("evt_planted");
  });

  it("--new-event-id and --attempt change only those values, and re-sign", async () => {
    const dir = tempDir();
    const original = '{"event":"message.received",  "event_id": "evt_keep_me", "attempt": 1, "inbox_id":"inb_1"}\n';
    const { path } = writeCapture(dir, "e.json", { event_id: "evt_keep_me" }, { body: original });
    const app = await handler();
    const result = await runCli(["replay", path, "--new-event-id", "--attempt", "3", "--url", app.url, "--json"], {
      env,
    });
    expect(result.code).toBe(0);
    const sent = app.requests[0];
    const newId = String(sent?.headers["x-event-id"]);
    expect(newId).toMatch(/^evt_[0-9a-f]{16}$/);
    expect(sent?.body.toString()).toBe(original.replace("evt_keep_me", newId).replace('"attempt": 1', '"attempt": 3'));
    expect(lines(result.stdout)[0]).toMatchObject({ attempt: 3, retry: null, passed: true });
  });
});

describe("replay: what each delivery is, read from its capture", () => {
  it("a large folder's failures name their event type and the retry that their captured attempt leads to; --json every one's", async () => {
    const dir = tempDir();
    const failing = new Map<string, string>();
    for (let i = 0; i < 24; i++) {
      const event = messageEvent({ event_id: `evt_f${i}`, attempt: (i % 5) + 1 });
      if (i % 3 === 0) event.event = "message.sent";
      if (i === 7) delete (event as Record<string, unknown>).attempt;
      const receivedAt = new Date(Date.UTC(2026, 10, 26, 10, 0, i)).toISOString();
      const { path } = writeCapture(dir, captureFileName(receivedAt, event.event_id), event, { receivedAt });
      if (i === 8) {
        // A capture without the X-Event-Id header: the id sent is the body's.
        const capture = JSON.parse(readFileSync(path, "utf8"));
        delete capture.headers["x-event-id"];
        writeFileSync(path, JSON.stringify(capture));
      }
      if ([3, 4, 7, 8].includes(i)) failing.set(event.event_id, event.event);
    }
    const app = await startServer((request) => {
      const id = JSON.parse(request.body.toString()).event_id;
      return { status: failing.has(id) ? 500 : 200, body: "ok" };
    });
    cleanups.push(() => app.close());

    const pretty = await runCli(["replay", dir, "--url", app.url, "--concurrency", "1"], { env });
    expect(pretty.code).toBe(1);
    const shown = pretty.stdout.split("\n");
    const retryAfter = (id: string) => shown[shown.findIndex((line) => line.includes(` ${id} `)) + 1];
    // evt_f3: message.sent, attempt 4 → the last one (5) in 4 min; evt_f4: attempt 5 → no more.
    expect(pretty.stdout).toMatch(/→ message\.sent evt_f3 {2}✗ 500 Internal Server Error/);
    expect(retryAfter("evt_f3")).toMatch(/OpenMail would retry: attempt 5 of 5 in 4 min/);
    expect(pretty.stdout).toMatch(/→ message\.received evt_f4 {2}✗ 500/);
    expect(retryAfter("evt_f4")).toMatch(/that was the last of 5 attempts: OpenMail marks the event failed/);
    // No attempt in the body: taken as the first.
    expect(retryAfter("evt_f7")).toMatch(/OpenMail would retry: attempt 2 of 5 in 30 s/);
    expect(pretty.stdout).toMatch(/→ message\.received evt_f8 {2}✗ 500/);
    expect(retryAfter("evt_f8")).toMatch(/attempt 5 of 5 in 4 min/);
    expect(pretty.stdout).not.toMatch(/evt_f(1|2|5|6|9|10)\b/);
    expect(pretty.stdout).toMatch(/passed 20 · failed 4/);
    const f8 = app.requests.find((request) => request.body.toString().includes('"evt_f8"'));
    expect(f8?.headers["x-event-id"]).toBe("evt_f8");

    const json = await runCli(["replay", dir, "--url", app.url, "--json", "--concurrency", "3"], { env });
    const records = lines(json.stdout).filter((record) => record.type === "delivery");
    expect(records).toHaveLength(24);
    for (const record of records) {
      const i = Number(String(record.eventId).slice(5));
      const type = i % 3 === 0 ? "message.sent" : "message.received";
      expect(record, `evt_f${i}`).toMatchObject({
        label: type,
        eventType: type,
        attempt: i === 7 ? 1 : (i % 5) + 1,
        passed: !failing.has(`evt_f${i}`),
      });
    }
    expect(records.find((record) => record.eventId === "evt_f4")?.retry).toBeNull();
    expect(records.find((record) => record.eventId === "evt_f3")?.retry).toEqual({ nextAttempt: 5, afterSeconds: 240 });
  });
});

describe("replay: inputs", () => {
  it("replays a folder in arrival order, or by occurred_at, with --filter and --last", async () => {
    const dir = tempDir();
    const at = (minute: number) => `2026-11-26T10:0${minute}:00.000Z`;
    writeCapture(dir, "b.json", messageEvent({ event_id: "evt_2", occurred_at: at(1), inbox_id: "inb_a" }), {
      receivedAt: at(5),
    });
    writeCapture(dir, "a.json", messageEvent({ event_id: "evt_1", occurred_at: at(3), inbox_id: "inb_b" }), {
      receivedAt: at(4),
    });
    writeCapture(
      dir,
      "c.json",
      {
        event: "pod.suspended",
        event_id: "evt_3",
        occurred_at: at(2),
        inbox_id: null,
        pod_id: "pod_1",
        reason: "abuse",
      },
      { receivedAt: at(6) },
    );
    const app = await handler();
    const run = (...args: string[]) => runCli(["replay", dir, "--url", app.url, ...args], { env });

    expect((await run()).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_1", "evt_2", "evt_3"]);
    expect((await run("--sort", "occurred_at")).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_2", "evt_3", "evt_1"]);
    expect((await run("--filter", "event=message.received")).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_1", "evt_2"]);
    expect((await run("--filter", "inbox=inb_a")).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_2"]);
    expect((await run("--filter", "evt_3")).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_3"]);
    expect((await run("--last", "2")).code).toBe(0);
    expect(ids(app.requests.splice(0))).toEqual(["evt_2", "evt_3"]);
    const none = await run("--filter", "id=evt_none");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/none of the 3 event\(s\) matched --filter/);
  });

  it("reads NDJSON, standard input, bare event bodies and raw HTTP requests", async () => {
    const dir = tempDir();
    const capture = (id: string) =>
      JSON.stringify(
        JSON.parse(
          serializeCapture({
            receivedAt: "2026-11-26T10:00:00.000Z",
            method: "POST",
            path: "/webhooks",
            ...signedHeaders(JSON.stringify(messageEvent({ event_id: id })), id),
          }),
        ),
      );
    const ndjson = join(dir, "events.ndjson");
    writeFileSync(ndjson, `${capture("evt_n1")}\n${capture("evt_n2")}\n`);
    const bare = join(dir, "body.json");
    const bareBody = JSON.stringify(messageEvent({ event_id: "evt_bare" }), null, 2);
    writeFileSync(bare, bareBody);
    const raw = join(dir, "request.http");
    const rawBody = JSON.stringify(messageEvent({ event_id: "evt_raw" }));
    writeFileSync(
      raw,
      `POST /webhooks HTTP/1.1\r\nHost: x\r\nX-Event-Id: evt_raw\r\nContent-Type: application/json\r\n${Object.entries(
        signedHeaders(rawBody, "evt_raw").headers,
      )
        .filter(([name]) => name !== "x-event-id")
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("")}\r\n${rawBody}`,
    );
    const app = await handler();

    const result = await runCli(["replay", ndjson, bare, raw, "--url", app.url], { env });
    expect(result.code).toBe(0);
    expect(ids(app.requests)).toEqual(["evt_n1", "evt_n2", "evt_bare", "evt_raw"]);
    expect(app.requests[2]?.body.toString()).toBe(bareBody);
    expect(app.requests[2]?.headers["x-event-id"]).toBe("evt_bare");

    const stdin = await runCli(["replay", "-", "--url", app.url], { env, input: capture("evt_stdin") });
    expect(stdin.code).toBe(0);
    expect(ids(app.requests).at(-1)).toBe("evt_stdin");
  });

  it("a captured event id that cannot be sent as a header is skipped and named, not counted as sent", async () => {
    const dir = tempDir();
    writeCapture(dir, "1.json", messageEvent({ event_id: "evt_fine" }), { receivedAt: "2026-11-26T10:00:00.000Z" });
    writeCapture(dir, "2.json", messageEvent({ event_id: "evt_\u65e5\u672c" }), {
      receivedAt: "2026-11-26T10:00:01.000Z",
    });
    const app = await handler();
    const result = await runCli(["replay", dir, "--url", app.url, "--json"], { env });
    expect(result.code).toBe(2);
    expect(ids(app.requests)).toEqual(["evt_fine"]);
    const records = lines(result.stdout);
    expect(records.find((r) => r.type === "error")?.message).toMatch(
      /2\.json: its event_id "evt_\u65e5\u672c" cannot be sent in the X-Event-Id header \(control characters or characters beyond Latin-1\): not sent$/,
    );
    expect(records.at(-1)).toMatchObject({ type: "summary", sent: 1, skipped: 1 });
  });

  it("names each unreadable or malformed input in one line, sends the rest, and exits 2", async () => {
    const dir = tempDir();
    const { path: good } = writeCapture(dir, "good.json", messageEvent({ event_id: "evt_good" }));
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    const wrongShape = join(dir, "shape.json");
    writeFileSync(wrongShape, '{"hello": "world"}');
    const app = await handler();
    const result = await runCli(["replay", good, broken, wrongShape, "/nonexistent/x.json", "--url", app.url], { env });
    expect(result.code).toBe(2);
    expect(ids(app.requests)).toEqual(["evt_good"]);
    expect(result.stderr).toMatch(/broken\.json: not JSON, NDJSON or a raw HTTP request/);
    expect(result.stderr).toMatch(/shape\.json: neither a capture .* nor an event body/);
    expect(result.stderr).toMatch(/\/nonexistent\/x\.json: no such file/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("a folder's bad file is named too, and NDJSON lines are numbered", async () => {
    const dir = tempDir();
    const folder = join(dir, "events");
    mkdirSync(folder);
    writeCapture(folder, "1.json", messageEvent({ event_id: "evt_ok" }));
    writeFileSync(join(folder, "2.json"), "garbage");
    const ndjson = join(dir, "x.ndjson");
    writeFileSync(ndjson, `${JSON.stringify(messageEvent({ event_id: "evt_line1" }))}\nnot json\n`);
    const app = await handler();
    const result = await runCli(["replay", folder, ndjson, "--url", app.url, "--json"], { env });
    expect(result.code).toBe(2);
    const records = lines(result.stdout);
    const errors = records.filter((r) => r.type === "error");
    expect(errors.map((r) => r.source)).toEqual([join(folder, "2.json"), ndjson]);
    // Every error record has its code, as the README says.
    expect(errors.map((r) => r.code)).toEqual(["input_error", "input_error"]);
    expect(String(errors[1]?.message)).toMatch(/1 unreadable line skipped \(line 2\); line 2: not valid JSON/);
    expect(ids(app.requests)).toEqual(["evt_ok", "evt_line1"]);
    expect(records.at(-1)).toMatchObject({ type: "summary", sent: 2, skipped: 2 });
  });

  it("--dry-run prints the requests without sending", async () => {
    const dir = tempDir();
    const { path } = writeCapture(dir, "e.json", messageEvent({ event_id: "evt_dry" }));
    const result = await runCli(["replay", path, "--dry-run"], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST \/webhooks HTTP\/1\.1/);
    expect(result.stdout).toMatch(/X-Event-Id: evt_dry/);
    expect(readdirSync(dir)).toEqual(["e.json"]);
  });

  it("a capture given by a file name that is not valid UTF-8 is found, unless another name reads the same", async () => {
    const dir = tempDir();
    const { path } = writeCapture(dir, "e.json", messageEvent({ event_id: "evt_named" }));
    // The same capture under a name with a byte that is not UTF-8 (0xff), written by its bytes. Given
    // as an argument it reaches Node.js as U+FFFD (a folder holding it: cli-replay-files).
    const named = (byte: number) =>
      Buffer.concat([Buffer.from(`${dir}/cap`), Buffer.from([byte]), Buffer.from(".json")]);
    renameSync(path, named(0xff));
    const found = await runCli(["replay", join(dir, "cap\uFFFD.json"), "--dry-run"], { env });
    expect(found.stderr).toBe("");
    expect(found.stdout).toMatch(/X-Event-Id: evt_named/);
    expect(found.code).toBe(0);

    writeCapture(dir, "other.json", messageEvent({ event_id: "evt_other" }));
    renameSync(join(dir, "other.json"), named(0xfe));
    const result = await runCli(["replay", join(dir, "cap\uFFFD.json"), "--dry-run"], { env });
    expect(result.stderr).toMatch(/cap\uFFFD\.json: no such file; or its name is not valid UTF-8/);
    expect(result.stderr).toMatch(/another name in its folder reads the same: rename one of them/);
    expect(result.stderr).not.toMatch(/check the path/);
    expect(result.code).toBe(2);
  });

  it.each([
    [["replay", "x.json"], /needs --url/],
    [["replay", "x.json", "--url", "http://127.0.0.1:1", "--filter", "color=blue"], /--filter "color=blue"/],
  ])("exits 2 for bad usage %j", async (args, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("exits 2 when nothing listens at the URL", async () => {
    const dir = tempDir();
    const { path } = writeCapture(dir, "e.json", messageEvent());
    const result = await runCli(["replay", path, "--url", `http://127.0.0.1:${await closedPort()}/webhooks`], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/connection refused/);
  });
});
