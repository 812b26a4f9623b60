// Run in a Web-standard runtime (edge-runtime's VM, no Buffer) and on Node with node:crypto hidden:
// the async API through crypto.subtle, the same verdicts, and the sync API's clear refusal.
import { constructEventAsync, signAsync, verify, verifyAsync, WebhookVerificationError } from "openmail-hooks";

export async function check() {
  const secret = "example_secret";
  const timestamp = "1711015501";
  const body = '{"event":"message.received","event_id":"evt_abc123"}';
  const signature = "61d26078e3833b332cf65512d1144d1cb32c8fbd0e7d0dc8d2e267b54730df60";
  const headers = { "x-timestamp": timestamp, "x-signature": signature };
  const now = Number(timestamp) + 10;
  const result = {
    valid: (await verifyAsync({ body, headers, secret, now })).valid,
    bytes: (await verifyAsync({ body: new TextEncoder().encode(body), headers: new Headers(headers), secret, now }))
      .valid,
    arrayBuffer: (await verifyAsync({ body: new TextEncoder().encode(body).buffer, headers, secret, now })).valid,
    rotated: (await verifyAsync({ body, headers, secret: [undefined, "new", secret], now })).secretIndex,
    parsedBody: (await verifyAsync({ body: JSON.parse(body), headers, secret, now })).reason,
    unsetSecret: (await verifyAsync({ body, headers, secret: undefined, now })).reason,
    noHeaders: (await verifyAsync({ body, headers: undefined, secret, now })).reason,
    mismatch: (await verifyAsync({ body: `${body} `, headers, secret, now })).reason,
    stale: (await verifyAsync({ body, headers, secret, now: now + 400 })).reason,
    blobBody: (await verifyAsync({ body: new Blob([body]), headers, secret, now })).message.split(",")[0],
    podId: "",
    millis: "",
    thrown: "",
    syncVerify: "",
    hasBuffer: typeof globalThis.Buffer !== "undefined",
  };
  // A lifecycle event without pod_id ("if any"): accepted, pod_id null.
  const suspension = JSON.stringify({
    event: "pod.suspended",
    event_id: "evt_2",
    occurred_at: "2024-03-21T10:05:00.000Z",
    reason: "pod_degraded",
  });
  const suspensionHeaders = { "x-timestamp": timestamp, "x-signature": await signAsync(secret, timestamp, suspension) };
  const lifecycle = await constructEventAsync({ body: suspension, headers: suspensionHeaders, secret, now });
  result.podId = lifecycle.pod_id;
  try {
    await verifyAsync({ body, headers, secret, now: now * 1000 });
  } catch (error) {
    result.millis = error instanceof TypeError ? "TypeError" : String(error);
  }
  try {
    await constructEventAsync({ body, headers, secret: "wrong", now });
  } catch (error) {
    result.thrown = error instanceof WebhookVerificationError ? error.reason : String(error);
  }
  try {
    verify({ body, headers, secret, now });
  } catch (error) {
    result.syncVerify = error.message;
  }
  return result;
}
