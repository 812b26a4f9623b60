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

/**
 * The nested form of PR #17's first draft (../shared/openmail-webhooks.md §3.3), which the docs'
 * preview may still show: `constructEvent` copies its `reason` to the top-level `reason`.
 */
export interface ReputationDetails {
  /** `inbox` or `pod`. */
  scope?: string;
  /** `suspended`, `watch`, ... */
  state?: string;
  /** The draft's own codes (`bounce_rate_high`), not the final ones. */
  reason?: string;
  /** `engine`, `phishing` or `admin`. */
  actor?: string;
}

/**
 * What every lifecycle event may carry besides its documented fields: the delivery bookkeeping and
 * the nested `reputation` of PR #17's earlier drafts. The final payload has none of them.
 */
interface LifecycleBase extends EventBase {
  delivered_at?: string;
  attempt?: number;
  reputation?: ReputationDetails;
  /**
   * The suspended inbox's pod, "if any" (the contract's words): `null` when the payload has none
   * (`constructEvent` sets an absent one to `null`).
   */
  pod_id: string | null;
}

export interface MessageReceivedEvent extends EventBase {
  event: "message.received";
  delivered_at: string;
  attempt: number;
  inbox_id: string;
  /** Only in the older docs' variant (the inbox's `externalId`); gone from the current payload. */
  external_id?: string;
  thread_id: string;
  message: EmailMessage;
}

export interface InboxSuspendedEvent extends LifecycleBase {
  event: "inbox.suspended";
  inbox_id: string;
  /** `null` when the payload has none (PR #17's first draft). */
  inbox_address: string | null;
  /** A `SuspensionReason`; in PR #17's first draft, `reputation.reason` copied here. */
  reason: SuspensionReason | string;
}

export interface InboxReactivatedEvent extends LifecycleBase {
  event: "inbox.reactivated";
  inbox_id: string;
  /** `null` when the payload has none (PR #17's first draft). */
  inbox_address: string | null;
  /** `null`, as documented (absent is read as `null`); a string if a payload ever carries one. */
  reason: string | null;
}

export interface PodSuspendedEvent extends LifecycleBase {
  event: "pod.suspended";
  /** `null`, as documented for pod events (absent is read as `null`). */
  inbox_id: string | null;
  /** `null`, as documented for pod events (absent is read as `null`). */
  inbox_address: string | null;
  reason: SuspensionReason | string;
}

export interface PodReactivatedEvent extends LifecycleBase {
  event: "pod.reactivated";
  /** `null`, as documented for pod events (absent is read as `null`). */
  inbox_id: string | null;
  /** `null`, as documented for pod events (absent is read as `null`). */
  inbox_address: string | null;
  /** `null`, as documented (absent is read as `null`); a string if a payload ever carries one. */
  reason: string | null;
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

/**
 * A documented field: its dotted path split once, its kind, and the problem text when it is wrong.
 * An `optional` one may be absent (`constructEvent` then sets it to null): what the contract marks
 * "if any", documents as null, or what an older documented variant lacks. `orFrom` is where an older
 * variant keeps the same value instead.
 */
interface RequiredField {
  keys: readonly string[];
  kind: FieldKind;
  problem: string;
  optional: boolean;
  orFrom?: readonly string[];
}

type FieldSpec = FieldKind | { kind: FieldKind; optional?: true; orFrom?: string };

function requiredFields(fields: Record<string, FieldSpec>): readonly RequiredField[] {
  return Object.entries(fields).map(([path, spec]) => {
    const { kind, optional, orFrom } = typeof spec === "string" ? { kind: spec } : spec;
    const problem = `${path} (${kind}${orFrom ? `, or ${orFrom}` : ""})`;
    return { keys: path.split("."), kind, problem, optional: optional === true, orFrom: orFrom?.split(".") };
  });
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

/**
 * The lifecycle events' fields (../shared/openmail-webhooks.md §3.3), in every documented variant:
 * the final one; PR #17's middle draft (plus `delivered_at`, `attempt`); its first draft, with a
 * nested `reputation {scope, state, reason, actor}` and no `inbox_address`, `pod_id` or `reason`.
 * Required: what every variant has and the types promise as a string (an inbox event's `inbox_id`,
 * a suspension's reason). The rest may be absent and is then null.
 */
const NULLABLE = { kind: "string|null", optional: true } as const;
function lifecycleFields(scope: "inbox" | "pod", suspended: boolean): readonly RequiredField[] {
  return requiredFields({
    event: "string",
    event_id: "string",
    occurred_at: "string",
    inbox_id: scope === "inbox" ? "string" : NULLABLE,
    inbox_address: NULLABLE,
    pod_id: NULLABLE,
    reason: suspended ? { kind: "string", orFrom: "reputation.reason" } : NULLABLE,
  });
}

const FIELDS_BY_TYPE = new Map<string, readonly RequiredField[]>([
  ["message.received", MESSAGE_FIELDS],
  ["inbox.suspended", lifecycleFields("inbox", true)],
  ["inbox.reactivated", lifecycleFields("inbox", false)],
  ["pod.suspended", lifecycleFields("pod", true)],
  ["pod.reactivated", lifecycleFields("pod", false)],
]);

const UNKNOWN_TYPE_FIELDS = requiredFields({ event: "string", event_id: "string" });

/** Judge a payload against the documented shape for its event type. Never throws. */
export function judgePayload(payload: unknown): PayloadJudgement {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { json: false, known: false, problems: ["body is not a JSON object"] };
  }
  const record = payload as Record<string, unknown>;
  const eventType = typeof record.event === "string" ? record.event : undefined;
  const eventId = typeof record.event_id === "string" ? record.event_id : undefined;
  // listen judges every event it receives: one lookup, one pass over precomputed fields, no
  // intermediate arrays. The map's keys are exactly EVENT_TYPES, so a type it has is a known one.
  const typed = eventType !== undefined ? FIELDS_BY_TYPE.get(eventType) : undefined;
  const known = typed !== undefined;
  const fields = typed ?? UNKNOWN_TYPE_FIELDS;
  const problems: string[] = [];
  for (const field of fields) {
    let value = readPath(record, field.keys);
    if (value === undefined && field.orFrom) value = readPath(record, field.orFrom);
    if (value === undefined ? !field.optional : !matchesKind(value, field.kind)) problems.push(field.problem);
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
