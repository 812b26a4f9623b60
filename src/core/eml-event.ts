/**
 * The `message.received` event OpenMail would send for a real email (../shared/openmail-webhooks.md
 * §3.2 and §6.1): addresses, subject and the text a reader sees, a thread id derived from the
 * References chain, and every attachment with its real size, OpenMail's URL shape and the
 * extraction fields for its type. Pure: the parsed message, the clock and randomness come in.
 */
import { createHash } from "node:crypto";
import { decodeDeclared } from "./charset.js";
import { newId, type RandomHex } from "./fake-events.js";
import { htmlToText } from "./html-text.js";

export interface Mailbox {
  name: string;
  address: string;
}

export interface MailPart {
  /** As the message names it; null when the part has no file name. */
  filename: string | null;
  /** Lower-case MIME type. */
  contentType: string;
  content: Uint8Array;
  /** The part's declared charset, when the parser kept it. */
  charset?: string;
  contentId?: string;
}

/** What a parsed email says, independent of the MIME parser that read it. */
export interface MailFacts {
  from?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  subject?: string;
  messageId?: string;
  inReplyTo?: string;
  /** Message-IDs of the References header, oldest first. */
  references: string[];
  text?: string;
  html?: string;
  attachments: MailPart[];
}

export interface EmlEventOptions {
  now: Date;
  randomHex: RandomHex;
  eventId?: string;
  inboxId?: string;
  /** The receiving inbox address (default: the first To address). */
  inboxAddress?: string;
  attempt?: number;
}

export interface EmlEvent {
  event: Record<string, unknown>;
  /**
   * Attachments whose text OpenMail would extract (PDF, Office, OCR) but send-test cannot: their
   * extractionMethod is set and parsedText left out.
   */
  withoutText: Array<{ filename: string; method: string }>;
}

/** OpenMail skips text extraction above 10 MB and caps extracted text at 50,000 characters. */
export const EXTRACTION_LIMIT_BYTES = 10 * 1024 * 1024;
export const PARSED_TEXT_LIMIT = 50_000;
export const DEFAULT_INBOX_ADDRESS = "support@yourcompany.openmail.sh";

export function buildEmlEvent(mail: MailFacts, options: EmlEventOptions): EmlEvent {
  const { randomHex, now } = options;
  const messageId = newId("msg", randomHex);
  const occurred = new Date(now.getTime() - (300 + (Number.parseInt(randomHex(4), 16) % 1200)));
  const withoutText: EmlEvent["withoutText"] = [];
  const names = new Set<string>();
  const attachments = mail.attachments.map((part, index) => {
    const filename = uniqueName(part.filename?.trim() || fallbackName(part, index), names);
    const built = describeAttachment(part, filename, messageId);
    if (built.withoutText) withoutText.push({ filename, method: built.withoutText });
    return built.attachment;
  });
  return {
    event: {
      event: "message.received",
      event_id: options.eventId ?? newId("evt", randomHex),
      occurred_at: occurred.toISOString(),
      delivered_at: now.toISOString(),
      attempt: options.attempt ?? 1,
      inbox_id: options.inboxId ?? newId("inb", randomHex),
      thread_id: threadIdOf(mail) ?? newId("thr", randomHex),
      message: {
        id: messageId,
        rfc_message_id: mail.messageId ?? `<${randomHex(24)}@openmail-hooks.invalid>`,
        from: mail.from ? formatMailbox(mail.from) : "",
        to: options.inboxAddress ?? mail.to[0]?.address ?? DEFAULT_INBOX_ADDRESS,
        cc: mail.cc.map((mailbox) => mailbox.address),
        subject: mail.subject ?? "",
        body_text: bodyText(mail),
        attachments,
        received_at: occurred.toISOString(),
      },
    },
    withoutText,
  };
}

/** The text part, or the HTML part as a reader would see it; line ends as \n. */
export function bodyText(mail: Pick<MailFacts, "text" | "html">): string {
  if (mail.text !== undefined && mail.text.trim() !== "") return normalizeNewlines(mail.text);
  if (mail.html !== undefined) return htmlToText(normalizeNewlines(mail.html));
  return normalizeNewlines(mail.text ?? "");
}

