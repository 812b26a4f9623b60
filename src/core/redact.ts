/**
 * Redaction of captures, so they can go into a bug report: addresses, names, subject and body text,
 * attachment names, URLs and extracted text are replaced by placeholders of the same shape, and the
 * body is signed again so the capture still verifies. Placeholders come from an HMAC keyed with the
 * webhook secret: the same address always becomes the same placeholder (across a folder, and
 * across runs with the same secret), and nobody without the secret can test a guess. Pure.
 */
import { createHmac } from "node:crypto";
import { isStackOverflow } from "../errors.js";
import { type CapturedRequest, utf8OrUndefined } from "./capture.js";
import { sign } from "./signature.js";

export const REDACTED_DOMAIN = "example.com";

export interface Redactor {
  /** "Name <addr>" or a bare address. */
  mailbox(value: string): string;
  address(value: string): string;
  name(value: string): string;
  /** Subject, body and extracted text: every letter x/X, every digit 0; spacing and punctuation kept. */
  text(value: string): string;
  filename(value: string): string;
  url(value: string, filename?: string): string;
}

export function createRedactor(key: string): Redactor {
  const tag = (kind: string, value: string) =>
    createHmac("sha256", key).update(`openmail-hooks redact\0${kind}\0${value}`).digest("hex").slice(0, 8);
  const address = (value: string) => `person-${tag("address", value.trim().toLowerCase())}@${REDACTED_DOMAIN}`;
  const name = (value: string) => `Person ${tag("name", value.trim().replace(/^"|"$/g, ""))}`;
  const filename = (value: string) => {
    const dot = value.lastIndexOf(".");
    const extension = dot > 0 && value.length - dot <= 6 ? value.slice(dot) : "";
    return `file-${tag("file", value)}${extension}`;
  };
  return {
    address,
    name,
    filename,
    mailbox(value) {
      const angle = /^\s*(.*?)\s*<([^<>]*)>\s*$/s.exec(value);
      if (!angle) return value.trim() === "" ? value : address(value);
      const shownName = angle[1] ?? "";
      return shownName ? `${name(shownName)} <${address(angle[2] ?? "")}>` : `<${address(angle[2] ?? "")}>`;
    },
    text: maskText,
    url(value, replacementName) {
      const match = /^(https:\/\/api\.openmail\.sh\/v1\/attachments\/[^/]+\/)/.exec(value);
      if (match?.[1] && replacementName) return `${match[1]}${encodeURIComponent(replacementName)}`;
      return `https://${REDACTED_DOMAIN}/redacted/${tag("url", value)}`;
    },
  };
}

export function maskText(value: string): string {
  return value.replace(/[\p{L}\p{M}\p{N}]/gu, (ch) => (/\p{N}/u.test(ch) ? "0" : /\p{Lu}/u.test(ch) ? "X" : "x"));
}

/** The event body with personal data replaced; unknown fields are kept unless they look like an address. */
export function redactEvent(event: unknown, redactor: Redactor): unknown {
  if (!isRecord(event)) return redactLoose(event, redactor);
  const out: Record<string, unknown> = { ...event };
  if (typeof out.inbox_address === "string") out.inbox_address = redactor.address(out.inbox_address);
  if (isRecord(out.message)) out.message = redactMessage(out.message, redactor);
  for (const [key, value] of Object.entries(out)) {
    if (key !== "message" && key !== "inbox_address") out[key] = redactLoose(value, redactor);
  }
  return out;
}

function redactMessage(message: Record<string, unknown>, redactor: Redactor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    switch (key) {
      case "from":
      case "to":
        out[key] = typeof value === "string" ? redactor.mailbox(value) : redactLoose(value, redactor);
        break;
      case "cc":
        out[key] = Array.isArray(value)
          ? value.map((item) => (typeof item === "string" ? redactor.mailbox(item) : redactLoose(item, redactor)))
          : redactLoose(value, redactor);
        break;
      case "subject":
      case "body_text":
        out[key] = typeof value === "string" ? redactor.text(value) : value;
        break;
      case "rfc_message_id":
        out[key] = typeof value === "string" ? `<${redactor.address(value).replace("person-", "msg-")}>` : value;
        break;
      case "attachments":
        out[key] = Array.isArray(value) ? value.map((item) => redactAttachment(item, redactor)) : value;
        break;
      default:
        out[key] = redactLoose(value, redactor);
    }
  }
  return out;
}

function redactAttachment(attachment: unknown, redactor: Redactor): unknown {
  if (!isRecord(attachment)) return redactLoose(attachment, redactor);
  const out: Record<string, unknown> = { ...attachment };
  const filename = typeof attachment.filename === "string" ? redactor.filename(attachment.filename) : undefined;
  if (filename !== undefined) out.filename = filename;
  if (typeof attachment.url === "string") out.url = redactor.url(attachment.url, filename);
  if (typeof attachment.parsedText === "string") out.parsedText = redactor.text(attachment.parsedText);
  return out;
}

