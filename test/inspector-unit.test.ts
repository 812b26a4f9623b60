/** The inspector's pure parts: shell quoting for the copied commands, the request guard, list filters. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { headersFromRaw, serializeCapture } from "../src/core/capture.js";
import { inspectRequest } from "../src/core/inspect.js";
import { sign } from "../src/core/signature.js";
import { createEventIndex, matches } from "../src/inspector/event-index.js";
import { EntryReader, EventRing, textBytesAtMost, writeText, writeUint } from "../src/inspector/event-ring.js";
import { createGuard } from "../src/inspector/guard.js";
import { curlCommand, shellQuote } from "../src/inspector/shell-commands.js";
import { listItem } from "../src/inspector/views.js";
import type { ReceivedEvent } from "../src/io/webhook-pipeline.js";
import { messageEvent } from "./helpers/http.js";

describe("copied shell commands", () => {
  const hostile = [
    "plain",
    "it's",
    "'; rm -rf ~; echo '",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion the quoting must stop
    '$(touch /tmp/pwned) `id` ${HOME} \\ " ! *',
    "line one\nline two\ttab",
    "émoji ✉ \u001b[31mred",
    "",
  ];

  it("quotes any value so the shell gives it back unchanged", () => {
    for (const value of hostile) {
      const echoed = execFileSync("/bin/sh", ["-c", `printf %s ${shellQuote(value)}`]).toString();
      expect(echoed).toBe(value);
    }
  });

  it("builds a curl command whose body and headers reach curl byte for byte", () => {
    const body = Buffer.from(`{"subject":"it's $(id) \`x\`"}\n`);
    const command = curlCommand("http://127.0.0.1:1/webhooks?a=1&b=2", { "X-Signature": "ab'cd" }, body);
    // Swap curl for a function that prints its arguments, one per line.
    const printed = execFileSync("/bin/sh", [
      "-c",
      `curl() { for a in "$@"; do printf '%s\\n---\\n' "$a"; done; }\n${command}`,
    ])
      .toString()
      .split("\n---\n");
    expect(printed).toContain("http://127.0.0.1:1/webhooks?a=1&b=2");
    expect(printed).toContain("X-Signature: ab'cd");
    expect(printed).toContain(body.toString());
  });
});

describe("the inspector's guard", () => {
  const guard = createGuard(4812, "the-token-0123456789");
  const ok = { host: "127.0.0.1:4812", "x-inspector-token": "the-token-0123456789" };

  it("lets the page's own requests through", () => {
    expect(guard({ method: "GET", headers: ok, queryToken: null, needsToken: true })).toBeUndefined();
    expect(
      guard({ method: "GET", headers: { host: "localhost:4812" }, queryToken: null, needsToken: false }),
    ).toBeUndefined();
    const post = { ...ok, origin: "http://127.0.0.1:4812", "content-type": "application/json" };
    expect(guard({ method: "POST", headers: post, queryToken: null, needsToken: true })).toBeUndefined();
  });

  it("refuses other hosts, origins, sites, tokens and content types", () => {
    const refused = (method: string, headers: Record<string, string>, queryToken: string | null = null) =>
      guard({ method, headers, queryToken, needsToken: true })?.status;
    expect(refused("GET", { ...ok, host: "evil.example:4812" })).toBe(421);
    expect(refused("GET", { ...ok, host: "127.0.0.1:4813" })).toBe(421);
    expect(refused("GET", { ...ok, origin: "http://127.0.0.1:4813" })).toBe(403);
    expect(refused("GET", { ...ok, "sec-fetch-site": "same-site" })).toBe(403);
    expect(refused("GET", { host: ok.host, "x-inspector-token": "the-token-012345678" })).toBe(401);
    expect(refused("GET", { host: ok.host }, "the-token-0123456789")).toBeUndefined();
    const post = { host: ok.host, origin: "http://127.0.0.1:4812", "content-type": "application/json" };
    expect(refused("POST", post, "the-token-0123456789")).toBe(401);
    expect(refused("POST", { ...ok, "content-type": "application/json" })).toBe(403);
    expect(
      refused("POST", { ...post, "x-inspector-token": ok["x-inspector-token"], "content-type": "text/plain" }),
    ).toBe(415);
  });
});

describe("list filters", () => {
  const item = listItem({
    id: "2026-11-28T01-00-00-000Z_evt_1.json",
    kind: "delivery",
    request: { receivedAt: "2026-11-28T01:00:00.000Z", method: "POST", path: "/", headers: {}, body: new Uint8Array() },
    inspection: {
      eventId: "evt_1",
      payload: { json: true, known: true, problems: [] },
      summary: {
        eventType: "message.received",
        inboxId: "inb_support",
        from: "Ana <ana@example.com>",
        subject: "Invoice 42",
        bodyText: "Please pay",
        cc: [],
        attachments: [{ filename: "invoice.pdf" }],
        lifecycle: false,
      },
    },
    verdict: { valid: true, message: "valid" },
    forward: null,
    saved: true,
    thisRun: false,
  });

  it("match type, verdict, inbox and every word of the text", () => {
    expect(matches(item, {})).toBe(true);
    expect(matches(item, { type: "message.received", verdict: "valid", inbox: "SUPPORT" })).toBe(true);
    expect(matches(item, { type: "inbox.suspended" })).toBe(false);
    expect(matches(item, { verdict: "invalid" })).toBe(false);
    expect(matches(item, { text: "ana INVOICE.pdf" })).toBe(true);
    expect(matches(item, { text: "please pay" })).toBe(true);
    expect(matches(item, { text: "ana refund" })).toBe(false);
  });
});

describe("the in-memory index of this run's unsaved events", () => {
  const SECRET = "whsec_index_0123456789";
  const received = (seq: number, body: string, extra: Partial<ReceivedEvent> = {}): ReceivedEvent => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    // As the listener hands them over: the raw headers and the header object made from them.
    const rawHeaders = [
      "Content-Type",
      "application/json",
      "X-Timestamp",
      timestamp,
      "X-Signature",
      sign(SECRET, timestamp, body),
    ];
    const request = {
      receivedAt: new Date(Date.now() + seq).toISOString(),
      method: "POST",
      path: "/webhooks",
      headers: headersFromRaw(rawHeaders),
      body: Buffer.from(body),
    };
    const inspection = inspectRequest(request, { secret: SECRET, toleranceSeconds: 300, now: Number(timestamp) });
    return {
      seq,
      request,
      inspection,
      signature: inspection.verification?.valid ? "valid" : "invalid",
      duplicate: undefined,
      capturePath: undefined,
      saveError: undefined,
      forwardTo: undefined,
      filteredOut: undefined,
      rawHeaders,
      forward: undefined,
      status: 200,
      statusReason: "signature valid",
      answer: { kind: "written" },
      ...extra,
    };
  };
  const options = {
    secretFor: () => ({ secret: SECRET, source: "test", masked: "x" }),
    toleranceSeconds: 300,
    now: Date.now,
  };

  it("lists the same items whether they were made at once (a page open) or when first asked for", async () => {
    const eager = createEventIndex(options);
    const lazy = createEventIndex(options);
    const events = [
      received(
        1,
        JSON.stringify(messageEvent({ event_id: "evt_a" }, { subject: "first", body_text: "x".repeat(400) })),
      ),
      received(2, JSON.stringify(messageEvent({ event_id: "evt_a" })), {
        duplicate: { timesSeen: 2, inFolder: false },
      }),
      received(3, "not json at all", { status: 400, statusReason: "rejected: bad" }),
      received(
        4,
        JSON.stringify({ event: "inbox.suspended", event_id: "evt_s", inbox_id: "inb_1", reason: "bounces" }),
      ),
    ];
    for (const event of events) {
      expect(eager.addLive(event, true)).toBeDefined();
      expect(lazy.addLive(event, false)).toBeUndefined();
    }
    const page = await lazy.list({ limit: 10 });
    expect(page.items).toEqual((await eager.list({ limit: 10 })).items);
    expect(page.items.map((item) => item.id)).toEqual(["live-4", "live-3", "live-2", "live-1"]);
    expect(page.items[3]).toMatchObject({
      subject: "first",
      verdict: "valid",
      saved: false,
      answered: { status: 200 },
    });
    expect(page.items[2]?.retry).toEqual({ timesSeen: 2 });
    // The retries of an event are found among unsaved events before any item was made.
    const fresh = createEventIndex(options);
    for (const event of events) fresh.addLive(event, false);
    const detail = await fresh.detail("live-2");
    expect(detail?.deliveries.map((item) => item.id)).toEqual(["live-1", "live-2"]);
    expect(detail?.item).toEqual(page.items[2]);
  });

  it("gives back an unsaved event's request byte for byte, headers named like Object's own included", async () => {
    const index = createEventIndex(options);
    const event = received(1, JSON.stringify(messageEvent({ event_id: "evt_h" })));
    const hostile = ["__proto__", "a", "Constructor", "b", "x-repeated", "1", "X-Repeated", "2"];
    event.rawHeaders = [...(event.rawHeaders ?? []), ...hostile];
    event.request.headers = headersFromRaw(event.rawHeaders);
    index.addLive(event, false);
    const loaded = await index.load("live-1");
    expect(loaded?.request).toEqual(event.request);
    expect(Object.getPrototypeOf(loaded?.request.headers)).toBeNull();
    expect(loaded?.request.headers.constructor).toBe("b");
    expect(Object.hasOwn(loaded?.request.headers ?? {}, "__proto__")).toBe(true);
    expect(loaded?.request.headers["x-repeated"]).toBe("1, 2");
    expect((await index.captureFile("live-1"))?.content).toBe(serializeCapture(event.request, {}));
  });
  it("copies the listener's raw headers and gives back the header object made from them", async () => {
    const index = createEventIndex(options);
    const event = received(1, JSON.stringify(messageEvent({ event_id: "evt_r" })));
    // Latin-1 (as Node's parser makes every header), repeated in any case, empty, named like Object's own.
    const more = ["X-Note", "caf\u00e9 \u00ff\t:1:", "x-note", "again", "Empty", "", "__proto__", "p", "R", "{"];
    // Longer than the ring copies by its loop, and (not from Node's parser, but kept exactly) wider than Latin-1.
    more.push("X-Long", `${"v".repeat(300)}\u00e9`, "X-Wide", "\u2709 \ud800");
    event.rawHeaders = [...(event.rawHeaders ?? []), ...more];
    event.request.headers = headersFromRaw(event.rawHeaders);
    const bare = received(2, "{}");
    bare.rawHeaders = [];
    bare.request.headers = headersFromRaw([]);
    index.addLive(event, false);
    index.addLive(bare, false);
    const loaded = await index.load("live-1");
    expect(loaded?.request).toEqual(event.request);
    expect(loaded?.request.headers["x-note"]).toBe("caf\u00e9 \u00ff\t:1:, again");
    expect(loaded?.request.headers.empty).toBe("");
    expect(Object.hasOwn(loaded?.request.headers ?? {}, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(loaded?.request.headers)).toBeNull();
    expect((await index.load("live-2"))?.request.headers).toEqual(headersFromRaw([]));
    expect((await index.captureFile("live-1"))?.content).toBe(serializeCapture(event.request, {}));
  });

  const replayOf = (original: string, body: string) => ({
    original,
    url: "http://127.0.0.1:1/webhooks",
    mode: "resign" as const,
    request: received(0, body).request,
    forward: {
      url: "http://127.0.0.1:1/webhooks",
      outcome: "response",
      status: 200,
      latencyMs: 1,
      accepted: true,
      text: "200",
      judgement: "accepted" as const,
      good: true,
      note: null,
    },
    answerBody: "ok",
    notes: [],
  });
  const ids = async (index: ReturnType<typeof createEventIndex>) =>
    (await index.list({ limit: 100 })).items.map((item) => item.id);

  it("keeps the newest records, unsaved events and replays together, and forgets the oldest first", async () => {
    const index = createEventIndex({ ...options, limits: { records: 4 } });
    const body = (n: number) => JSON.stringify(messageEvent({ event_id: `evt_${n}` }));
    index.addLive(received(1, body(1)), false);
    index.addReplay(replayOf("live-1", body(1))); // replay-1
    index.addLive(received(2, body(2)), false);
    index.addLive(received(3, body(3)), true); // a page open: its item made at once
    expect(await ids(index)).toHaveLength(4);
    index.addLive(received(4, body(4)), false); // live-1 goes
    expect(await ids(index)).not.toContain("live-1");
    expect(await ids(index)).toContain("replay-1");
    index.addLive(received(5, body(5)), false); // then replay-1
    index.addLive(received(6, body(6)), false); // then live-2
    expect((await ids(index)).sort()).toEqual(["live-3", "live-4", "live-5", "live-6"]);
    // What a page shows for a forgotten event: it is not listed, and asking for it finds nothing.
    expect(await index.detail("live-1")).toBeUndefined();
    expect(await index.load("live-2")).toBeUndefined();
    expect(await index.detail("replay-1")).toBeUndefined();
    expect((await index.detail("live-3"))?.item.id).toBe("live-3");
    expect((await index.load("live-6"))?.request.body.toString()).toBe(body(6));
  });

  it("drops the oldest bodies when the ring is full, keeping their list items, as the body budget does", async () => {
    // A ring of 16 KiB at most (an entry at most 4 KiB): three ~3 KiB events fill it.
    const limits = { records: 100, ringInitialBytes: 4096, ringMaxBytes: 16 * 1024 };
    const index = createEventIndex({ ...options, limits });
    const eager = createEventIndex(options);
    const events = Array.from({ length: 8 }, (_, i) =>
      received(i + 1, JSON.stringify(messageEvent({ event_id: `evt_${i}` }, { body_text: "y".repeat(1500) }))),
    );
    for (const event of events) {
      index.addLive(event, false);
      eager.addLive(event, true);
    }
    const page = await index.list({ limit: 100 });
    expect(page.items).toEqual((await eager.list({ limit: 100 })).items);
    expect(page.items).toHaveLength(8);
    // The newest are whole; the oldest are listed but their request is gone.
    expect((await index.load("live-8"))?.request).toEqual(events[7]?.request);
    expect(await index.load("live-1")).toBeUndefined();
    expect(await index.detail("live-1")).toBeUndefined();
    const kept = await Promise.all(events.map(async (_, i) => (await index.load(`live-${i + 1}`)) !== undefined));
    expect(kept.indexOf(true)).toBeGreaterThan(0);
    expect(kept.slice(kept.indexOf(true)).every(Boolean)).toBe(true);
  });

  it("keeps an event larger than a ring entry may be as a whole request, outside the ring", async () => {
    const index = createEventIndex({ ...options, limits: { ringInitialBytes: 1024, ringMaxBytes: 8192 } });
    const big = received(1, JSON.stringify(messageEvent({ event_id: "evt_big" }, { body_text: "z".repeat(9000) })));
    const small = received(2, JSON.stringify(messageEvent({ event_id: "evt_big" })));
    index.addLive(big, false);
    index.addLive(small, false);
    expect((await index.load("live-1"))?.request).toEqual(big.request);
    expect((await index.load("live-2"))?.request).toEqual(small.request);
    const detail = await index.detail("live-2");
    expect(detail?.deliveries.map((item) => item.id)).toEqual(["live-1", "live-2"]);
    expect(await ids(index)).toEqual(["live-2", "live-1"]);
  });

  it("shows a forwarded unsaved event's forward, the handler's answer and the hint as made at once", async () => {
    const forwarded = received(1, JSON.stringify(messageEvent({ event_id: "evt_f" })), {
      status: 502,
      statusReason: "the handler's answer: 500",
      forward: {
        url: "http://127.0.0.1:1/hook",
        outcome: {
          kind: "response",
          status: 500,
          latencyMs: 12.345,
          bodyPreview: "boom \u2709 \ud800 1:2:",
          bodyBytes: 12,
          headers: {},
        },
        verdict: { accepted: false, summary: "retry: 500", retry: { nextAttempt: 2, afterSeconds: 60 } },
        judgement: "rejected-valid",
        hint: "check the handler's logs: 3:x",
      },
    });
    const lazy = createEventIndex(options);
    const eager = createEventIndex({ ...options, limits: { ringMaxBytes: 64 } }); // keeps it as objects
    lazy.addLive(forwarded, false);
    eager.addLive(forwarded, false);
    const [fromRing, fromObjects] = await Promise.all([lazy.detail("live-1"), eager.detail("live-1")]);
    expect(fromRing?.forward).toMatchObject({ status: 500, accepted: false, answerBody: "boom \u2709 \ud800 1:2:" });
    expect(fromRing?.forward?.hint).toBe("check the handler's logs: 3:x");
    expect(fromRing?.item.answered).toEqual({ status: 502, reason: "the handler's answer: 500", undelivered: null });
    expect(fromRing).toEqual(fromObjects);
  });

  it("keeps no hint where the judgement's own words say what is wrong (a bad event accepted)", async () => {
    // The body is not the one signed: the event fails verification, and the handler said 200.
    const event = received(1, JSON.stringify(messageEvent({ event_id: "evt_bad" })));
    const tampered = { ...event, request: { ...event.request, body: Buffer.from('{"event_id":"evt_bad","x":1}') } };
    const accepted = {
      ...tampered,
      inspection: inspectRequest(tampered.request, { secret: SECRET, toleranceSeconds: 300, now: Date.now() / 1000 }),
      signature: "invalid" as const,
      forward: {
        url: "http://127.0.0.1:1/hook",
        outcome: { kind: "response" as const, status: 200, latencyMs: 3, bodyPreview: "ok", bodyBytes: 2, headers: {} },
        verdict: { accepted: true, summary: "accepted", retry: null },
        judgement: "accepted-bad" as const,
        hint: "a hint the terminal does not show for this judgement",
      },
    };
    const lazy = createEventIndex(options);
    const eager = createEventIndex({ ...options, limits: { ringMaxBytes: 64 } }); // keeps it as objects
    lazy.addLive(accepted, false);
    eager.addLive(accepted, true);
    for (const index of [lazy, eager]) {
      const detail = await index.detail("live-1");
      expect(detail?.forward).toMatchObject({ judgement: "accepted-bad", good: false, hint: null });
      expect(detail?.forward?.note).toMatch(/your handler accepted an event with a bad signature/);
    }
  });

  it("does not call an answer the sender never got 'answered' (it hung up first; listen was stopping)", async () => {
    const body = (id: string) => JSON.stringify(messageEvent({ event_id: id }));
    const gone = received(1, body("evt_gone"), { answer: { kind: "sender-gone" } });
    const refused = received(2, body("evt_refused"), { status: 503, answer: { kind: "refused", status: 503 } });
    const lazy = createEventIndex(options);
    const eager = createEventIndex({ ...options, limits: { ringMaxBytes: 64 } });
    for (const index of [lazy, eager]) {
      index.addLive(gone, false);
      index.addLive(refused, false);
    }
    for (const index of [lazy, eager]) {
      expect((await index.detail("live-1"))?.item.answered).toEqual({
        status: 200,
        reason: "signature valid",
        undelivered: "the sender hung up before the answer: 200 not delivered",
      });
      expect((await index.detail("live-2"))?.item.answered?.undelivered).toBe(
        "answered 503 instead: listen was stopping",
      );
    }
  });

  it("gives back binary and non-UTF-8 bodies, Latin-1 headers and odd event ids exactly", async () => {
    const index = createEventIndex(options);
    const binary = received(1, "");
    // Headers no HTTP parser makes (characters wider than a byte): without raw headers, kept as JSON.
    binary.rawHeaders = undefined;
    binary.request.body = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x0a, 0xed, 0xa0, 0x80]);
    binary.request.headers["x-note"] = "caf\u00e9 \u00ff\t:1:";
    binary.request.headers["x-wide"] = "\u2709 \ud83d\ude00 \ud800";
    // An event id with a lone surrogate (legal in JSON text, lost by UTF-8): found again among retries.
    const oddId = JSON.stringify(messageEvent({ event_id: "evt_\ud800:5:" }));
    const odd = [received(2, oddId), received(3, oddId, { duplicate: { timesSeen: 2, inFolder: false } })];
    for (const event of [binary, ...odd]) index.addLive(event, false);
    const loaded = await index.load("live-1");
    expect(Buffer.compare(Buffer.from(loaded?.request.body ?? []), binary.request.body as Buffer)).toBe(0);
    expect(loaded?.request).toEqual(binary.request);
    expect((await index.captureFile("live-1"))?.content).toBe(serializeCapture(binary.request, {}));
    const detail = await index.detail("live-3");
    expect(detail?.item.eventId).toBe("evt_\ud800:5:");
    expect(detail?.deliveries.map((item) => item.id)).toEqual(["live-2", "live-3"]);
  });
});

describe("the ring of unsaved events", () => {
  const entry = (n: number, size: number) => ({ key: `k${n}`, meta: `m${n}:`, body: Buffer.alloc(size, n) });
  const ringOf = (slots: number, initialBytes: number, maxBytes: number, dropped: number[] = []) => {
    const ring: EventRing = new EventRing({
      slots,
      initialBytes,
      maxBytes,
      beforeBytesDropped: (position) => dropped.push(ring.numberAt(position)),
    });
    return ring;
  };
  // As the index writes an event: texts, then the body's bytes to the entry's end.
  const push = (ring: EventRing, n: number, size: number) => {
    const { key, meta, body } = entry(n, size);
    const start = ring.reserve(textBytesAtMost(key) + textBytesAtMost(meta) + body.length);
    if (start < 0) return false;
    const at = writeText(ring.buffer, writeText(ring.buffer, start, key), meta);
    ring.buffer.set(body, at);
    ring.commit(n, n, at + body.length - start);
    return true;
  };
  const entryAt = (ring: EventRing, position: number) => {
    const reader = ring.readerAt(position);
    return reader && { key: reader.text(), meta: reader.text(), body: reader.rest() };
  };

  it("grows to its limit keeping every entry, then drops the oldest bytes first, around the end", () => {
    const dropped: number[] = [];
    const ring = ringOf(100, 256, 4096, dropped);
    for (let n = 1; n <= 40; n++) expect(push(ring, n, 300 + n)).toBe(true);
    expect(ring.capacity).toBe(4096);
    expect(ring.count).toBe(40);
    // Dropped in order, oldest first; every entry still with bytes comes back exactly.
    expect(dropped).toEqual(Array.from({ length: dropped.length }, (_, i) => i + 1));
    for (let position = 0; position < ring.count; position++) {
      const n = ring.numberAt(position);
      const got = entryAt(ring, position);
      expect(got === undefined).toBe(dropped.includes(n));
      if (got) expect(got).toEqual(entry(n, 300 + n));
    }
    expect(ring.find(40)).toBe(39);
    expect(ring.find(41)).toBe(-1);
  });

  it("refuses an entry larger than a quarter of its limit, and one more than its places", () => {
    const ring = ringOf(2, 64, 1024);
    // The texts count as their heads and two bytes a character at most: 8 + 10 bytes here.
    expect(push(ring, 1, 257 - 18)).toBe(false);
    expect(ring.count).toBe(0);
    expect(push(ring, 1, 256 - 18)).toBe(true);
    ring.dropOldest();
    expect(ring.count).toBe(0);
    expect(push(ring, 1, 200)).toBe(true);
    expect(push(ring, 2, 10)).toBe(true);
    expect(push(ring, 3, 10)).toBe(false);
    ring.dropOldest();
    expect(push(ring, 3, 10)).toBe(true);
    expect([ring.numberAt(0), ring.numberAt(1)]).toEqual([2, 3]);
    expect(entryAt(ring, 1)).toEqual(entry(3, 10));
  });

  it("commits only what was reserved", () => {
    const ring = ringOf(2, 64, 1024);
    expect(() => ring.commit(1, 1, 4)).toThrow();
    const start = ring.reserve(8);
    expect(() => ring.commit(1, 1, 9)).toThrow();
    ring.commit(1, 1, writeUint(ring.buffer, start, 7) - start);
    expect(ring.readerAt(0)?.uint()).toBe(7);
    expect(() => ring.readerAt(0)?.text()).toThrow();
  });

  it("writes texts and numbers that come back exactly, whatever they hold", () => {
    const long = "a".repeat(1000);
    const texts = [
      "",
      "12:",
      ":",
      "-:",
      undefined,
      "\ud800 \u2709",
      "caf\u00e9 \u00ff\u0000",
      long,
      `${long}\u2709`,
      "\udfff",
    ];
    const numbers = [0, 1, 200, 0xfffffffe, 2 ** 31];
    const bytes = Buffer.alloc(texts.reduce((sum, text) => sum + textBytesAtMost(text), 4 * numbers.length));
    let at = 0;
    for (const text of texts) at = writeText(bytes, at, text);
    for (const number of numbers) at = writeUint(bytes, at, number);
    const reader = new EntryReader(bytes, 0, at);
    for (const text of texts) expect(reader.text()).toBe(text);
    for (const number of numbers) expect(reader.uint()).toBe(number);
    expect(reader.rest()).toEqual(Buffer.alloc(0));
    // One byte a character when every one fits in a byte, else two: the short Latin-1 text took one each.
    expect(writeText(bytes, 0, "caf\u00e9")).toBe(4 + 4);
    expect(writeText(bytes, 0, "caf\u2709")).toBe(4 + 8);
  });
});
