/**
 * Express: verify the raw body. `express.raw()` keeps the bytes OpenMail signed; `express.json()`
 * would parse them, and a re-serialized body no longer matches the signature.
 *
 *   createApp([process.env.OPENMAIL_WEBHOOK_SECRET, process.env.OPENMAIL_WEBHOOK_SECRET_PREVIOUS]).listen(3000);
 */
import express from "express";
import { constructEvent, type SecretInput, WebhookVerificationError } from "openmail-hooks";
import { handleEvent } from "../shared/handle-event.js";

export function createApp(secret: SecretInput | undefined): express.Express {
  const app = express();
  app.post("/webhooks/openmail", express.raw({ type: "application/json", limit: "10mb" }), (req, res) => {
    try {
      const event = constructEvent({ body: req.body, headers: req.headers, secret });
      res.status(200).send(handleEvent(event));
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      // error.reason: "signature_mismatch", "timestamp_too_old", "body_not_raw", ...
      res.status(400).send(error.message);
    }
  });
  return app;
}
