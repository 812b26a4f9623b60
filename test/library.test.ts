/**
 * The library entries (src/index.ts for Node, src/web.ts for Web Crypto): the mistakes verify
 * exists to explain, secret rotation, the typed throwing variant, and the same verdicts on both
 * paths. The packed-tarball consumers are in package.test.ts.
 */
import { createHmac } from "node:crypto";
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
    "a secret given as a Buffer",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: Buffer.from(SECRET), now: NOW }),
    "secret_missing",
    /the webhook secret is a Buffer, not a string: pass the secret as a string \(bytes\.toString\("utf8"\)/,
  ],
  [
    "a secret given as a Uint8Array in a rotation list",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: [new TextEncoder().encode(SECRET)], now: NOW }),
    "secret_missing",
    /secret\[0\] is a Uint8Array, not a string: pass the secret as a string/,
  ],
  [
    "a config object as the secret",
    loose({ body: VECTOR_BODY, headers: HEADERS, secret: { secret: SECRET }, now: NOW }),
    "secret_missing",
    /the webhook secret is an object, not a string: pass the secret string itself/,
  ],
  [
    "a Blob body (web)",
    loose({ body: new Blob([VECTOR_BODY]), headers: HEADERS, secret: SECRET, now: NOW }),
    "body_not_raw",
    /the body is a Blob, not its bytes: pass await body\.arrayBuffer\(\)/,
  ],
  [
    "the fetch Request itself as the body",
    loose({
      body: new Request("http://x/", { method: "POST", body: VECTOR_BODY }),
      headers: HEADERS,
      secret: SECRET,
      now: NOW,
    }),
    "body_not_raw",
    /the body is a Request, not its bytes: pass await body\.arrayBuffer\(\) \(await request\.text\(\)/,
  ],
  [
    "headers as Object.entries() pairs",
    loose({ body: VECTOR_BODY, headers: Object.entries(HEADERS), secret: SECRET, now: NOW }),
    "headers_missing",
    /the headers are an array \(entries, or Node's req\.rawHeaders\): pass the headers object itself .*Object\.fromEntries\(entries\)/,
  ],
];

/** `now` and `toleranceSeconds` mistakes: bugs in the calling code, thrown as TypeErrors saying what to pass. */
const BAD_OPTIONS: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    "now: Date.now() (milliseconds)",
    { now: NOW * 1000 + 499 },
    /now is in unix seconds, and \d+ is milliseconds \(Date\.now\(\)\): pass Math\.floor\(Date\.now\(\) \/ 1000\), or a Date/,
  ],
  ["now: NaN", { now: Number.NaN }, /now must be unix seconds .* or a valid Date, not NaN/],
  ["now: a string", { now: "yesterday" }, /not the string "yesterday"/],
  ["now: an invalid Date", { now: new Date("yesterday") }, /not an invalid Date/],
  [
    "toleranceSeconds: NaN",
    { toleranceSeconds: Number.NaN },
    /toleranceSeconds must be a number of seconds >= 0 .* not NaN/,
  ],
  ["toleranceSeconds: -1", { toleranceSeconds: -1 }, /not -1/],
  ["toleranceSeconds: a string", { toleranceSeconds: "300" }, /not the string "300"/],
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

  it.each(BAD_OPTIONS)("throws a TypeError for %s, saying what to pass", async (_label, options, message) => {
    const input = loose({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET, ...options });
    const thrown = await (async () => verify(input))().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(message);
  });

  it("judges the timestamp at a Date given as now, as at its unix seconds", async () => {
    const at = (seconds: number) => new Date(seconds * 1000 + 999);
    expect(await verify({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: at(NOW) })).toMatchObject({
      valid: true,
      timestamp: { ageSeconds: 10 },
    });
    const stale = await verify({ body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: at(NOW + 400) });
    expect(stale).toMatchObject({ valid: false, reason: "timestamp_too_old", timestamp: { ageSeconds: 410 } });
    // Infinity as the tolerance is a number >= 0: it turns the time check off.
    const anyTime = { body: VECTOR_BODY, headers: HEADERS, secret: SECRET, now: NOW + 1e6, toleranceSeconds: Infinity };
    expect(await verify(anyTime)).toMatchObject({ valid: true });
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
  ["sign (Node)", async (...args: Parameters<typeof node.sign>) => node.sign(...args)],
  ["signAsync (Node)", node.signAsync],
  ["signAsync (Web Crypto)", web.signAsync],
] as const)("%s", (_name, signWith) => {
  const asSecret = (value: unknown) => value as string;
  it.each([
    [
      "an empty secret",
      "",
      TIMESTAMP,
      /the secret must be a non-empty string, not an empty string: pass the webhook secret/,
    ],
    ["an unset secret", asSecret(undefined), TIMESTAMP, /not undefined/],
    ["a Buffer secret", asSecret(Buffer.from(SECRET)), TIMESTAMP, /not a Buffer: pass the secret as a string/],
    ["a NaN timestamp", SECRET, Number.NaN, /the timestamp must be unix seconds, a whole number >= 0 .* not NaN/],
    ["a fractional timestamp", SECRET, 1711015501.5, /not 1711015501\.5/],
    ["a Date timestamp", SECRET, new Date() as unknown as number, /not a Date/],
    [
      "a timestamp in milliseconds (Date.now())",
      SECRET,
      1711015501000,
      /1711015501000 is milliseconds \(Date\.now\(\)\)/,
    ],
  ])(
    "throws a TypeError for %s instead of returning a signature no receiver accepts",
    async (_l, secret, ts, message) => {
      const thrown = await (async () => signWith(secret, ts, VECTOR_BODY))().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toMatch(message);
    },
  );

  it("a header in milliseconds (signed as a string) is judged as such, not as 'N s in the future'", async () => {
    const ms = `${TIMESTAMP}000`;
    const signature = await signWith(SECRET, ms, VECTOR_BODY);
    const verdict = node.verify({
      body: VECTOR_BODY,
      headers: { "x-timestamp": ms, "x-signature": signature },
      secret: SECRET,
      now: Number(TIMESTAMP),
    });
    expect(verdict).toMatchObject({ valid: false, reason: "timestamp_in_future" });
    expect(verdict.message).toBe(`timestamp ${ms} is in milliseconds; OpenMail sends unix seconds`);
  });

  it("signs the known vector from a number or the header's string", async () => {
    expect(await signWith(SECRET, Number(TIMESTAMP), VECTOR_BODY)).toBe(VECTOR_SIGNATURE);
    expect(await signWith(SECRET, TIMESTAMP, VECTOR_BODY)).toBe(VECTOR_SIGNATURE);
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

  const LIFECYCLE = {
    event: "inbox.suspended",
    event_id: "evt_def456",
    occurred_at: "2024-03-21T10:05:00.000Z",
    inbox_id: "inb_1",
    inbox_address: "agent@yourdomain.com",
    pod_id: "pod_1",
    reason: "high_bounce_rate",
  };
  const without = (payload: Record<string, unknown>, ...keys: string[]) =>
    Object.fromEntries(Object.entries(payload).filter(([key]) => !keys.includes(key)));
  const NULLS = { inbox_id: null, inbox_address: null, pod_id: null, reason: null };

  // ../shared/openmail-webhooks.md §3.3: pod_id "if any"; inbox_id and inbox_address null on pod events;
  // reason null on reactivations; PR #17's drafts had delivered_at/attempt, the first a nested reputation{}.
  it.each([
    ['an inbox.suspended without pod_id ("if any")', without(LIFECYCLE, "pod_id"), { pod_id: null }],
    [
      "an inbox.reactivated without reason or pod_id",
      { ...without(LIFECYCLE, "reason", "pod_id"), event: "inbox.reactivated" },
      { reason: null, pod_id: null },
    ],
    [
      "a pod.suspended without inbox_id and inbox_address",
      { ...without(LIFECYCLE, "inbox_id", "inbox_address"), event: "pod.suspended", reason: "pod_degraded" },
      { inbox_id: null, inbox_address: null, pod_id: "pod_1" },
    ],
    [
      "a pod.reactivated with nothing but its pod",
      { ...without(LIFECYCLE, "inbox_id", "inbox_address", "reason"), event: "pod.reactivated" },
      { ...NULLS, pod_id: "pod_1" },
    ],
    [
      "a pod.suspended without pod_id",
      { ...without(LIFECYCLE, "inbox_id", "inbox_address", "pod_id"), event: "pod.suspended" },
      { inbox_id: null, pod_id: null, reason: "high_bounce_rate" },
    ],
    [
      "PR #17's middle draft (delivered_at and attempt)",
      { ...LIFECYCLE, delivered_at: "2024-03-21T10:05:01.000Z", attempt: 2 },
      { attempt: 2, pod_id: "pod_1" },
    ],
    [
      "PR #17's first draft (a nested reputation, no inbox_address, pod_id or reason)",
      {
        ...without(LIFECYCLE, "inbox_address", "pod_id", "reason"),
        delivered_at: "2024-03-21T10:05:01.000Z",
        attempt: 1,
        reputation: { scope: "inbox", state: "suspended", reason: "bounce_rate_high", actor: "engine" },
      },
      { inbox_address: null, pod_id: null, reason: "bounce_rate_high", reputation: { actor: "engine" } },
    ],
    [
      "PR #17's first draft for a pod",
      {
        ...without(LIFECYCLE, "inbox_id", "inbox_address", "pod_id", "reason"),
        event: "pod.suspended",
        reputation: { scope: "pod", state: "suspended", reason: "pod_degraded", actor: "admin" },
      },
      { ...NULLS, reason: "pod_degraded" },
    ],
  ])("accepts %s, with the absent fields as null", async (_label, payload, expected) => {
    const event = await construct({ ...signed(payload), secret: SECRET, now: NOW });
    expect(event).toMatchObject({ ...payload, ...expected });
    for (const key of ["inbox_id", "inbox_address", "pod_id", "reason"]) expect(event).toHaveProperty(key);
    // listen's arrival line says "! payload is missing ..." from the same judgement: nothing to say here.
    expect(node.judgePayload(payload).problems).toEqual([]);
  });

  it("keeps a message event as it came, the older variant's external_id included", async () => {
    const older = { ...MESSAGE, external_id: "user_abc123" };
    const event = await construct({ ...signed(older), secret: SECRET, now: NOW });
    expect(event).toEqual(older);
    if (event.event === "message.received") expect(event.external_id).toBe("user_abc123");
  });

  it.each([
    [
      "an inbox.suspended without inbox_id",
      without(LIFECYCLE, "inbox_id"),
      /an inbox\.suspended event lacks or mistypes: inbox_id \(string\)$/,
    ],
    [
      "an inbox.suspended with no reason anywhere",
      without(LIFECYCLE, "reason"),
      /lacks or mistypes: reason \(string, or reputation\.reason\)$/,
    ],
    ["a pod_id that is a number", { ...LIFECYCLE, pod_id: 7 }, /lacks or mistypes: pod_id \(string\|null\)$/],
  ])("throws payload_invalid for %s, with the parsed payload to log", async (_label, payload, message) => {
    const error = await failure({ ...signed(payload), secret: SECRET, now: NOW });
    expect(error).toMatchObject({ reason: "payload_invalid", verdict: { valid: true }, payload });
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

  it("judges the timestamp at a Date given as now, with the tolerance in its finding", () => {
    const diagnosis = node.diagnose({
      body: VECTOR_BODY,
      headers: HEADERS,
      secret: SECRET,
      now: new Date((NOW + 400) * 1000),
    });
    expect(diagnosis.verdict.reason).toBe("timestamp_too_old");
    expect(diagnosis.timestampFinding).toMatchObject({
      code: "timestamp_stale",
      summary: expect.stringContaining("410 s old, beyond the 300 s"),
    });
  });

  it("tries an empty secret as a signer's slip (a whitespace-only secret, trimmed) without sign()'s refusal", () => {
    const signature = createHmac("sha256", "").update(`${TIMESTAMP}.${VECTOR_BODY}`).digest("hex");
    const headers = { "x-timestamp": TIMESTAMP, "x-signature": signature };
    const diagnosis = node.diagnose({ body: VECTOR_BODY, headers, secret: "  ", now: NOW });
    expect(diagnosis.signatureFindings.map((finding) => finding.code)).toEqual(["secret_whitespace"]);
  });

  it("explains a mismatch with the rotated secret that reproduces it", () => {
    const body = JSON.stringify(MESSAGE);
    const headers = { "x-timestamp": TIMESTAMP, "x-signature": node.sign(`${SECRET}\n`, TIMESTAMP, body) };
    const diagnosis = node.diagnose({ body, headers, secret: ["unrelated", SECRET], now: NOW });
    expect(diagnosis.verdict.reason).toBe("signature_mismatch");
    expect(diagnosis.signatureFindings.map((finding) => finding.code)).toEqual(["secret_whitespace"]);
  });
});
