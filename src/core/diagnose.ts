/**
 * Explain why a signature does not verify, by trying the mistakes people really make and naming
 * the one that reproduces the signature. Pure: no I/O.
 */
import {
  getHeader,
  hmacHex,
  type RawBody,
  SIGNATURE_HEADER,
  signAnyKey,
  signaturesEqual,
  TIMESTAMP_HEADER,
  type TimestampCheck,
  type Verdict,
  type VerifyInput,
  verify,
} from "./signature.js";
import { isMillisecondsHeader } from "./verification.js";

export type MistakeCode =
  | "body_reserialized"
  | "trailing_newline_added"
  | "trailing_newline_stripped"
  | "line_endings_changed"
  | "byte_order_mark"
  | "secret_whitespace"
  | "secret_quotes"
  | "timestamp_milliseconds"
  | "timestamp_signed_differs"
  | "signature_prefix"
  | "signature_uppercase"
  | "signature_base64"
  | "signature_several"
  | "body_without_timestamp"
  | "timestamp_without_dot"
  | "api_key_as_secret"
  | "empty_secret"
  | "body_not_raw"
  | "different_secret"
  | "signature_malformed"
  | "timestamp_malformed"
  | "missing_headers"
  | "timestamp_stale"
  | "timestamp_future";

export interface Finding {
  code: MistakeCode;
  /** What happened, in plain words. */
  summary: string;
  /** What to change. */
  fix: string;
}

export interface Diagnosis {
  verdict: Verdict;
  /** Why the signature does not match; absent when it matches. Several when mistakes combine. */
  signatureFindings: Finding[];
  /** Why the timestamp is rejected (stale, future, milliseconds); absent when it is fine. */
  timestampFinding?: Finding;
}

const SECRET_FIX = "set the webhook secret shown in the OpenMail dashboard (Settings, Webhook secret)";

const RAW_BODY_FIX =
  "verify the raw body bytes before any JSON parsing: express.raw({ type: 'application/json' }) in Express, request.get_data() in Flask, await request.text() in fetch-style handlers";

interface BodyVariant {
  body: RawBody;
  finding: Finding;
}

interface SecretVariant {
  secret: string;
  finding: Finding;
}

interface SignatureReading {
  hex: string;
  findings: Finding[];
}

/** Run `verify`, and when it fails say which mistake explains it. */
export function diagnose(input: VerifyInput): Diagnosis {
  const verdict = verify(input);
  const argumentFinding = explainArgumentMistake(verdict);
  if (argumentFinding) return { verdict, signatureFindings: [argumentFinding] };
  const signatureHeader = getHeader(input.headers, SIGNATURE_HEADER)?.trim() ?? "";
  const timestampHeader = getHeader(input.headers, TIMESTAMP_HEADER)?.trim() ?? "";

  if (!signatureHeader || !timestampHeader) {
    return {
      verdict,
      signatureFindings: [
        {
          code: "missing_headers",
          summary: `the request has no ${!signatureHeader ? "X-Signature" : "X-Timestamp"} header`,
          fix: "capture the request as it arrived (a proxy or a log may have dropped headers); OpenMail always sends X-Timestamp, X-Signature and X-Event-Id",
        },
      ],
    };
  }

  // Only a signature that was compared and failed has a cause to find ("skipped": the timestamp was unreadable).
  const signatureFindings =
    verdict.checks.signature === "fail"
      ? explainWithEachSecret(input, signatureHeader, timestampHeader, verdict.reason === "malformed_signature")
      : [];
  return { verdict, signatureFindings, timestampFinding: explainTimestamp(verdict.timestamp, timestampHeader) };
}

