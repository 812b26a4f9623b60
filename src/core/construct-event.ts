/**
 * The throwing, typed variant of verify: check the signature, then parse and check the payload, and
 * return it as an `OpenMailEvent` or throw a `WebhookVerificationError` carrying the reason. Pure and
 * runtime-neutral; the entries (index.ts, web.ts) pair it with their verify.
 */
import { isLifecycleEventType, judgePayload, type OpenMailEvent } from "./events.js";
import { rawBodyOf, type Verdict, type VerifyFailureReason, type VerifyInput } from "./verification.js";

/** Every reason `constructEvent` throws: the verdict's, or a payload that is not an OpenMail event. */
export type EventFailureReason = VerifyFailureReason | "payload_invalid";

/** Marks the error whichever copy of the library made it (the ESM and CommonJS builds are two copies). */
const BRAND = Symbol.for("openmail-hooks.WebhookVerificationError");

/**
 * Thrown by `constructEvent`; `reason` is one of the verdict's reasons, or `payload_invalid`. Answer
 * it with a 400, except perhaps `payload_invalid`: that delivery is genuine (signed with your secret),
 * and a retry brings the same bytes, so a 4xx only makes OpenMail retry it 4 more times over about
 * 7.5 minutes and then mark it failed. Log `payload` and answer 2xx if you would rather keep it.
 */
export class WebhookVerificationError extends Error {
  /** `instanceof` holds across the package's builds: an app may load both its import and require forms. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly [BRAND] = true;
  override name = "WebhookVerificationError";
  readonly reason: EventFailureReason;
  /** The signature verdict: invalid unless the reason is `payload_invalid`. */
  readonly verdict: Verdict;
  /** With `payload_invalid`: the body as parsed JSON (undefined when it is not JSON), to log or keep. */
  readonly payload?: unknown;

  constructor(reason: EventFailureReason, message: string, verdict: Verdict, payload?: unknown) {
    super(message);
    this.reason = reason;
    this.verdict = verdict;
    if (payload !== undefined) this.payload = payload;
  }
}

const decoder = new TextDecoder();

/** The event in a verified delivery, or the error that says why there is none. */
export function eventFromVerdict(verdict: Verdict, input: VerifyInput): OpenMailEvent {
  if (!verdict.valid)
    throw new WebhookVerificationError(verdict.reason ?? "signature_mismatch", verdict.message, verdict);
  const invalid = (message: string) => new WebhookVerificationError("payload_invalid", message, verdict);
  const body = rawBodyOf(input.body);
  if (typeof body === "object" && "problem" in body) throw invalid(body.problem);
  // TextDecoder drops a leading byte-order mark; do the same for text, which JSON.parse would refuse.
  const text = typeof body === "string" ? body.replace(/^\uFEFF/, "") : decoder.decode(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("the signature is valid but the body is not JSON");
  }
  const judgement = judgePayload(parsed);
  const unlike = (message: string) => new WebhookVerificationError("payload_invalid", message, verdict, parsed);
  if (!judgement.json) throw unlike("the signature is valid but the body is not a JSON object");
  if (judgement.problems.length > 0) {
    const type = judgement.eventType;
    const what = type ? `${/^[aeiou]/i.test(type) ? "an" : "a"} ${type} event` : "the event";
    throw unlike(`the signature is valid but ${what} lacks or mistypes: ${judgement.problems.join(", ")}`);
  }
  return withDocumentedDefaults(parsed as Record<string, unknown>) as OpenMailEvent;
}

/**
 * A lifecycle payload that passed `judgePayload`, in the shape its type promises: the fields the
 * contract allows to be absent ("if any", null on pod events and reactivations, missing from PR #17's
 * first draft) set to null, and that draft's `reputation.reason` copied to `reason`. Changes the
 * object it is given (its own JSON.parse result). A message event is returned as it is.
 */
function withDocumentedDefaults(record: Record<string, unknown>): Record<string, unknown> {
  if (!isLifecycleEventType(record.event)) return record;
  record.inbox_id ??= null;
  record.inbox_address ??= null;
  record.pod_id ??= null;
  if (record.reason === undefined) {
    const nested = (record.reputation as { reason?: unknown } | null | undefined)?.reason;
    record.reason = typeof nested === "string" ? nested : null;
  }
  return record;
}
