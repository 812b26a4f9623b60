/**
 * What the inspector page is sent: a short list item per delivery, and the full detail of one (the
 * email as a person reads it, the exact request, the signature checks with `verify`'s Why/Fix, the
 * forward and the answer). Pure: requests and records in, plain JSON-ready objects out. Every string
 * stays untrusted: the page renders it as text only.
 */
import type { CapturedRequest } from "../core/capture.js";
import {
  type ContractVerdict,
  type DeliveryOutcome,
  describeRetry,
  formatMs,
  forwardFields,
  type HandlerJudgement,
  judgeAnswer,
  judgementIsWrong,
  nextRetry,
  outcomeText,
  signatureStateOf,
  statusText,
} from "../core/contract.js";
import { diagnose } from "../core/diagnose.js";
import type { EventSummary, Inspection } from "../core/inspect.js";
import { judgementProblem, REJECTED_AS_EXPECTED } from "../core/judgement-words.js";
import { checkTimestamp } from "../core/signature.js";
import { jsonSafe, sanitizeLine } from "../output/sanitize.js";
import { type VerifyReport, verifyChecks, verifyReportJson } from "../output/verify-report.js";

export type VerdictName = "valid" | "invalid" | "unverified";

/** One row of the list. */
export interface ListItem {
  /** The capture's file name, or "live-N" / "replay-N" for what exists only in memory. */
  id: string;
  kind: "delivery" | "replay";
  receivedAt: string;
  eventType: string | null;
  eventId: string | null;
  attempt: number | null;
  inboxId: string | null;
  from: string | null;
  to: string | null;
  subject: string | null;
  /** The first line(s) of the text body, or a lifecycle event's reason. */
  snippet: string | null;
  attachments: string[];
  lifecycle: boolean;
  json: boolean;
  /** Why the row shows less than an email (an unreadable capture, one too large to read for the list). */
  listNote: string | null;
  verdict: VerdictName;
  verdictMessage: string;
  /** The handler's answer to the forward (or to the replay). */
  forward: ForwardBrief | null;
  /**
   * What listen answered the sender (this run only); `undelivered` says why the sender never got it
   * (it hung up first, listen was stopping), in the terminal's words.
   */
  answered: { status: number; reason: string; undelivered: string | null } | null;
  /** Set on a redelivery of an event_id seen before. */
  retry: { timesSeen: number } | null;
  /** For a replay: the id it replays; for a delivery that a replay caused: that replay's original. */
  replayOf: string | null;
  /** For a replay: where it went. */
  replayTo: string | null;
  saved: boolean;
  /** Received while this listen runs, or found in the folder from earlier. */
  thisRun: boolean;
  /** Arrived, still waiting for its answer (the handler is working on it). */
  pending: boolean;
}

export interface ForwardBrief {
  url: string;
  /** "response", "timeout", "network-error". */
  outcome: string;
  status: number | null;
  latencyMs: number | null;
  /** Would OpenMail count it delivered (2xx in time)? */
  accepted: boolean;
  /** "200 OK in 12 ms", "no answer within 30 s". */
  text: string;
  /** The answer against what a correct handler does with this request (valid: 2xx, fails verification: 4xx). */
  judgement: HandlerJudgement;
  /** The good cases (accepted, rejected-as-expected): shown green. */
  good: boolean;
  /** What the judgement means, in the terminal's words: rejected as expected, what is wrong, or OpenMail's retry. */
  note: string | null;
}

export interface ItemFacts {
  id: string;
  kind: ListItem["kind"];
  request: CapturedRequest;
  inspection: Pick<Inspection, "summary" | "eventId" | "payload">;
  verdict: { valid: boolean; message: string } | null | undefined;
  /** Why it is unverified when it has no verdict (else: no secret). */
  unverifiedBecause?: string;
  listNote?: string;
  forward: ForwardBrief | null;
  answered?: ListItem["answered"];
  retry?: ListItem["retry"];
  replayOf?: string | null;
  replayTo?: string | null;
  saved: boolean;
  thisRun: boolean;
  pending?: boolean;
}

const SNIPPET_CHARS = 160;
/**
 * A list item is kept for each of up to 2,000 events, page open or not: every field from outside is
 * cut (subject, addresses, ids, attachment names), or 2 MB subjects kept 2.5 MB per event, from
 * unsigned requests too. The detail view reads the whole event from its capture or the ring.
 */
const ITEM_TEXT_CHARS = 300;
const ITEM_ATTACHMENTS = 20;

/** `value` cut to `max` characters, copied so that a kept item does not hold on to the whole string. */
function cut(value: string | undefined | null, max = ITEM_TEXT_CHARS): string | null {
  if (value === undefined || value === null) return null;
  if (value.length <= max) return value;
  return Buffer.from(`${value.slice(0, max - 1)}…`).toString();
}

