/**
 * `listen --redact`: a capture store that redacts each request before it is written, so personal
 * data never reaches the disk. The redacted body is signed again (see core/redact.ts).
 */
import { randomBytes } from "node:crypto";
import type { CapturedRequest } from "../core/capture.js";
import { type RedactedCapture, redactCapture } from "../core/redact.js";
import type { CaptureStore } from "./capture-store.js";

/**
 * `secretFor` gives the secret of an event's inbox (one secret for all, or one per inbox with
 * `--inbox`). An event with none is still redacted, with placeholders keyed for this run only,
 * and not signed again.
 */
export function redactingStore(
  store: CaptureStore,
  secretFor: (inboxId: string | undefined) => string | undefined,
): CaptureStore {
  const runKey = randomBytes(32).toString("hex");
  // save() and a later update() of the same capture must write the same redacted bytes.
  const redacted = new WeakMap<CapturedRequest, RedactedCapture>();
  const redact = (request: CapturedRequest) => {
    let result = redacted.get(request);
    if (!result) {
      result = redactCapture(request, secretFor(inboxIdOf(request.body)) ?? runKey);
      redacted.set(request, result);
    }
    return result;
  };
  return {
    dir: store.dir,
    save(request, eventId, extra = {}) {
      const result = redact(request);
      return store.save(result.request, eventId, { ...extra, ...result.extra });
    },
    update(path, request, extra) {
      const result = redact(request);
      return store.update(path, result.request, { ...extra, ...result.extra });
    },
  };
}

function inboxIdOf(body: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(body).toString("utf8")) as { inbox_id?: unknown };
    return typeof parsed.inbox_id === "string" ? parsed.inbox_id : undefined;
  } catch {
    return undefined;
  }
}
