/**
 * What `listen` learns from one received request: the signature verdict, the payload's shape, and
 * the fields worth showing. Pure: the JSON is parsed only to display it, never to re-serialize.
 */
import type { CapturedRequest } from "./capture.js";
import { isLifecycleEventType, judgePayload, type PayloadJudgement } from "./events.js";
import { type Verdict, verify } from "./signature.js";

export interface AttachmentSummary {
  filename: string;
  contentType?: string;
  sizeBytes?: number;
  /** OpenMail's text extraction: `pdf`, `ocr`... on success; `unsupported`, `pdf_error`... otherwise. */
  extractionMethod?: string;
  /** Present only when extraction succeeded. */
  parsedText?: string;
}

/** The display fields of an event, all still untrusted (sanitise before printing). */
export interface EventSummary {
  eventType?: string;
  eventId?: string;
  attempt?: number;
  occurredAt?: string;
  inboxId?: string | null;
  threadId?: string;
  from?: string;
  to?: string;
  cc: string[];
  subject?: string;
  bodyText?: string;
  /** message.received_at */
  messageReceivedAt?: string;
  attachments: AttachmentSummary[];
  inboxAddress?: string | null;
  podId?: string | null;
  reason?: string | null;
  lifecycle: boolean;
}

export interface Inspection {
  /** Undefined when there is no secret: the event is shown unverified. */
  verification?: Verdict;
  payload: PayloadJudgement;
  summary: EventSummary;
  /** X-Event-Id, else the body's event_id. */
  eventId?: string;
}

export function inspectRequest(
  request: CapturedRequest,
  options: { secret?: string; toleranceSeconds: number; now: number },
): Inspection {
  const verification = verifyCaptured(request, options);
  const parsed = parseJsonBody(request.body);
  const payload = judgePayload(parsed);
  const summary = summarize(parsed);
  return { verification, payload, summary, eventId: request.headers["x-event-id"] ?? summary.eventId };
}

/** The captured request's signature verdict with `secret`; undefined without one (unverified). */
export function verifyCaptured(
  request: CapturedRequest,
  options: { secret?: string; toleranceSeconds: number; now: number },
): Verdict | undefined {
  const { secret, toleranceSeconds, now } = options;
  if (secret === undefined) return undefined;
  return verify({ body: request.body, headers: request.headers, secret, toleranceSeconds, now });
}

/** The body parsed as JSON, or undefined when it is not JSON. */
export function parseJsonBody(body: Uint8Array): unknown {
  try {
    // A view, not Buffer.from(body): that would copy every body once more just to decode it.
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
}

const str = (value: unknown) => (typeof value === "string" ? value : undefined);
const strOrNull = (value: unknown) => (value === null ? null : str(value));

export function summarize(parsed: unknown): EventSummary {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { attachments: [], cc: [], lifecycle: false };
  const event = parsed as Record<string, unknown>;
  const message = (typeof event.message === "object" && event.message !== null ? event.message : {}) as Record<
    string,
    unknown
  >;
  const attachments = Array.isArray(message.attachments) ? message.attachments : [];
  return {
    eventType: str(event.event),
    eventId: str(event.event_id),
    attempt: typeof event.attempt === "number" ? event.attempt : undefined,
    occurredAt: str(event.occurred_at),
    inboxId: strOrNull(event.inbox_id),
    threadId: str(event.thread_id),
    from: str(message.from),
    to: str(message.to),
    cc: Array.isArray(message.cc) ? message.cc.filter((item): item is string => typeof item === "string") : [],
    subject: str(message.subject),
    bodyText: str(message.body_text),
    messageReceivedAt: str(message.received_at),
    attachments: attachments
      .filter((item): item is Record<string, unknown> => typeof item === "object" && item !== null)
      .map((item) => ({
        filename: str(item.filename) ?? "(no name)",
        contentType: str(item.contentType),
        sizeBytes: typeof item.sizeBytes === "number" ? item.sizeBytes : undefined,
        extractionMethod: str(item.extractionMethod),
        parsedText: str(item.parsedText),
      })),
    inboxAddress: strOrNull(event.inbox_address),
    podId: strOrNull(event.pod_id),
    reason: strOrNull(event.reason),
    lifecycle: isLifecycleEventType(event.event),
  };
}