/** A mistake in verify's arguments (no secret, a parsed body, no headers), as a finding. */
function explainArgumentMistake(verdict: Verdict): Finding | undefined {
  switch (verdict.reason) {
    case "secret_missing":
      return { code: "empty_secret", summary: verdict.message.split(":")[0] ?? verdict.message, fix: SECRET_FIX };
    case "body_not_raw":
      return { code: "body_not_raw", summary: verdict.message.split(":")[0] ?? verdict.message, fix: RAW_BODY_FIX };
    case "headers_missing":
      return {
        code: "missing_headers",
        summary: "no headers were given to verify",
        fix: "pass the request's headers (req.headers in Node, request.headers in a fetch handler)",
      };
    default:
      return undefined;
  }
}

/** With several secrets (a rotation), the first one whose mistakes explain the signature. */
function explainWithEachSecret(
  input: VerifyInput,
  signatureHeader: string,
  timestamp: string,
  malformed: boolean,
): Finding[] {
  const secrets = typeof input.secret === "string" ? [input.secret] : (input.secret ?? []).filter(isSet);
  let first: Finding[] | undefined;
  for (const secret of secrets) {
    const findings = explainSignature(secret, input, signatureHeader, timestamp);
    // Not an HMAC-SHA256 in any encoding: no secret can explain it, the header itself is wrong. One in a
    // recognised form (uppercase, prefixed, base64) is a digest: its findings say the form, then the rest.
    if (malformed && findings.some((finding) => UNEXPLAINED.has(finding.code)) && !findings.some(isFormatFinding))
      return [malformedSignatureFinding(signatureHeader)];
    if (!findings.some((finding) => UNEXPLAINED.has(finding.code))) return findings;
    first ??= findings;
  }
  return first ?? [];
}

const UNEXPLAINED = new Set<MistakeCode>(["different_secret", "api_key_as_secret", "empty_secret"]);
const SIGNATURE_FORMATS = new Set<MistakeCode>([
  "signature_prefix",
  "signature_uppercase",
  "signature_base64",
  "signature_several",
]);
const isFormatFinding = (finding: Finding) => SIGNATURE_FORMATS.has(finding.code);
const isSet = (secret: string | undefined): secret is string => typeof secret === "string" && secret !== "";

function explainSignature(secret: string, input: VerifyInput, signatureHeader: string, timestamp: string): Finding[] {
  const readings = readSignature(signatureHeader);
  const raw = input.body;
  const body = Buffer.isBuffer(raw) ? raw : typeof raw === "string" ? Buffer.from(raw) : Buffer.from(raw as Uint8Array);
  const attempts: Array<{ expected: () => string; findings: Finding[] }> = [];

  attempts.push({ expected: () => signAnyKey(secret, timestamp, body), findings: [] });
  for (const variant of bodyVariants(body)) {
    attempts.push({ expected: () => signAnyKey(secret, timestamp, variant.body), findings: [variant.finding] });
  }
  for (const variant of secretVariants(secret)) {
    attempts.push({ expected: () => signAnyKey(variant.secret, timestamp, body), findings: [variant.finding] });
  }
  for (const variant of timestampVariants(timestamp)) {
    attempts.push({ expected: () => signAnyKey(secret, variant, body), findings: [millisecondsFinding(timestamp)] });
  }
  for (const offset of nearbySeconds(timestamp)) {
    attempts.push({
      expected: () => signAnyKey(secret, String(Number(timestamp) + offset), body),
      findings: [signedAnotherSecondFinding(offset)],
    });
  }
  // Both slips at once: the header in milliseconds, the signed seconds read at another moment. One
  // finding says both (two, "milliseconds" and "a different secret", contradicted each other).
  const headerSeconds = secondsOfMilliseconds(timestamp);
  if (headerSeconds !== undefined) {
    for (const offset of nearbySeconds(headerSeconds)) {
      attempts.push({
        expected: () => signAnyKey(secret, String(Number(headerSeconds) + offset), body),
        findings: [millisecondsAndAnotherSecondFinding(offset)],
      });
    }
  }
  attempts.push({
    expected: () => hmacHex(secret, body),
    findings: [
      {
        code: "body_without_timestamp",
        summary: "the signature matches an HMAC of the body alone, without the timestamp",
        fix: 'sign and verify X-Timestamp + "." + raw body: the timestamp, a dot, then the raw body',
      },
    ],
  });
  attempts.push({
    expected: () => hmacHex(secret, Buffer.concat([Buffer.from(timestamp), body])),
    findings: [
      {
        code: "timestamp_without_dot",
        summary: "the signature matches the timestamp and body joined without the dot",
        fix: 'put a "." between the timestamp and the body: X-Timestamp + "." + raw body',
      },
    ],
  });

  for (const attempt of attempts) {
    const expected = attempt.expected();
    for (const reading of readings) {
      if (signaturesEqual(expected, reading.hex)) return [...reading.findings, ...attempt.findings];
    }
  }
  // A digest in a recognised wrong form that still matches nothing: name the form and the likelier cause.
  const formats = readings[1]?.findings ?? [];
  const unexplained = unexplainedFinding(secret, secondsOfMilliseconds(timestamp) !== undefined);
  if (formats.length === 0) return [unexplained];
  return [...formats, { ...unexplained, summary: `read past that, ${unexplained.summary}` }];
}

