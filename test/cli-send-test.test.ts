import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { judgePayload } from "../src/core/events.js";
import { sign } from "../src/core/signature.js";
import { runCli, startCli, tempDir } from "./helpers/cli.js";
import { closedPort, type HandlerFlaws, openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_sendtest_5f1e2d3c4b5a";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const servers: TestServer[] = [];

async function server(...args: Parameters<typeof startServer>) {
  const started = await startServer(...args);
  servers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function parseLines(stdout: string) {
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("send-test: one event", () => {
  it("sends exactly OpenMail's headers, signed over the bytes sent", async () => {
    const target = await server();
    const result = await runCli(["send-test", "--url", `${target.url}/webhooks`], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ 200 OK/);
    expect(result.stdout).toMatch(/response: ok/);
    const [request] = target.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/webhooks");
    const h = request?.headers ?? {};
    expect(h["content-type"]).toBe("application/json");
    expect(h["x-timestamp"]).toMatch(/^\d{10}$/);
    const body = request?.body ?? Buffer.alloc(0);
    expect(h["x-signature"]).toBe(sign(SECRET, String(h["x-timestamp"]), body));
    const event = JSON.parse(body.toString());
    expect(h["x-event-id"]).toBe(event.event_id);
    expect(judgePayload(event)).toMatchObject({ known: true, problems: [] });
  });

  it.each([
    ["message.received", { inbox_id: /^inb_/, thread_id: /^thr_/, attempt: 1 }],
    ["inbox.suspended", { inbox_id: /^inb_/, reason: "high_bounce_rate" }],
    ["inbox.reactivated", { inbox_id: /^inb_/, reason: null }],
    ["pod.suspended", { inbox_id: null, inbox_address: null, reason: "pod_degraded" }],
    ["pod.reactivated", { inbox_id: null, inbox_address: null, reason: null }],
  ])("builds a %s payload as documented", async (type, expected) => {
    const target = await server();
    const result = await runCli(["send-test", "--url", target.url, "--event", type], { env });
    expect(result.code).toBe(0);
    const event = JSON.parse(target.requests[0]?.body.toString() ?? "{}");
    expect(event.event).toBe(type);
    expect(event.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
    expect(new Date(event.occurred_at).toISOString()).toBe(event.occurred_at);
    for (const [key, value] of Object.entries(expected)) {
      if (value instanceof RegExp) expect(event[key]).toMatch(value);
      else expect(event[key]).toEqual(value);
    }
    expect(judgePayload(event).problems).toEqual([]);
    if (type === "message.received") {
      expect(event.message.id).toMatch(/^msg_/);
      expect(event.message.rfc_message_id).toMatch(/^<.+@.+>$/);
      expect(Array.isArray(event.message.cc)).toBe(true);
      expect(event.message.received_at).toBeTypeOf("string");
    } else {
      expect(event.pod_id).toMatch(/^pod_/);
      expect(event.message).toBeUndefined();
    }
  });

  it("applies overrides, attachments, --data and extra headers", async () => {
    const target = await server();
    const dataFile = join(tempDir(), "data.json");
    writeFileSync(dataFile, JSON.stringify({ message: { cc: ["boss@example.com"] }, extra_field: true }));
    const result = await runCli(
      [
        "send-test",
        "--url",
        target.url,
        "--event-id",
        "evt_fixed_1",
        "--inbox-id",
        "inb_support",
        "--from",
        "Ana <ana@example.com>",
        "--to",
        "support@acme.openmail.sh",
        "--subject",
        "Refund please",
        "--text",
        "Order 42",
        "--attachment",
        "receipt.pdf",
        "--attachment",
        "clip.mp4",
        "--data",
        dataFile,
        "--header",
        "X-Debug: yes",
      ],
      { env },
    );
    expect(result.code).toBe(0);
    const request = target.requests[0];
    const event = JSON.parse(request?.body.toString() ?? "{}");
    expect(event).toMatchObject({ event_id: "evt_fixed_1", inbox_id: "inb_support", extra_field: true });
    expect(request?.headers["x-event-id"]).toBe("evt_fixed_1");
    expect(request?.headers["x-debug"]).toBe("yes");
    expect(event.message).toMatchObject({
      from: "Ana <ana@example.com>",
      to: "support@acme.openmail.sh",
      subject: "Refund please",
      body_text: "Order 42",
      cc: ["boss@example.com"],
    });
    const [pdf, video] = event.message.attachments;
    expect(pdf).toMatchObject({ filename: "receipt.pdf", contentType: "application/pdf", extractionMethod: "pdf" });
    expect(pdf.parsedText).toBeTypeOf("string");
    expect(pdf.url).toBe(`https://api.openmail.sh/v1/attachments/${event.message.id}/receipt.pdf`);
    expect(video).toMatchObject({ contentType: "video/mp4", extractionMethod: "unsupported" });
    expect(video.parsedText).toBeUndefined();

    const inline = await runCli(["send-test", "--url", target.url, "--data", '{"attempt":3}'], { env });
    expect(inline.code).toBe(0);
    expect(JSON.parse(target.requests[1]?.body.toString() ?? "{}").attempt).toBe(3);
  });

  it("--print writes a raw request that verify accepts, and --save a capture that verify accepts", async () => {
    const dir = tempDir();
    const printed = await runCli(["send-test", "--print", "--save", dir, "--subject", "Hi"], { env });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^POST \/webhooks HTTP\/1\.1\r\n/);
    expect(printed.stdout).toMatch(/X-Signature: [0-9a-f]{64}/);
    const verified = await runCli(["verify", "-"], { env, input: printed.stdout });
    expect(verified.code).toBe(0);
    const [saved] = readdirSync(dir);
    expect(saved).toMatch(/_evt_[0-9a-f]{16}\.json$/);
    const fromCapture = await runCli(["verify", join(dir, saved ?? "")], { env });
    expect(fromCapture.code).toBe(0);
  });

  it("reports a 5xx with the retry that would follow, and exits 1", async () => {
    const target = await server(() => ({ status: 500, body: "TypeError: cannot read 'subject'\u001b[2J" }));
    const result = await runCli(["send-test", "--url", target.url, "--attempt", "2"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/500 Internal Server Error/);
    expect(result.stdout).toMatch(/attempt 3 of 5 in 1 min/);
    expect(result.stdout).toMatch(/response: TypeError: cannot read 'subject'/);
    expect(result.stdout).not.toContain("\u001b");
    expect(result.stdout).toMatch(/hint: the handler failed with an error on this payload/);
  });

  it("hints at a parsed body when the handler answers 401 to a valid signature", async () => {
    const target = await server(() => ({ status: 401, body: "bad sig" }));
    const result = await runCli(["send-test", "--url", target.url, "--json"], { env });
    expect(result.code).toBe(1);
    const [delivery] = parseLines(result.stdout);
    expect(delivery).toMatchObject({ type: "delivery", status: 401, accepted: false, retry: { nextAttempt: 2 } });
    expect(delivery.hint).toMatch(/most likely uses a different secret; if the secrets match, it verifies a parsed/);
  });

  it("treats a timeout as a failed delivery (exit 1), not a crash", async () => {
    const target = await server(() => ({ status: 200, delayMs: 3000 }));
    const result = await runCli(["send-test", "--url", target.url, "--timeout", "300ms"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no answer within 300 ms/);
    expect(result.stdout).toMatch(/OpenMail would retry: attempt 2/);
  });

  it("the deadline bounds the whole exchange: headers then a stalled body, or a body dribbled forever", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const stalling = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.flushHeaders();
        if (req.url === "/dribble") {
          const drip = setInterval(() => res.write("."), 50);
          res.on("close", () => clearInterval(drip));
        }
      });
    });
    stalling.on("connection", (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => stalling.listen(0, "127.0.0.1", resolve));
    const { port } = stalling.address() as import("node:net").AddressInfo;
    try {
      for (const path of ["/stall", "/dribble"]) {
        const started = Date.now();
        const result = await runCli(
          ["send-test", "--url", `http://127.0.0.1:${port}${path}`, "--timeout", "400ms", "--count", "3", "--json"],
          { env },
        );
        expect(result.code).toBe(1);
        const deliveries = parseLines(result.stdout).filter((line) => line.type === "delivery");
        expect(deliveries).toHaveLength(3);
        for (const delivery of deliveries) {
          expect(delivery.outcome).toBe("timeout");
          expect(delivery.summary).toBe("no answer within 400 ms");
        }
        // All three were in flight together and cut at their deadline, not left to run on.
        expect(Date.now() - started).toBeLessThan(10_000);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it.each([
    [
      "refused",
      async () => [`http://127.0.0.1:${await closedPort()}/webhooks`],
      /connection refused at http:\/\/127\.0\.0\.1:\d+.*is your server running/,
    ],
    ["malformed URL", async () => ["http://exa mple"], /not a URL/],
    ["out of range", async () => ["http://127.0.0.1:99999/webhooks"], /port 99999 is out of range/],
    ["not http", async () => ["ftp://127.0.0.1/"], /not an http/],
  ])("exits 2 with one clear line when the URL is %s", async (_label, url, message) => {
    const result = await runCli(["send-test", "--url", ...(await url())], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [["send-test"], /needs --url/],
    [["send-test", "--url", "http://127.0.0.1:1", "--event", "message.sent"], /Allowed choices/],
    [["send-test", "--url", "http://127.0.0.1:1", "--data", "{oops"], /not valid JSON/],
    [["send-test", "--url", "http://127.0.0.1:1", "--scenario", "nope"], /unknown --scenario nope/],
    [["send-test", "--url", "http://127.0.0.1:1", "--header", "no colon"], /Name: value/],
    [
      ["send-test", "--url", "http://127.0.0.1:1", "--header", "Transfer-Encoding: chunked"],
      /the HTTP client's own header/,
    ],
    [["send-test", "--url", "http://127.0.0.1:1", "--header", "Expect: 100-continue"], /the HTTP client's own header/],
    [
      ["replay", "x.json", "--url", "http://127.0.0.1:1", "--header", "Content-Length: 5"],
      /the HTTP client's own header/,
    ],
  ])("exits 2 for bad input %j", async (args, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("an error quoting the input (JSON.parse's) keeps none of its escape codes or newlines: one line", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "esc.json"), "x\u001b[31mRED\nline2");
    const result = await runCli(["send-test", "--data", join(dir, "esc.json"), "--print"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not valid JSON/);
    expect(result.stderr).not.toContain("\u001b");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("send-test --scenario", () => {
  async function scenarios(flaws: HandlerFlaws) {
    const target = await server(openMailHandler(SECRET, flaws));
    const result = await runCli(["send-test", "--url", target.url, "--scenario", "all", "--json"], { env });
    const records = parseLines(result.stdout);
    const failed = [...new Set(records.filter((r) => r.type === "scenario" && !r.pass).map((r) => r.scenario))];
    return { result, records, failed };
  }

  it("a correct handler passes every scenario", async () => {
    const { result, records, failed } = await scenarios({});
    expect(failed).toEqual([]);
    expect(result.code).toBe(0);
    const names = new Set(records.filter((r) => r.type === "scenario").map((r) => r.scenario));
    expect([...names]).toEqual([
      "valid",
      "bad-signature",
      "wrong-secret",
      "stale-timestamp",
      "future-timestamp",
      "missing-headers",
      "tampered-body",
      "raw-body",
      "retry",
      "unknown-event",
      "lifecycle",
    ]);
    expect(records.at(-1)).toEqual({ type: "scenario-summary", schemaVersion: 1, passed: 18, failed: 0 });
  });

  it.each<[string, HandlerFlaws, string[]]>([
    ["re-serializes the body", { reserializedBody: true }, ["raw-body"]],
    ["skips the timestamp check", { noTimestampCheck: true }, ["stale-timestamp", "future-timestamp"]],
    ["crashes on missing headers", { crashOnMissingHeaders: true }, ["missing-headers"]],
    ["requires every field of the final lifecycle example", { strictLifecycleSchema: true }, ["lifecycle"]],
    [
      "verifies nothing",
      { noVerification: true },
      ["bad-signature", "wrong-secret", "stale-timestamp", "future-timestamp", "missing-headers", "tampered-body"],
    ],
  ])("a handler that %s fails exactly the scenarios that catch it", async (_label, flaws, expected) => {
    const { result, failed, records } = await scenarios(flaws);
    expect(result.code).toBe(1);
    expect(failed).toEqual(expected);
    if (flaws.crashOnMissingHeaders) {
      expect(records.find((r) => r.scenario === "missing-headers")?.note).toMatch(
        /answered 500 to "no X-Signature": a bad or missing header or body must get a 4xx/,
      );
    }
    if (flaws.strictLifecycleSchema) {
      const lifecycle = records.filter((r) => r.scenario === "lifecycle" && r.type === "scenario");
      expect(lifecycle.filter((r) => !r.pass).map((r) => r.step)).toEqual([
        "inbox.suspended, no pod_id",
        "inbox.suspended, first draft (reputation{})",
      ]);
    }
    if (flaws.reserializedBody) {
      expect(records.find((r) => r.scenario === "raw-body")?.note).toMatch(/re-serializes the JSON/);
    }
  });

  it("prints a readable table", async () => {
    const target = await server(openMailHandler(SECRET, { noTimestampCheck: true }));
    const result = await runCli(
      ["send-test", "--url", target.url, "--scenario", "valid", "--scenario", "stale-timestamp"],
      {
        env,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^case\s+a correct handler\s+got\s+result/);
    expect(result.stdout).toMatch(/valid: signed event\s+2xx within 15 s\s+200 OK\s+✓ pass/);
    expect(result.stdout).toMatch(/stale-timestamp: timestamp 6 min old\s+4xx\s+200 OK\s+✗ FAIL/);
    expect(result.stdout).toMatch(/1 of 2 checks failed/);
  });
});

describe("send-test --count", () => {
  it("sends N distinct events with C in flight and summarises them", async () => {
    const target = await server();
    const result = await runCli(["send-test", "--url", target.url, "--count", "300", "--concurrency", "20", "--json"], {
      env,
    });
    expect(result.code).toBe(0);
    const records = parseLines(result.stdout);
    const deliveries = records.filter((r) => r.type === "delivery");
    expect(deliveries).toHaveLength(300);
    const summary = records.at(-1);
    expect(summary).toMatchObject({ type: "summary", sent: 300, accepted: 300, failed: 0, statuses: { "200": 300 } });
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
    const ids = new Set(target.requests.map((r) => r.headers["x-event-id"]));
    expect(ids.size).toBe(300);
  });

  it("prints a summary with a status histogram in pretty mode", async () => {
    let n = 0;
    const target = await server(() => ({ status: ++n % 10 === 0 ? 503 : 200 }));
    const result = await runCli(["send-test", "--url", target.url, "--count", "50", "--concurrency", "5"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Sent 50 to/);
    expect(result.stdout).toMatch(/statuses: 200 ×45 · 503 ×5/);
    expect(result.stdout).toMatch(/latency: p50 .* p95 .* p99 .* max/);
    expect(result.stderr).not.toMatch(/sent \d+\/50/); // no progress line when not a terminal
  });

  it("refuses an --event-id or --header value that cannot be sent in a header, before sending (exit 2)", async () => {
    const target = await server();
    const id = await runCli(["send-test", "--url", target.url, "--event-id", "evt_\u65e5\u672c"], { env });
    expect(id.code).toBe(2);
    expect(id.stderr).toMatch(/can be sent in the X-Event-Id header/);
    const header = await runCli(["send-test", "--url", target.url, "--header", "X-Trace: a\u0001b"], { env });
    expect(header.code).toBe(2);
    expect(header.stderr).toMatch(/the value of X-Trace cannot be sent in a header/);
    expect(`${id.stdout}${header.stdout}`).not.toMatch(/would retry/);
    expect(target.requests).toHaveLength(0);
    // Latin-1 is fine, as HTTP allows.
    const latin1 = await runCli(["send-test", "--url", target.url, "--header", "X-Name: caf\u00e9"], { env });
    expect(latin1.code).toBe(0);
  });

  it("an event_id from a --data or fixture file that no header can carry is refused before anything is sent (exit 2)", async () => {
    const target = await server();
    const cwd = tempDir();
    const data = join(cwd, "bad-id.json");
    writeFileSync(data, JSON.stringify({ event_id: "evt_bad\nline" }));
    mkdirSync(join(cwd, ".openmail-hooks/fixtures"), { recursive: true });
    writeFileSync(
      join(cwd, ".openmail-hooks/fixtures/bell.json"),
      JSON.stringify({ event: "message.received", event_id: "evt_\u0007bell", message: {} }),
    );
    const runs = [
      ["--url", target.url, "--data", data],
      ["--url", target.url, "--data", data, "--count", "20"],
      ["--url", target.url, "--data", data, "--scenario", "valid"],
      ["--url", target.url, "--fixture", "bell", "--keep-ids"],
      // --print wrote the header broken over two lines.
      ["--print", "--data", data],
    ];
    for (const args of runs) {
      const result = await runCli(["send-test", ...args], { env, cwd });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^openmail-hooks: event_id "evt_(bad\\nline|\\u0007bell)" cannot be sent in the X-Event-Id header \(control characters or characters beyond Latin-1\): nothing sent; give the event an event_id of visible ASCII characters/m,
      );
      expect(result.stdout).not.toMatch(/would retry|X-Event-Id/);
    }
    expect(target.requests).toHaveLength(0);
  });

  it("--data nested thousands of levels deep is an input error (exit 2), not an unexpected error", async () => {
    const deep = join(tempDir(), "deep.json");
    const depth = 200_000;
    writeFileSync(deep, `{"message":{"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}}`);
    const result = await runCli(["send-test", "--print", "--data", deep], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the input nests too deeply to handle/);
    expect(result.stderr).not.toMatch(/unexpected error|please report it/);
  });

  it("saves every sent request with --save", async () => {
    const target = await server();
    const dir = tempDir();
    const result = await runCli(["send-test", "--url", target.url, "--count", "5", "--save", dir], { env });
    expect(result.code).toBe(0);
    const files = readdirSync(dir);
    expect(files).toHaveLength(5);
    const capture = JSON.parse(readFileSync(join(dir, files[0] ?? ""), "utf8"));
    expect(capture.format).toBe("openmail-hooks.capture/v1");
    expect(JSON.stringify(capture)).not.toContain(SECRET);
  });

  it("--save and Ctrl-C mid-run: no temporary file is left in the folder, sending or printing; exit 130", async () => {
    const target = await server();
    for (const mode of [["--url", target.url, "--concurrency", "32"], ["--print"]]) {
      const dir = tempDir();
      const child = startCli(["send-test", ...mode, "--count", "100000", "--save", dir], { env });
      child.stdout?.resume();
      child.stderr?.resume();
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      const deadline = Date.now() + 20_000;
      const saved = () => readdirSync(dir).filter((name) => !name.startsWith(".")).length;
      while (saved() < 50 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      const names = readdirSync(dir);
      // A capture whose save had not returned (its folder fsync running; up to --concurrency 32 of them)
      // is removed by the Ctrl-C (abandon()): its request was not sent. Those before stay.
      expect(names.length).toBeGreaterThanOrEqual(50 - 32);
      expect(names.filter((name) => name.startsWith("."))).toEqual([]);
    }
  });

  it("--save that cannot be written: one line naming the folder and --save, exit 2, and nothing unsaved is sent", async () => {
    const target = await server();
    const dir = tempDir();
    // A file size limit makes every capture write fail (as a full disk does), whoever runs the tests.
    const full = await runCli(["send-test", "--url", target.url, "--count", "3", "--save", dir], {
      env,
      via: ["sh", "-c", 'ulimit -f 0 && exec "$0" "$@"'],
    });
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(
      /could not save a capture in .* so it was not sent: free space there or choose another folder with --save/,
    );
    expect(full.stderr).not.toMatch(/unexpected error|at .*\.js:\d+/);
    expect(target.requests).toHaveLength(0);

    const aFile = join(tempDir(), "a-file");
    writeFileSync(aFile, "");
    const notAFolder = await runCli(["send-test", "--url", target.url, "--save", aFile], { env });
    expect(notAFolder.code).toBe(2);
    expect(notAFolder.stderr).toMatch(/choose another with --save$/m);

    const scenario = await runCli(["send-test", "--url", target.url, "--save", dir, "--scenario", "valid"], { env });
    expect(scenario.code).toBe(2);
    expect(scenario.stderr).toMatch(/drop --save/);
  });
});
