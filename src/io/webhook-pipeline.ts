/**
 * What `listen` does with each received webhook: verify and judge it, recognise redeliveries,
 * save it before answering, forward it, and decide the answer. It emits typed records and never
 * prints; the command renders them (stripe-cli's pkg/proxy split).
 */
import { readdir } from "node:fs/promises";
import { type CapturedRequest, fileSafeEventId, parseCaptureFileName } from "../core/capture.js";
import { type ContractVerdict, type DeliveryOutcome, formatMs, judgeDelivery, responseHint } from "../core/contract.js";
import { type Inspection, inspectRequest } from "../core/inspect.js";
import { forwardableHeaders } from "../core/request.js";
import type { CaptureStore } from "./capture-store.js";
import type { HttpClient } from "./http-client.js";
import type { WebhookResponse } from "./listener.js";

export interface ForwardResult {
  url: string;
  outcome: DeliveryOutcome;
  verdict: ContractVerdict;
  hint?: string;
}

export interface ReceivedEvent {
  request: CapturedRequest;
  inspection: Inspection;
  /** Set when this event_id was seen before (in this run or in the save folder). */
  duplicate?: { timesSeen: number; firstSeenAt?: string; inFolder: boolean };
  capturePath?: string;
  saveError?: string;
  forward?: ForwardResult;
  /** The status answered to the sender. */
  status: number;
  statusReason: string;
}

export interface ListenStats {
  received: number;
  verified: number;
  failedVerification: number;
  unverified: number;
  retries: number;
  forwarded: Record<string, number>;
  ignored: number;
  saveErrors: number;
}

export interface PipelineOptions {
  secret?: string;
  /** A secret of the event's own inbox (listen --inbox learns one per inbox); else `secret` is used. */
  secretFor?(inboxId: string | undefined): string | undefined;
  toleranceSeconds: number;
  store?: CaptureStore;
  forwardTo?: string;
  /** inbox_id → URL; takes precedence over forwardTo. */
  routes: ReadonlyMap<string, string>;
  client?: HttpClient;
  forcedStatus?: number;
  /** Current time in ms. */
  now(): number;
  onEvent(event: ReceivedEvent): void;
}

export interface WebhookPipeline {
  handle(request: CapturedRequest): Promise<WebhookResponse>;
  noteIgnored(): void;
  /** Wait for capture updates still being written (call before exiting). */
  drain(): Promise<void>;
  stats(): ListenStats;
}

/** The id part of capture file names already in the folder, so redeliveries across runs are recognised. */
export async function eventIdsInFolder(dir: string): Promise<Set<string>> {
  try {
    const ids = new Set<string>();
    for (const name of await readdir(dir)) {
      const fileEventId = parseCaptureFileName(name)?.fileEventId;
      if (!fileEventId) continue;
      // "evt_1-2.json" is either evt_1's second capture or an id ending in "-2": count both.
      ids.add(fileEventId);
      ids.add(fileEventId.replace(/-\d+$/, ""));
    }
    return ids;
  } catch {
    return new Set();
  }
}

export function createWebhookPipeline(
  options: PipelineOptions,
  folderIds: ReadonlySet<string> = new Set(),
): WebhookPipeline {
  const seen = new Map<string, { count: number; firstSeenAt: string }>();
  const pendingUpdates = new Set<Promise<void>>();
  const stats: ListenStats = {
    received: 0,
    verified: 0,
    failedVerification: 0,
    unverified: 0,
    retries: 0,
    forwarded: {},
    ignored: 0,
    saveErrors: 0,
  };

  const recordSeen = (eventId: string | undefined, receivedAt: string): ReceivedEvent["duplicate"] => {
    if (!eventId) return undefined;
    const previous = seen.get(eventId);
    const inFolder = folderIds.has(fileSafeEventId(eventId));
    seen.set(eventId, { count: (previous?.count ?? 0) + 1, firstSeenAt: previous?.firstSeenAt ?? receivedAt });
    if (!previous && !inFolder) return undefined;
    return {
      timesSeen: (previous?.count ?? 0) + 1,
      firstSeenAt: previous?.firstSeenAt,
      inFolder: !previous && inFolder,
    };
  };

  return {
    async handle(request) {
      const inspection = inspectWithInboxSecret(request, options);
      const event: ReceivedEvent = {
        request,
        inspection,
        duplicate: recordSeen(inspection.eventId, request.receivedAt),
        status: 200,
        statusReason: "",
      };
      tally(stats, event);

      // Persist before acknowledging: if the capture cannot be written, answer 500 so OpenMail retries.
      if (options.store) {
        try {
          event.capturePath = await options.store.save(request, inspection.eventId, captureExtra(event));
        } catch (error) {
          event.saveError = (error as Error).message;
          stats.saveErrors += 1;
        }
      }

      const target = forwardTarget(inspection, options);
      if (target && options.client) {
        const outcome = await options.client.post(target, forwardableHeaders(request.headers), request.body);
        event.forward = {
          url: target,
          outcome,
          verdict: judgeDelivery(outcome, inspection.summary.attempt ?? 1),
          hint: responseHint(outcome, { signatureValid: inspection.verification?.valid }),
        };
        const key = outcome.kind === "response" ? String(outcome.status) : outcome.kind;
        stats.forwarded[key] = (stats.forwarded[key] ?? 0) + 1;
        // The capture is already safe on disk; adding the forward result can wait until after the answer.
        if (event.capturePath && options.store) {
          const update = options.store.update(event.capturePath, request, captureExtra(event)).catch(() => {});
          pendingUpdates.add(update);
          void update.finally(() => pendingUpdates.delete(update));
        }
      }

      const response = decideResponse(event, options);
      event.status = response.status;
      event.statusReason = response.reason;
      options.onEvent(event);
      return response.reply;
    },
    noteIgnored() {
      stats.ignored += 1;
    },
    stats: () => ({ ...stats, forwarded: { ...stats.forwarded } }),
    async drain() {
      await Promise.all(pendingUpdates);
    },
  };
}

