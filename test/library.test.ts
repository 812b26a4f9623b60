/**
 * The library entries (src/index.ts for Node, src/web.ts for Web Crypto): the mistakes verify
 * exists to explain, secret rotation, the typed throwing variant, and the same verdicts on both
 * paths. The packed-tarball consumers are in package.test.ts.
 */
import { describe, expect, it } from "vitest";
import * as node from "../src/index.js";
import * as web from "../src/web.js";
import { randomBytes, randomString, seededRandom } from "./helpers/random.js";

const SECRET = "example_secret";
const TIMESTAMP = "1711015501";
const NOW = Number(TIMESTAMP) + 10;
const VECTOR_BODY = '{"event":"message.received","event_id":"evt_abc123"}';
const VECTOR_SIGNATURE = "61d26078e3833b332cf65512d1144d1cb32c8fbd0e7d0dc8d2e267b54730df60";
const HEADERS = { "x-timestamp": TIMESTAMP, "x-signature": VECTOR_SIGNATURE };

const MESSAGE = {
  event: "message.received",
  event_id: "evt_1",
  occurred_at: "2024-03-21T10:05:00.000Z",
  delivered_at: "2024-03-21T10:05:01.000Z",
  attempt: 1,
  inbox_id: "inb_1",
  thread_id: "thr_1",
  message: {
    id: "msg_1",
    rfc_message_id: "<a@b>",
    from: "a@example.com",
    to: "b@example.com",
    cc: [],
    subject: "Hello",
    body_text: "Hi",
    attachments: [],
    received_at: "2024-03-21T10:05:00.000Z",
  },
};

function signed(payload: unknown, secret = SECRET) {
  const body = JSON.stringify(payload);
  return { body, headers: { "x-timestamp": TIMESTAMP, "x-signature": node.sign(secret, TIMESTAMP, body) } };
}

type Input = Parameters<typeof node.verify>[0];
/** Inputs that break the types on purpose, as JavaScript callers and `any` bodies do. */
const loose = (input: Record<string, unknown>) => input as unknown as Input;

const MISTAKES: Array<[string, Input, node.VerifyFailureReason, RegExp]> = [
  [
    "a parsed object body (express.json())",
    loose({ body: JSON.parse(VECTOR_BODY), headers: HEADERS, secret: SECRET, now: NOW }),
    "body_not_raw",
    /parsed object: verify the raw bytes, e\.g\. express\.raw\(\{ type: 'application\/json' \}\)/,
  ],
  [
    "an undefined body",
    loose({ body: undefined, headers: HEADERS, secret: SECRET, now: NOW }),
    "body_not_raw",
    /no body was given \(undefined\)/,
  ],
  [
    "a stream body",
    loose({ body: new ReadableStream(), headers: HEADERS, secret: SECRET, now: NOW }),
    "body_not_raw",
    /stream, not its bytes: read it first/,
  ],
  [
    "a number body",
    loose({ body: 42, headers: HEADERS, secret: SECRET, now: NOW }),
    "body_not_raw",
    /the body is a number/,
  ],
  [
    "an unset secret (process.env.X!)",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: undefined, now: NOW }),
    "secret_missing",
    /no webhook secret \(undefined\): set it to the webhook secret from the OpenMail dashboard/,
  ],
  ["an empty secret", { body: VECTOR_BODY, headers: HEADERS, secret: "", now: NOW }, "secret_missing", /empty/],
  [
    "a list of unset secrets",
    { body: VECTOR_BODY, headers: HEADERS, secret: [undefined, ""], now: NOW },
    "secret_missing",
    /none of the 2 webhook secrets given is set/,
  ],
  [
    "a secret that is not a string",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: [SECRET, 42], now: NOW }),
    "secret_missing",
    /secret\[1\] is a number, not a string/,
  ],
  [
    "undefined headers",
    loose({ body: VECTOR_BODY, headers: undefined, secret: SECRET, now: NOW }),
    "headers_missing",
    /no headers were given \(undefined\): pass the request's headers/,
  ],
  ["no input at all", undefined as unknown as Input, "secret_missing", /no webhook secret/],
  [
    "a tolerance that is NaN (the signature and timestamp are fine)",
    { body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: NOW, toleranceSeconds: Number.NaN },
    "options_invalid",
    /^toleranceSeconds must be a number of seconds, 0 or more \(got NaN\): leave it out for the default 300$/,
  ],
  [
    "a negative tolerance",
    { body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: NOW, toleranceSeconds: -5 },
    "options_invalid",
    /got -5/,
  ],
  [
    "a now that is not a number",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: "yesterday" }),
    "options_invalid",
    /^now must be the current time in unix seconds \(got a string\): leave it out to use the clock$/,
  ],
];

