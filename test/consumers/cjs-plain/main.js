// A plain CommonJS app (an `npm init` Express app): require() and every mistake verify explains.
const { constructEvent, sign, verify, WebhookVerificationError } = require("openmail-hooks");

const secret = "example_secret";
const timestamp = "1711015501";
const body = '{"event":"message.received","event_id":"evt_abc123"}';
const headers = { "x-timestamp": timestamp, "x-signature": sign(secret, timestamp, body) };
const now = Number(timestamp);

const reasons = {
  parsedBody: verify({ body: JSON.parse(body), headers, secret, now }).reason,
  undefinedBody: verify({ body: undefined, headers, secret, now }).reason,
  unsetSecret: verify({ body, headers, secret: process.env.SURELY_UNSET_SECRET, now }).reason,
  undefinedHeaders: verify({ body, headers: undefined, secret, now }).reason,
  arrayBuffer: verify({ body: new TextEncoder().encode(body).buffer, headers, secret, now }).valid,
};
let thrown = "";
try {
  constructEvent({ body: {}, headers, secret, now });
} catch (error) {
  thrown = error instanceof WebhookVerificationError ? error.reason : String(error);
}
// An app can load both forms (its code require()s, a dependency imports): the error class still matches.
import("openmail-hooks").then((esm) => {
  let crossBuild = false;
  try {
    esm.constructEvent({ body, headers, secret: "wrong", now });
  } catch (error) {
    crossBuild = error instanceof WebhookVerificationError && esm.constructEvent !== constructEvent;
  }
  const valid = verify({ body, headers, secret, now }).valid;
  console.log(JSON.stringify({ signature: headers["x-signature"], valid, reasons, thrown, crossBuild }));
});
