/**
 * A Cloudflare Worker (module syntax): the `fetch` handler gets a Web `Request`. Wrangler bundles
 * with the `workerd`/`worker` conditions, so the package's Web Crypto entry is used: no
 * nodejs_compat flag needed. Set the secret with `wrangler secret put OPENMAIL_WEBHOOK_SECRET`.
 */
import { constructEventAsync, WebhookVerificationError } from "openmail-hooks";
import { handleEvent } from "../shared/handle-event.js";

export interface Env {
  OPENMAIL_WEBHOOK_SECRET?: string;
  OPENMAIL_WEBHOOK_SECRET_PREVIOUS?: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/webhooks/openmail") {
      return new Response("not found", { status: 404 });
    }
    try {
      const event = await constructEventAsync({
        body: await request.arrayBuffer(),
        headers: request.headers,
        secret: [env.OPENMAIL_WEBHOOK_SECRET, env.OPENMAIL_WEBHOOK_SECRET_PREVIOUS],
      });
      return new Response(handleEvent(event), { status: 200 });
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      return new Response(error.message, { status: 400 });
    }
  },
};
