/**
 * How the listener hands a webhook to its handler and writes the answer: a handler may answer at
 * once (a value) or later (a promise), or fail either way; every answer's fate is told once, and
 * every body's share of the budget is given back. Real node:http listener on 127.0.0.1.
 * Also the pipeline's answer-at-once path (nothing saved, nothing forwarded).
 */
import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { CapturedRequest } from "../src/core/capture.js";
import type { DeliveryOutcome } from "../src/core/contract.js";
import type { HttpClient } from "../src/io/http-client.js";
import {
  type AnswerFate,
  type ListenerNotice,
  type RunningListener,
  startListener,
  type WebhookResponse,
} from "../src/io/listener.js";
import { type Arrival, createWebhookPipeline, type Outcome } from "../src/io/webhook-pipeline.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";

const running: RunningListener[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((listener) => listener.close(100)));
});

type Handler = (request: CapturedRequest) => WebhookResponse | Promise<WebhookResponse>;

async function listener(onWebhook: Handler, options: { bodyBudget?: number } = {}) {
  const notices: ListenerNotice[] = [];
  const started = await startListener(
    { host: "127.0.0.1", port: 0, path: "/webhooks", maxBodySize: 4_000, bodyBudget: options.bodyBudget },
    { onWebhook: (request) => onWebhook(request), onNotice: (notice) => notices.push(notice) },
  );
  running.push(started);
  return { ...started, url: `${started.origin}/webhooks`, notices };
}

/** A POST with a chunked body (no Content-Length), sent in the pieces given. */
function postChunked(url: string, pieces: string[]) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

