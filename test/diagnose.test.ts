import { describe, expect, it } from "vitest";
import { diagnose, pythonDumps } from "../src/core/diagnose.js";
import { hmacHex, sign } from "../src/core/signature.js";

const SECRET = "whsec_live_9f8e7d6c5b4a";
const TS = "1711015501";
const NOW = 1711015510;
const PRETTY = '{\n  "event": "message.received",\n  "event_id": "evt_abc123",\n  "message": { "subject": "Grüße" }\n}';
const COMPACT = JSON.stringify(JSON.parse(PRETTY));

function run(
  body: string | Buffer,
  signature: string,
  options: { secret?: string; timestamp?: string; now?: number } = {},
) {
  return diagnose({
    body,
    headers: { "x-timestamp": options.timestamp ?? TS, "x-signature": signature },
    secret: options.secret ?? SECRET,
    now: options.now ?? NOW,
  });
}

function codes(diagnosis: ReturnType<typeof diagnose>) {
  return diagnosis.signatureFindings.map((finding) => finding.code);
}

describe("diagnose", () => {
  it("finds nothing to explain when the signature is valid", () => {
    const result = run(PRETTY, sign(SECRET, TS, PRETTY));
    expect(result.verdict.valid).toBe(true);
    expect(result.signatureFindings).toEqual([]);
    expect(result.timestampFinding).toBeUndefined();
  });

  it.each([
    ["compact JSON", PRETTY, COMPACT],
    ["pretty JSON (2 spaces)", COMPACT, JSON.stringify(JSON.parse(COMPACT), null, 2)],
    ["pretty JSON (4 spaces)", COMPACT, JSON.stringify(JSON.parse(COMPACT), null, 4)],
    ["Python json.dumps", COMPACT, pythonDumps(JSON.parse(COMPACT), true)],
  ])("recognises a body re-serialized as %s", (_label, checkedBody, signedBody) => {
    const result = run(checkedBody, sign(SECRET, TS, signedBody));
    expect(codes(result)).toEqual(["body_reserialized"]);
    expect(result.signatureFindings[0]?.fix).toMatch(/express\.raw/);
  });

  it("recognises a trailing newline added after signing", () => {
    expect(codes(run(`${COMPACT}\n`, sign(SECRET, TS, COMPACT)))).toEqual(["trailing_newline_added"]);
    expect(codes(run(`${COMPACT}\r\n`, sign(SECRET, TS, COMPACT)))).toEqual(["trailing_newline_added"]);
  });

  it("recognises a trailing newline stripped after signing", () => {
    expect(codes(run(COMPACT, sign(SECRET, TS, `${COMPACT}\n`)))).toEqual(["trailing_newline_stripped"]);
    expect(codes(run(COMPACT, sign(SECRET, TS, `${COMPACT}\r\n`)))).toEqual(["trailing_newline_stripped"]);
  });

  it("recognises converted line endings", () => {
    const crlf = PRETTY.replace(/\n/g, "\r\n");
    expect(codes(run(crlf, sign(SECRET, TS, PRETTY)))).toEqual(["line_endings_changed"]);
    expect(codes(run(PRETTY, sign(SECRET, TS, crlf)))).toEqual(["line_endings_changed"]);
  });

  it.each([
    ["a trailing newline", `${SECRET}\n`],
    ["surrounding spaces", `  ${SECRET} `],
    ["a CRLF", `${SECRET}\r\n`],
  ])("recognises a secret with %s on the verifying side", (_label, given) => {
    expect(codes(run(COMPACT, sign(SECRET, TS, COMPACT), { secret: given }))).toEqual(["secret_whitespace"]);
  });

  it("recognises quotes around the secret, on either side", () => {
    expect(codes(run(COMPACT, sign(SECRET, TS, COMPACT), { secret: `"${SECRET}"` }))).toEqual(["secret_quotes"]);
    expect(codes(run(COMPACT, sign(`'${SECRET}'`, TS, COMPACT)))).toEqual(["secret_quotes"]);
  });

  it("recognises a signer whose secret carried a newline", () => {
    expect(codes(run(COMPACT, sign(`${SECRET}\n`, TS, COMPACT)))).toEqual(["secret_whitespace"]);
  });

  it("recognises a timestamp in milliseconds", () => {
    const ms = `${TS}123`;
    // Header in ms, signature over seconds.
    const headerInMs = run(COMPACT, sign(SECRET, TS, COMPACT), { timestamp: ms });
    expect(codes(headerInMs)).toEqual(["timestamp_milliseconds"]);
    expect(headerInMs.timestampFinding?.code).toBe("timestamp_milliseconds");
    // Header and signature both in ms: the signature matches, only the time check fails.
    const bothInMs = run(COMPACT, sign(SECRET, ms, COMPACT), { timestamp: ms });
    expect(bothInMs.verdict.checks.signature).toBe("pass");
    expect(bothInMs.verdict.reason).toBe("timestamp_in_future");
    expect(bothInMs.timestampFinding?.code).toBe("timestamp_milliseconds");
    // Header in ms and the signed seconds read 2 s later: one finding for both slips.
    const readTwice = run(COMPACT, sign(SECRET, String(Number(TS) + 2), COMPACT), { timestamp: ms });
    expect(codes(readTwice)).toEqual(["timestamp_milliseconds"]);
    expect(readTwice.signatureFindings[0]?.summary).toMatch(/unix seconds 2 seconds after it/);
  });

  it("calls a timestamp milliseconds exactly where verify's timestamp check does (isInMilliseconds)", () => {
    // 16 digits is not unix seconds at all (the check reads up to 15): not "milliseconds" in the Why
    // while the timestamp line says "not unix seconds".
    const micro = `${TS}000000`;
    const tooLong = run(COMPACT, sign(SECRET, micro, COMPACT), { timestamp: micro });
    expect(tooLong.verdict.timestamp?.ageSeconds).toBeUndefined();
    expect(tooLong.timestampFinding?.code).toBe("timestamp_malformed");
    // Leading zeros before ten digits of seconds: seconds, whatever the length.
    const padded = `000${TS}`;
    const zeros = run(COMPACT, sign(SECRET, TS, COMPACT), { timestamp: padded });
    expect(zeros.verdict.timestamp?.seconds).toBe(Number(TS));
    expect(zeros.timestampFinding).toBeUndefined();
    expect(codes(zeros)).not.toContain("timestamp_milliseconds");
  });

  it.each([
    ["sha256=", (hex: string) => `sha256=${hex}`, ["signature_prefix"]],
    ["v1=", (hex: string) => `v1=${hex}`, ["signature_prefix"]],
    ["uppercase", (hex: string) => hex.toUpperCase(), ["signature_uppercase"]],
    ["base64", (hex: string) => Buffer.from(hex, "hex").toString("base64"), ["signature_base64"]],
    [
      "prefix and uppercase",
      (hex: string) => `sha256=${hex.toUpperCase()}`,
      ["signature_prefix", "signature_uppercase"],
    ],
  ])("recognises a signature written as %s", (_label, write, expected) => {
    expect(codes(run(COMPACT, write(sign(SECRET, TS, COMPACT))))).toEqual(expected);
  });

  it.each([
    ["uppercase", (hex: string) => hex.toUpperCase(), ["signature_uppercase", "different_secret"]],
    ["sha256=", (hex: string) => `sha256=${hex}`, ["signature_prefix", "different_secret"]],
    ["base64", (hex: string) => Buffer.from(hex, "hex").toString("base64"), ["signature_base64", "different_secret"]],
  ])(
    "names a %s digest made with another secret as both, not as 'not an HMAC-SHA256 digest'",
    (_l, write, expected) => {
      expect(codes(run(COMPACT, write(sign("another_secret", TS, COMPACT))))).toEqual(expected);
    },
  );

  it("reads each value of a comma-joined X-Signature (a repeated header joined, a Stripe-style t=…,v1=…)", () => {
    const right = sign(SECRET, TS, COMPACT);
    expect(codes(run(COMPACT, `${sign("another_secret", TS, COMPACT)}, ${right}`))).toEqual(["signature_several"]);
    expect(codes(run(COMPACT, `t=${TS},v1=${right}`))).toEqual(["signature_several", "signature_prefix"]);
    expect(codes(run(COMPACT, `v1,${right}`))).toEqual(["signature_prefix"]);
    // Several values, none right: both named, not "not an HMAC-SHA256 digest".
    const wrong = sign("another_secret", TS, COMPACT);
    expect(codes(run(COMPACT, `${wrong},${wrong}`))).toEqual(["signature_several", "different_secret"]);
  });

  it("recognises a signer that signed one second and sent another in X-Timestamp", () => {
    const signedAt = String(Number(TS) - 7);
    const result = run(COMPACT, sign(SECRET, signedAt, COMPACT));
    expect(codes(result)).toEqual(["timestamp_signed_differs"]);
    expect(result.signatureFindings[0]?.summary).toMatch(/signed 7 seconds before X-Timestamp/);
    expect(codes(run(COMPACT, sign(SECRET, String(Number(TS) + 1), COMPACT)))).toEqual(["timestamp_signed_differs"]);
    // Farther off than a clock read twice: not this mistake.
    expect(codes(run(COMPACT, sign(SECRET, String(Number(TS) - 60), COMPACT)))).toEqual(["different_secret"]);
  });

  it("combines a signature format slip with a body mistake", () => {
    expect(codes(run(PRETTY, `sha256=${sign(SECRET, TS, COMPACT)}`))).toEqual([
      "signature_prefix",
      "body_reserialized",
    ]);
  });

  it("recognises an HMAC over the body alone", () => {
    expect(codes(run(COMPACT, hmacHex(SECRET, COMPACT)))).toEqual(["body_without_timestamp"]);
  });

  it("does not misdiagnose a plain wrong secret", () => {
    for (const other of ["another_secret", `${SECRET}x`, SECRET.slice(1)]) {
      const result = run(COMPACT, sign(other, TS, COMPACT));
      expect(codes(result)).toEqual(["different_secret"]);
    }
    const pretty = run(PRETTY, sign("another_secret", TS, PRETTY));
    expect(codes(pretty)).toEqual(["different_secret"]);
  });

  it("spots an API key used as the secret", () => {
    expect(codes(run(COMPACT, sign(SECRET, TS, COMPACT), { secret: "om_live_abc123" }))).toEqual(["api_key_as_secret"]);
  });

  it("reports the timestamp age against the tolerance, past and future", () => {
    const signature = sign(SECRET, TS, COMPACT);
    const stale = run(COMPACT, signature, { now: Number(TS) + 400 });
    expect(stale.timestampFinding).toMatchObject({ code: "timestamp_stale" });
    expect(stale.timestampFinding?.summary).toContain("400 s old");
    const future = run(COMPACT, signature, { now: Number(TS) - 360 });
    expect(future.timestampFinding).toMatchObject({ code: "timestamp_future" });
    expect(future.timestampFinding?.summary).toContain("360 s in the future");
  });

  it("still diagnoses a body nested deeper than the re-serialisers can write back", () => {
    const depth = 5000;
    const deep = `{"event":"message.received","x":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    expect(() => JSON.stringify(JSON.parse(deep))).toThrow(RangeError);
    const result = run(deep, "0".repeat(64));
    expect(result.verdict.valid).toBe(false);
    expect(codes(result)).not.toContain("body_reserialized");
    // A shallower body re-serialised by the sender is still explained.
    const shallow = `{"x":${"[".repeat(50)}${"]".repeat(50)}}`;
    const pretty = JSON.stringify(JSON.parse(shallow), null, 2);
    expect(codes(run(pretty, sign(SECRET, TS, shallow)))).toContain("body_reserialized");
  });

  it("explains missing headers", () => {
    const result = diagnose({ body: COMPACT, headers: { "x-timestamp": TS }, secret: SECRET, now: NOW });
    expect(codes(result)).toEqual(["missing_headers"]);
  });
});

describe("pythonDumps", () => {
  it("writes what Python's json.dumps writes", () => {
    expect(pythonDumps({ a: [1, "é"], b: { c: null, d: true } }, true)).toBe(
      '{"a": [1, "\\u00e9"], "b": {"c": null, "d": true}}',
    );
    expect(pythonDumps({ a: "é😀" }, false)).toBe('{"a": "é😀"}');
    expect(pythonDumps({ a: "😀" }, true)).toBe('{"a": "\\ud83d\\ude00"}');
  });
});
