/**
 * The conformance scenarios of `send-test --scenario`: each builds requests a correct OpenMail
 * handler must accept or reject, and judges what the handler answered. Pure: the clock, the event
 * factory and the secret come in through the context.
 */
import { type DeliveryOutcome, judgeDelivery, responseHint, statusText } from "./contract.js";
import { LIFECYCLE_EVENT_TYPES } from "./events.js";
import { signedRequest, type WebhookRequest, withExtraHeaders } from "./request.js";
import { sign } from "./signature.js";

export const SCENARIO_NAMES = [
  "valid",
  "bad-signature",
  "wrong-secret",
  "stale-timestamp",
  "future-timestamp",
  "missing-headers",
  "tampered-body",
  "raw-body",
  "retry",
  "unknown-event",
  "lifecycle",
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export type Expectation = "2xx" | "4xx";

export interface ScenarioContext {
  secret: string;
  /** Builds a fresh event of a type; overrides are merged over it. */
  makeEvent(type: string, overrides?: Record<string, unknown>): Record<string, unknown>;
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

export interface ScenarioStep {
  label: string;
  expect: Expectation;
  /** Built when it is sent, so its timestamp is fresh. */
  build(nowSeconds: number): WebhookRequest;
}

export interface Scenario {
  name: ScenarioName;
  /** What a correct handler does. */
  expectation: string;
  steps: ScenarioStep[];
  /** Said after the result whatever it was (for example: dedupe on event_id). */
  reminder?: string;
  /** Why a handler that got this wrong failed, when it answered 2xx to a 4xx case or 4xx to a 2xx case. */
  whenWrong: string;
}

/** Six minutes: outside OpenMail's 300 s window with room for clock skew. */
const SKEW_SECONDS = 360;

export function buildScenario(name: ScenarioName, ctx: ScenarioContext): Scenario {
  const signed = (event: Record<string, unknown>, nowSeconds: number, body = jsonBody(event)) =>
    signedRequest({
      body,
      secret: ctx.secret,
      timestamp: nowSeconds,
      eventId: String(event.event_id),
      extraHeaders: ctx.extraHeaders,
    });
  const event = () => ctx.makeEvent("message.received");

  switch (name) {
    case "valid":
      return {
        name,
        expectation: "2xx within 15 s",
        steps: [{ label: "signed event", expect: "2xx", build: (now) => signed(event(), now) }],
        whenWrong: "rejected a correctly signed event: check the handler's secret and that it verifies the raw body",
      };
    case "bad-signature":
      return {
        name,
        expectation: "4xx",
        steps: [
          {
            label: "signature of another body",
            expect: "4xx",
            build: (now) => {
              const sent = event();
              const other = signed(event(), now);
              const request = signed(sent, now);
              return {
                ...request,
                headers: withHeader(request.headers, "X-Signature", other.headers["X-Signature"] ?? ""),
              };
            },
          },
        ],
        whenWrong: "accepted a body whose signature does not match: the handler does not verify X-Signature",
      };
    case "wrong-secret":
      return {
        name,
        expectation: "4xx",
        steps: [
          {
            label: "signed with another secret",
            expect: "4xx",
            build: (now) => {
              const sent = event();
              const request = signed(sent, now);
              const forged = sign(`${ctx.secret}-not-the-real-secret`, now, request.body);
              return { ...request, headers: withHeader(request.headers, "X-Signature", forged) };
            },
          },
        ],
        whenWrong: "accepted a request signed with another secret: the handler does not verify the signature",
      };
    case "stale-timestamp":
      return {
        name,
        expectation: "4xx",
        steps: [{ label: "timestamp 6 min old", expect: "4xx", build: (now) => signed(event(), now - SKEW_SECONDS) }],
        whenWrong:
          "accepted a correctly signed request 6 minutes old: the handler does not reject timestamps outside 300 s (replays get through)",
      };
    case "future-timestamp":
      return {
        name,
        expectation: "4xx",
        steps: [{ label: "timestamp 6 min ahead", expect: "4xx", build: (now) => signed(event(), now + SKEW_SECONDS) }],
        whenWrong: "accepted a timestamp 6 minutes in the future: check abs(now - timestamp) > 300, not only the past",
      };
    case "missing-headers":
      return {
        name,
        expectation: "4xx for each, never 5xx",
        steps: [
          {
            label: "no X-Signature",
            expect: "4xx",
            build: (now) => withoutHeader(signed(event(), now), "X-Signature"),
          },
          {
            label: "no X-Timestamp",
            expect: "4xx",
            build: (now) => withoutHeader(signed(event(), now), "X-Timestamp"),
          },
        ],
        whenWrong: "accepted a request without its signature headers: the handler does not require them",
      };
    case "tampered-body":
      return {
        name,
        expectation: "4xx",
        steps: [
          {
            label: "one byte changed after signing",
            expect: "4xx",
            build: (now) => {
              const request = signed(event(), now);
              return { ...request, body: flipOneByte(request.body) };
            },
          },
        ],
        whenWrong: "accepted a body changed after signing: the handler does not verify the signature over the body",
      };
    case "raw-body":
      return {
        name,
        expectation: "2xx (verify the raw bytes)",
        steps: [
          {
            label: "pretty JSON, unusual spacing and key order",
            expect: "2xx",
            build: (now) => {
              const sent = event();
              return signed(sent, now, Buffer.from(unusualJson(sent)));
            },
          },
        ],
        whenWrong:
          "rejected a correctly signed body with unusual formatting: the handler re-serializes the JSON before verifying; verify the raw bytes (express.raw(), request.get_data())",
      };
    case "retry": {
      let first: Record<string, unknown> | undefined;
      return {
        name,
        expectation: "2xx both times",
        steps: [
          {
            label: "attempt 1",
            expect: "2xx",
            build: (now) => {
              first = event();
              return signed(first, now);
            },
          },
          {
            label: "attempt 2, same event_id",
            expect: "2xx",
            build: (now) => {
              const again = { ...(first ?? event()), attempt: 2, delivered_at: new Date(now * 1000).toISOString() };
              return signed(again, now);
            },
          },
        ],
        reminder: "OpenMail delivers at least once: dedupe on event_id (X-Event-Id) and answer 2xx to a duplicate",
        whenWrong:
          "rejected a redelivery: a duplicate event_id must still get a 2xx (dedupe, then answer), or OpenMail keeps retrying",
      };
    }
    case "unknown-event":
      return {
        name,
        expectation: "2xx (ignore unknown types)",
        steps: [
          {
            label: "event type thread.created",
            expect: "2xx",
            build: (now) => signed(ctx.makeEvent("thread.created"), now),
          },
        ],
        whenWrong:
          "rejected a correctly signed event of a type it does not know: OpenMail adds event types, so answer 2xx and ignore them",
      };
    case "lifecycle":
      return {
        name,
        expectation: "2xx for each",
        steps: [
          ...LIFECYCLE_EVENT_TYPES.map((type) => ({
            label: type,
            expect: "2xx" as const,
            build: (now: number) => signed(ctx.makeEvent(type), now),
          })),
          // Variants the docs have shown (../shared/openmail-webhooks.md §3.3): a strict schema loses them.
          {
            label: "inbox.suspended, no pod_id",
            expect: "2xx",
            build: (now) => signed(without(ctx.makeEvent("inbox.suspended"), ["pod_id"]), now),
          },
          {
            label: "inbox.suspended, first draft (reputation{})",
            expect: "2xx",
            build: (now) => {
              const event = without(ctx.makeEvent("inbox.suspended"), ["inbox_address", "pod_id", "reason"]);
              const reputation = { scope: "inbox", state: "suspended", reason: "bounce_rate_high", actor: "engine" };
              return signed(
                { ...event, delivered_at: new Date(now * 1000).toISOString(), attempt: 1, reputation },
                now,
              );
            },
          },
        ],
        whenWrong:
          "rejected a lifecycle event: these have no message or thread_id (inbox_id is null for pod.*), pod_id may be absent, and OpenMail's earlier drafts nest the reason in reputation{}; the handler must accept them",
      };
  }
}

/** A copy of an event without some of its fields. */
function without(event: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([key]) => !keys.includes(key)));
}