describe.each([
  ["Node", node.verify],
  ["Web Crypto", web.verifyAsync],
] as const)("verify on the %s path", (_path, verify) => {
  it.each(MISTAKES)("never throws on %s: it returns its reason and the fix", async (_label, input, reason, message) => {
    const verdict = await verify(input);
    expect(verdict).toMatchObject({ valid: false, reason });
    expect(verdict.message).toMatch(message);
  });

  it.each([
    ["a string", VECTOR_BODY],
    ["a Buffer", Buffer.from(VECTOR_BODY)],
    ["a Uint8Array", new TextEncoder().encode(VECTOR_BODY)],
    ["an ArrayBuffer (request.arrayBuffer())", new TextEncoder().encode(VECTOR_BODY).buffer],
    ["a view into a larger buffer", Buffer.from(`xx${VECTOR_BODY}yy`).subarray(2, 2 + VECTOR_BODY.length)],
    // Outside the type, but accepted at run time like any other view of bytes.
    ["a DataView", new DataView(new TextEncoder().encode(VECTOR_BODY).buffer) as unknown as Uint8Array],
  ])("accepts the known vector as %s", async (_label, body) => {
    expect(await verify({ body, headers: HEADERS, secret: SECRET, now: NOW })).toMatchObject({
      valid: true,
      secretIndex: 0,
    });
  });

  it("accepts any of several secrets during a rotation and says which matched", async () => {
    const rotating = await verify({ body: VECTOR_BODY, headers: HEADERS, secret: ["new", SECRET], now: NOW });
    expect(rotating).toMatchObject({ valid: true, secretIndex: 1 });
    const unsetOld = await verify({ body: VECTOR_BODY, headers: HEADERS, secret: [SECRET, undefined], now: NOW });
    expect(unsetOld).toMatchObject({ valid: true, secretIndex: 0 });
    const neither = await verify({ body: VECTOR_BODY, headers: HEADERS, secret: ["a", "b"], now: NOW });
    expect(neither).toMatchObject({ valid: false, reason: "signature_mismatch" });
    expect(neither.message).toContain("tried 2 secrets");
    const stale = await verify({ body: VECTOR_BODY, headers: HEADERS, secret: ["a", SECRET], now: NOW + 400 });
    expect(stale).toMatchObject({ valid: false, reason: "timestamp_too_old", secretIndex: 1 });
  });
});

describe("the Web Crypto path", () => {
  it("gives the Node path's signature and verdict for random bodies, secrets and headers", async () => {
    const random = seededRandom(11);
    for (let i = 0; i < 60; i++) {
      const body = randomBytes(random, Math.floor(random() * 3000));
      const secret = randomString(random, 1 + Math.floor(random() * 40));
      const timestamp = String(Number(TIMESTAMP) + Math.floor(random() * 800) - 400);
      const signature = random() < 0.5 ? node.sign(secret, timestamp, body) : node.sign(`${secret}x`, timestamp, body);
      expect(await web.signAsync(secret, timestamp, body)).toBe(node.sign(secret, timestamp, body));
      const input = { body, headers: { "X-Timestamp": timestamp, "X-Signature": signature }, secret, now: NOW };
      expect(await web.verifyAsync(input)).toEqual(node.verify(input));
    }
  });

  it("refuses the synchronous functions with the async one to use", () => {
    expect(() => web.verify({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET })).toThrow(
      /verify\(\) needs node:crypto, which this runtime does not have: use await verifyAsync/,
    );
    expect(() => web.sign(SECRET, TIMESTAMP, VECTOR_BODY)).toThrow(/use await signAsync/);
    expect(() => web.constructEvent({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET })).toThrow(
      /use await constructEventAsync/,
    );
  });

  it("rejects signing with an empty secret or a parsed body, saying so", async () => {
    await expect(web.signAsync("", TIMESTAMP, VECTOR_BODY)).rejects.toThrow(/non-empty string/);
    await expect(web.signAsync(SECRET, TIMESTAMP, {} as unknown as string)).rejects.toThrow(/parsed object/);
  });
});

