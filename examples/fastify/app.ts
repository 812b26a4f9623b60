/**
 * Fastify: keep the raw body by parsing application/json as a Buffer, only in the scope of the
 * webhook route (the rest of the app keeps Fastify's JSON parser).
 *
 *   await createApp(process.env.OPENMAIL_WEBHOOK_SECRET).listen({ port: 3000 });
 */
import Fastify, { type FastifyInstance } from "fastify";
import { constructEvent, type SecretInput, WebhookVerificationError } from "openmail-hooks";
import { handleEvent } from "../shared/handle-event.js";

export function createApp(secret: SecretInput | undefined): FastifyInstance {
  const app = Fastify({ bodyLimit: 10 * 1024 * 1024 });
  app.register(async (webhooks) => {
    webhooks.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
      done(null, body);
    });
    webhooks.post("/webhooks/openmail", async (request, reply) => {
      try {
        const event = constructEvent({ body: request.body as Buffer, headers: request.headers, secret });
        return reply.code(200).send(handleEvent(event));
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        return reply.code(400).send(error.message);
      }
    });
  });
  return app;
}
