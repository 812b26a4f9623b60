/**
 * The capture format shared by `listen`, `send-test --save`, `replay` and `verify`, and the
 * reader for raw HTTP request dumps. Pure: bytes and objects in, bytes and objects out.
 *
 * { "format": "openmail-hooks.capture/v1", "receivedAt", "method", "path",
 *   "headers": { lower-cased name: value }, "body": UTF-8 text | "bodyBase64": base64 }
 * Extra top-level fields (verification, forward result) are allowed and preserved.
 */

export const CAPTURE_FORMAT = "openmail-hooks.capture/v1";
/** Where listen saves captures unless told otherwise (--save-dir), and where replay looks by default. */
export const DEFAULT_CAPTURE_DIR = ".openmail-hooks/events";

/** One HTTP request as it arrived: the body is the exact bytes. */
export interface CapturedRequest {
  receivedAt: string;
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface CaptureFile {
  format: typeof CAPTURE_FORMAT;
  receivedAt: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  bodyBase64?: string;
  [extra: string]: unknown;
}

/** Thrown for input that is not a capture or a raw request; the message names the problem. */
export class CaptureFormatError extends Error {
  override name = "CaptureFormatError";
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The body as text when its bytes are valid UTF-8 (a BOM is kept), otherwise undefined. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A header map with no prototype, so names like "constructor" or "__proto__" are plain entries
 * (with a normal object, "constructor" read back Object's function and "__proto__" vanished).
 */
export function emptyHeaders(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function addHeader(out: Record<string, string>, name: string, value: string): void {
  const key = lowerName(name);
  // `out` has no prototype and holds only strings: undefined means not there yet.
  const before = out[key];
  out[key] = before === undefined ? value : `${before}, ${value}`;
}

/**
 * Header names lower-cased, remembered: a receiver sees the same few names in every request, and
 * toLowerCase made a new string of each mixed-case one every time (a third of listen's header map's
 * cost per event, notes-p7). Bounded: names of up to 64 characters, the first 256 different ones.
 */
const lowerNames = new Map<string, string>();
function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < 256 && name.length <= 64) lowerNames.set(name, lower);
  }
  return lower;
}

/**
 * Is this valid UTF-8? Checked a slice at a time, so a 10 MB body is never decoded into one more
 * 10-20 MB string just to find out (Node's buffer.isUtf8 would do, but this module is also bundled
 * for Web runtimes).
 */
export function isUtf8(bytes: Uint8Array): boolean {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    for (let start = 0; start < bytes.length; start += UTF8_CHECK_BYTES) {
      decoder.decode(bytes.subarray(start, start + UTF8_CHECK_BYTES), { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

const UTF8_CHECK_BYTES = 64 * 1024;

/** Lower-case header names and join repeated values, as Node's IncomingMessage would. */
export function normalizeHeaders(
  headers: Record<string, string | readonly string[] | number | undefined>,
): Record<string, string> {
  const out = emptyHeaders();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    addHeader(out, name, Array.isArray(value) ? value.join(", ") : String(value));
  }
  return out;
}

/** Headers from Node's rawHeaders ([name, value, name, value, ...]), every one kept. */
export function headersFromRaw(rawHeaders: readonly string[]): Record<string, string> {
  const out = emptyHeaders();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) addHeader(out, rawHeaders[i] ?? "", rawHeaders[i + 1] ?? "");
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (whitespace between groups allowed): Node's decoder silently skips anything else. */
function decodeBase64Strict(text: string): Uint8Array | undefined {
  const compact = text.replace(/[\r\n\t ]+/g, "");
  return BASE64.test(compact) ? Buffer.from(compact, "base64") : undefined;
}

export function toCaptureFile(request: CapturedRequest, extra: Record<string, unknown> = {}): CaptureFile {
  const bytes = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  // A small body (every webhook) is checked and decoded in one pass; a large one is checked a slice at a time.
  const text =
    bytes.length <= UTF8_CHECK_BYTES ? utf8OrUndefined(bytes) : isUtf8(bytes) ? bytes.toString("utf8") : undefined;
  const bodyField = text !== undefined ? { body: text } : { bodyBase64: bytes.toString("base64") };
  return captureWith(request, bodyField, extra);
}

function captureWith(
  request: CapturedRequest,
  bodyField: { body: string } | { bodyBase64: string },
  extra: Record<string, unknown>,
): CaptureFile {
  return {
    format: CAPTURE_FORMAT,
    receivedAt: request.receivedAt,
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...bodyField,
    ...extra,
  };
}

export function serializeCapture(request: CapturedRequest, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(toCaptureFile(request, extra), null, 2)}\n`;
}

const BODY_PLACEHOLDER = "\u0000openmail-hooks:body\u0000";
/** A multiple of 3 (base64 groups) and of a UTF-8 slice's worth; small enough to stay cheap. */
const PIECE_BYTES = 48 * 1024;

/**
 * The same text as serializeCapture, in pieces: the body's JSON text is made a slice at a time,
 * so a 10 MB body is never held as one more 10-20 MB string (listen's memory bound).
 */
export function* serializeCapturePieces(
  request: CapturedRequest,
  extra: Record<string, unknown> = {},
): Generator<string> {
  const bytes = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  const text = isUtf8(bytes);
  const skeleton = JSON.stringify(
    captureWith(request, text ? { body: BODY_PLACEHOLDER } : { bodyBase64: BODY_PLACEHOLDER }, extra),
    null,
    2,
  );
  const parts = skeleton.split(JSON.stringify(BODY_PLACEHOLDER));
  if (parts.length !== 2) {
    // The placeholder also appeared elsewhere (a hostile header): fall back to the whole text.
    yield serializeCapture(request, extra);
    return;
  }
  yield `${parts[0]}"`;
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + PIECE_BYTES, bytes.length);
    // Never cut a UTF-8 sequence: back off continuation bytes (10xxxxxx).
    while (text && end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
    const slice = bytes.subarray(start, end);
    yield text ? JSON.stringify(slice.toString("utf8")).slice(1, -1) : slice.toString("base64");
    start = end;
  }
  yield `"${parts[1]}\n`;
}

/**
 * A body's bytes in memory of their own, not a slice of Node's shared 8 KiB pool: replay decodes
 * 100,000 captures, and a body still in flight when the young generation was collected pinned its
 * whole pool slab (and the other bodies in it) until the next full collection, about 20 MB at peak.
 */
function ownUtf8Bytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, "utf8"));
  bytes.write(text, "utf8");
  return bytes;
}

