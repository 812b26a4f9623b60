/**
 * `listen --redact`: a capture store that redacts each request before it is written, so personal
 * data never reaches the disk. The redacted body is signed again (see core/redact.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CapturedRequest } from "../core/capture.js";
import { NestedTooDeeplyError, type RedactedCapture, redactCapture } from "../core/redact.js";
import { CaptureRefusedError, type CaptureStore } from "./capture-store.js";
import { readRegularFileAsync } from "./request-input.js";

/**
 * `secretFor` gives the secret of an event's inbox (one secret for all, or one per inbox with
 * `--inbox`); the redacted body is signed again with it. An event without one is redacted all the
 * same and not signed again. `placeholderKey` keys the placeholders, so one address gets one
 * placeholder across the folder even when its inboxes have different secrets.
 */
export function redactingStore(
  store: CaptureStore,
  options: { placeholderKey: string; secretFor(inboxId: string | undefined): string | undefined },
): CaptureStore {
  // save() and a later update() of the same capture must write the same redacted bytes.
  const redacted = new WeakMap<CapturedRequest, RedactedCapture>();
  const redact = (request: CapturedRequest) => {
    let result = redacted.get(request);
    if (!result) {
      try {
        result = redactCapture(request, options.secretFor(inboxIdOf(request.body)), options.placeholderKey);
      } catch (error) {
        // Saving it unredacted would break --redact's promise; the same body fails the same way on every retry.
        if (error instanceof NestedTooDeeplyError) {
          throw new CaptureRefusedError(
            `${error.message}, and --redact writes nothing unredacted`,
            "every retry fails the same way: run listen without --redact to save such an event",
          );
        }
        throw error;
      }
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
    scan: (onName) => store.scan(onName),
    warmUp: (request) => store.warmUp(redact(request).request),
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

/**
 * The folder's own placeholder key (.redaction-key, 0600), made on first use: for folders whose
 * events are signed with several inbox secrets and no single one can key the placeholders.
 */
export async function folderRedactionKey(dir: string): Promise<string> {
  const path = join(dir, ".redaction-key");
  try {
    await writeFile(path, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  // 64 hex digits; a bounded read, so a device or FIFO put in its place cannot hang or fill memory.
  return (await readRegularFileAsync(path, 4096)).toString("utf8").trim();
}