describe("the listener's answers", () => {
  it("writes an answer given at once, with its headers, and tells its fate once", async () => {
    const fates: AnswerFate[] = [];
    const received: CapturedRequest[] = [];
    const { url } = await listener((request) => {
      received.push(request);
      return {
        status: 202,
        headers: { "x-answer": "now" },
        body: "taken",
        onSettled: (fate) => fates.push(fate),
      };
    });
    const before = Date.now();
    const response = await post(url, { "Content-Type": "application/json", "X-Custom": "a" }, '{"a":1}');
    const after = Date.now();
    expect(response.status).toBe(202);
    expect(response.body).toBe("taken");
    expect(response.headers["x-answer"]).toBe("now");
    expect(response.headers["content-length"]).toBe("5");
    await expect.poll(() => fates.length).toBe(1);
    expect(fates).toEqual([{ kind: "written" }]);
    expect(received).toHaveLength(1);
    const request = received[0] as CapturedRequest;
    expect(Buffer.from(request.body).toString()).toBe('{"a":1}');
    expect(request.method).toBe("POST");
    expect(request.headers["x-custom"]).toBe("a");
    // The time it arrived, to the millisecond (not a clock kept per second).
    const at = Date.parse(request.receivedAt);
    expect(request.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });

  it("writes an answer given later (a promise) the same way", async () => {
    const fates: AnswerFate[] = [];
    const { url } = await listener(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { status: 200, body: "later", onSettled: (fate: AnswerFate) => fates.push(fate) };
    });
    const response = await post(url, {}, "x");
    expect(response.status).toBe(200);
    expect(response.body).toBe("later");
    await expect.poll(() => fates).toEqual([{ kind: "written" }]);
  });

  it("answers 500 and reports the error when the handler throws at once or rejects", async () => {
    let calls = 0;
    const { url, notices } = await listener(() => {
      calls += 1;
      if (calls === 1) throw new Error("thrown at once");
      return Promise.reject(new Error("rejected later"));
    });
    const first = await post(url, {}, "x");
    const second = await post(url, {}, "y");
    expect([first.status, second.status]).toEqual([500, 500]);
    expect(first.body).toBe("openmail-hooks: internal error\n");
    expect(notices).toEqual([
      { type: "handler-error", message: "thrown at once" },
      { type: "handler-error", message: "rejected later" },
    ]);
  });

  it("gives every body's budget back when answers come at once (the next body fits again)", async () => {
    // Budget 5,000 bytes: a 3,000-byte body fits only when the one before it gave its share back.
    const { url } = await listener(() => ({ status: 200, body: "ok" }), { bodyBudget: 5_000 });
    for (let i = 0; i < 6; i++) {
      const response = await post(url, {}, Buffer.alloc(3_000, 0x61));
      expect(response.status).toBe(200);
    }
  });

  it("reads a chunked body whole, in order, and gives its budget back", async () => {
    const bodies: string[] = [];
    const { url } = await listener(
      (request) => {
        bodies.push(Buffer.from(request.body).toString());
        return { status: 200, body: "ok" };
      },
      { bodyBudget: 5_000 },
    );
    for (let i = 0; i < 3; i++) {
      const response = await postChunked(url, ["a".repeat(1_500), "b".repeat(1_500), "c"]);
      expect(response.status).toBe(200);
    }
    expect(bodies).toEqual(Array(3).fill(`${"a".repeat(1_500)}${"b".repeat(1_500)}c`));
  });

  it("tells the fate 'sender-gone' once when the sender hangs up before a late answer", async () => {
    const fates: AnswerFate[] = [];
    let answer: ((response: WebhookResponse) => void) | undefined;
    const { url } = await listener(
      () =>
        new Promise<WebhookResponse>((resolve) => {
          answer = resolve;
        }),
    );
    const req = httpRequest(url, { method: "POST", agent: false });
    req.on("error", () => {});
    req.end("x");
    await expect.poll(() => answer !== undefined).toBe(true);
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer?.({ status: 200, body: "too late", onSettled: (fate) => fates.push(fate) });
    await expect.poll(() => fates).toEqual([{ kind: "sender-gone" }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fates).toHaveLength(1);
  });
});

describe("the pipeline with nothing to save or forward", () => {
  const secret = "whsec_answers_test";

  function pipeline() {
    const records: Array<{ kind: "arrival"; record: Arrival } | { kind: "outcome"; record: Outcome }> = [];
    const made = createWebhookPipeline({
      secret,
      toleranceSeconds: 300,
      routes: new Map(),
      now: () => Date.now(),
      onArrival: (record) => records.push({ kind: "arrival", record }),
      onOutcome: (record) => records.push({ kind: "outcome", record }),
    });
    return { pipeline: made, records };
  }

  function captured(
    headers: Record<string, string>,
    body: Buffer,
    receivedAt = new Date().toISOString(),
  ): CapturedRequest {
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    return { receivedAt, method: "POST", path: "/webhooks", headers: lower, body };
  }

  it("answers at once, emits the arrival before answering and the outcome only once the fate is known", () => {
    const { pipeline: made, records } = pipeline();
    const event = messageEvent();
    const { headers, body } = signedEvent(secret, event);
    const answer = made.handle(captured(headers, body));
    expect(answer).not.toBeInstanceOf(Promise);
    const response = answer as WebhookResponse;
    expect(response.status).toBe(200);
    expect(response.body).toBe("signature valid\n");
    expect(records.map((entry) => entry.kind)).toEqual(["arrival"]);
    expect(records[0]?.record.signature).toBe("valid");
    expect(records[0]?.record.inspection.eventId).toBe(event.event_id);

    response.onSettled?.({ kind: "sender-gone" });
    expect(records.map((entry) => entry.kind)).toEqual(["arrival", "outcome"]);
    const outcome = records[1]?.record as Outcome;
    expect(outcome.answer).toEqual({ kind: "sender-gone" });
    expect(outcome.status).toBe(200);
    expect(outcome.statusReason).toBe("signature valid");
    expect(outcome.seq).toBe(1);
    expect(made.stats()).toMatchObject({ received: 1, verified: 1, senderGone: 1, retries: 0 });
  });

  it("rejects a bad signature with 400, counts a redelivery, and a refusal's status replaces the answer's", () => {
    const { pipeline: made, records } = pipeline();
    const event = messageEvent();
    const { headers, body } = signedEvent("whsec_someone_else", event);
    const first = made.handle(captured(headers, body)) as WebhookResponse;
    expect(first.status).toBe(400);
    expect(String(first.body)).toMatch(/^rejected: /);
    first.onSettled?.({ kind: "written" });

    // The forged request above shares the event's id but is no delivery of it: the first good one is
    // not a retry, the second is.
    const good = signedEvent(secret, event);
    const second = made.handle(captured(good.headers, good.body)) as WebhookResponse;
    expect(second.status).toBe(200);
    second.onSettled?.({ kind: "written" });
    const third = made.handle(captured(good.headers, good.body)) as WebhookResponse;
    expect(third.status).toBe(200);
    third.onSettled?.({ kind: "refused", status: 503 });
    const outcomes = records.filter((entry) => entry.kind === "outcome").map((entry) => entry.record as Outcome);
    expect(outcomes.map((outcome) => [outcome.seq, outcome.status, outcome.answer.kind])).toEqual([
      [1, 400, "written"],
      [2, 200, "written"],
      [3, 503, "refused"],
    ]);
    expect(outcomes[1]?.duplicate).toBeUndefined();
    expect(outcomes[2]?.duplicate?.timesSeen).toBe(2);
    expect(made.stats()).toMatchObject({ received: 3, verified: 2, failedVerification: 1, retries: 1 });
  });

  it("a redelivery says when the event was first seen, whichever events came between (same or other times)", () => {
    const { pipeline: made, records } = pipeline();
    const first = messageEvent();
    const other = messageEvent();
    const times = [
      "2026-11-28T12:00:00.100Z",
      "2026-11-28T12:00:01.500Z",
      "2026-11-28T12:00:02.250Z",
      "2026-11-28T12:00:02.250Z",
    ];
    const sends = [first, other, first, other];
    sends.forEach((event, index) => {
      const { headers, body } = signedEvent(secret, event);
      const answer = made.handle(captured(headers, body, times[index])) as WebhookResponse;
      answer.onSettled?.({ kind: "written" });
    });
    const arrivals = records.filter((entry) => entry.kind === "arrival").map((entry) => entry.record);
    expect(arrivals.map((arrival) => arrival.duplicate)).toEqual([
      undefined,
      undefined,
      { timesSeen: 2, firstSeenAt: "2026-11-28T12:00:00.100Z", inFolder: false },
      { timesSeen: 2, firstSeenAt: "2026-11-28T12:00:01.500Z", inFolder: false },
    ]);
  });
});

describe("the pipeline forwarding with nothing to save", () => {
  const secret = "whsec_answer_first_test";
  const handlerAnswer: DeliveryOutcome = {
    kind: "response",
    status: 201,
    latencyMs: 1,
    bodyPreview: '{"stored":true}',
    bodyBytes: 15,
    headers: { "content-type": "application/json" },
  };

  /** A client whose every forward settles when the test says so (or at once). */
  function pipeline(settleAtOnce: boolean) {
    const records: Array<{ kind: "arrival"; record: Arrival } | { kind: "outcome"; record: Outcome }> = [];
    const settle: Array<(outcome: DeliveryOutcome) => void> = [];
    const client: HttpClient = {
      post: () => (settleAtOnce ? Promise.resolve(handlerAnswer) : new Promise<DeliveryOutcome>((r) => settle.push(r))),
      send: () => {
        throw new Error("not used by listen");
      },
      close: async () => {},
    };
    const made = createWebhookPipeline({
      secret,
      toleranceSeconds: 300,
      routes: new Map(),
      forwardTo: "http://127.0.0.1:9/webhooks",
      client,
      now: () => Date.now(),
      onArrival: (record) => records.push({ kind: "arrival", record }),
      onOutcome: (record) => records.push({ kind: "outcome", record }),
    });
    return { pipeline: made, records, settle };
  }

  function captured(headers: Record<string, string>, body: Buffer): CapturedRequest {
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    return { receivedAt: new Date().toISOString(), method: "POST", path: "/webhooks", headers: lower, body };
  }

  it("answers with the handler's answer first; the arrival and outcome are recorded once that answer's fate is known", async () => {
    const { pipeline: made, records } = pipeline(true);
    const event = messageEvent();
    const { headers, body } = signedEvent(secret, event);
    const answer = await made.handle(captured(headers, body));
    expect(answer.status).toBe(201);
    expect(answer.body).toBe('{"stored":true}');
    expect(answer.headers).toEqual({ "content-type": "application/json" });
    // Nothing recorded (nor counted) before the answer is written.
    expect(records).toEqual([]);
    expect(made.stats().received).toBe(0);

    answer.onSettled?.({ kind: "written" });
    expect(records.map((entry) => entry.kind)).toEqual(["arrival", "outcome"]);
    expect(records[0]?.record.signature).toBe("valid");
    const outcome = records[1]?.record as Outcome;
    expect(outcome).toMatchObject({ seq: 1, status: 201, answer: { kind: "written" } });
    expect(outcome.statusReason).toBe("relayed from http://127.0.0.1:9/webhooks");
    expect(outcome.forward?.outcome).toEqual(handlerAnswer);
    expect(made.stats()).toMatchObject({ received: 1, verified: 1, forwarded: { "201": 1 } });
  });

  it("a sender gone before that answer still gets its arrival and outcome recorded, as such", async () => {
    const { pipeline: made, records } = pipeline(true);
    const { headers, body } = signedEvent(secret, messageEvent());
    const answer = await made.handle(captured(headers, body));
    answer.onSettled?.({ kind: "sender-gone" });
    expect(records.map((entry) => entry.kind)).toEqual(["arrival", "outcome"]);
    expect((records[1]?.record as Outcome | undefined)?.answer).toEqual({ kind: "sender-gone" });
    expect(made.stats()).toMatchObject({ received: 1, senderGone: 1 });
  });

  it("a slow handler's arrival is recorded while it works, and its answer is relayed when it comes", async () => {
    const { pipeline: made, records, settle } = pipeline(false);
    const { headers, body } = signedEvent(secret, messageEvent());
    const answering = made.handle(captured(headers, body));
    await expect.poll(() => records.map((entry) => entry.kind), { timeout: 5_000 }).toEqual(["arrival"]);
    expect(settle).toHaveLength(1);
    settle[0]?.(handlerAnswer);
    const answer = await answering;
    expect(answer.status).toBe(201);
    answer.onSettled?.({ kind: "written" });
    expect(records.map((entry) => entry.kind)).toEqual(["arrival", "outcome"]);
    expect(made.stats()).toMatchObject({ received: 1, forwarded: { "201": 1 } });
  });
});