export function isCaptureObject(value: unknown): value is { format: unknown } {
  return typeof value === "object" && value !== null && "format" in value;
}

/** Read a parsed capture object back into a request. Throws CaptureFormatError naming the problem. */
export function fromCaptureObject(value: unknown): { request: CapturedRequest; extra: Record<string, unknown> } {
  const request = captureRequestOf(value);
  const { format, receivedAt, method, path, headers, body, bodyBase64, ...extra } = value as Record<string, unknown>;
  return { request, extra };
}

/**
 * fromCaptureObject's request alone: what replay reads from each capture it sends, without the
 * copy of the capture's other fields (in one pass over the headers, checked as they are copied).
 */
export function captureRequestOf(value: unknown): CapturedRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CaptureFormatError("not a capture: expected a JSON object");
  }
  const capture = value as Record<string, unknown>;
  const format = capture.format;
  if (format !== CAPTURE_FORMAT) {
    throw new CaptureFormatError(
      format === undefined
        ? `not a capture: no "format" field (expected "${CAPTURE_FORMAT}")`
        : `unsupported capture format ${JSON.stringify(format)} (expected "${CAPTURE_FORMAT}")`,
    );
  }
  const headers = capture.headers;
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new CaptureFormatError('capture has no "headers" object');
  }
  const normalized = emptyHeaders();
  for (const name of Object.keys(headers)) {
    const headerValue = (headers as Record<string, unknown>)[name];
    if (typeof headerValue !== "string") throw new CaptureFormatError(`capture header "${name}" is not a string`);
    addHeader(normalized, name, headerValue);
  }
  const { body, bodyBase64, receivedAt, method, path } = capture;
  let bytes: Uint8Array;
  if (typeof body === "string") bytes = ownUtf8Bytes(body);
  else if (typeof bodyBase64 === "string") {
    const decoded = decodeBase64Strict(bodyBase64);
    if (!decoded) throw new CaptureFormatError('capture "bodyBase64" is not valid base64');
    bytes = decoded;
  } else throw new CaptureFormatError('capture has neither "body" nor "bodyBase64"');
  return {
    receivedAt: typeof receivedAt === "string" ? receivedAt : "",
    method: typeof method === "string" ? method : "POST",
    path: typeof path === "string" ? path : "/",
    headers: normalized,
    body: bytes,
  };
}

