/**
 * Property tests (fast-check): verify, diagnose, the capture reader and the raw-HTTP reader never
 * throw on arbitrary bytes and headers; the readers refuse bad input only with CaptureFormatError
 * (the one-line input error); and capture writing keeps every header and byte.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CaptureFormatError,
  fromCaptureObject,
  headersFromRaw,
  parseRawHttpRequest,
  parseRequestDocument,
  serializeCapture,
  serializeCapturePieces,
} from "../src/core/capture.js";
import { diagnose } from "../src/core/diagnose.js";
import { sign, verify } from "../src/core/signature.js";
import { parseDocument } from "../src/io/replay-input.js";
import { jsonLine, sanitizeLine, sanitizeText, terminalSafe } from "../src/output/sanitize.js";

const RUNS = { numRuns: 300 };

/** Header names including the ones that break plain objects. */
const headerName = fc.oneof(
  fc.constantFrom("x-signature", "x-timestamp", "X-Event-Id", "constructor", "__proto__", "toString", "hasOwnProperty"),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom("1711015501", "1711015501000", "-1", "NaN", "1e308", "0x10", "  17  ", "a".repeat(64)),
);
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }).map((pairs) => {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of pairs) out[name] = value;
  return out;
});
const bytes = fc.uint8Array({ maxLength: 600 }).map((array) => Buffer.from(array));
const numbers = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0));

function onlyFormatErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof CaptureFormatError)) throw error;
  }
}

describe("properties: never throw on arbitrary input", () => {
  it("verify and diagnose", () => {
    fc.assert(
      fc.property(bytes, headers, fc.string(), numbers, numbers, (body, hdrs, secret, tolerance, now) => {
        const input = { body, headers: hdrs, secret, toleranceSeconds: tolerance, now };
        // now and toleranceSeconds are the caller's constants: a wrong one is a TypeError, whatever the request.
        const badOption = !(tolerance >= 0) || !(Number.isFinite(now) && now >= 0 && now < 1e11);
        if (badOption) {
          expect(() => verify(input)).toThrow(TypeError);
          expect(() => diagnose(input)).toThrow(TypeError);
          return;
        }
        expect(typeof verify(input).valid).toBe("boolean");
        const diagnosis = diagnose(input);
        expect(diagnosis.verdict.valid).toBe(verify(input).valid);
      }),
      RUNS,
    );
  });

  it("verify and diagnose agree with sign() on any body, timestamp and secret", () => {
    fc.assert(
      fc.property(bytes, fc.integer({ min: 0, max: 2 ** 40 }), fc.string({ minLength: 1 }), (body, ts, secret) => {
        const hdrs = { "x-timestamp": String(ts), "x-signature": sign(secret, String(ts), body) };
        // Any time: timestamps up to 2^40 are judged, beyond what `now` takes as seconds.
        const anyTime = { toleranceSeconds: Number.POSITIVE_INFINITY };
        expect(verify({ body, headers: hdrs, secret, ...anyTime }).valid).toBe(true);
        expect(diagnose({ body, headers: hdrs, secret, ...anyTime }).signatureFindings).toEqual([]);
      }),
      RUNS,
    );
  });

  it("the raw-HTTP reader: arbitrary bytes, and requests with arbitrary head and body", () => {
    const head = fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }).map((lines) => lines.join("\r\n"));
    fc.assert(
      fc.property(bytes, head, bytes, (junk, lines, body) => {
        onlyFormatErrors(() => parseRawHttpRequest(junk));
        const request = Buffer.concat([Buffer.from(`POST /webhooks HTTP/1.1\r\n${lines}\r\n\r\n`), body]);
        onlyFormatErrors(() => parseRawHttpRequest(request));
        onlyFormatErrors(() => parseRequestDocument(request));
      }),
      RUNS,
    );
  });

  it("the capture reader: arbitrary bytes, arbitrary JSON, and captures with arbitrary fields", () => {
    const captureLike = fc.record(
      {
        format: fc.oneof(fc.constant("openmail-hooks.capture/v1"), fc.jsonValue()),
        receivedAt: fc.jsonValue(),
        method: fc.jsonValue(),
        path: fc.jsonValue(),
        headers: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
        body: fc.oneof(fc.string(), fc.jsonValue()),
        bodyBase64: fc.oneof(fc.base64String(), fc.string(), fc.jsonValue()),
      },
      { requiredKeys: ["format"] },
    );
    fc.assert(
      fc.property(bytes, fc.jsonValue(), captureLike, (junk, json, capture) => {
        for (const input of [junk, Buffer.from(JSON.stringify(json) ?? ""), Buffer.from(JSON.stringify(capture))]) {
          onlyFormatErrors(() => parseRequestDocument(input));
          const problems: Array<{ origin: string; message: string }> = [];
          expect(Array.isArray(parseDocument(input, "input", problems))).toBe(true);
        }
        onlyFormatErrors(() => fromCaptureObject(capture));
      }),
      RUNS,
    );
  });
});

