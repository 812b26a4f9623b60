import { describe, expect, it } from "vitest";
import { type DeliveryOutcome, judgeDelivery, nextRetry, responseHint } from "../src/core/contract.js";
import { buildFakeEvent, deepMerge } from "../src/core/fake-events.js";
import { describeNetworkError } from "../src/io/http-client.js";

const response = (status: number, latencyMs = 10, headers: Record<string, string> = {}): DeliveryOutcome => ({
  kind: "response",
  status,
  latencyMs,
  bodyPreview: "",
  bodyBytes: 0,
  headers,
});

describe("delivery contract", () => {
  it("accepts a 2xx within 15 s and nothing else", () => {
    expect(judgeDelivery(response(200)).accepted).toBe(true);
    expect(judgeDelivery(response(204, 14_999)).accepted).toBe(true);
    expect(judgeDelivery(response(200, 15_001))).toMatchObject({ accepted: false, retry: { nextAttempt: 2 } });
    expect(judgeDelivery(response(302)).accepted).toBe(false);
    expect(judgeDelivery(response(400)).accepted).toBe(false);
    expect(judgeDelivery({ kind: "timeout", latencyMs: 15_000, timeoutMs: 15_000 }).accepted).toBe(false);
  });

  it("reads a delivery's attempt only for a delivery not accepted (replay parses it from the body)", () => {
    let reads = 0;
    const delivery = {
      get attempt() {
        reads += 1;
        return 4;
      },
    };
    expect(judgeDelivery(response(200), delivery)).toEqual({ accepted: true, summary: "200 in 10 ms" });
    expect(reads).toBe(0);
    expect(judgeDelivery(response(500), delivery).retry).toEqual({ nextAttempt: 5, afterSeconds: 240 });
    expect(judgeDelivery({ kind: "timeout", latencyMs: 5, timeoutMs: 5 }, delivery).retry?.nextAttempt).toBe(5);
    expect(judgeDelivery(response(200, 15_001), { attempt: 5 }).retry).toBeNull();
    expect(reads).toBe(2);
  });

  it("follows the documented retry schedule", () => {
    expect(nextRetry(1)).toEqual({ nextAttempt: 2, afterSeconds: 30 });
    expect(nextRetry(2)).toEqual({ nextAttempt: 3, afterSeconds: 60 });
    expect(nextRetry(3)).toEqual({ nextAttempt: 4, afterSeconds: 120 });
    expect(nextRetry(4)).toEqual({ nextAttempt: 5, afterSeconds: 240 });
    expect(nextRetry(5)).toBeNull();
  });

  it("hints where the evidence points", () => {
    expect(responseHint(response(401), { signatureValid: true })).toMatch(/parsed/);
    expect(responseHint(response(404))).toMatch(/path/);
    expect(responseHint(response(500))).toMatch(/failed with an error/);
    // Each 5xx gets the reason that fits it; none is called a crash.
    expect(responseHint(response(502))).toMatch(/proxy or gateway .* could not get an answer/);
    expect(responseHint(response(503))).toMatch(/unavailable/);
    expect(responseHint(response(504))).toMatch(/timed out waiting/);
    for (const status of [500, 502, 503, 504]) expect(responseHint(response(status))).not.toMatch(/crash/);
    expect(responseHint(response(301, 5, { location: "https://x/" }))).toMatch(/redirects to https:\/\/x\//);
    expect(responseHint(response(200))).toBeUndefined();
    // 999 is not an HTTP status at all, and an unreadable answer is not "could not be sent".
    expect(responseHint(response(999))).toMatch(/999, which is not an HTTP status code/);
    const unreadable: DeliveryOutcome = {
      kind: "network-error",
      error: "other",
      message: "request to http://127.0.0.1:3000 failed: HPE_HEADER_OVERFLOW",
      latencyMs: 5,
    };
    expect(responseHint(unreadable)).toMatch(/no valid HTTP answer came back .* may still have received the request/);
  });

  it("classifies connection errors from their codes, nested causes included", () => {
    const url = "http://127.0.0.1:3000/webhooks";
    expect(describeNetworkError({ code: "ECONNREFUSED" }, url)).toMatchObject({ error: "refused" });
    expect(describeNetworkError(new AggregateError([{ code: "ECONNREFUSED" }]), url).error).toBe("refused");
    expect(describeNetworkError({ cause: { code: "ENOTFOUND" } }, url)).toMatchObject({
      error: "dns",
      message: "cannot resolve the host of http://127.0.0.1:3000",
    });
    expect(describeNetworkError({ cause: { code: "DEPTH_ZERO_SELF_SIGNED_CERT" } }, url).error).toBe("tls");
    expect(describeNetworkError({ code: "UND_ERR_SOCKET" }, url).error).toBe("reset");
    expect(describeNetworkError(new Error("weird"), url)).toMatchObject({ error: "other" });
  });
});

describe("fake events", () => {
  let counter = 0;
  const randomHex = (length: number) => (counter++).toString(16).padStart(length, "0").slice(-length);
  const now = new Date("2026-11-26T10:00:00.000Z");

  it("marks extraction skipped above OpenMail's 10 MB limit and keeps camelCase attachment keys", () => {
    const event = buildFakeEvent({ type: "message.received", now, randomHex, attachments: ["a.pdf", "b.xyz"] }) as {
      message: { attachments: Array<Record<string, unknown>> };
    };
    const [pdf, unknown] = event.message.attachments;
    expect(Object.keys(pdf ?? {})).toEqual([
      "filename",
      "contentType",
      "sizeBytes",
      "url",
      "parsedText",
      "extractionMethod",
    ]);
    expect(unknown).toMatchObject({ contentType: "application/octet-stream", extractionMethod: "unsupported" });
  });

  it("deep-merges overrides, replacing arrays and keeping __proto__ a plain key", () => {
    const merged = deepMerge(
      { a: { b: 1, c: [1, 2] }, d: 1 },
      JSON.parse('{"a":{"c":[3]},"__proto__":{"x":1}}'),
    ) as Record<string, unknown>;
    expect(merged).toMatchObject({ a: { b: 1, c: [3] }, d: 1 });
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.hasOwn(merged, "__proto__")).toBe(true);
  });
});