const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/\d(?:\.\d)?$/;
/** What String.prototype.trim removes, among single bytes (latin1): tab, LF, VT, FF, CR, space, NBSP. */
const WHITESPACE_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

/** Does this text start like an HTTP request ("POST /webhooks HTTP/1.1")? */
export function looksLikeRawHttp(bytes: Uint8Array): boolean {
  // A request line starts with an upper-case method: anything else (a JSON document's "{") is
  // settled on its first byte, without decoding anything.
  let first = 0;
  while (first < bytes.length && WHITESPACE_BYTES.has(bytes[first] as number)) first += 1;
  const byte = bytes[first] ?? 0;
  if (byte < 0x41 || byte > 0x5a) return false;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 2048));
  const firstLine = head.toString("latin1").split(/\r?\n/, 1)[0] ?? "";
  return REQUEST_LINE.test(firstLine.trim());
}

/** Headers a request carries once: two of them (differing or not) are a request servers refuse or misread. */
const HEADERS_THAT_MUST_BE_SINGLE = ["content-length", "x-signature", "x-timestamp", "x-event-id"];

/**
 * Parse a raw HTTP/1.x request: request line, headers, blank line, body. Accepts CRLF or LF line
 * ends (copies from logs lose the CR), honours Content-Length and decodes chunked bodies.
 * `warnings` lists what was tolerated (for example extra bytes after Content-Length).
 */
export function parseRawHttpRequest(bytes: Uint8Array): { request: CapturedRequest; warnings: string[] } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { headEnd, bodyStart } = findHeadEnd(buffer);
  if (headEnd < 0) throw new CaptureFormatError("raw HTTP request has no blank line between headers and body");
  const lines = buffer.subarray(0, headEnd).toString("latin1").split(/\r?\n/);
  const requestLine = REQUEST_LINE.exec((lines.shift() ?? "").trim());
  if (!requestLine)
    throw new CaptureFormatError('first line is not an HTTP request line like "POST /webhooks HTTP/1.1"');

  const headers = emptyHeaders();
  const warnings: string[] = [];
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new CaptureFormatError(`malformed header line ${JSON.stringify(line.slice(0, 60))}`);
    const rawName = line.slice(0, colon);
    const name = rawName.trim().toLowerCase();
    if (rawName !== rawName.trimEnd()) {
      warnings.push(
        `header ${JSON.stringify(rawName.trim().slice(0, 40))} has whitespace before its colon: an HTTP server refuses such a request (400)`,
      );
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    // Header bytes are latin1 on the wire; re-read as UTF-8 so non-ASCII values survive.
    const value = Buffer.from(line.slice(colon + 1).trim(), "latin1").toString("utf8");
    addHeader(headers, name, value);
  }
  for (const name of HEADERS_THAT_MUST_BE_SINGLE) {
    const count = counts.get(name) ?? 0;
    if (count > 1) {
      warnings.push(
        `the request carries ${count} ${name} headers (read joined with ", "): a receiver takes one of them or refuses the request`,
      );
    }
  }

  let body: Uint8Array = buffer.subarray(bodyStart);
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
    body = decodeChunked(buffer.subarray(bodyStart));
  } else if (headers["content-length"] !== undefined) {
    const declared = /^\d+$/.test(headers["content-length"]) ? Number(headers["content-length"]) : Number.NaN;
    if (Number.isNaN(declared)) {
      warnings.push(
        `Content-Length ${JSON.stringify(headers["content-length"].slice(0, 40))} is not a byte count: an HTTP server refuses such a request (400); the whole rest of the dump is read as the body`,
      );
    } else {
      if (body.length > declared) {
        warnings.push(`ignored ${body.length - declared} byte(s) after the ${declared}-byte body (Content-Length)`);
        body = body.subarray(0, declared);
      } else if (body.length < declared) {
        warnings.push(`body is ${body.length} bytes but Content-Length says ${declared}: the dump may be cut short`);
      }
    }
  }
  return {
    request: {
      receivedAt: "",
      method: requestLine[1] ?? "POST",
      path: requestLine[2] ?? "/",
      headers,
      body: Buffer.from(body),
    },
    warnings,
  };
}