export function listItem(facts: ItemFacts): ListItem {
  const s = facts.inspection.summary;
  const verdict = facts.verdict;
  return {
    id: facts.id,
    kind: facts.kind,
    receivedAt: facts.request.receivedAt,
    eventType: cut(s.eventType),
    eventId: cut(facts.inspection.eventId),
    attempt: s.attempt ?? null,
    inboxId: cut(s.inboxId),
    from: cut(s.from),
    to: cut(s.to ?? (s.inboxAddress || null)),
    subject: cut(s.subject),
    snippet: snippetOf(s),
    attachments: attachmentNames(s),
    lifecycle: s.lifecycle,
    json: facts.inspection.payload.json,
    listNote: facts.listNote ?? null,
    verdict: signatureStateOf(verdict),
    verdictMessage: verdict ? verdict.message : (facts.unverifiedBecause ?? "unverified: no secret"),
    forward: facts.forward,
    answered: facts.answered ?? null,
    retry: facts.retry ?? null,
    replayOf: facts.replayOf ?? null,
    replayTo: facts.replayTo ?? null,
    saved: facts.saved,
    thisRun: facts.thisRun,
    pending: facts.pending ?? false,
  };
}

function attachmentNames(s: EventSummary): string[] {
  if (s.attachments.length === 0) return [];
  const names = s.attachments.slice(0, ITEM_ATTACHMENTS).map((attachment) => cut(attachment.filename, 200) ?? "");
  if (s.attachments.length > ITEM_ATTACHMENTS) names.push(`… ${s.attachments.length - ITEM_ATTACHMENTS} more`);
  return names;
}

function snippetOf(s: EventSummary): string | null {
  if (s.lifecycle) return cut(s.reason, SNIPPET_CHARS);
  if (!s.bodyText) return null;
  // This runs for every event listen receives, so it only cuts (the page folds the whitespace), and
  // copies the cut so that a kept item does not hold on to the whole body.
  if (s.bodyText.length <= SNIPPET_CHARS) return s.bodyText;
  return Buffer.from(s.bodyText.slice(0, SNIPPET_CHARS)).toString();
}

/**
 * The forward as a capture file records it ({ url, outcome, status, latencyMs, accepted }), judged
 * against the request's signature as checked now (a judgement written in the file is not trusted).
 */
export function forwardFromCapture(
  value: unknown,
  verification: JudgedVerdict | undefined,
  attempt: number | undefined,
): ForwardBrief | null {
  if (typeof value !== "object" || value === null) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.url !== "string") return null;
  const status = typeof record.status === "number" ? record.status : null;
  const latencyMs = typeof record.latencyMs === "number" ? record.latencyMs : null;
  const outcome = typeof record.outcome === "string" ? record.outcome : "response";
  const text =
    status !== null
      ? [status, statusText(status), latencyMs !== null ? `in ${formatMs(latencyMs)}` : ""].filter(Boolean).join(" ")
      : outcome === "timeout"
        ? "no answer in time"
        : outcome === "stopped"
          ? "no answer: listen stopped before the handler answered"
          : "no answer (connection failed)";
  const accepted = record.accepted === true;
  const judgement = judgeAnswer(status ?? undefined, accepted, signatureStateOf(verification));
  return withJudgement(
    { url: record.url, outcome, status, latencyMs, accepted, text },
    judgement,
    accepted ? undefined : nextRetry(attempt ?? 1),
    verification,
  );
}

/** A verdict as the judgement's words need it (a Verdict, or what a record keeps of one). */
type JudgedVerdict = { valid: boolean; reason?: string | null; message: string } | null;

function withJudgement(
  brief: Omit<ForwardBrief, "judgement" | "good" | "note">,
  judgement: HandlerJudgement,
  retry: ContractVerdict["retry"],
  verification: JudgedVerdict | undefined,
): ForwardBrief {
  const good = !judgementIsWrong(judgement);
  let note: string | null = null;
  if (judgement === "rejected-as-expected") note = REJECTED_AS_EXPECTED;
  else if (judgement === "rejected-valid") note = describeRetry(retry) || null;
  else if (judgement !== "accepted")
    note = `✗ ${judgementProblem(judgement, brief.status, verification, sanitizeLine)}`;
  return { ...brief, judgement, good, note };
}

/** A forward's (or a replay's) answer as the page shows it, with its judgement (judgeHandler's). */
export function forwardBrief(
  url: string,
  outcome: DeliveryOutcome,
  verdict: ContractVerdict,
  judgement: HandlerJudgement,
  verification: JudgedVerdict | undefined,
): ForwardBrief {
  return withJudgement(
    { ...forwardFields(url, outcome, verdict), text: outcomeText(outcome, verdict) },
    judgement,
    verdict.retry,
    verification,
  );
}

