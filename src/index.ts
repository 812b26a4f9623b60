/**
 * The library: OpenMail webhook signing, verification and diagnosis, and the event types.
 *
 *   import { sign, verify, diagnose } from "openmail-hooks";
 *   const verdict = verify({ body: rawBody, headers: req.headers, secret: process.env.OPENMAIL_WEBHOOK_SECRET! });
 *   if (!verdict.valid) return res.status(400).send(verdict.message);
 */

export {
  CAPTURE_FORMAT,
  type CapturedRequest,
  type CaptureFile,
  fromCaptureObject,
  parseRawHttpRequest,
  serializeCapture,
  toCaptureFile,
} from "./core/capture.js";
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
  SIGNATURE_HEADER,
  sign,
  TIMESTAMP_HEADER,
  type TimestampCheck,
  type Verdict,
  type VerifyFailureReason,
  type VerifyInput,
  verify,
} from "./core/signature.js";
