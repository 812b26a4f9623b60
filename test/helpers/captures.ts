/** Capture folders for tests: many signed captures written straight to disk, as `listen` names them. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { captureFileName, serializeCapture } from "../../src/core/capture.js";
import { messageEvent, signedEvent } from "./http.js";

/**
 * Write `count` message.received captures, one second apart and ending an hour ago, oldest first;
 * `subjectOf` names each one's subject. Returns the event ids, oldest first.
 */
export function writeCaptures(
  dir: string,
  count: number,
  secret: string,
  subjectOf: (index: number) => string = (index) => `Message ${index}`,
): string[] {
  mkdirSync(dir, { recursive: true });
  const end = Date.now() - 3600_000;
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const receivedMs = end - (count - index) * 1000;
    const eventId = `evt_bulk${String(index).padStart(6, "0")}`;
    const event = messageEvent({ event_id: eventId, inbox_id: `inb_${index % 3}` }, { subject: subjectOf(index) });
    const { headers, body } = signedEvent(secret, event, { timestamp: Math.floor(receivedMs / 1000) });
    const receivedAt = new Date(receivedMs).toISOString();
    const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const request = { receivedAt, method: "POST", path: "/webhooks", headers: lowered, body };
    const extra = { verification: { valid: true, reason: null, message: "signature valid" } };
    writeFileSync(join(dir, captureFileName(receivedAt, eventId)), serializeCapture(request, extra));
    ids.push(eventId);
  }
  return ids;
}
