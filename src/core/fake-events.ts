/**
 * Realistic fake OpenMail events, field for field as ../shared/openmail-webhooks.md §3 documents
 * them. Pure: randomness and the clock are parameters.
 */
import { isLifecycleEventType, type SuspensionReason } from "./events.js";

/** Random source: returns `length` hex characters. */
export type RandomHex = (length: number) => string;

export interface FakeEventOptions {
  type: string;
  now: Date;
  randomHex: RandomHex;
  eventId?: string;
  attempt?: number;
  inboxId?: string;
  inboxAddress?: string;
  podId?: string;
  from?: string;
  to?: string;
  subject?: string;
  text?: string;
  /** Attachment file names; content type, size and extraction fields are filled in from the extension. */
  attachments?: string[];
  reason?: string;
}

interface SampleMessage {
  from: string;
  subject: string;
  body: string;
  attachments: string[];
}

const SAMPLES: SampleMessage[] = [
  {
    from: "Acme Billing <billing@acme-supplies.com>",
    subject: "Invoice #2847 for March",
    body: "Hi,\n\nPlease find attached invoice #2847 for $1,250.00, due on April 15.\n\nThanks,\nAcme Billing",
    attachments: ["invoice-2847.pdf"],
  },
  {
    from: "Priya Raman <priya@northwind.io>",
    subject: "Re: Can we move Thursday's call?",
    body: "Thursday at 3pm works for me. I've attached the updated agenda.\n\n> Could we push it an hour?\n\nPriya",
    attachments: ["agenda.docx"],
  },
  {
    from: "jordan.lee@gmail.com",
    subject: "Order 10482 arrived damaged",
    body: "Hello, my order 10482 arrived with a cracked screen. Photo attached. Can you send a replacement?\n\nJordan",
    attachments: ["photo.jpg"],
  },
  {
    from: "GitHub <noreply@github.com>",
    subject: "[openmail/app] Build failed on main",
    body: "The workflow 'CI' failed on main (commit 7f2a3b4).\n\nView the run for details.",
    attachments: [],
  },
];

interface AttachmentKind {
  contentType: string;
  extractionMethod: string;
  parsedText?: string;
  sizeRange: [number, number];
}

const ATTACHMENT_KINDS: Record<string, AttachmentKind> = {
  pdf: {
    contentType: "application/pdf",
    extractionMethod: "pdf",
    parsedText: "Invoice #2847\nDate: March 15, 2026\nAmount: $1,250.00",
    sizeRange: [40_000, 400_000],
  },
  docx: {
    contentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    extractionMethod: "office",
    parsedText: "Agenda\n1. Roadmap review\n2. Hiring\n3. Q3 budget",
    sizeRange: [15_000, 120_000],
  },
  xlsx: {
    contentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    extractionMethod: "office",
    parsedText: "Region,Revenue\nEMEA,120000\nAPAC,98000",
    sizeRange: [10_000, 90_000],
  },
  csv: {
    contentType: "text/csv",
    extractionMethod: "csv",
    parsedText: "date,amount\n2026-03-01,120.00",
    sizeRange: [200, 20_000],
  },
  txt: {
    contentType: "text/plain",
    extractionMethod: "text",
    parsedText: "Plain text attachment",
    sizeRange: [100, 5_000],
  },
  jpg: { contentType: "image/jpeg", extractionMethod: "ocr", parsedText: "CRACKED", sizeRange: [200_000, 3_000_000] },
  jpeg: { contentType: "image/jpeg", extractionMethod: "ocr", parsedText: "CRACKED", sizeRange: [200_000, 3_000_000] },
  png: {
    contentType: "image/png",
    extractionMethod: "ocr",
    parsedText: "Screenshot text",
    sizeRange: [50_000, 1_500_000],
  },
  ics: {
    contentType: "text/calendar",
    extractionMethod: "text",
    parsedText: "BEGIN:VCALENDAR",
    sizeRange: [800, 4_000],
  },
  zip: { contentType: "application/zip", extractionMethod: "unsupported", sizeRange: [100_000, 8_000_000] },
  mp4: { contentType: "video/mp4", extractionMethod: "unsupported", sizeRange: [2_000_000, 9_000_000] },
  mp3: { contentType: "audio/mpeg", extractionMethod: "unsupported", sizeRange: [1_000_000, 6_000_000] },
};

