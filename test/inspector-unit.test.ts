/** The inspector's pure parts: shell quoting for the copied commands, the request guard, list filters. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { headersFromRaw, serializeCapture } from "../src/core/capture.js";
import { inspectRequest } from "../src/core/inspect.js";
import { sign } from "../src/core/signature.js";
import { createEventIndex, matches } from "../src/inspector/event-index.js";
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
    const request = {
      receivedAt: new Date(Date.now() + seq).toISOString(),
      method: "POST",
      path: "/webhooks",
      headers: headersFromRaw([
        "Content-Type",
        "application/json",
        "X-Timestamp",
        timestamp,
        "X-Signature",
        sign(SECRET, timestamp, body),
      ]),
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
    const raw = Object.entries(event.request.headers).flat();
    const hostile = ["__proto__", "a", "Constructor", "b", "x-repeated", "1", "X-Repeated", "2"];
    event.request.headers = headersFromRaw([...raw, ...hostile]);
    index.addLive(event, false);
    const loaded = await index.load("live-1");
    expect(loaded?.request).toEqual(event.request);
    expect(Object.getPrototypeOf(loaded?.request.headers)).toBeNull();
    expect(loaded?.request.headers.constructor).toBe("b");
    expect(Object.hasOwn(loaded?.request.headers ?? {}, "__proto__")).toBe(true);
    expect(loaded?.request.headers["x-repeated"]).toBe("1, 2");
    expect((await index.captureFile("live-1"))?.content).toBe(serializeCapture(event.request, {}));
  });
});
