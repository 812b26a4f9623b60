/**
 * Hono: read the raw body with `c.req.text()` (or `arrayBuffer()`) before anything parses it.
 * `constructEventAsync` works on every runtime Hono runs on: Node (serve it with @hono/node-server),
 * Bun, Deno, Cloudflare Workers (where the package's Web Crypto entry is chosen).
 *
 *   export default createApp((env) => env.OPENMAIL_WEBHOOK_SECRET);
 */
import { Hono } from "hono";
import { constructEventAsync, type SecretInput, WebhookVerificationError } from "openmail-hooks";
import { handleEvent } from "../shared/handle-event.js";

type Env = { Bindings: Record<string, string | undefined> };

/** `secretOf` reads the secret per request: from process.env on Node, from the bindings on Workers. */
export function createApp(secretOf: (bindings: Env["Bindings"]) => SecretInput | undefined): Hono<Env> {
  const app = new Hono<Env>();
  app.post("/webhooks/openmail", async (c) => {
    try {
      const event = await constructEventAsync({
        body: await c.req.text(),
        headers: c.req.raw.headers,
        secret: secretOf(c.env ?? {}),
      });
      return c.text(handleEvent(event), 200);
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      return c.text(error.message, 400);
    }
  });
  return app;
}
