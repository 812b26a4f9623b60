/**
 * Read .eml files (a file, a folder of them, or standard input) and parse them into MailFacts with
 * postal-mime, loaded only when an .eml is given so start-up stays fast. A message the parser would
 * quietly turn into nonsense (no header block, a multipart without its boundary) is refused with
 * one line naming the file, exit 2.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { decodeAs, repairWindows1252 } from "../core/charset.js";
import type { Mailbox, MailFacts } from "../core/eml-event.js";
import { inputError } from "../errors.js";
import { sanitizeLine } from "../output/sanitize.js";
import { describeReadError, readFileOrStdin, readRegularFile, type StdinReader } from "./request-input.js";

/** Larger than any mail OpenMail accepts (25 MB outbound, attachments base64-encoded). */
export const EML_SIZE_LIMIT = 64 * 1024 * 1024;

export interface EmlSource {
  /** The file name as given (or "standard input"), for messages. */
  name: string;
  bytes: Buffer;
}

/** Expand the given paths (files, folders of .eml files, "-") into sources, in order. */
export async function readEmlSources(paths: string[], readStdin: StdinReader): Promise<EmlSource[]> {
  const sources: EmlSource[] = [];
  for (const path of paths) {
    if (path === "-") {
      // Read with the limit (an endless stdin stops there), devices and FIFOs refused: request-input.ts.
      sources.push({ name: "standard input", bytes: await readFileOrStdin("-", readStdin, EML_SIZE_LIMIT) });
      continue;
    }
    const info = await stat(path).catch((error: unknown) => {
      throw inputError(describeReadError(path, error), error);
    });
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => name.toLowerCase().endsWith(".eml")).sort();
      if (names.length === 0) throw inputError(`${sanitizeLine(path)}: no .eml files in this folder`);
      for (const name of names) sources.push(await readOne(join(path, name)));
    } else {
      sources.push(await readOne(path, info.size));
    }
  }
  return sources;
}

async function readOne(path: string, size?: number): Promise<EmlSource> {
  const known = size ?? (await stat(path).catch(() => undefined))?.size ?? 0;
  if (known > EML_SIZE_LIMIT) throw inputError(`${sanitizeLine(path)}: larger than ${mb(EML_SIZE_LIMIT)}`);
  try {
    return { name: path, bytes: readRegularFile(path, EML_SIZE_LIMIT) };
  } catch (error) {
    throw inputError(describeReadError(path, error), error);
  }
}

function mb(bytes: number): string {
  return `${bytes / 1024 / 1024} MB`;
}

/** Parse one message. Throws a one-line input error naming the source when it is not usable MIME. */
export async function parseEml(input: EmlSource): Promise<MailFacts> {
  const shown = sanitizeLine(input.name);
  const source = { ...input, bytes: withoutMboxLine(input.bytes) };
  const problem = structureProblem(source.bytes);
  if (problem) throw inputError(`${shown}: not a usable email: ${problem}`);
  const { default: PostalMime, addressParser, decodeWords } = await import("postal-mime");
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  const charsets = new WeakMap<object, string>();
  try {
    email = await parseRecordingCharsets(PostalMime, source.bytes, charsets);
  } catch (error) {
    throw inputError(`${shown}: not a usable email: ${(error as Error).message}`, error);
  }
  // Raw 8-bit header bytes in a legacy charset (common from old clients) arrive as U+FFFD; read
  // those headers again as the message's declared charset.
  const fallback = legacyHeaders(source.bytes);
  const reread = (key: string, parsed: string | undefined) =>
    parsed?.includes("\uFFFD") && fallback[key] !== undefined ? fallback[key] : undefined;
  const mailboxes = (key: "from" | "to" | "cc", parsed: unknown): Mailbox[] => {
    const again = reread(key, JSON.stringify(parsed ?? ""));
    const list =
      again !== undefined ? addressParser(again) : ((Array.isArray(parsed) ? parsed : [parsed]) as unknown[]);
    return flattenAddresses(list);
  };
  const subjectAgain = reread("subject", email.subject);
  return {
    from: mailboxes("from", email.from)[0],
    to: mailboxes("to", email.to),
    cc: mailboxes("cc", email.cc),
    subject: subjectAgain !== undefined ? decodeWords(subjectAgain).trim() : email.subject,
    messageId: email.messageId?.trim() || undefined,
    inReplyTo: firstMessageId(email.inReplyTo),
    references: messageIds(email.references),
    text: repairWindows1252(email.text),
    html: repairWindows1252(email.html),
    attachments: email.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.mimeType.toLowerCase(),
      content: toBytes(attachment.content),
      charset: charsets.get(attachment),
      contentId: attachment.contentId,
    })),
  };
}

type PostalMimeClass = typeof import("postal-mime").default;
interface CollectingParser {
  attachments: object[];
}
type CollectAttachment = (this: CollectingParser, node: MimeNodeLike, ...rest: unknown[]) => void;
interface MimeNodeLike {
  contentType?: { parsed?: { value?: string; params?: Record<string, string> } };
}

