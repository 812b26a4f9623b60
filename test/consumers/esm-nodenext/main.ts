// An ESM TypeScript app (module nodenext): the typed API, the known-answer vector, rotation, errors.
import {
  constructEvent,
  type OpenMailEvent,
  sign,
  type Verdict,
  verify,
  verifyAsync,
  WebhookVerificationError,
} from "openmail-hooks";

declare const console: { log(line: string): void };

const secret = "example_secret";
const timestamp = "1711015501";
const body = '{"event":"message.received","event_id":"evt_abc123"}';
const headers = { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, body) };
const now = Number(timestamp) + 10;
const verdict: Verdict = verify({ body, headers, secret, now });

const full = JSON.stringify({
  event: "message.received",
  event_id: "evt_1",
  occurred_at: "2024-03-21T10:05:00.000Z",
  inbox_id: "inb_1",
  thread_id: "thr_1",
  message: {
    id: "msg_1",
    from: "a@example.com",
    to: "b@example.com",
    subject: "Hello",
    body_text: "Hi",
    attachments: [],
  },
});
const fullHeaders = { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, full) };
const event: OpenMailEvent = constructEvent({ body: full, headers: fullHeaders, secret: ["new_secret", secret], now });
let subject = "";
if (event.event === "message.received") subject = event.message.subject;

let reason = "";
try {
  constructEvent({ body: JSON.parse(full), headers: fullHeaders, secret, now });
} catch (error) {
  if (error instanceof WebhookVerificationError) reason = error.reason;
}

// A lifecycle event without pod_id ("if any"), judged at a Date: pod_id comes back null, typed string | null.
const suspension = JSON.stringify({
  event: "inbox.suspended",
  event_id: "evt_2",
  occurred_at: "2024-03-21T10:05:00.000Z",
  inbox_id: "inb_1",
  inbox_address: "agent@example.com",
  reason: "abuse",
});
const suspensionHeaders = { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, suspension) };
const lifecycle = constructEvent({ body: suspension, headers: suspensionHeaders, secret, now: new Date(now * 1000) });
const podId: string | null = lifecycle.event === "inbox.suspended" ? lifecycle.pod_id : "not narrowed";

// A genuine delivery whose payload is not the documented shape: the parsed body comes with the error.
const odd = '{"event":"inbox.suspended","event_id":"evt_3"}';
let oddPayload: unknown;
try {
  constructEvent({
    body: odd,
    headers: { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, odd) },
    secret,
    now,
  });
} catch (error) {
  if (error instanceof WebhookVerificationError && error.reason === "payload_invalid") oddPayload = error.payload;
}

// now in milliseconds is a mistake in the calling code: a TypeError, not a verdict.
let millis = "";
try {
  verify({ body, headers, secret, now: now * 1000 });
} catch (error) {
  millis = error instanceof TypeError ? "TypeError" : String(error);
}

// An ArrayBuffer, as `await request.arrayBuffer()` gives (the body is ASCII).
const arrayBuffer = Uint8Array.from(body, (char) => char.charCodeAt(0)).buffer;
const asyncVerdict = await verifyAsync({ body: arrayBuffer, headers, secret, now });
console.log(
  JSON.stringify({
    signature: headers["x-signature"],
    valid: verdict.valid,
    subject,
    reason,
    asyncValid: asyncVerdict.valid,
    secretIndex: verify({ body: full, headers: fullHeaders, secret: ["new_secret", secret], now }).secretIndex,
    podId,
    oddPayload,
    millis,
  }),
);
