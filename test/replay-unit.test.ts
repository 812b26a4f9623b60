import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { serializeCapture } from "../src/core/capture.js";
import { matchesFilters, parseFilter, prepareReplay, rewriteBody } from "../src/core/replay.js";
import { sign, verify } from "../src/core/signature.js";
import { indexInputs } from "../src/io/replay-input.js";

describe("rewriteBody", () => {
  it("changes only the value's bytes when the key is at the top level", () => {
    const body = Buffer.from('{ "event_id" : "evt_a", "attempt":1,\n"message":{"event_id":"nested"} }');
    const { body: out, notes } = rewriteBody(body, { eventId: "evt_b", attempt: 4 });
    expect(out.toString()).toBe('{ "event_id" : "evt_b", "attempt":4,\n"message":{"event_id":"nested"} }');
    expect(notes).toEqual([]);
  });

  it("re-serializes, and says so, when the key is missing or only nested", () => {
    const body = Buffer.from('{"message":{"attempt":9},"event":"pod.suspended"}');
    const { body: out, notes } = rewriteBody(body, { attempt: 2 });
    expect(JSON.parse(out.toString())).toEqual({ message: { attempt: 9 }, event: "pod.suspended", attempt: 2 });
    expect(notes[0]).toMatch(/re-serializing/);
  });

  it("leaves the body alone without changes, and refuses a non-JSON body", () => {
    const body = Buffer.from("not json");
    expect(rewriteBody(body, {}).body).toBe(body);
    expect(() => rewriteBody(body, { attempt: 2 })).toThrow(/not a JSON object/);
  });
});

