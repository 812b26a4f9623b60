/**
 * A Next.js App Router route handler (app/api/openmail/route.ts): a Web `Request` in, a `Response`
 * out. Read the body with `await request.text()`: never `request.json()` before verifying.
 * It runs on the Node runtime as is, and on the edge runtime with `export const runtime = "edge"`
 * (the package's `edge-light` condition then selects its Web Crypto entry).
 */
import { constructEventAsync, WebhookVerificationError } from "openmail-hooks";
import { handleEvent } from "../../../../shared/handle-event.js";

export async function POST(request: Request): Promise<Response> {
  try {
    const event = await constructEventAsync({
      body: await request.text(),
      headers: request.headers,
      // The new secret first; the old one only while a rotation rolls out (unset entries are skipped).
      secret: [process.env.OPENMAIL_WEBHOOK_SECRET, process.env.OPENMAIL_WEBHOOK_SECRET_PREVIOUS],
    });
    return new Response(handleEvent(event), { status: 200 });
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    return new Response(error.message, { status: 400 });
  }
}