export interface StepJudgement {
  pass: boolean;
  /** "401 Unauthorized", "200 OK in 12 ms", "no answer within 15 s", "connection refused ...". */
  got: string;
  /** The answer's status, when there was an answer. */
  status?: number;
  /** Why it failed, when it did. */
  note?: string;
}

export function judgeStep(scenario: Scenario, step: ScenarioStep, outcome: DeliveryOutcome): StepJudgement {
  const verdict = judgeDelivery(outcome);
  if (outcome.kind !== "response") return { pass: false, got: verdict.summary, note: verdict.summary };
  const { status } = outcome;
  const got = `${status} ${statusText(status)}`.trim();
  if (status >= 500) {
    const note =
      step.expect === "4xx"
        ? `answered ${status} to "${step.label}": a bad or missing header or body must get a 4xx, never a 5xx (OpenMail would retry it)`
        : `answered ${status} to "${step.label}", which a correct handler accepts: ${responseHint(outcome)}`;
    return { pass: false, got, status, note };
  }
  if (step.expect === "4xx") {
    const pass = status >= 400 && status < 500;
    return pass ? { pass, got, status } : { pass, got, status, note: scenario.whenWrong };
  }
  if (verdict.accepted) return { pass: true, got, status };
  const late = status >= 200 && status < 300;
  return { pass: false, got, status, note: late ? verdict.summary : scenario.whenWrong };
}

export function jsonBody(event: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(event));
}

/** Pretty JSON with reversed key order, odd indentation and spaces before colons. */
export function unusualJson(value: unknown, depth = 0): string {
  const pad = "   ".repeat(depth + 1);
  const close = "   ".repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[ ]";
    return `[\n${value.map((item) => pad + unusualJson(item, depth + 1)).join(" ,\n")}\n${close}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).reverse();
    if (entries.length === 0) return "{ }";
    const lines = entries.map(([key, item]) => `${pad}${JSON.stringify(key)} :  ${unusualJson(item, depth + 1)}`);
    return `{\n${lines.join(" ,\n")}\n${close}}${depth === 0 ? "\n" : ""}`;
  }
  return JSON.stringify(value);
}

/** Change one letter inside the body (keeping it valid JSON where it was). */
export function flipOneByte(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const subject = copy.indexOf('"subject":"');
  const start = subject >= 0 ? subject + 11 : Math.floor(copy.length / 2);
  for (let i = start; i < copy.length; i++) {
    const byte = copy[i] ?? 0;
    if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a)) {
      copy[i] = byte === 0x78 ? 0x79 : 0x78; // 'x', or 'y' where it already was 'x'
      return copy;
    }
  }
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
  return copy;
}

function withHeader(headers: Record<string, string>, name: string, value: string): Record<string, string> {
  return withExtraHeaders(headers, [[name, value]]);
}

function withoutHeader(request: WebhookRequest, name: string): WebhookRequest {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(([key]) => key.toLowerCase() !== name.toLowerCase()),
  );
  return { ...request, headers };
}