describe("properties: what is captured is kept", () => {
  it("every header (any name) and every byte survive a capture round trip, written whole or in pieces", () => {
    const raw = fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 });
    const body = fc.oneof(
      bytes,
      fc.string({ unit: "binary", maxLength: 200 }).map((text) => Buffer.from(text)),
      fc.string({ maxLength: 50 }).map((text) => Buffer.from(text.repeat(3000))),
    );
    fc.assert(
      fc.property(raw, body, (pairs, bodyBytes) => {
        const request = {
          receivedAt: "2026-11-26T10:00:00.000Z",
          method: "POST",
          path: "/webhooks",
          headers: headersFromRaw(pairs.flat()),
          body: bodyBytes,
        };
        const whole = serializeCapture(request);
        expect([...serializeCapturePieces(request)].join("")).toBe(whole);
        const back = fromCaptureObject(JSON.parse(whole)).request;
        expect(Buffer.from(back.body).equals(bodyBytes)).toBe(true);
        expect(Object.keys(back.headers).sort()).toEqual(Object.keys(request.headers).sort());
        for (const name of Object.keys(request.headers)) expect(back.headers[name]).toBe(request.headers[name]);
      }),
      RUNS,
    );
  });
});

describe("the sanitiser's shortcuts", () => {
  // The full scans, as they were before text without control characters was returned unscanned.
  const ESCAPE =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    /\u001b\[[0-?]*[ -/]*[@-~]?|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]?|\u009d[^\u0007\u001b]*(?:\u0007|\u001b\\)?/g;
  const CONTROL =
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;
  const visible = (ch: string) => {
    const code = ch.codePointAt(0) as number;
    if (code > 0xffff) return `\\u{${code.toString(16)}}`;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  };
  const fullText = (value: string) =>
    value
      .replace(ESCAPE, "")
      .replace(/\r\n?/g, "\n")
      .replace(CONTROL, (ch) => (ch === "\n" || ch === "\t" ? ch : visible(ch)));
  const fullSafe = (text: string) =>
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: our own style codes
      .split(/(\u001b\[(?:0|1|2|22|3[0-79]|9[0-7])m)/)
      .map((part, index) => (index % 2 === 1 ? part : fullText(part)))
      .join("");
  // Text made of our own style codes, escape sequence pieces, controls and ordinary characters.
  const piece = fc.oneof(
    fc.constantFrom("\u001b[0m", "\u001b[1m", "\u001b[2m", "\u001b[22m", "\u001b[31m", "\u001b[39m", "\u001b[90m"),
    fc.constantFrom("\u001b[", "\u001b]0;t\u0007", "\u001b[2J", "\u001b[38;5;1m", "\u009b", "\u009d", "\u001b"),
    fc.constantFrom("\n", "\t", "\r", "\r\n", "\u0000", "\u007f", "\u202e", "\u2066", "\u061c"),
    fc.constantFrom(
      "\u200b",
      "\u200c",
      "\u200d",
      "\u2028",
      "\u2029",
      "\u2060",
      "\ufeff",
      "\u{e0041}",
      "\u{e007f}",
      "\udb40",
    ),
    fc.constantFrom("→", "✓", "·", "👋", "季度", "[", "m", "1", ";"),
    fc.integer({ min: 0, max: 0x20ff }).map((code) => String.fromCharCode(code)),
    fc.string({ maxLength: 6 }),
  );
  const text = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(""));

  it("terminalSafe and sanitizeText give what the full scans give, for any text", () => {
    fc.assert(
      fc.property(text, (value) => {
        expect(terminalSafe(value)).toBe(fullSafe(value));
        expect(sanitizeText(value)).toBe(fullText(value));
        expect(sanitizeLine(value)).toBe(fullText(value).replace(/[\n\t]/g, " "));
      }),
      { numRuns: 2000 },
    );
  });

  it("jsonLine gives what escaping every character JSON leaves raw gives, for any text", () => {
    const JSON_RAW =
      /[\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;
    const escapeAll = (json: string) =>
      json.replace(JSON_RAW, (ch) =>
        [...Array(ch.length).keys()].map((i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`).join(""),
      );
    fc.assert(
      fc.property(text, (value) => {
        const line = jsonLine({ value });
        expect(line).toBe(escapeAll(JSON.stringify({ value })));
        expect(JSON.parse(line).value).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("invisible characters reach a terminal escaped", () => {
  it("zero width space, word joiner, BOM, line separators and tag characters are shown; joiners in text and emoji are kept", () => {
    expect(sanitizeLine("evt_\u200bx")).toBe("evt_\\u200bx");
    expect(sanitizeLine("evt_\u200bx")).not.toBe(sanitizeLine("evt_x"));
    expect(sanitizeLine("a\u2028b\u2029c\u2060d\ufeffe")).toBe("a\\u2028b\\u2029c\\u2060d\\ufeffe");
    expect(sanitizeLine("flag\u{e0041}")).toBe("flag\\u{e0041}");
    expect(sanitizeLine("👨\u200d👩 می\u200cخواهم")).toBe("👨\u200d👩 می\u200cخواهم");
    expect(terminalSafe("\u001b[31mred\u001b[39m inb_\u200bzw")).toBe("\u001b[31mred\u001b[39m inb_\\u200bzw");
  });

  it("NDJSON escapes them too, and still parses back to the same text", () => {
    const value = "inb_\u200bzw \u2028 \ufeff tag\u{e0041} 👨\u200d👩";
    const line = jsonLine({ value });
    expect(line).not.toMatch(/[\u200b\u2028\ufeff]|\udb40/);
    expect(line).toContain("\\u200b");
    expect(line).toContain("\\udb40\\udc41");
    expect(JSON.parse(line).value).toBe(value);
  });
});
