/**
 * The library's Web entry, for runtimes without node:crypto or Buffer (Cloudflare Workers, Vercel's
 * edge runtime, browsers), chosen by the package's export conditions. The same names and types as
 * the Node entry (index.ts): the asynchronous functions work here through crypto.subtle; the
 * synchronous ones need node:crypto, so here they throw an error that names the async one to use.
 */

import { eventFromVerdict } from "./core/construct-event.js";
import type { OpenMailEvent } from "./core/events.js";
import type { VerifyInput } from "./core/verification.js";
import { signAsync, verifyAsync } from "./core/web-crypto.js";
import type * as NodeEntry from "./index.js";

export { CAPTURE_FORMAT, type CapturedRequest, type CaptureFile } from "./core/capture.js";
export { type EventFailureReason, WebhookVerificationError } from "./core/construct-event.js";
export type { Diagnosis, Finding, MistakeCode } from "./core/diagnose.js";
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
  TIMESTAMP_HEADER,
  type TimestampCheck,
  type Verdict,
  type VerifyFailureReason,
  type VerifyInput,
} from "./core/verification.js";
export { signAsync, verifyAsync };

/** Verify a delivery with Web Crypto and return its event, typed; reject with a `WebhookVerificationError` otherwise. */
export async function constructEventAsync(input: VerifyInput): Promise<OpenMailEvent> {
  return eventFromVerdict(await verifyAsync(input), input);
}

/** A Node-only function's stand-in: it says what to call instead rather than failing somewhere inside. */
function nodeOnly<F>(name: string, instead: string): F {
  return ((..._args: unknown[]) => {
    throw new Error(`openmail-hooks: ${name}() needs node:crypto, which this runtime does not have: ${instead}`);
  }) as F;
}

export const sign = nodeOnly<typeof NodeEntry.sign>("sign", "use await signAsync(secret, timestamp, body)");
export const verify = nodeOnly<typeof NodeEntry.verify>("verify", "use await verifyAsync({ body, headers, secret })");
export const constructEvent = nodeOnly<typeof NodeEntry.constructEvent>(
  "constructEvent",
  "use await constructEventAsync({ body, headers, secret })",
);
export const diagnose = nodeOnly<typeof NodeEntry.diagnose>(
  "diagnose",
  "run it on Node, or use `openmail-hooks verify` on a saved request",
);
const captureOnNode = "capture files are read and written on Node (the openmail-hooks CLI)";
export const parseRawHttpRequest = nodeOnly<typeof NodeEntry.parseRawHttpRequest>("parseRawHttpRequest", captureOnNode);
export const serializeCapture = nodeOnly<typeof NodeEntry.serializeCapture>("serializeCapture", captureOnNode);
export const toCaptureFile = nodeOnly<typeof NodeEntry.toCaptureFile>("toCaptureFile", captureOnNode);
export const fromCaptureObject = nodeOnly<typeof NodeEntry.fromCaptureObject>("fromCaptureObject", captureOnNode);