/** How far apart a signer's two clock readings can be: it signed one second and sent another. */
const NEARBY_SECONDS = 10;

/** Seconds around X-Timestamp (nearest first) a signature may have been made over instead. */
function nearbySeconds(timestamp: string): number[] {
  if (!/^\d{1,12}$/.test(timestamp)) return [];
  const offsets: number[] = [];
  for (let distance = 1; distance <= NEARBY_SECONDS; distance += 1) offsets.push(-distance, distance);
  return offsets;
}

/** The unix seconds of a header in milliseconds (isMillisecondsHeader), else undefined. */
function secondsOfMilliseconds(timestamp: string): string | undefined {
  return isMillisecondsHeader(timestamp) ? timestamp.slice(0, -3) : undefined;
}

function millisecondsAndAnotherSecondFinding(offset: number): Finding {
  const seconds = Math.abs(offset);
  return {
    code: "timestamp_milliseconds",
    summary: `X-Timestamp is in milliseconds, and the signature was made over unix seconds ${seconds} ${seconds === 1 ? "second" : "seconds"} ${offset < 0 ? "before" : "after"} it: the signer read the clock twice, in seconds to sign and in milliseconds for the header`,
    fix: "read the time once, in unix seconds (Math.floor(Date.now() / 1000)), and use that same value in the signed string and in X-Timestamp",
  };
}

function signedAnotherSecondFinding(offset: number): Finding {
  const seconds = Math.abs(offset);
  const unit = seconds === 1 ? "second" : "seconds";
  return {
    code: "timestamp_signed_differs",
    summary: `the signature matches the body signed ${seconds} ${unit} ${offset < 0 ? "before" : "after"} X-Timestamp: the signer read the clock twice, once to sign and once for the header`,
    fix: "read the time once and use that same value in the signed string and in X-Timestamp",
  };
}

/** The header value read as-is, and read past the format slips people make. */
function readSignature(header: string): SignatureReading[] {
  const readings: SignatureReading[] = [{ hex: header, findings: [] }];
  // "v1,<hex>" is one value with a prefix (read below), not two values.
  const severalValues = header.includes(",") && !/^(sha256|sha-256|hmac-sha256|v1)\s*,[^,]*$/i.test(header);
  const parts = severalValues ? header.split(",").map((part) => part.trim()) : [];
  if (parts.length > 1) {
    // A proxy that joins repeated headers, or a Stripe-style "t=…,v1=…" value: each part is read.
    const several: Finding = {
      code: "signature_several",
      summary: `X-Signature holds ${parts.length} comma-separated values`,
      fix: "send one X-Signature, the bare lowercase hex HMAC (no repeated header, no t=…,v1=… scheme), and compare against that one value",
    };
    for (const part of parts) {
      const reading = readSignatureForm(part);
      readings.push({ hex: reading.hex, findings: [several, ...reading.findings] });
    }
    return readings;
  }
  const form = readSignatureForm(header);
  if (form.findings.length > 0) readings.push(form);
  return readings;
}