/**
 * postal-mime decodes an attachment's transfer encoding but drops its charset parameter, so a
 * text/csv attachment in ISO-8859-1 or Shift_JIS would be read as UTF-8 and turn to U+FFFD. Its
 * (internal, untyped) collectAttachment sees the part's headers: a subclass records the charset
 * beside each attachment it collects. Parts of a nested message/rfc822 are collected by a parser of
 * postal-mime's own and keep no charset; buildEmlEvent then reads them as UTF-8, or windows-1252
 * when they are not valid UTF-8. A postal-mime without that method parses as before (test/eml.test.ts
 * "attachments in their own charset" fails then).
 */
async function parseRecordingCharsets(
  PostalMime: PostalMimeClass,
  bytes: Buffer,
  charsets: WeakMap<object, string>,
): ReturnType<PostalMimeClass["parse"]> {
  const base = (PostalMime.prototype as unknown as { collectAttachment?: CollectAttachment }).collectAttachment;
  const parser = new PostalMime({ attachmentEncoding: "arraybuffer" });
  if (typeof base === "function") {
    const collect: CollectAttachment = function (node, ...rest) {
      base.call(this, node, ...rest);
      const attachment = this.attachments.at(-1);
      const type = node.contentType?.parsed?.value?.toLowerCase();
      const charset = node.contentType?.parsed?.params?.charset;
      // Calendar parts arrive already decoded to UTF-8 by postal-mime.
      if (attachment && charset && type !== "text/calendar" && type !== "application/ics") {
        charsets.set(attachment, charset);
      }
    };
    Object.defineProperty(parser, "collectAttachment", { value: collect });
  }
  return parser.parse(bytes);
}

function toBytes(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === "string") return Buffer.from(content, "base64");
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

function flattenAddresses(list: unknown[]): Mailbox[] {
  const out: Mailbox[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null) continue;
    const entry = item as { name?: string; address?: string; group?: unknown[] };
    if (Array.isArray(entry.group)) out.push(...flattenAddresses(entry.group));
    else if (entry.address) out.push({ name: entry.name ?? "", address: entry.address });
  }
  return out;
}

function messageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

function firstMessageId(value: string | undefined): string | undefined {
  return messageIds(value)[0] ?? (value?.trim() || undefined);
}

const HEADER_LINE = /^[!-9;-~]+:/;

/** Files saved from an mbox start with a "From sender date" separator line: not a header. */
function withoutMboxLine(bytes: Buffer): Buffer {
  if (!bytes.subarray(0, 5).equals(Buffer.from("From "))) return bytes;
  const newline = bytes.indexOf(0x0a);
  return newline < 0 ? bytes : bytes.subarray(newline + 1);
}

/** The top-level header block as text (latin1, byte for byte), and where the body starts. */
function splitHead(bytes: Buffer): { head: string; body: string } {
  const text = bytes.toString("latin1");
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return { head: text, body: "" };
  return { head: text.slice(0, match.index), body: text.slice(match.index + match[0].length) };
}

/** Unfolded top-level headers, lower-cased names, first occurrence wins. */
function headerMap(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= line.slice(colon + 1).trim();
  }
  return headers;
}

/** Why these bytes are not a message the parser can be trusted with, or undefined when they are. */
export function structureProblem(bytes: Buffer): string | undefined {
  if (bytes.length === 0 || bytes.toString("latin1").trim() === "") return "the file is empty";
  const { head, body } = splitHead(bytes);
  const firstLine = head.replace(/^\uFEFF|^\xEF\xBB\xBF/, "").split(/\r?\n/, 1)[0] ?? "";
  if (!HEADER_LINE.test(firstLine)) {
    return `the first line is not a header ("Name: value"), so this is not an RFC 822 message`;
  }
  const headers = headerMap(head);
  if (!headers.from && !headers["content-type"] && !headers.subject && !headers["message-id"]) {
    return "no From, Subject, Message-ID or Content-Type header";
  }
  const contentType = headers["content-type"] ?? "";
  if (/^\s*multipart\//i.test(contentType)) {
    const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
    const value = boundary?.[1] ?? boundary?.[2];
    const kind = (contentType.split(";")[0] ?? "").trim().toLowerCase();
    if (!value) return `Content-Type ${kind} has no boundary parameter`;
    if (!body.includes(`--${value}`)) return `the ${kind} boundary "${value}" never appears in the body`;
  }
  return undefined;
}

/**
 * From, To, Cc and Subject re-read from raw bytes in the charset the message declares (or
 * windows-1252, what such mail almost always is), for headers that are not valid UTF-8.
 */
function legacyHeaders(bytes: Buffer): Record<string, string> {
  const { head } = splitHead(bytes);
  const headers = headerMap(head);
  const charset = /charset\s*=\s*"?([A-Za-z0-9_.:-]+)/i.exec(headers["content-type"] ?? "")?.[1] ?? "windows-1252";
  const label = /^utf-?8$/i.test(charset) ? "windows-1252" : charset;
  const out: Record<string, string> = {};
  for (const key of ["from", "to", "cc", "subject"]) {
    const raw = headers[key];
    if (raw === undefined) continue;
    const bytes = Buffer.from(raw, "latin1");
    out[key] = decodeAs(bytes, label) ?? (decodeAs(bytes, "windows-1252") as string);
  }
  return out;
}
