/**
 * `listen --redact`: a capture store that redacts each request before it is written, so personal
 * data never reaches the disk. The redacted body is signed again (see core/redact.ts).
 */
import type { CapturedRequest } from "../core/capture.js";
import { type RedactedCapture, redactCapture } from "../core/redact.js";
import type { CaptureStore } from "./capture-store.js";

export function redactingStore(store: CaptureStore, secret: string): CaptureStore {
  // save() and a later update() of the same capture must write the same redacted bytes.
  const redacted = new WeakMap<CapturedRequest, RedactedCapture>();
  const redact = (request: CapturedRequest) => {
    let result = redacted.get(request);
    if (!result) {
      result = redactCapture(request, secret);
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
