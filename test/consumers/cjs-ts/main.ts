// A CommonJS TypeScript app (what `npm init` + tsc give): compiles to require("openmail-hooks").
import { constructEvent, type OpenMailEvent, sign, verify, WebhookVerificationError } from "openmail-hooks";

declare const console: { log(line: string): void };

const secret = "example_secret";
const timestamp = "1711015501";
const body = '{"event":"message.received","event_id":"evt_abc123"}';
const headers = { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, body) };
const verdict = verify({ body, headers, secret, now: Number(timestamp) });

let reason = "";
try {
  const event: OpenMailEvent = constructEvent({ body, headers, secret, now: Number(timestamp) + 301 });
  // pod_id is "if any" in OpenMail's docs: string | null.
  if (event.event === "pod.suspended") reason = event.pod_id ?? "no pod";
} catch (error) {
  if (error instanceof WebhookVerificationError) reason = error.reason;
}
console.log(JSON.stringify({ signature: headers["x-signature"], valid: verdict.valid, reason }));