describe("prepareReplay", () => {
  const request = {
    receivedAt: "2026-11-26T10:00:00.000Z",
    method: "POST",
    path: "/webhooks",
    headers: { "x-event-id": "evt_1", "x-timestamp": "1700000000", "x-signature": "0".repeat(64), host: "h" },
    body: Buffer.from('{"event":"message.received","event_id":"evt_1","attempt":1}'),
  };

  it("refuses to re-sign a capture whose captured signature does not verify", () => {
    expect(() =>
      prepareReplay({ origin: "x", kind: "capture", request }, { secret: "s", keepSignature: false }, 1800000000),
    ).toThrow(/does not verify with this secret .* not re-signed \(--resign-unverified/);
    const unsigned = { ...request, headers: { "x-event-id": "evt_1" } };
    expect(() =>
      prepareReplay({ origin: "x", kind: "raw-http", request: unsigned }, { secret: "s", keepSignature: false }, 1),
    ).toThrow(/captured signature does not verify with this secret \(missing X-Signature/);
    // A bare body given explicitly is the user's own: signed as asked.
    const payload = prepareReplay(
      { origin: "x", kind: "payload", request: unsigned },
      { secret: "s", keepSignature: false },
      1,
    );
    expect(payload.notes).toEqual([]);
  });

  it("accepts a captured signature exactly when verify() does", () => {
    const body = request.body;
    const good = sign("s", "1700000000", body);
    const cases: Array<[string, Record<string, string>]> = [
      ["valid", { "x-timestamp": "1700000000", "x-signature": good }],
      ["padded headers", { "x-timestamp": " 1700000000 ", "x-signature": ` ${good}\t` }],
      ["upper-case hex", { "x-timestamp": "1700000000", "x-signature": good.toUpperCase() }],
      ["another timestamp", { "x-timestamp": "1700000001", "x-signature": good }],
      ["a timestamp with a sign", { "x-timestamp": "+1700000000", "x-signature": sign("s", "+1700000000", body) }],
      ["milliseconds", { "x-timestamp": "1700000000000", "x-signature": sign("s", "1700000000000", body) }],
      ["sixteen digits", { "x-timestamp": "1700000000000000", "x-signature": sign("s", "1700000000000000", body) }],
      ["a longer signature", { "x-timestamp": "1700000000", "x-signature": `${good}0` }],
      ["no timestamp", { "x-signature": good }],
    ];
    for (const [what, headers] of cases) {
      const captured = { ...request, headers: { ...headers, "x-event-id": "evt_1" } };
      const valid = verify({
        body,
        headers: captured.headers,
        secret: "s",
        toleranceSeconds: Number.MAX_SAFE_INTEGER,
        now: 1800000000,
      }).valid;
      const prepare = () =>
        prepareReplay(
          { origin: "x", kind: "capture", request: captured },
          { secret: "s", keepSignature: false },
          1800000000,
        );
      if (valid) expect(prepare().notes, what).toEqual([]);
      else expect(prepare, what).toThrow(/does not verify with this secret/);
      expect(valid, what).toBe(what === "valid" || what === "padded headers" || what === "milliseconds");
    }
  });

  it("re-signs the exact bytes with a fresh timestamp by default", () => {
    const prepared = prepareReplay(
      { origin: "x", kind: "capture", request },
      { secret: "s", keepSignature: false, resignUnverified: true },
      1800000000,
    );
    expect(prepared.body.equals(request.body)).toBe(true);
    expect(prepared.headers["X-Timestamp"]).toBe("1800000000");
    expect(prepared.headers["X-Event-Id"]).toBe("evt_1");
    expect(verify({ body: prepared.body, headers: prepared.headers, secret: "s", now: 1800000000 }).valid).toBe(true);
    expect(prepared.notes?.[0]).toMatch(/captured signature does not verify/);
    expect(prepared.headers.host).toBeUndefined();
  });

  it("names the event from its body: type, id, attempt (the one asked for, else the body's, else 1)", () => {
    const timestamp = "1700000000";
    const captured = (body: string, headers: Record<string, string> = {}) => ({
      ...request,
      headers: { "x-timestamp": timestamp, "x-signature": sign("s", timestamp, body), ...headers },
      body: Buffer.from(body),
    });
    const options = { secret: "s", keepSignature: false };
    const typed = captured('{"event":"message.sent","event_id":"evt_b","attempt":3}', { "x-event-id": "evt_h" });
    const prepared = prepareReplay({ origin: "x", kind: "capture", request: typed }, options, 1800000000);
    expect(prepared).toMatchObject({ label: "message.sent", eventType: "message.sent", eventId: "evt_h", attempt: 3 });
    expect(prepared.headers["X-Event-Id"]).toBe("evt_h");
    const asked = prepareReplay({ origin: "x", kind: "capture", request: typed }, { ...options, attempt: 5 }, 1);
    expect(asked.attempt).toBe(5);
    expect(JSON.parse(asked.body.toString()).attempt).toBe(5);
    // No id header: the body's goes out; no attempt: the first; no event type: the kind of input.
    const bare = prepareReplay(
      { origin: "x", kind: "raw-http", request: captured('{"event_id":"evt_b"}') },
      options,
      1,
    );
    expect(bare).toMatchObject({ label: "raw-http", eventType: undefined, eventId: "evt_b", attempt: 1 });
    expect(bare.headers["X-Event-Id"]).toBe("evt_b");
    const verbatim = prepareReplay({ origin: "x", kind: "capture", request: typed }, { keepSignature: true }, 1);
    expect(verbatim).toMatchObject({ label: "message.sent", eventId: "evt_h", attempt: 3 });
  });

  it("parses the body only when something asks what the event is", () => {
    const timestamp = "1700000000";
    const body = '{"event":"message.sent","event_id":"evt_b","attempt":2}';
    const typed = {
      ...request,
      headers: { "x-event-id": "evt_h", "x-timestamp": timestamp, "x-signature": sign("s", timestamp, body) },
      body: Buffer.from(body),
    };
    const parse = vi.spyOn(JSON, "parse");
    try {
      const prepared = prepareReplay(
        { origin: "x", kind: "capture", request: typed },
        { secret: "s", keepSignature: false },
        1,
      );
      expect(parse).not.toHaveBeenCalled();
      expect(prepared.label).toBe("message.sent");
      expect(prepared.attempt).toBe(2);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("keeps the captured headers and expects a rejection when they are stale", () => {
    const prepared = prepareReplay({ origin: "x", kind: "capture", request }, { keepSignature: true }, 1800000000);
    expect(prepared.expect).toBe("4xx");
    expect(prepared.headers["x-signature"]).toBe("0".repeat(64));
    const fresh = prepareReplay({ origin: "x", kind: "capture", request }, { keepSignature: true }, 1700000100);
    expect(fresh.expect).toBe("2xx");
  });
});

describe("filters", () => {
  const meta = { receivedAt: "", eventType: "message.received", inboxId: "inb_1", eventId: "evt_1" };
  it("parses and matches event, inbox, id and bare values", () => {
    expect(parseFilter("type=message.received")).toEqual({ field: "event", value: "message.received" });
    expect(parseFilter("inbox_id=inb_1")).toEqual({ field: "inbox", value: "inb_1" });
    expect(parseFilter("color=blue")).toBeUndefined();
    expect(
      matchesFilters(
        meta,
        [parseFilter("event=message.received"), parseFilter("inb_1")].filter((f) => f !== undefined),
      ),
    ).toBe(true);
    expect(matchesFilters(meta, [{ field: "id", value: "evt_2" }])).toBe(false);
  });
});

describe("capture names", () => {
  it("read the arrival time back from a name captureFileName wrote", async () => {
    const { receivedAtFromName } = await import("../src/io/replay-input.js");
    const { captureFileName } = await import("../src/core/capture.js");
    const receivedAt = "2026-11-26T10:05:00.123Z";
    expect(receivedAtFromName(`/x/${captureFileName(receivedAt, "evt_1")}`)).toBe(receivedAt);
    expect(receivedAtFromName("/x/2026-11-26T10-05-00-123Z_evt_1-2.json")).toBe(receivedAt);
    expect(receivedAtFromName("/x/hand-made.json")).toBeUndefined();
    const { isCaptureFileName } = await import("../src/core/capture.js");
    for (const name of [
      captureFileName(receivedAt, "evt_1"),
      "2026-11-26T10-05-00-123Z_evt_1-2.json",
      "hand-made.json",
    ]) {
      expect(isCaptureFileName(name), name).toBe(receivedAtFromName(name) !== undefined);
    }
    expect(isCaptureFileName("2026-11-26T10-05-00-123Z_evt_1.json.bak")).toBe(false);
  });
});

describe("a folder's index", () => {
  const made: string[] = [];
  afterAll(() => {
    for (const folder of made) rmSync(folder, { recursive: true, force: true });
  });
  const folderWith = (files: Record<string, string>) => {
    const folder = mkdtempSync(join(tmpdir(), "omh-index-"));
    made.push(folder);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
    return folder;
  };
  const capture = (eventId: string, body: string) =>
    serializeCapture({
      receivedAt: "2026-11-26T10:00:00.000Z",
      method: "POST",
      path: "/webhooks",
      headers: { "x-event-id": eventId },
      body: Buffer.from(body),
    });
  const stdin = async () => Buffer.alloc(0);

  it("lists captures named by listen in arrival order, and makes each item when asked", async () => {
    const names = [
      "2026-11-26T10-00-02-000Z_evt_c.json",
      "2026-11-26T10-00-00-000Z_evt_a.json",
      "2026-11-26T10-00-01-000Z_evt_b.json",
    ];
    const folder = folderWith(Object.fromEntries(names.map((name, i) => [name, capture(`evt_${i}`, "{}")])));
    const { items, problems } = await indexInputs([folder], stdin, { needsMeta: false });
    expect(problems).toEqual([]);
    expect(items.length).toBe(3);
    expect([0, 1, 2].map((i) => basename(items.at(i)?.origin ?? ""))).toEqual([...names].sort());
    expect(items.at(1)?.order).toBe(1);
    expect(items.at(1)?.meta.receivedAt).toBe("2026-11-26T10:00:01.000Z");
    expect(items.at(3)).toBeUndefined();
    expect(items.at(-1)).toBeUndefined();
  });

  it("a name outside latin1 that still looks like a capture's is kept as it is", async () => {
    const odd = "✓\\2026-11-26T10-00-00-000Z_evt_a.json";
    const folder = folderWith({
      [odd]: capture("evt_a", "{}"),
      "2026-11-26T10-00-01-000Z_evt_b.json": capture("evt_b", "{}"),
    });
    const { items } = await indexInputs([folder], stdin, { needsMeta: false });
    const origins = [0, 1].map((i) => basename(items.at(i)?.origin ?? ""));
    expect(origins).toContain(odd);
    const item = items.at(origins.indexOf(odd));
    expect((await item?.load())?.request.headers["x-event-id"]).toBe("evt_a");
  });

  it("an item read from a file keeps its own bytes when the next file is read (the read buffer is reused)", async () => {
    const payload = JSON.stringify({ event: "message.received", event_id: "evt_payload", note: "x".repeat(300) });
    const folder = folderWith({
      "2026-11-26T10-00-00-000Z_evt_a.json": payload,
      "2026-11-26T10-00-01-000Z_evt_b.json": capture("evt_b", JSON.stringify({ event: "y".repeat(400) })),
      "2026-11-26T10-00-02-000Z_evt_c.json": `POST /webhooks HTTP/1.1\r\ncontent-type: application/json\r\n\r\n{"event":"raw","pad":"${"z".repeat(500)}"}`,
    });
    const { items } = await indexInputs([folder], stdin, { needsMeta: false });
    const first = items.at(0)?.read?.();
    const third = items.at(2)?.read?.();
    const second = items.at(1)?.read?.();
    expect(first?.kind).toBe("payload");
    expect(Buffer.from(first?.request.body ?? []).toString()).toBe(payload);
    expect(third?.kind).toBe("raw-http");
    expect(JSON.parse(Buffer.from(third?.request.body ?? []).toString()).event).toBe("raw");
    expect(JSON.parse(Buffer.from(second?.request.body ?? []).toString()).event).toBe("y".repeat(400));
  });
});

describe("raw HTTP or not, on the first bytes", () => {
  it("a request line after blank space is raw HTTP; JSON and empty lines first are not", async () => {
    const { looksLikeRawHttp } = await import("../src/core/capture.js");
    expect(looksLikeRawHttp(Buffer.from("  POST /webhooks HTTP/1.1\r\n\r\n"))).toBe(true);
    expect(looksLikeRawHttp(Buffer.from('{"event":"x"}'))).toBe(false);
    expect(looksLikeRawHttp(Buffer.from("\nPOST /webhooks HTTP/1.1\r\n\r\n"))).toBe(false);
    expect(looksLikeRawHttp(Buffer.from("post /webhooks HTTP/1.1\r\n\r\n"))).toBe(false);
  });
});