/** Fields nobody documents: strings that hold an address are masked, everything else kept. */
function redactLoose(value: unknown, redactor: Redactor): unknown {
  if (typeof value === "string") return /[^\s@]@[^\s@]/.test(value) ? redactor.text(value) : value;
  if (Array.isArray(value)) return value.map((item) => redactLoose(item, redactor));
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactLoose(item, redactor)]));
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A body nested too deeply (JSON thousands of levels deep) for the field-by-field walk: it cannot
 * be redacted, and nothing unredacted may be written in its place.
 */
export class NestedTooDeeplyError extends Error {
  constructor() {
    super("the body nests too deeply to redact (JSON thousands of levels deep)");
    this.name = "NestedTooDeeplyError";
  }
}

export interface RedactedCapture {
  request: CapturedRequest;
  /** Fields added to the capture file. */
  extra: { redacted: true; redaction: { resigned: boolean; note: string; headersReplaced: string[] } };
}

/**
 * Redact one captured request. The body is signed again, with the captured X-Timestamp, only when
 * the original signature matched `secret`: a capture that did not verify must not start to.
 * Placeholders are keyed with `placeholderKey` (the secret, unless one key must serve a folder
 * whose inboxes have different secrets).
 */
export function redactCapture(
  request: CapturedRequest,
  secret: string | undefined,
  placeholderKey = secret,
): RedactedCapture {
  if (placeholderKey === undefined) throw new Error("redactCapture needs a secret or a placeholder key");
  const redactor = createRedactor(placeholderKey);
  const text = utf8OrUndefined(request.body);
  let parsed: unknown;
  let json = false;
  if (text !== undefined) {
    try {
      parsed = JSON.parse(text);
      json = true;
    } catch {
      // Not JSON: the whole body is masked below.
    }
  }
  let body: Buffer;
  try {
    body = json
      ? Buffer.from(JSON.stringify(redactEvent(parsed, redactor)))
      : Buffer.from(maskText(text ?? Buffer.from(request.body).toString("latin1")));
  } catch (error) {
    if (isStackOverflow(error)) throw new NestedTooDeeplyError();
    throw error;
  }

  const { headers, replaced } = redactHeaders(request.headers);
  const timestamp = headers["x-timestamp"];
  const matched =
    secret !== undefined &&
    timestamp !== undefined &&
    headers["x-signature"]?.trim().toLowerCase() === sign(secret, timestamp, request.body);
  if (matched) headers["x-signature"] = sign(secret, timestamp, body);
  if (headers["content-length"] !== undefined) headers["content-length"] = String(body.length);
  const path = redactQuery(request.path);
  const headersNote =
    (replaced.length > 0 ? `; values of headers ${replaced.join(", ")} replaced` : "") +
    (path !== request.path ? "; query string values replaced" : "");
  return {
    request: { ...request, path, headers, body },
    extra: {
      redacted: true,
      redaction: matched
        ? {
            resigned: true,
            note: `personal data replaced${headersNote}; signed again with the same secret and X-Timestamp`,
            headersReplaced: replaced,
          }
        : {
            resigned: false,
            note: `personal data replaced${headersNote}; the original signature did not match a known secret, so it was not signed again`,
            headersReplaced: replaced,
          },
    },
  };
}

/**
 * Request headers whose values say nothing about a person or an account: OpenMail's own and the
 * transport's. Every other header is kept by name with its value replaced: what sits in front of
 * listen (a reverse proxy, a tunnel with basic auth, an access gateway) adds credentials
 * (Authorization, Cookie, cf-access-jwt-assertion) and the sender's address (X-Forwarded-For), and an
 * allow-list also covers the ones nobody thought of.
 */
const HEADERS_KEPT = new Set([
  "accept",
  "accept-encoding",
  "connection",
  "content-length",
  "content-type",
  "expect",
  "transfer-encoding",
  "user-agent",
  "x-event-id",
  "x-signature",
  "x-timestamp",
]);
/** What a redacted header value or query value becomes. */
const REDACTED_VALUE = "redacted";

/**
 * The request path with each query value replaced: a webhook URL often carries its guard token
 * (`/webhooks?token=…`) or an address there, and listen captures the path as received.
 */
function redactQuery(path: string): string {
  const mark = path.indexOf("?");
  if (mark < 0) return path;
  const query = path
    .slice(mark + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      return equals < 0 || equals === pair.length - 1 ? pair : `${pair.slice(0, equals)}=${REDACTED_VALUE}`;
    })
    .join("&");
  return `${path.slice(0, mark)}?${query}`;
}

function redactHeaders(original: Record<string, string>): { headers: Record<string, string>; replaced: string[] } {
  const headers: Record<string, string> = {};
  const replaced: string[] = [];
  for (const [name, value] of Object.entries(original)) {
    if (HEADERS_KEPT.has(name.toLowerCase())) {
      headers[name] = value;
    } else {
      headers[name] = REDACTED_VALUE;
      replaced.push(name);
    }
  }
  return { headers, replaced };
}