/** One signature value read past the format slips people make (prefix, uppercase, base64). */
function readSignatureForm(header: string): SignatureReading {
  let value = header;
  const findings: Finding[] = [];
  const prefix = /^(sha256|sha-256|hmac-sha256|v1)\s*[=,:]\s*/i.exec(value);
  if (prefix) {
    value = value.slice(prefix[0].length);
    findings.push({
      code: "signature_prefix",
      summary: `the signature carries a "${prefix[0].trim()}" prefix`,
      fix: "OpenMail's X-Signature is bare lowercase hex: send or compare it without a prefix",
    });
  }
  if (/^[0-9a-fA-F]{64}$/.test(value) && value !== value.toLowerCase()) {
    value = value.toLowerCase();
    findings.push({
      code: "signature_uppercase",
      summary: "the signature is uppercase hex",
      fix: "use lowercase hex (.digest('hex') in Node, .hexdigest() in Python), or compare the decoded bytes",
    });
  } else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === 32) {
      value = bytes.toString("hex");
      findings.push({
        code: "signature_base64",
        summary: "the signature is base64, not hex",
        fix: "encode the HMAC as lowercase hex (.digest('hex')), not base64",
      });
    }
  }
  return { hex: value, findings };
}

function bodyVariants(body: Buffer): BodyVariant[] {
  const variants: BodyVariant[] = [];
  const text = body.toString("utf8");
  const newlineFix = "keep the body byte for byte: no added or removed newline (check editors, `echo`, and log copies)";
  variants.push({
    body: Buffer.concat([body, Buffer.from("\n")]),
    finding: {
      code: "trailing_newline_stripped",
      summary: "the signature matches the body with a trailing newline: the body checked lost its final newline",
      fix: newlineFix,
    },
  });
  variants.push({
    body: Buffer.concat([body, Buffer.from("\r\n")]),
    finding: {
      code: "trailing_newline_stripped",
      summary: "the signature matches the body with a trailing CRLF: the body checked lost its final line break",
      fix: newlineFix,
    },
  });
  const stripped = text.replace(/\r?\n$/, "");
  if (stripped !== text) {
    variants.push({
      body: Buffer.from(stripped),
      finding: {
        code: "trailing_newline_added",
        summary: "the signature matches the body without its trailing newline: a newline was added after signing",
        fix: newlineFix,
      },
    });
  }
  if (text.includes("\r\n")) {
    variants.push({ body: text.replace(/\r\n/g, "\n"), finding: lineEndingFinding("CRLF", "LF") });
  } else if (text.includes("\n")) {
    variants.push({ body: text.replace(/\n/g, "\r\n"), finding: lineEndingFinding("LF", "CRLF") });
  }
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    variants.push({
      body: body.subarray(3),
      finding: {
        code: "byte_order_mark",
        summary: "the signature matches the body without its leading byte-order mark (BOM)",
        fix: "save the body without a BOM; it was added after signing",
      },
    });
  }
  // Re-serialization comes last: a byte-level slip is the simpler explanation when both fit.
  const parsed = parseJson(text);
  if (parsed.ok) {
    const value = parsed.value;
    const forms: Array<[string, () => string]> = [
      ["compact JSON", () => JSON.stringify(value)],
      ["pretty-printed JSON (2 spaces)", () => JSON.stringify(value, null, 2)],
      ["pretty-printed JSON (4 spaces)", () => JSON.stringify(value, null, 4)],
      ["pretty-printed JSON (tabs)", () => JSON.stringify(value, null, "\t")],
      ["Python json.dumps() default output", () => pythonDumps(value, true)],
      ["Python json.dumps(ensure_ascii=False) output", () => pythonDumps(value, false)],
    ];
    for (const [label, build] of forms) {
      const form = serializedOrSkipped(build);
      if (form === undefined || form === text) continue;
      variants.push({
        body: form,
        finding: {
          code: "body_reserialized",
          summary: `the signature matches this JSON re-serialized as ${label}: the body checked is not the exact bytes that were signed, because something parsed the JSON and serialized it again`,
          fix: RAW_BODY_FIX,
        },
      });
    }
  }
  return variants;
}

