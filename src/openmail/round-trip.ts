/**
 * `listen --inbox … --test`: ask OpenMail to send its signed test event to the inbox's webhook and
 * follow it through every hop (OpenMail → tunnel → listen → verification → your handler), so the
 * answer to "does my whole setup work?" names the hop that failed. The judging is pure.
 */
import { formatMs } from "../core/contract.js";
import type { ReceivedEvent } from "../io/webhook-pipeline.js";
import type { OpenMailApi } from "./api.js";
import { OpenMailApiError } from "./errors.js";

/** How long a failed test still waits for an arrival that is being settled. */
const SETTLE_GRACE_MS = 2_000;

export type TestAnswer =
  | { kind: "answered"; ok: boolean; message: string }
  | { kind: "error"; error: OpenMailApiError };

export interface RoundTrip {
  inboxId: string;
  ok: boolean;
  /** What happened, hop by hop, for the report. */
  hops: string[];
  /** The hop that failed and what to do, when !ok. */
  problem?: string;
}

export interface RoundTripWatch {
  /** Feed every received event here; true when it was the test event being waited for. */
  observe(event: ReceivedEvent): boolean;
  run(api: OpenMailApi, inboxId: string, waitMs: number): Promise<RoundTrip>;
}

export function createRoundTripWatch(): RoundTripWatch {
  let waiting: { inboxId: string; resolve(event: ReceivedEvent): void } | undefined;
  return {
    observe(event) {
      if (!waiting) return false;
      // The test event's payload is undocumented: take one for this inbox, or one naming no inbox.
      const inboxId = event.inspection.summary.inboxId;
      if (inboxId && inboxId !== waiting.inboxId) return false;
      waiting.resolve(event);
      waiting = undefined;
      return true;
    },
    async run(api, inboxId, waitMs) {
      const started = Date.now();
      const arrival = new Promise<ReceivedEvent>((resolve) => {
        waiting = { inboxId, resolve };
      });
      let answer: TestAnswer;
      try {
        const result = await api.testWebhook(inboxId);
        answer = { kind: "answered", ...result };
      } catch (error) {
        if (!(error instanceof OpenMailApiError)) throw error;
        answer = { kind: "error", error };
      }
      const remaining = Math.max(0, waitMs - (Date.now() - started));
      let timer: NodeJS.Timeout | undefined;
      const event = await Promise.race([
        arrival,
        new Promise<undefined>((resolve) => {
          // OpenMail answers after our answer reached it, so the event is normally in already; a
          // failed delivery gets a short grace for a record still settling here.
          const wait = answer.kind === "answered" && answer.ok ? remaining : Math.min(remaining, SETTLE_GRACE_MS);
          timer = setTimeout(() => resolve(undefined), wait);
        }),
      ]);
      clearTimeout(timer);
      waiting = undefined;
      return judgeRoundTrip(inboxId, answer, event, waitMs);
    },
  };
}

export function judgeRoundTrip(
  inboxId: string,
  answer: TestAnswer,
  event: ReceivedEvent | undefined,
  waitedMs: number,
): RoundTrip {
  const webhookFailed =
    answer.kind === "error" &&
    answer.error.failure.kind === "http" &&
    answer.error.failure.status === 502 &&
    answer.error.failure.code === "webhook_failed";
  if (answer.kind === "error" && !webhookFailed) {
    return { inboxId, ok: false, hops: [], problem: answer.error.message };
  }
  const openMailSaid =
    answer.kind === "error"
      ? `OpenMail: webhook_failed${answer.error.failure.kind === "http" && answer.error.failure.message ? ` (${answer.error.failure.message})` : ""}`
      : `OpenMail: ${answer.ok ? "delivered" : "not delivered"}${answer.message ? ` (${answer.message})` : ""}`;

  if (!event) {
    const problem =
      answer.kind === "answered" && answer.ok
        ? `OpenMail says it delivered the test event, but nothing arrived here within ${formatMs(waitedMs)}: is something else answering at this URL?`
        : "nothing arrived through the tunnel: OpenMail could not reach the webhook URL (is the tunnel up? run again, or check the URL with `openmail-hooks inboxes`)";
    return { inboxId, ok: false, hops: [openMailSaid], problem };
  }

  const hops = ["arrived through the tunnel"];
  const verdict = event.inspection.verification;
  if (!verdict) {
    hops.push("unverified (no secret)");
  } else {
    hops.push(verdict.valid ? `signature valid with ${inboxId}'s secret` : `signature INVALID (${verdict.message})`);
  }
  const forward = event.forward;
  if (forward) {
    const outcome = forward.outcome;
    hops.push(
      outcome.kind === "response"
        ? `forwarded to ${forward.url}: ${outcome.status} in ${formatMs(outcome.latencyMs)}`
        : `forward to ${forward.url} failed (${outcome.kind === "timeout" ? `no answer within ${formatMs(outcome.timeoutMs)}` : outcome.message})`,
    );
  }
  hops.push(`answered ${event.status}`, openMailSaid);

  let problem: string | undefined;
  if (!verdict) {
    problem = `the test event arrived unverified: no secret is known for ${inboxId} (OpenMail shows it only once); pass --rotate-secret for a new one, or set OPENMAIL_WEBHOOK_SECRET`;
  } else if (!verdict.valid) {
    problem = `signature mismatch: the secret used here is not ${inboxId}'s current one; pass --rotate-secret for a new one (it replaces the old one at once)`;
  } else if (event.status < 200 || event.status >= 300) {
    problem = forward
      ? `your handler's answer failed the delivery: ${event.statusReason}`
      : `listen answered ${event.status}: ${event.statusReason}`;
  } else if (webhookFailed) {
    problem =
      "OpenMail reports webhook_failed although listen answered 2xx: the answer may have come too late (OpenMail waits 15 s)";
  } else if (answer.kind === "answered" && !answer.ok) {
    problem = `OpenMail reports the test as not delivered${answer.message ? `: ${answer.message}` : ""}`;
  }
  return { inboxId, ok: problem === undefined, hops, problem };
}