/** The email as a person reads it; absent for lifecycle events and bodies that are not events. */
export function emailView(s: EventSummary) {
  if (s.lifecycle || (s.from === undefined && s.subject === undefined && s.bodyText === undefined)) return null;
  return {
    from: s.from ?? null,
    to: s.to ?? null,
    cc: s.cc,
    subject: s.subject ?? null,
    date: s.messageReceivedAt ?? s.occurredAt ?? null,
    bodyText: s.bodyText ?? null,
    threadId: s.threadId ?? null,
    attachments: s.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType ?? null,
      sizeBytes: attachment.sizeBytes ?? null,
      extraction: extractionStatus(attachment.extractionMethod, attachment.parsedText),
      parsedText: attachment.parsedText ?? null,
    })),
  };
}

function extractionStatus(method: string | undefined, parsedText: string | undefined): string {
  if (parsedText !== undefined) return `text extracted${method ? ` (${method})` : ""}`;
  if (method) return `no text extracted (${method})`;
  return "no extraction reported";
}

export function lifecycleView(s: EventSummary) {
  if (!s.lifecycle) return null;
  return {
    eventType: s.eventType ?? null,
    inboxId: s.inboxId ?? null,
    inboxAddress: s.inboxAddress ?? null,
    podId: s.podId ?? null,
    reason: s.reason ?? null,
    occurredAt: s.occurredAt ?? null,
  };
}

/** Bodies above this are sent to the page cut short (the download has all of it). */
export const SHOWN_BODY_BYTES = 1024 * 1024;

export function requestView(request: CapturedRequest) {
  const bytes = request.body.length;
  const shown = Buffer.from(request.body.subarray(0, SHOWN_BODY_BYTES));
  let text: string | null = null;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(shown);
  } catch {
    text = null;
  }
  let pretty: string | null = null;
  if (text !== null && bytes <= SHOWN_BODY_BYTES) {
    try {
      // Bidi overrides and invisible characters written as \u escapes: the same JSON, shown as it is.
      pretty = jsonSafe(JSON.stringify(JSON.parse(text), null, 2));
    } catch {
      pretty = null;
    }
  }
  return {
    method: request.method,
    path: request.path,
    headers: Object.entries(request.headers),
    bytes,
    truncated: bytes > SHOWN_BODY_BYTES,
    body: text,
    bodyBase64: text === null ? shown.toString("base64") : null,
    pretty,
  };
}

export interface SecretInfo {
  secret: string;
  source: string;
  masked: string;
}

/** The signature card of a request that cannot be checked, and why. */
export function unverifiedView(message: string) {
  return {
    valid: null,
    message,
    checks: [] as ReturnType<typeof verifyChecks>,
    findings: [] as Array<{ code: string; why: string; fix: string }>,
    staleNow: false,
  };
}

/**
 * The signature checks as `verify` reports them, judged as of the request's arrival (what its
 * receiver saw), with the Why/Fix findings when it fails; and how its timestamp looks now.
 */
export function verificationView(
  request: CapturedRequest,
  eventId: string | undefined,
  secret: SecretInfo | undefined,
  toleranceSeconds: number,
  nowSeconds: number,
) {
  if (!secret) return unverifiedView("unverified: listen has no secret (set OPENMAIL_WEBHOOK_SECRET or --secret)");
  const arrived = Math.floor(Date.parse(request.receivedAt) / 1000);
  const judgedAt = Number.isFinite(arrived) ? arrived : nowSeconds;
  const diagnosis = diagnose({
    body: request.body,
    headers: request.headers,
    secret: secret.secret,
    toleranceSeconds,
    now: judgedAt,
  });
  const timestamp = request.headers["x-timestamp"]?.trim();
  const report: VerifyReport = {
    input: { name: "", kind: "capture", warnings: [] },
    eventId,
    judgedAt,
    judgedAgainst: Number.isFinite(arrived) ? "receivedAt" : "now",
    diagnosis,
    now: timestamp ? checkTimestamp(timestamp, nowSeconds, toleranceSeconds) : undefined,
    secret: { source: secret.source, masked: secret.masked },
  };
  const json = verifyReportJson(report);
  return {
    valid: json.valid,
    message: json.message,
    checks: verifyChecks(report),
    findings: json.findings.map((finding) => ({ code: finding.code, why: finding.summary, fix: finding.fix })),
    secret: json.secret,
    /** Valid when it arrived, but a receiver would reject it now: replay re-signs it. */
    staleNow: json.valid && report.now !== undefined && !report.now.within,
  };
}
