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
  }),
);
