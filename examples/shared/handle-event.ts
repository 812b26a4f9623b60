/**
 * What every example does with a verified event: skip a redelivery, then act on the type. OpenMail
 * delivers at least once and retries until it gets a 2xx within 15 s, so a duplicate must still be
 * answered 2xx, and slow work belongs in a queue, after the answer.
 */
import type { OpenMailEvent } from "openmail-hooks";

/** Event ids already handled. In production: a unique key in your database (or KV), not memory. */
const seen = new Set<string>();
const MAX_REMEMBERED = 10_000;

/** True the first time an event id is seen. */
export function firstDelivery(eventId: string): boolean {
  if (seen.has(eventId)) return false;
  if (seen.size >= MAX_REMEMBERED) seen.delete(seen.values().next().value as string);
  seen.add(eventId);
  return true;
}

/** Act on one event; returns a line for the log. Unknown types are accepted and ignored. */
export function handleEvent(event: OpenMailEvent): string {
  if (!firstDelivery(event.event_id)) return `duplicate ${event.event_id}, already handled`;
  switch (event.event) {
    case "message.received":
      return `mail from ${event.message.from}: ${event.message.subject} (${event.message.attachments.length} attachments)`;
    case "inbox.suspended":
    case "pod.suspended":
      return `${event.event}: ${event.reason}`;
    case "inbox.reactivated":
    case "pod.reactivated":
      return event.event;
    default:
      return `ignored event type ${event.event}`;
  }
}