function lineEndingFinding(from: string, to: string): Finding {
  return {
    code: "line_endings_changed",
    summary: `the signature matches the body with ${from} line endings turned into ${to}: the line endings were converted after signing`,
    fix: "keep the body byte for byte (git autocrlf, editors and copy-paste convert line endings)",
  };
}

function secretVariants(secret: string): SecretVariant[] {
  const variants: SecretVariant[] = [];
  const whitespace: Finding = {
    code: "secret_whitespace",
    summary: "the signature matches the secret without its surrounding whitespace or newline",
    fix: "remove the spaces or newline around the secret (a typical .env or copy-paste slip); OpenMail uses the secret exactly as shown in the dashboard",
  };
  const quotes: Finding = {
    code: "secret_quotes",
    summary: "the signature matches the secret without its surrounding quotes",
    fix: "remove the quotes that became part of the secret (for example OPENMAIL_WEBHOOK_SECRET=\"'abc'\" or a quoted value in a config file)",
  };
  const trimmed = secret.trim();
  if (trimmed !== secret) variants.push({ secret: trimmed, finding: whitespace });
  const unquoted = trimmed.replace(/^(["'])(.*)\1$/s, "$2");
  if (unquoted !== trimmed) variants.push({ secret: unquoted, finding: quotes });

  // The other side may be the one with the slip: the signer's secret carried the extra characters.
  const signerWhitespace: Finding = {
    code: "secret_whitespace",
    summary:
      "the signature matches the secret with a trailing newline or surrounding whitespace: the signer's copy of the secret carries it",
    fix: "remove the newline or spaces around the secret where the request was signed (a typical .env or `echo` slip)",
  };
  const signerQuotes: Finding = {
    code: "secret_quotes",
    summary: "the signature matches the secret wrapped in quotes: the signer's copy of the secret includes them",
    fix: "remove the quotes from the secret where the request was signed",
  };
  variants.push({ secret: `${secret}\n`, finding: signerWhitespace });
  variants.push({ secret: `${secret}\r\n`, finding: signerWhitespace });
  variants.push({ secret: ` ${secret}`, finding: signerWhitespace });
  variants.push({ secret: `${secret} `, finding: signerWhitespace });
  variants.push({ secret: `"${secret}"`, finding: signerQuotes });
  variants.push({ secret: `'${secret}'`, finding: signerQuotes });
  return variants;
}

/** The header in milliseconds read as the seconds signed, or the header in seconds signed as milliseconds. */
function timestampVariants(timestamp: string): string[] {
  const seconds = secondsOfMilliseconds(timestamp);
  if (seconds !== undefined) return [seconds];
  return /^\d{1,12}$/.test(timestamp) ? [`${timestamp}000`] : [];
}

function millisecondsFinding(timestamp: string): Finding {
  return {
    code: "timestamp_milliseconds",
    summary: isMillisecondsHeader(timestamp)
      ? "X-Timestamp is in milliseconds but the signature was made over the same time in seconds"
      : "the signature was made over the timestamp in milliseconds, but X-Timestamp carries seconds",
    fix: "use unix seconds for both the header and the signed string (Math.floor(Date.now() / 1000))",
  };
}

function malformedSignatureFinding(header: string): Finding {
  return {
    code: "signature_malformed",
    summary: `X-Signature is not an HMAC-SHA256 digest: ${header.length} characters (${JSON.stringify(header.slice(0, 20))}${header.length > 20 ? "…" : ""}), where OpenMail sends 64 lowercase hex characters`,
    fix: 'send the lowercase hex HMAC-SHA256 of X-Timestamp + "." + raw body, and check that nothing truncates or replaces the header on the way',
  };
}

/** `millisecondsTried`: X-Timestamp is in milliseconds, and its seconds were tried too (and did not explain it). */
function unexplainedFinding(secret: string, millisecondsTried = false): Finding {
  if (secret.length === 0) {
    return {
      code: "empty_secret",
      summary: "the secret is empty",
      fix: "set the webhook secret shown in the OpenMail dashboard (Settings, Webhook secret)",
    };
  }
  if (/^om_/.test(secret.trim())) {
    return {
      code: "api_key_as_secret",
      summary: "the secret looks like an OpenMail API key (om_...), not the webhook signing secret",
      fix: "use the webhook secret from Dashboard, Settings (or the webhookSecret returned for a per-inbox webhook), not the API key",
    };
  }
  return {
    code: "different_secret",
    summary: `no common mistake reproduces the signature${millisecondsTried ? ", with X-Timestamp read as milliseconds or as seconds" : ""}: the request was most likely signed with a different secret (or the body was changed beyond re-formatting)`,
    fix: "check that the secret is the one for this webhook URL (account webhook versus a per-inbox webhookSecret; a rotated secret stops working at once)",
  };
}

/** `check` is the verdict's own (judged at verify's `now`, a Date or seconds): there when both headers are. */
function explainTimestamp(check: TimestampCheck | undefined, raw: string): Finding | undefined {
  if (check === undefined || check.within) return undefined;
  const tolerance = check.toleranceSeconds;
  // Says nothing about what was signed: the signature findings do that when a variant matches.
  if (isMillisecondsHeader(raw)) {
    return {
      code: "timestamp_milliseconds",
      summary: `X-Timestamp ${raw.slice(0, 20)} is in milliseconds; OpenMail sends unix seconds`,
      fix: "use unix seconds for both the header and the signed string (Math.floor(Date.now() / 1000))",
    };
  }
  if (check.ageSeconds === undefined) {
    return {
      code: "timestamp_malformed",
      summary: `X-Timestamp ${JSON.stringify(raw.slice(0, 40))} is not unix seconds`,
      fix: "send the unix time in whole seconds, for example 1711015501",
    };
  }
  if (check.ageSeconds > 0) {
    return {
      code: "timestamp_stale",
      summary: `the timestamp is ${check.ageSeconds} s old, beyond the ${tolerance} s tolerance: a receiver rejects it as a possible replay`,
      fix: "re-sign it with a fresh timestamp (openmail-hooks replay does this), or judge it at another time with --now",
    };
  }
  return {
    code: "timestamp_future",
    summary: `the timestamp is ${-check.ageSeconds} s in the future, beyond the ${tolerance} s tolerance`,
    fix: "check the clocks: the sender's or the receiver's is off (sync it with NTP)",
  };
}

/**
 * A re-serialised form, or undefined when the JSON nests deeper than the serialiser's stack allows.
 * JSON.parse accepts far deeper input than JSON.stringify and pythonDumps can write back, and anyone who
 * can reach a webhook URL can send such a body: that form is then simply not a candidate, instead of the
 * whole diagnosis throwing.
 */
function serializedOrSkipped(build: () => string): string | undefined {
  try {
    return build();
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** What Python's json.dumps() writes: ", " and ": " separators, and \uXXXX escapes when ensureAscii. */
export function pythonDumps(value: unknown, ensureAscii: boolean): string {
  if (value === null || typeof value !== "object") {
    const json = JSON.stringify(value) ?? "null";
    return ensureAscii ? asciiEscape(json) : json;
  }
  if (Array.isArray(value)) return `[${value.map((item) => pythonDumps(item, ensureAscii)).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([key, item]) => `${pythonDumps(key, ensureAscii)}: ${pythonDumps(item, ensureAscii)}`,
  );
  return `{${entries.join(", ")}}`;
}

function asciiEscape(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
