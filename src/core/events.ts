/**
 * The five OpenMail webhook events (../shared/openmail-webhooks.md §3) as types, and a judge of a
 * payload's shape. Pure.
 */

export const MESSAGE_EVENT_TYPES = ["message.received"] as const;
export const LIFECYCLE_EVENT_TYPES = [
  "inbox.suspended",
  "inbox.reactivated",
  "pod.suspended",
  "pod.reactivated",
] as const;
export const EVENT_TYPES = [...MESSAGE_EVENT_TYPES, ...LIFECYCLE_EVENT_TYPES] as const;

export type MessageEventType = (typeof MESSAGE_EVENT_TYPES)[number];
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

/** Suspension reasons OpenMail documents. */
export const SUSPENSION_REASONS = [
  "high_bounce_rate",
  "high_complaint_rate",
  "abuse",
  "pod_degraded",
  "manual_review",
  "other",
] as const;
export type SuspensionReason = (typeof SUSPENSION_REASONS)[number];

export interface Attachment {
  filename: string;
  contentType: string;
  sizeBytes: number;
  url: string;
  /** Present only when text extraction succeeded. */
  parsedText?: string;
  /** `pdf`, `ocr`, `office`, `csv`, `text` on success; `unsupported`, `pdf_error`, `skipped_too_large`... otherwise. */
  extractionMethod?: string;
}

export interface EmailMessage {
  id: string;
  rfc_message_id: string;
  from: string;
  to: string;
  cc: string[];
  subject: string;
  body_text: string;
  attachments: Attachment[];
  received_at: string;
}

interface EventBase {
  event_id: string;
  occurred_at: string;
}

export interface MessageReceivedEvent extends EventBase {
  event: "message.received";
  delivered_at: string;
  attempt: number;
  inbox_id: string;
  thread_id: string;
  message: EmailMessage;
}

export interface InboxSuspendedEvent extends EventBase {
  event: "inbox.suspended";
  inbox_id: string;
  inbox_address: string;
  pod_id: string | null;
  reason: SuspensionReason | string;
}

export interface InboxReactivatedEvent extends EventBase {
  event: "inbox.reactivated";
  inbox_id: string;
  inbox_address: string;
  pod_id: string | null;
  reason: null;
}

export interface PodSuspendedEvent extends EventBase {
  event: "pod.suspended";
  inbox_id: null;
  inbox_address: null;
  pod_id: string;
  reason: SuspensionReason | string;
}

export interface PodReactivatedEvent extends EventBase {
  event: "pod.reactivated";
  inbox_id: null;
  inbox_address: null;
  pod_id: string;
  reason: null;
}

export type LifecycleEvent = InboxSuspendedEvent | InboxReactivatedEvent | PodSuspendedEvent | PodReactivatedEvent;
/** The five documented events. */
export type KnownOpenMailEvent = MessageReceivedEvent | LifecycleEvent;

type FieldsOf<T> = T extends unknown ? keyof T : never;
type KnownOnlyField = Exclude<FieldsOf<KnownOpenMailEvent>, "event" | "event_id" | "occurred_at">;

/**
 * An event of a type this version does not know yet: OpenMail adds types, and a receiver must
 * accept them (answer 2xx) rather than reject them. Only `event` and `event_id` are known to be
 * there. The fields of the known events are typed `never` on it: that is what lets
 * `event.event === "message.received"` narrow an `OpenMailEvent` to the message event, since TypeScript
 * cannot exclude a member whose `event` is any string. Read an unknown event's own fields through
 * `event as Record<string, unknown>`.
 */
export type UnknownEvent = { event: string; event_id: string; occurred_at?: string } & {
  readonly [field in KnownOnlyField]: never;
};

/** What `constructEvent` returns: a discriminated union on `event`, unknown types included. */
export type OpenMailEvent = KnownOpenMailEvent | UnknownEvent;

export function isKnownEventType(type: unknown): type is EventType {
  return typeof type === "string" && (EVENT_TYPES as readonly string[]).includes(type);
}

export function isLifecycleEventType(type: unknown): type is LifecycleEventType {
  return typeof type === "string" && (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(type);
}

export interface PayloadJudgement {
  /** The payload parsed as a JSON object. */
  json: boolean;
  eventType?: string;
  eventId?: string;
  known: boolean;
  /** Required fields that are absent or of the wrong type, as dotted paths. */
  problems: string[];
}

type FieldKind = "string" | "number" | "string|null" | "array" | "object";

/** A required field: its dotted path split once, its kind, and the problem text when it is wrong. */
interface RequiredField {
  keys: readonly string[];
  kind: FieldKind;
  problem: string;
}

function requiredFields(fields: Record<string, FieldKind>): readonly RequiredField[] {
  return Object.entries(fields).map(([path, kind]) => ({ keys: path.split("."), kind, problem: `${path} (${kind})` }));
}

const MESSAGE_FIELDS = requiredFields({
  event: "string",
  event_id: "string",
  occurred_at: "string",
  inbox_id: "string",
  thread_id: "string",
  message: "object",
  "message.id": "string",
  "message.from": "string",
  "message.to": "string",
  "message.subject": "string",
  "message.body_text": "string",
  "message.attachments": "array",
});

const LIFECYCLE_FIELDS = requiredFields({
  event: "string",
  event_id: "string",
  occurred_at: "string",
  inbox_id: "string|null",
  inbox_address: "string|null",
  pod_id: "string|null",
  reason: "string|null",
});

const UNKNOWN_TYPE_FIELDS = requiredFields({ event: "string", event_id: "string" });

/** Judge a payload against the documented shape for its event type. Never throws. */
export function judgePayload(payload: unknown): PayloadJudgement {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { json: false, known: false, problems: ["body is not a JSON object"] };
  }
  const record = payload as Record<string, unknown>;
  const eventType = typeof record.event === "string" ? record.event : undefined;
  const eventId = typeof record.event_id === "string" ? record.event_id : undefined;
  const known = isKnownEventType(eventType);
  // listen judges every event it receives: one pass over precomputed fields, no intermediate arrays.
  const fields = eventType === "message.received" ? MESSAGE_FIELDS : known ? LIFECYCLE_FIELDS : UNKNOWN_TYPE_FIELDS;
  const problems: string[] = [];
  for (const field of fields) {
    if (!matchesKind(readPath(record, field.keys), field.kind)) problems.push(field.problem);
  }
  return { json: true, eventType, eventId, known, problems };
}

function readPath(record: Record<string, unknown>, keys: readonly string[]): unknown {
  let current: unknown = record;
  for (const key of keys) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function matchesKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "string|null":
      return typeof value === "string" || value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
}