describe.each([
  ["constructEvent", async (input: Input) => node.constructEvent(input)],
  ["constructEventAsync (Node)", node.constructEventAsync],
  ["constructEventAsync (Web Crypto)", web.constructEventAsync],
] as const)("%s", (_name, construct) => {
  async function failure(input: Input) {
    try {
      await construct(input);
    } catch (error) {
      return error;
    }
    throw new Error("expected it to throw");
  }

  it("returns the typed event, narrowed by its event type", async () => {
    const event = await construct({ ...signed(MESSAGE), secret: SECRET, now: NOW });
    if (event.event !== "message.received") throw new Error(`got ${event.event}`);
    expect(event.message.subject).toBe("Hello");
  });

  it("returns an unknown event type as an unknown event instead of rejecting it", async () => {
    const payload = { event: "thread.created", event_id: "evt_9", thread_id: "thr_9" };
    const event = await construct({ ...signed(payload), secret: SECRET, now: NOW });
    expect(event).toEqual(payload);
    expect(node.isKnownEventType(event.event)).toBe(false);
  });

  it.each(MISTAKES)("throws a WebhookVerificationError for %s, with the reason", async (_label, input, reason) => {
    const error = await failure(input);
    expect(error).toBeInstanceOf(node.WebhookVerificationError);
    expect(error).toMatchObject({ reason, name: "WebhookVerificationError" });
  });

  it.each([
    ["a wrong secret", { ...signed(MESSAGE, "other"), secret: SECRET, now: NOW }, "signature_mismatch"],
    ["a stale timestamp", { ...signed(MESSAGE), secret: SECRET, now: NOW + 400 }, "timestamp_too_old"],
    [
      "no X-Signature",
      { body: VECTOR_BODY, headers: { "x-timestamp": TIMESTAMP }, secret: SECRET },
      "missing_signature",
    ],
  ] as const)("throws for %s", async (_label, input, reason) => {
    expect(await failure(input)).toMatchObject({ reason, verdict: { valid: false, reason } });
  });

  it.each([
    ["a body that is not JSON", "not json", /not JSON/],
    ["a JSON array", "[1,2]", /not a JSON object/],
    ["a message event without its fields (the documented vector)", VECTOR_BODY, /message\.received event lacks/],
    ["an event without event_id", '{"event":"thread.created"}', /event_id \(string\)/],
  ])("throws payload_invalid for %s, with a valid verdict", async (_label, body, message) => {
    const headers = { "x-timestamp": TIMESTAMP, "x-signature": node.sign(SECRET, TIMESTAMP, body) };
    const error = await failure({ body, headers, secret: SECRET, now: NOW });
    expect(error).toMatchObject({ reason: "payload_invalid", verdict: { valid: true } });
    expect((error as Error).message).toMatch(message);
  });

  it("reads a body with a byte-order mark, as bytes and as text", async () => {
    const text = `\uFEFF${JSON.stringify(MESSAGE)}`;
    const headers = { "x-timestamp": TIMESTAMP, "x-signature": node.sign(SECRET, TIMESTAMP, text) };
    for (const body of [text, Buffer.from(text)]) {
      expect(await construct({ body, headers, secret: SECRET, now: NOW })).toMatchObject({ event_id: "evt_1" });
    }
  });
});

describe("WebhookVerificationError", () => {
  it("is recognised by instanceof across copies of the library, and nothing else is", () => {
    const verdict = node.verify({ body: VECTOR_BODY, headers: {}, secret: SECRET });
    const made = new node.WebhookVerificationError("missing_signature", verdict.message, verdict);
    expect(made).toBeInstanceOf(web.WebhookVerificationError);
    expect(made).toBeInstanceOf(Error);
    expect(new Error("missing_signature")).not.toBeInstanceOf(node.WebhookVerificationError);
    expect({ reason: "missing_signature" }).not.toBeInstanceOf(node.WebhookVerificationError);
  });
});

describe("diagnose", () => {
  it("names the mistake in the arguments instead of guessing at the signature", () => {
    expect(
      node.diagnose(loose({ body: {}, headers: HEADERS, secret: SECRET, now: NOW })).signatureFindings[0],
    ).toMatchObject({ code: "body_not_raw", fix: expect.stringContaining("express.raw") });
    expect(
      node.diagnose({ body: VECTOR_BODY, headers: HEADERS, secret: "", now: NOW }).signatureFindings[0],
    ).toMatchObject({ code: "empty_secret" });
  });

  it("explains a mismatch with the rotated secret that reproduces it", () => {
    const body = JSON.stringify(MESSAGE);
    const headers = { "x-timestamp": TIMESTAMP, "x-signature": node.sign(`${SECRET}\n`, TIMESTAMP, body) };
    const diagnosis = node.diagnose({ body, headers, secret: ["unrelated", SECRET], now: NOW });
    expect(diagnosis.verdict.reason).toBe("signature_mismatch");
    expect(diagnosis.signatureFindings.map((finding) => finding.code)).toEqual(["secret_whitespace"]);
  });
});
