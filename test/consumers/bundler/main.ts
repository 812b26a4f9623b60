// A bundled TypeScript app (Vite, Next.js, esbuild: moduleResolution bundler), in a Web route handler style.
import { constructEventAsync, type OpenMailEvent, signAsync, verifyAsync } from "openmail-hooks";

export async function POST(request: Request): Promise<Response> {
  let event: OpenMailEvent;
  try {
    event = await constructEventAsync({
      body: await request.text(),
      headers: request.headers,
      secret: "example_secret",
    });
  } catch (error) {
    return new Response(error instanceof Error ? error.message : "invalid", { status: 400 });
  }
  return new Response(event.event === "message.received" ? event.message.subject : event.event);
}

const timestamp = "1711015501";
const body = '{"event":"message.received","event_id":"evt_abc123"}';
const signature = await signAsync("example_secret", timestamp, body);
const headers = new Headers({ "X-Timestamp": timestamp, "X-Signature": signature });
const verdict = await verifyAsync({ body, headers, secret: "example_secret", now: Number(timestamp) });
const lifecycle = JSON.stringify({
  event: "pod.suspended",
  event_id: "evt_2",
  occurred_at: "2024-03-21T10:05:00.000Z",
  inbox_id: null,
  inbox_address: null,
  pod_id: "pod_1",
  reason: "pod_degraded",
});
const now = String(Math.floor(Date.now() / 1000));
const response = await POST(
  new Request("http://localhost/webhooks", {
    method: "POST",
    body: lifecycle,
    headers: { "x-timestamp": now, "x-signature": await signAsync("example_secret", now, lifecycle) },
  }),
);
console.log(JSON.stringify({ signature, valid: verdict.valid, routed: await response.text() }));