function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** `Name <address>` (the name quoted when it holds specials), or the bare address. */
export function formatMailbox(mailbox: Mailbox): string {
  const name = mailbox.name.trim();
  if (!name) return mailbox.address;
  const shown = /[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/(["\\])/g, "\\$1")}"` : name;
  return `${shown} <${mailbox.address}>`;
}

/**
 * Every message of a conversation shares the thread of its first message: the oldest entry of
 * References, else In-Reply-To, else the message itself. Hashed so the id looks like OpenMail's.
 */
export function threadIdOf(mail: Pick<MailFacts, "references" | "inReplyTo" | "messageId">): string | undefined {
  const root = mail.references[0] ?? mail.inReplyTo ?? mail.messageId;
  if (!root) return undefined;
  return `thr_${createHash("sha256").update(root.trim().toLowerCase()).digest("hex").slice(0, 16)}`;
}

interface ExtractionRule {
  method: string;
  /** Whether send-test can produce the text itself (plain text formats) or only OpenMail can. */
  local: boolean;
}

const OFFICE_TYPES =
  /^application\/(msword|vnd\.ms-|vnd\.openxmlformats-officedocument\.|vnd\.oasis\.opendocument\.|rtf)/;

/** The extraction OpenMail documents for a content type (§6.1); undefined means "unsupported". */
export function extractionRule(contentType: string): ExtractionRule | undefined {
  if (contentType === "application/pdf") return { method: "pdf", local: false };
  if (contentType.startsWith("image/")) return { method: "ocr", local: false };
  if (OFFICE_TYPES.test(contentType)) return { method: "office", local: false };
  if (contentType === "text/csv") return { method: "csv", local: true };
  if (contentType.startsWith("text/") || contentType === "application/json" || contentType === "application/xml") {
    return { method: "text", local: true };
  }
  // Video, audio, archives and everything else: OpenMail answers "unsupported".
  return undefined;
}

function describeAttachment(
  part: MailPart,
  filename: string,
  messageId: string,
): { attachment: Record<string, unknown>; withoutText?: string } {
  const sizeBytes = part.content.byteLength;
  const base = {
    filename,
    contentType: part.contentType,
    sizeBytes,
    url: `https://api.openmail.sh/v1/attachments/${messageId}/${encodeURIComponent(filename)}`,
  };
  const rule = extractionRule(part.contentType);
  if (!rule) return { attachment: { ...base, extractionMethod: "unsupported" } };
  if (sizeBytes > EXTRACTION_LIMIT_BYTES) return { attachment: { ...base, extractionMethod: "skipped_too_large" } };
  if (!rule.local) {
    return {
      attachment: { ...base, extractionMethod: rule.method },
      withoutText: rule.method,
    };
  }
  let text = decodeDeclared(part.content, part.charset);
  if (part.contentType === "text/html") text = htmlToText(text);
  return {
    attachment: {
      ...base,
      parsedText: capText(normalizeNewlines(text), PARSED_TEXT_LIMIT),
      extractionMethod: rule.method,
    },
  };
}

/**
 * The first `limit` UTF-16 units, one fewer when the cut would split a surrogate pair: a lone
 * surrogate is not valid Unicode, and strict JSON decoders (Go, Rust's serde_json) alter or reject it.
 */
export function capText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const last = text.charCodeAt(limit - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? limit - 1 : limit);
}

const EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
  "application/pdf": "pdf",
  "text/plain": "txt",
  "text/html": "html",
  "text/csv": "csv",
  "text/calendar": "ics",
  "message/rfc822": "eml",
};

/** A part without a file name gets one from its position and type, as mail clients do. */
function fallbackName(part: MailPart, index: number): string {
  const extension = EXTENSIONS[part.contentType] ?? "bin";
  return `attachment-${index + 1}.${extension}`;
}

/** Two parts with one name would share one URL; number the later ones. */
function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const extension = dot > 0 ? name.slice(dot) : "";
  for (let n = 2; taken.has(candidate); n++) candidate = `${stem}-${n}${extension}`;
  taken.add(candidate);
  return candidate;
}
