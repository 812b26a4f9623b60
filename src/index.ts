/**
 * The library's Node entry: OpenMail webhook signing, verification and diagnosis with node:crypto,
 * and the event types. Runtimes without node:crypto get web.ts instead, through the package's export
 * conditions (worker, browser, edge-light, workerd), with the same names and types.
 *
 *   import { constructEvent, WebhookVerificationError } from "openmail-hooks";
 *   const event = constructEvent({ body: rawBody, headers: req.headers, secret: process.env.OPENMAIL_WEBHOOK_SECRET });
 *   if (event.event === "message.received") console.log(event.message.subject);
 */
import { eventFromVerdict } from "./core/construct-event.js";
import type { OpenMailEvent } from "./core/events.js";
import { type VerifyInput, verify } from "./core/signature.js";

export {
  CAPTURE_FORMAT,
  type CapturedRequest,
  type CaptureFile,
  fromCaptureObject,
  parseRawHttpRequest,
  serializeCapture,
  toCaptureFile,
} from "./core/capture.js";
export { type EventFailureReason, WebhookVerificationError } from "./core/construct-event.js";
export { type Diagnosis, diagnose, type Finding, type MistakeCode } from "./core/diagnose.js";
export * from "./core/events.js";
export {
  ageText,
  type CheckState,
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  describeAge,
  EVENT_ID_HEADER,
  getHeader,
  type HeaderSource,
  type RawBody,
  type SecretInput,
  SIGNATURE_HEADER,
  sign,
  signAsync,
  TIMESTAMP_HEADER,
  type TimestampCheck,
  type Verdict,
  type VerifyFailureReason,
  type VerifyInput,
  verify,
  verifyAsync,
} from "./core/signature.js";

/**
 * Verify a delivery and return its event, typed; throw a `WebhookVerificationError` (with the
 * verdict's `reason`, or `payload_invalid`) otherwise. Unknown event types are returned, not rejected;
 * every documented variant of a known one is accepted, its absent optional fields set to null.
 * `payload_invalid` is a genuine delivery: see `WebhookVerificationError` before answering it 4xx.
 */
export function constructEvent(input: VerifyInput): OpenMailEvent {
  return eventFromVerdict(verify(input), input);
}

/** `constructEvent` as a promise: the same call works on the Web Crypto entry. */
export async function constructEventAsync(input: VerifyInput): Promise<OpenMailEvent> {
  return constructEvent(input);
}
