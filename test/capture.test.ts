import { describe, expect, it } from "vitest";
import {
  type CapturedRequest,
  CaptureFormatError,
  fromCaptureObject,
  headersFromRaw,
  parseRawHttpRequest,
  parseRequestDocument,
  serializeCapture,
} from "../src/core/capture.js";
import { randomBytes, seededRandom } from "./helpers/random.js";

function request(body: Uint8Array): CapturedRequest {
  return {
    receivedAt: "2026-11-26T10:00:00.000Z",
    method: "POST",
    path: "/webhooks",
    headers: { "x-timestamp": "1711015501", "content-type": "application/json" },
    body,
  };
}

function roundTrip(body: Uint8Array): Uint8Array {
  return fromCaptureObject(JSON.parse(serializeCapture(request(body)))).request.body;
}

describe("capture format", () => {
  it.each([
    ["ASCII JSON", Buffer.from('{"event":"message.received"}')],
    ["multi-byte UTF-8", Buffer.from('{"subject":"Grüße 👋 日本語"}')],
    ["a byte-order mark", Buffer.from("\uFEFF{}", "utf8")],
    ["CRLF and trailing newline", Buffer.from('{\r\n"a": 1\r\n}\r\n')],
    ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ["a lone surrogate's bytes", Buffer.from([0xed, 0xa0, 0x80])],
    ["an empty body", Buffer.alloc(0)],
  ])("keeps the exact bytes of %s through a write and a read", (_label, body) => {
    expect(Buffer.from(roundTrip(body)).equals(body)).toBe(true);
  });

  it("keeps random bytes exact", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const body = randomBytes(random, Math.floor(random() * 300));
      expect(Buffer.from(roundTrip(body)).equals(body)).toBe(true);
    }
  });

  it("uses body for UTF-8 and bodyBase64 otherwise, and keeps extra fields", () => {
    const text = JSON.parse(serializeCapture(request(Buffer.from("{}")), { verification: { valid: true } }));
    expect(text).toMatchObject({ format: "openmail-hooks.capture/v1", body: "{}", verification: { valid: true } });
    const binary = JSON.parse(serializeCapture(request(Buffer.from([0xff]))));
    expect(binary.body).toBeUndefined();
    expect(binary.bodyBase64).toBe("/w==");
    expect(fromCaptureObject(text).extra).toEqual({ verification: { valid: true } });
  });

  it.each([
    [[], /JSON object/],
    [{ body: "{}" }, /no "format"/],
    [{ format: "other/v9", headers: {}, body: "" }, /unsupported capture format/],
    [{ format: "openmail-hooks.capture/v1", body: "" }, /headers/],
    [{ format: "openmail-hooks.capture/v1", headers: {} }, /neither "body" nor "bodyBase64"/],
    [{ format: "openmail-hooks.capture/v1", headers: { a: 1 }, body: "" }, /header "a"/],
  ])("rejects malformed capture %#", (value, message) => {
    expect(() => fromCaptureObject(value)).toThrow(message);
  });
});

describe("raw HTTP requests", () => {
  const body = '{"event":"message.received","event_id":"evt_abc123"}';

  it("parses CRLF requests and honours Content-Length", () => {
    const raw = `POST /webhooks HTTP/1.1\r\nHost: x\r\nX-Timestamp: 1711015501\r\nContent-Length: ${body.length}\r\n\r\n${body}\n`;
    const { request: parsed, warnings } = parseRawHttpRequest(Buffer.from(raw));
    expect(parsed.method).toBe("POST");
    expect(parsed.path).toBe("/webhooks");
    expect(parsed.headers["x-timestamp"]).toBe("1711015501");
    expect(Buffer.from(parsed.body).toString()).toBe(body);
    expect(warnings[0]).toMatch(/ignored 1 byte/);
  });

  it("parses LF-only copies from logs", () => {
    const raw = `POST /hooks?x=1 HTTP/1.1\nX-Signature: abc\n\n${body}`;
    const { request: parsed } = parseRawHttpRequest(Buffer.from(raw));
    expect(parsed.path).toBe("/hooks?x=1");
    expect(Buffer.from(parsed.body).toString()).toBe(body);
  });

  it("decodes a chunked body", () => {
    const raw = "POST /webhooks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    expect(Buffer.from(parseRawHttpRequest(Buffer.from(raw)).request.body).toString()).toBe("hello world");
  });

  it("rejects a request without a blank line or with a bad request line", () => {
    expect(() => parseRawHttpRequest(Buffer.from("POST / HTTP/1.1\r\nA: b"))).toThrow(CaptureFormatError);
    expect(() => parseRawHttpRequest(Buffer.from("hello\n\nbody"))).toThrow(/request line/);
  });

  it("tells documents apart", () => {
    expect(parseRequestDocument(Buffer.from(`POST / HTTP/1.1\n\n${body}`)).kind).toBe("raw-http");
    expect(parseRequestDocument(Buffer.from(serializeCapture(request(Buffer.from(body))))).kind).toBe("capture");
    expect(() => parseRequestDocument(Buffer.from(body))).toThrow(/bare event body/);
    expect(() => parseRequestDocument(Buffer.from("garbage"))).toThrow(/neither a capture file/);
    expect(() => parseRequestDocument(Buffer.from("  "))).toThrow(/empty/);
  });
});

describe("the header map made from Node's rawHeaders", () => {
  it("lower-cases every name, joins repeated ones in order, and keeps prototype names as plain entries", () => {
    const headers = headersFromRaw([
      "X-Tag",
      "one",
      "x-TAG",
      "two",
      "__proto__",
      "p",
      "Constructor",
      "c",
      "x-tag",
      "three",
    ]);
    expect(Object.getPrototypeOf(headers)).toBe(null);
    expect(Object.entries(headers)).toEqual([
      ["x-tag", "one, two, three"],
      ["__proto__", "p"],
      ["constructor", "c"],
    ]);
  });

  it("is right for names past what it remembers: long ones, and after hundreds of different ones", () => {
    const long = `X-${"Long".repeat(40)}`;
    const many = Array.from({ length: 600 }, (_, i) => [`X-Name-${i}-ABC`, String(i)]).flat();
    for (let round = 0; round < 2; round++) {
      const headers = headersFromRaw([...many, long, "v", long.toUpperCase(), "w"]);
      expect(Object.keys(headers)).toHaveLength(601);
      expect(headers["x-name-599-abc"]).toBe("599");
      expect(headers["x-name-0-abc"]).toBe("0");
      expect(headers[long.toLowerCase()]).toBe("v, w");
    }
  });
});