/** Verify with the event's inbox's own secret when one is known (a second look only then). */
function inspectWithInboxSecret(request: CapturedRequest, options: PipelineOptions): Inspection {
  const settings = { toleranceSeconds: options.toleranceSeconds, now: Math.floor(options.now() / 1000) };
  const inspection = inspectRequest(request, { ...settings, secret: options.secret });
  const inboxSecret = options.secretFor?.(inspection.summary.inboxId ?? undefined);
  if (inboxSecret === undefined || inboxSecret === options.secret) return inspection;
  return inspectRequest(request, { ...settings, secret: inboxSecret });
}

function tally(stats: ListenStats, event: ReceivedEvent): void {
  stats.received += 1;
  const verdict = event.inspection.verification;
  if (!verdict) stats.unverified += 1;
  else if (verdict.valid) stats.verified += 1;
  else stats.failedVerification += 1;
  if (event.duplicate) stats.retries += 1;
}

function forwardTarget(inspection: Inspection, options: PipelineOptions): string | undefined {
  const inboxId = inspection.summary.inboxId;
  if (inboxId && options.routes.has(inboxId)) return options.routes.get(inboxId);
  return options.forwardTo;
}

function decideResponse(
  event: ReceivedEvent,
  options: PipelineOptions,
): { status: number; reason: string; reply: WebhookResponse } {
  const text = (status: number, reason: string, body = `${reason}\n`) => ({
    status,
    reason,
    reply: { status, body },
  });
  if (event.saveError) return text(500, `not saved (${event.saveError}), so not acknowledged: OpenMail will retry`);
  if (options.forcedStatus !== undefined)
    return text(options.forcedStatus, `forced by --status ${options.forcedStatus}`);
  const forward = event.forward;
  if (forward) {
    const { outcome } = forward;
    if (outcome.kind === "response") {
      const contentType = outcome.headers["content-type"];
      return {
        status: outcome.status,
        reason: `relayed from ${forward.url}`,
        reply: {
          status: outcome.status,
          headers: contentType ? { "content-type": contentType } : {},
          body: outcome.bodyPreview,
        },
      };
    }
    if (outcome.kind === "timeout") {
      return text(504, `forward timed out after ${formatMs(outcome.timeoutMs)}`);
    }
    return text(502, `forward failed: ${outcome.message}`);
  }
  const verdict = event.inspection.verification;
  if (!verdict) return text(200, "accepted unverified (no secret)");
  if (verdict.valid) return text(200, "signature valid");
  return text(400, `rejected: ${verdict.message}`);
}

function captureExtra(event: ReceivedEvent): Record<string, unknown> {
  const verdict = event.inspection.verification;
  const extra: Record<string, unknown> = {
    verification: verdict ? { valid: verdict.valid, reason: verdict.reason ?? null, message: verdict.message } : null,
  };
  if (event.duplicate) extra.duplicate = event.duplicate;
  if (event.forward) {
    const { outcome } = event.forward;
    extra.forward = {
      url: event.forward.url,
      outcome: outcome.kind,
      status: outcome.kind === "response" ? outcome.status : null,
      latencyMs: Math.round(outcome.latencyMs * 100) / 100,
      accepted: event.forward.verdict.accepted,
    };
  }
  return extra;
}
