/**
 * Named fixtures for `send-test`: the built-in catalogue (cases that break handlers), fixture names,
 * and the fresh event_id and times a fixture gets each time it is sent. Pure.
 */
import { newId, type RandomHex } from "./fake-events.js";

export interface BuiltinFixture {
  name: string;
  description: string;
  /** Where its event comes from: an .eml in fixtures/eml, a generated message, or a lifecycle event. */
  source:
    | { kind: "eml"; file: string }
    | { kind: "generated-eml"; file?: string }
    | { kind: "lifecycle"; type: string };
}

export const BUILTIN_FIXTURES: readonly BuiltinFixture[] = [
  {
    name: "no-attachments",
    description: "a plain-text question from a customer, no attachments",
    source: { kind: "eml", file: "no-attachments.eml" },
  },
  {
    name: "many-attachments",
    description: "14 attachments: PDF, Office, CSV, text, calendar, images, archive, audio, video",
    source: { kind: "generated-eml", file: "many-attachments.eml" },
  },
  {
    name: "large-attachment",
    description: "an 11 MB PDF: over OpenMail's 10 MB limit, so extraction is skipped_too_large",
    source: { kind: "generated-eml" },
  },
  {
    name: "non-ascii",
    description: "Japanese and German in encoded-word headers, an ISO-2022-JP body part and a UTF-8 one",
    source: { kind: "eml", file: "non-ascii.eml" },
  },
  {
    name: "html-only",
    description: "a newsletter with only an HTML part: body_text is the text a reader sees",
    source: { kind: "eml", file: "html-only.eml" },
  },
  {
    name: "reply-in-thread",
    description: "a reply (In-Reply-To, References) with quoted text, in the thread of its first message",
    source: { kind: "eml", file: "reply-in-thread.eml" },
  },
  {
    name: "inbox-suspended",
    description: "inbox.suspended for high_bounce_rate",
    source: { kind: "lifecycle", type: "inbox.suspended" },
  },
  {
    name: "inbox-reactivated",
    description: "inbox.reactivated (reason null)",
    source: { kind: "lifecycle", type: "inbox.reactivated" },
  },
  {
    name: "pod-suspended",
    description: "pod.suspended for pod_degraded (inbox_id and inbox_address null)",
    source: { kind: "lifecycle", type: "pod.suspended" },
  },
  {
    name: "pod-reactivated",
    description: "pod.reactivated (inbox_id, inbox_address and reason null)",
    source: { kind: "lifecycle", type: "pod.reactivated" },
  },
];

const FIXTURE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A name that is safe as a file name: letters, digits, ".", "_", "-"; no path. */
export function isFixtureName(name: string): boolean {
  return FIXTURE_NAME.test(name) && !name.includes("..");
}

const TIME_FIELDS = ["occurred_at", "delivered_at"] as const;

/**
 * The event as if it happened now: a fresh event_id, and occurred_at, delivered_at and
 * message.received_at moved together so the latest of them is `now` (their spacing kept).
 */
export function restampEvent(
  event: Record<string, unknown>,
  options: { now: Date; randomHex: RandomHex; keepEventId?: boolean; keepTimes?: boolean },
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event };
  if (!options.keepEventId) out.event_id = newId("evt", options.randomHex);
  if (options.keepTimes) return out;
  const message = isRecord(out.message) ? { ...out.message } : undefined;
  const times = [...TIME_FIELDS.map((field) => out[field]), message?.received_at]
    .filter((value): value is string => typeof value === "string")
    .map((value) => Date.parse(value))
    .filter((value) => Number.isFinite(value));
  if (times.length === 0) return out;
  const shift = options.now.getTime() - Math.max(...times);
  const moved = (value: unknown) => {
    const parsed = typeof value === "string" ? Date.parse(value) : Number.NaN;
    return Number.isFinite(parsed) ? new Date(parsed + shift).toISOString() : value;
  };
  for (const field of TIME_FIELDS) if (field in out) out[field] = moved(out[field]);
  if (message) {
    if ("received_at" in message) message.received_at = moved(message.received_at);
    out.message = message;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