const DEFAULT_KIND: AttachmentKind = {
  contentType: "application/octet-stream",
  extractionMethod: "unsupported",
  sizeRange: [1_000, 100_000],
};

/** OpenMail skips text extraction above 10 MB. */
const EXTRACTION_LIMIT_BYTES = 10 * 1024 * 1024;

export function newId(prefix: string, randomHex: RandomHex): string {
  return `${prefix}_${randomHex(16)}`;
}

/** A number in [min, max) from the random source. */
function randomInt(randomHex: RandomHex, min: number, max: number): number {
  return min + (Number.parseInt(randomHex(8), 16) % Math.max(1, max - min));
}

export function fakeAttachment(filename: string, messageId: string, randomHex: RandomHex) {
  const extension = filename.includes(".") ? (filename.split(".").pop() ?? "").toLowerCase() : "";
  const kind = ATTACHMENT_KINDS[extension] ?? DEFAULT_KIND;
  const sizeBytes = randomInt(randomHex, kind.sizeRange[0], kind.sizeRange[1]);
  const tooLarge = sizeBytes > EXTRACTION_LIMIT_BYTES && kind.parsedText !== undefined;
  return {
    filename,
    contentType: kind.contentType,
    sizeBytes,
    url: `https://api.openmail.sh/v1/attachments/${messageId}/${encodeURIComponent(filename)}`,
    ...(kind.parsedText !== undefined && !tooLarge ? { parsedText: kind.parsedText } : {}),
    extractionMethod: tooLarge ? "skipped_too_large" : kind.extractionMethod,
  };
}

/** Build one event of `options.type`. An unknown type gets the message shape, as a future event might. */
export function buildFakeEvent(options: FakeEventOptions): Record<string, unknown> {
  if (isLifecycleEventType(options.type)) return buildLifecycleEvent(options);
  return buildMessageEvent(options);
}

function buildMessageEvent(options: FakeEventOptions): Record<string, unknown> {
  const { randomHex, now } = options;
  const sample = SAMPLES[randomInt(randomHex, 0, SAMPLES.length)] ?? (SAMPLES[0] as SampleMessage);
  const messageId = newId("msg", randomHex);
  const occurred = new Date(now.getTime() - randomInt(randomHex, 300, 1500));
  return {
    event: options.type,
    event_id: options.eventId ?? newId("evt", randomHex),
    occurred_at: occurred.toISOString(),
    delivered_at: now.toISOString(),
    attempt: options.attempt ?? 1,
    inbox_id: options.inboxId ?? newId("inb", randomHex),
    thread_id: newId("thr", randomHex),
    message: {
      id: messageId,
      rfc_message_id: `<CA+${randomHex(24)}@mail.${domainOf(options.from ?? sample.from)}>`,
      from: options.from ?? sample.from,
      to: options.to ?? options.inboxAddress ?? "support@yourcompany.openmail.sh",
      cc: [],
      subject: options.subject ?? sample.subject,
      body_text: options.text ?? sample.body,
      attachments: (options.attachments ?? sample.attachments).map((name) =>
        fakeAttachment(name, messageId, randomHex),
      ),
      received_at: occurred.toISOString(),
    },
  };
}

function buildLifecycleEvent(options: FakeEventOptions): Record<string, unknown> {
  const { randomHex, now } = options;
  const isPod = options.type.startsWith("pod.");
  const suspended = options.type.endsWith(".suspended");
  const defaultReason: SuspensionReason = isPod ? "pod_degraded" : "high_bounce_rate";
  return {
    event: options.type,
    event_id: options.eventId ?? newId("evt", randomHex),
    occurred_at: now.toISOString(),
    inbox_id: isPod ? null : (options.inboxId ?? newId("inb", randomHex)),
    inbox_address: isPod ? null : (options.inboxAddress ?? options.to ?? "agent@yourcompany.openmail.sh"),
    pod_id: options.podId ?? newId("pod", randomHex),
    reason: suspended ? (options.reason ?? defaultReason) : null,
  };
}

function domainOf(address: string): string {
  const match = /@([A-Za-z0-9.-]+)/.exec(address);
  return match?.[1] ?? "example.com";
}

/** Merge `override` into `base`: objects recursively, everything else (arrays, null) replaced. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    // defineProperty, so a "__proto__" key from JSON stays a plain field instead of a prototype.
    const next = Object.hasOwn(base, key) ? deepMerge(base[key], value) : value;
    Object.defineProperty(merged, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