function findHeadEnd(buffer: Buffer): { headEnd: number; bodyStart: number } {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return { headEnd: -1, bodyStart: -1 };
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\n", offset);
    if (lineEnd < 0) throw new CaptureFormatError("chunked body ends before its last chunk");
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString("latin1").trim().split(";")[0] ?? "", 16);
    if (Number.isNaN(size)) throw new CaptureFormatError("chunked body has a malformed chunk size");
    offset = lineEnd + 1;
    if (size === 0) return Buffer.concat(parts);
    if (offset + size > data.length) throw new CaptureFormatError("chunked body is cut short");
    parts.push(data.subarray(offset, offset + size));
    offset += size;
    if (data[offset] === 0x0d) offset += 1;
    if (data[offset] === 0x0a) offset += 1;
  }
}

export interface ParsedDocument {
  kind: "capture" | "raw-http";
  request: CapturedRequest;
  extra: Record<string, unknown>;
  warnings: string[];
}

/**
 * Read one request from a document: a capture file or a raw HTTP request dump.
 * Throws CaptureFormatError saying what the bytes look like instead.
 */
export function parseRequestDocument(bytes: Uint8Array): ParsedDocument {
  const document = readDocument(bytes);
  if (document.kind === "raw-http") return { ...document, extra: {} };
  let value: unknown;
  try {
    value = JSON.parse(document.text);
  } catch {
    throw new CaptureFormatError(
      'neither a capture file (JSON) nor a raw HTTP request (first line like "POST /webhooks HTTP/1.1")',
    );
  }
  if (!isCaptureObject(value) && typeof value === "object" && value !== null && "event" in value) {
    throw new CaptureFormatError(
      "it is a bare event body without headers; give it with --body-file plus --timestamp and --signature",
    );
  }
  const { request, extra } = fromCaptureObject(value);
  return { kind: "capture", request, extra, warnings: [] };
}

/**
 * The first look at any input document: a raw HTTP request (parsed), or text to read as JSON or
 * NDJSON (a byte-order mark dropped). Empty input is refused here, once for every reader.
 */
export function readDocument(
  bytes: Uint8Array,
): { kind: "raw-http"; request: CapturedRequest; warnings: string[] } | { kind: "text"; text: string } {
  if (looksLikeRawHttp(bytes)) return { kind: "raw-http", ...parseRawHttpRequest(bytes) };
  // Decoded from a view of the bytes (not a copy), and checked for content without trimming a copy.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString("utf8")
    .replace(/^\uFEFF/, "");
  if (!/\S/.test(text)) throw new CaptureFormatError("it is empty");
  return { kind: "text", text };
}

/**
 * A capture's file name: the time it arrived and the event id, reduced to [A-Za-z0-9_-] so an id
 * like "../../x" or one with control characters can never leave the folder or confuse a terminal.
 */
export function captureFileName(receivedAt: string, eventId: string | undefined): string {
  let time = fileSafeTime(receivedAt || new Date(0).toISOString());
  // A receivedAt read from a file (redact's input) can be anything: a name starting with "-" would be
  // read as an option by the next command (`verify *`). Ours start with the year's digit: one test.
  const first = time.charCodeAt(0);
  if (!(first >= 48 && first <= 57)) {
    const parsed = Date.parse(receivedAt);
    time = Number.isFinite(parsed) ? fileSafeTime(new Date(parsed).toISOString()) : "unknown-time";
  }
  return `${time}_${fileSafeEventId(eventId) || "no-event-id"}.json`;
}

function fileSafeTime(time: string): string {
  return time.replace(/[:.]/g, "-").replace(/[^0-9A-Za-z-]/g, "");
}

const CAPTURE_NAME = /(?:^|[/\\])(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z_([A-Za-z0-9_-]+)\.json$/;

/**
 * Read back what captureFileName wrote: the arrival time, and the file-safe event id (which may
 * end in "-N" when a name clashed). Undefined for files named some other way.
 */
export function parseCaptureFileName(path: string): { receivedAt: string; fileEventId: string } | undefined {
  const match = CAPTURE_NAME.exec(path);
  if (!match) return undefined;
  const [, date, hours, minutes, seconds, millis, fileEventId = ""] = match;
  return { receivedAt: `${date}T${hours}:${minutes}:${seconds}.${millis}Z`, fileEventId };
}

/** Is this a name captureFileName wrote? parseCaptureFileName's answer without its fields. */
export function isCaptureFileName(path: string): boolean {
  return CAPTURE_NAME.test(path);
}

/** The event id as it appears in a capture file name (empty when nothing safe is left). */
export function fileSafeEventId(eventId: string | undefined): string {
  return (eventId ?? "")
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^[_-]+|[_-]+$/g, "")
    .slice(0, 64);
}
