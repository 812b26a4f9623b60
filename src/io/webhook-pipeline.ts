/**
 * What `listen` does with each received webhook: verify and judge it, recognise redeliveries,
 * save it before answering, forward it, and decide the answer. It emits typed records and never
 * prints; the command renders them (stripe-cli's pkg/proxy split).
 */
import { type CapturedRequest, fileSafeEventId, parseCaptureFileName } from "../core/capture.js";
import {
  type ContractVerdict,
  type DeliveryOutcome,
  formatMs,
  forwardFields,
  type HandlerJudgement,
  judgeDelivery,
  judgeHandler,
  responseHint,
  type SignatureState,
  signatureStateOf,
} from "../core/contract.js";
import { createIdIndex } from "../core/id-index.js";
import { type Inspection, inspectRequest, verifyCaptured } from "../core/inspect.js";
import { forwardableHeaders } from "../core/request.js";
import type { Verdict } from "../core/signature.js";
import { goneFolderProblem } from "./capture-folder.js";
import { CaptureRefusedError, type CaptureStore } from "./capture-store.js";
import type { HttpClient } from "./http-client.js";
import type { AnswerFate, WebhookContext, WebhookResponse } from "./listener.js";

export interface ForwardResult {
  url: string;
  outcome: DeliveryOutcome;
  verdict: ContractVerdict;
  /** The handler's answer against what a correct handler does with this event (valid: 2xx, bad: 4xx). */
  judgement: HandlerJudgement;
  hint?: string;
}

/**
 * The first record of a webhook, emitted as soon as it is verified and saved (or its save failed),
 * before it is answered; its forward, started before the save, may still be running (Stripe's `-->` line).
 */
export interface Arrival {
  /** 1, 2, 3... in this run; the outcome of the same webhook carries the same number. */
  seq: number;
  request: CapturedRequest;
  inspection: Inspection;
  /** "valid", "invalid", or "unverified" when there is no secret. */
  signature: SignatureState;
  /** Set when this event_id was seen before (in this run or in the save folder). */
  duplicate?: { timesSeen: number; firstSeenAt?: string; inFolder: boolean };
  /** Set for a replay sent from the inspector page: not a redelivery by OpenMail (no `duplicate`, not a retry). */
  replay?: ReplayFrom;
  capturePath?: string;
  saveError?: string;
  /** What to do about saveError when it is not the folder's fault (listen --redact refused the body). */
  saveNextStep?: string;
  /** Where it is being forwarded; undefined when listen answers it itself. */
  forwardTo?: string;
  /**
   * The request's headers as the listener read them (Node's rawHeaders: [name, value, ...] as sent,
   * Latin-1 strings as Node's parser makes them), which `request.headers` was made from. The inspector copies these (one join) rather than the
   * header object (a dictionary JSON.stringify walks slowly).
   */
  rawHeaders?: readonly string[];
  /** Set when --events leaves its type out: answered 200 here, not forwarded. */
  filteredOut?: boolean;
}

/** Which delivery an inspector replay repeats: its id in the inspector, and when it arrived. */
export interface ReplayFrom {
  of: string;
  originalReceivedAt: string | null;
}

/**
 * The second record of the same webhook, once its answer is settled (Stripe's `<-- [200]` line):
 * what the handler said, what the sender was answered, and whether that answer reached it.
 */
export interface Outcome extends Arrival {
  forward?: ForwardResult;
  /** The status answered to the sender. */
  status: number;
  statusReason: string;
  /** What became of the answer: written, the sender hung up first, or refused at shutdown. */
  answer: AnswerFate;
}

/** The complete record of one webhook (the outcome carries its arrival). */
export type ReceivedEvent = Outcome;

export interface ListenStats {
  received: number;
  verified: number;
  failedVerification: number;
  unverified: number;
  retries: number;
  forwarded: Record<string, number>;
  ignored: number;
  saveErrors: number;
  /** Not forwarded because --events leaves their type out. */
  filteredOut: number;
  /** Answers that never reached the sender because it hung up first. */
  senderGone: number;
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
  /** With --events: the only event types forwarded; others are answered 200 here. */
  events?: ReadonlySet<string>;
  secretSource?: string;
  /** Current time in ms. */
  now(): number;
  /** Is this request a replay the inspector page is sending to this listener? (Asked for every event: cheap.) */
  replayOf?(request: CapturedRequest): ReplayFrom | undefined;
  /** At once, after verification and saving (the forward, started first, may still be running). */
  onArrival?(arrival: Arrival): void;
  /** When the answer is settled (written, or the sender gone). */
  onOutcome(outcome: Outcome): void;
}

export interface WebhookPipeline {
  /** `context.signal` aborts the forward (listen's shutdown grace period is over). */
  /** The answer at once when nothing is saved or forwarded, else a promise of it. */
  handle(
    request: CapturedRequest,
    context?: WebhookContext,
    rawHeaders?: readonly string[],
  ): WebhookResponse | Promise<WebhookResponse>;
  noteIgnored(): void;
  /** Wait for capture updates still being written (call before exiting). */
  drain(): Promise<void>;
  stats(): ListenStats;
}

/**
 * How long a capture's save waits for the forward, to be written once with its result. Waiting adds
 * at most the save's own time to the answer (the answer waits for the forward anyway), while a
 * rewrite costs the disk a second capture; long enough for most local handlers, short enough that
 * the arrival line of a slow one still shows at once to a person watching.
 */
const QUICK_FORWARD_MS = 100;
/**
 * With nothing to save, how long the event's own work (verification, the id index, its arrival line,
 * the inspector's record) waits for the handler's answer, so that it runs after the sender's answer
 * is written instead of beside the handler's round trip (see answerFirst). A slower handler's
 * arrival line is shown at this moment, as it was at once before: no person watching can tell.
 */
const ARRIVAL_WAIT_MS = 20;
/** How long events wait for the save folder's ids to be read. */
const FOLDER_READ_DEADLINE_MS = 5_000;

/** Event ids known from captures saved by earlier runs. */
export interface FolderIds {
  has(fileSafeId: string): boolean;
  /** Settles once the folder has been read (or its deadline passed); the first call starts the reading. */
  ready?(): Promise<void>;
}

/**
 * The id part of capture file names already in the folder, so redeliveries across runs are
 * recognised. The folder is read in the background, entry by entry, in the store's one pass that
 * also sweeps temporary files left by a crash (a folder of 200,000 captures took 0.9 s and 130 MB
 * when read whole before listening), and only a fingerprint of each id is kept. The reading starts
 * at the first call of `ready`: `listen` makes it once its URL is printed (so the pass does not
 * compete with start-up), or the first event does. Events that arrive before it is done wait for it
 * (see `handle`), at most `deadlineMs` from its start.
 */
export function eventIdsInFolder(store: Pick<CaptureStore, "scan">, deadlineMs = FOLDER_READ_DEADLINE_MS): FolderIds {
  const index = createIdIndex();
  const read = () =>
    store.scan((name) => {
      const fileEventId = parseCaptureFileName(name)?.fileEventId;
      if (!fileEventId) return;
      // "evt_1-2.json" is either evt_1's second capture or an id ending in "-2": count both.
      index.add(fileEventId);
      const base = fileEventId.replace(/-\d+$/, "");
      if (base !== fileEventId) index.add(base);
    });
  let ready: Promise<void> | undefined;
  const start = () => {
    // Events wait for the folder at most this long (a stalled disk must not stall them); the reading goes on.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolveDeadline) => {
      timer = setTimeout(resolveDeadline, deadlineMs);
      timer.unref();
    });
    return Promise.race([read().finally(() => clearTimeout(timer)), deadline]);
  };
  return {
    has: (id) => index.has(id),
    ready: () => {
      ready ??= start();
      return ready;
    },
  };
}

/** `folderIds`: the ids of captures already in the save folder; none when nothing is saved. */
export function createWebhookPipeline(options: PipelineOptions, folderIds?: FolderIds): WebhookPipeline {
  // Every event id of the run, as fingerprints: memory stays flat over hundreds of thousands of events.
  const seen = createIdIndex();
  let folderRead = folderIds?.ready === undefined;
  // receivedAt as a time, for the id index: many events of a busy second arrive within one millisecond.
  let lastReceivedAt = "";
  let lastReceivedMs = Number.NaN;
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
    filteredOut: 0,
    senderGone: 0,
  };
  let sequence = 0;

  const recordSeen = (eventId: string | undefined, receivedAt: string): ReceivedEvent["duplicate"] => {
    if (!eventId) return undefined;
    if (receivedAt !== lastReceivedAt) {
      lastReceivedAt = receivedAt;
      lastReceivedMs = Date.parse(receivedAt);
    }
    const before = seen.see(eventId, lastReceivedMs);
    const inFolder = folderIds?.has(fileSafeEventId(eventId)) === true;
    if (before.count === 0 && !inFolder) return undefined;
    return {
      // This delivery's number: the earlier ones of this run, plus one for a copy already in the folder
      // (the first delivery, taken by an earlier run), so the second delivery is #2 either way.
      timesSeen: before.count + (inFolder ? 2 : 1),
      firstSeenAt:
        before.count > 0 && Number.isFinite(before.firstSeenAtMs)
          ? new Date(before.firstSeenAtMs).toISOString()
          : undefined,
      inFolder: before.count === 0 && inFolder,
    };
  };

  /**
   * The part of an event's handling that never waits: parse, verify, recognise, record. Where the
   * forward goes depends on the event's type and inbox (with --events or --route), not on its
   * signature, so the forward (when there is one) is started before verification, and before the
   * body is parsed when its target does not depend on it.
   */
  const receive = (request: CapturedRequest, context: WebhookContext | undefined, rawHeaders?: readonly string[]) => {
    const now = Math.floor(options.now() / 1000);
    // Without --events or --route the target does not depend on the body: the forward is dispatched
    // first and the body parsed after the yield below, while the handler works (notes-f6).
    const inspection =
      !options.client || options.events !== undefined || options.routes.size > 0
        ? inspectRequest(request, { toleranceSeconds: options.toleranceSeconds, now })
        : undefined;
    sequence += 1;
    const seq = sequence;
    const eventType = inspection?.summary.eventType;
    const filteredOut = options.events !== undefined && !(eventType !== undefined && options.events.has(eventType));
    const target =
      filteredOut || !options.client ? undefined : inspection ? forwardTarget(inspection, options) : options.forwardTo;
    // The forward never waits for the disk. A quick one (most are) is waited for, so the capture is
    // written once with its result: replacing a capture afterwards cost far more than writing it
    // (on this VM's disk, a rewrite per event held listen under 300 events/s; BENCHMARKS.md). A slow
    // one runs on while the capture is saved, and its result is added to the capture afterwards.
    const delivery =
      target && options.client
        ? options.client.post(target, forwardableHeaders(request.headers), request.body, { signal: context?.signal })
        : undefined;
    return { request, rawHeaders, now, inspection, seq, filteredOut, target, delivery };
  };

  const arrive = (received: ReturnType<typeof receive>): Arrival => {
    const { request, filteredOut } = received;
    const inspection =
      received.inspection ?? inspectRequest(request, { toleranceSeconds: options.toleranceSeconds, now: received.now });
    inspection.verification = verifyWithInboxSecret(request, inspection, options, received.now);
    const verification = inspection.verification;
    // The page's own replays are not OpenMail's redeliveries: not counted as seen, nor as retries.
    const replay = options.replayOf?.(request);
    // Every field set from the start (one shape for every event; fields added later made each
    // copy and update below a slow, shape-changing one).
    const arrival: Arrival = {
      seq: received.seq,
      request,
      inspection,
      signature: signatureStateOf(verification),
      // Only a request whose signature matches can be OpenMail's retry of an event: X-Event-Id is not
      // signed, and a forged request reusing a real id must neither be called a retry nor make the
      // real delivery after it look like one. (Without a secret nothing can be told apart.) A replay
      // from the inspector is no retry either.
      duplicate:
        replay || (verification && verification.checks.signature !== "pass")
          ? undefined
          : recordSeen(inspection.eventId, request.receivedAt),
      replay,
      capturePath: undefined,
      saveError: undefined,
      forwardTo: received.target,
      filteredOut: filteredOut || undefined,
      rawHeaders: received.rawHeaders,
    };
    tally(stats, arrival);
    if (filteredOut) stats.filteredOut += 1;
    return arrival;
  };

  /** The answer, and what the outcome record says once its fate is known. */
  const answer = (outcome: Outcome): WebhookResponse => {
    const response = decideResponse(outcome, options);
    outcome.status = response.status;
    outcome.statusReason = response.reason;
    return new SettledAnswer(response.reply, outcome, stats, options.onOutcome);
  };

  /** The outcome of a forwarded event, its handler's answer known (counted among the forwards). */
  const forwardedOutcome = (arrival: Arrival, target: string, delivery: DeliveryOutcome): Outcome => {
    const outcome = outcomeOf(arrival);
    const forward = forwardResult(target, delivery, arrival, options);
    outcome.forward = forward;
    const key = forwardKey(forward.outcome);
    stats.forwarded[key] = (stats.forwarded[key] ?? 0) + 1;
    return outcome;
  };

  /**
   * Forwarded with nothing to save: the sender gets the handler's answer as soon as it comes, and the
   * event's own work (verification, the id index, the arrival line, the inspector) runs once that
   * answer is written. Run beside the handler's round trip, that work (50-100 µs) kept listen busy
   * when the handler's answer came back, and the answer waited for it (notes-f8). The answer depends
   * on none of it: it is the handler's, or --status's. A handler slower than ARRIVAL_WAIT_MS has its
   * arrival shown then, and is answered the usual way.
   */
  const answerFirst = async (
    received: ReturnType<typeof receive>,
    target: string,
    delivery: Promise<DeliveryOutcome>,
  ) => {
    const quick = await settledWithin(delivery, ARRIVAL_WAIT_MS);
    if (quick === undefined) {
      const arrival = arrive(received);
      options.onArrival?.(arrival);
      return answer(forwardedOutcome(arrival, target, await delivery));
    }
    const reply = decideResponse({ forward: { url: target, outcome: quick } }, options).reply;
    return new AnswerBeforeArrival(reply, (fate) => {
      const arrival = arrive(received);
      options.onArrival?.(arrival);
      const outcome = forwardedOutcome(arrival, target, quick);
      const decided = decideResponse(outcome, options);
      outcome.status = decided.status;
      outcome.statusReason = decided.reason;
      new SettledAnswer(decided.reply, outcome, stats, options.onOutcome).onSettled(fate);
    });
  };

  /** With a capture to save or a forward to wait for: the steps that wait. */
  const handleAwaiting = async (received: ReturnType<typeof receive>): Promise<WebhookResponse> => {
    const { request, target, delivery } = received;
    if (target && delivery && !options.store) return answerFirst(received, target, delivery);
    // undici writes a request on an idle keep-alive connection only in the event loop's check phase
    // (it first reads what the server may have sent since: GHSA-35p6-xmwp-9g52), so the work below
    // waits for that phase too: verifying, recording and rendering then overlap the handler's time
    // instead of delaying the forward (BENCHMARKS.md).
    if (delivery) await new Promise<void>((resolveLater) => setImmediate(resolveLater));
    const arrival = arrive(received);
    let forward: ForwardResult | undefined;
    if (target && delivery && options.store) {
      const quick = await settledWithin(delivery, QUICK_FORWARD_MS);
      if (quick) forward = forwardResult(target, quick, arrival, options);
    }

    // Persist before acknowledging: if the capture cannot be written, answer 500 so OpenMail retries.
    if (options.store) {
      try {
        arrival.capturePath = await options.store.save(
          request,
          arrival.inspection.eventId,
          captureExtra({ ...arrival, forward }),
        );
      } catch (error) {
        const gone = goneFolderProblem(error, options.store.dir);
        arrival.saveError = gone?.message ?? (error as Error).message;
        if (gone) arrival.saveNextStep = gone.nextStep;
        else if (error instanceof CaptureRefusedError) arrival.saveNextStep = error.nextStep;
        stats.saveErrors += 1;
      }
    }
    options.onArrival?.(arrival);

    const outcome = outcomeOf(arrival);
    if (target && delivery) {
      const written = forward !== undefined;
      forward ??= forwardResult(target, await delivery, arrival, options);
      outcome.forward = forward;
      const key = forwardKey(forward.outcome);
      stats.forwarded[key] = (stats.forwarded[key] ?? 0) + 1;
      // The capture is already safe on disk; adding a slow forward's result can wait until after the answer.
      if (!written && outcome.capturePath && options.store) {
        const update = options.store.update(outcome.capturePath, request, captureExtra(outcome)).catch(() => {});
        pendingUpdates.add(update);
        void update.finally(() => pendingUpdates.delete(update));
      }
    }
    return answer(outcome);
  };

  const handle = (
    request: CapturedRequest,
    context?: WebhookContext,
    rawHeaders?: readonly string[],
  ): WebhookResponse | Promise<WebhookResponse> => {
    if (!folderRead) {
      const waitForFolder = async () => {
        await folderIds?.ready?.();
        folderRead = true;
        return handle(request, context, rawHeaders);
      };
      return waitForFolder();
    }
    const received = receive(request, context, rawHeaders);
    if (received.delivery || options.store) return handleAwaiting(received);
    // Nothing to save and nothing to forward (listen --no-save): answered at once, with no promise,
    // which at thousands of events a second was a measurable share of each event's CPU (notes-n4).
    const arrival = arrive(received);
    options.onArrival?.(arrival);
    return answer(outcomeOf(arrival));
  };

  return {
    handle,
    noteIgnored() {
      stats.ignored += 1;
    },
    stats: () => ({ ...stats, forwarded: { ...stats.forwarded } }),
    async drain() {
      await Promise.all(pendingUpdates);
    },
  };
}

/**
 * An answer written before its event's arrival was recorded (answerFirst): once its fate is known,
 * `settle` records the arrival and the outcome, in that order.
 */
class AnswerBeforeArrival implements WebhookResponse {
  readonly status: number;
  readonly headers: Record<string, string> | undefined;
  readonly body: string | Uint8Array;
  constructor(
    reply: WebhookResponse,
    readonly onSettled: (fate: AnswerFate) => void,
  ) {
    this.status = reply.status;
    this.headers = reply.headers;
    this.body = reply.body;
  }
}

/**
 * The answer handed to the listener, which tells it the answer's fate: then the outcome record is
 * complete and emitted. A class, not an object literal with its own `onSettled` closure per event.
 */
class SettledAnswer implements WebhookResponse {
  readonly status: number;
  readonly headers: Record<string, string> | undefined;
  readonly body: string | Uint8Array;
  constructor(
    reply: WebhookResponse,
    private readonly outcome: Outcome,
    private readonly stats: ListenStats,
    private readonly emit: (outcome: Outcome) => void,
  ) {
    this.status = reply.status;
    this.headers = reply.headers;
    this.body = reply.body;
  }

  onSettled(fate: AnswerFate): void {
    const outcome = this.outcome;
    outcome.answer = fate;
    if (fate.kind === "sender-gone") this.stats.senderGone += 1;
    if (fate.kind === "refused") outcome.status = fate.status;
    this.emit(outcome);
  }
}

/** What the handler answered, judged (valid events: 2xx; ones that fail verification: 4xx). */
function forwardResult(
  url: string,
  delivery: DeliveryOutcome,
  arrival: Arrival,
  options: PipelineOptions,
): ForwardResult {
  const verdict = judgeDelivery(delivery, arrival.inspection.summary.attempt ?? 1);
  return {
    url,
    outcome: delivery,
    verdict,
    judgement: judgeHandler(delivery, verdict, arrival.signature),
    hint: responseHint(delivery, {
      signatureValid: arrival.inspection.verification?.valid,
      secretSource: options.secretSource,
      timeoutOption: "--forward-timeout",
    }),
  };
}

/** The promise's value if it settles within `ms`, else undefined (it runs on). */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolveLate) => {
    timer = setTimeout(() => resolveLate(undefined), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The outcome record of an arrival, before its answer is decided (same shape for every event). */
function outcomeOf(arrival: Arrival): Outcome {
  return {
    seq: arrival.seq,
    request: arrival.request,
    inspection: arrival.inspection,
    signature: arrival.signature,
    duplicate: arrival.duplicate,
    replay: arrival.replay,
    capturePath: arrival.capturePath,
    saveError: arrival.saveError,
    forwardTo: arrival.forwardTo,
    filteredOut: arrival.filteredOut,
    rawHeaders: arrival.rawHeaders,
    forward: undefined,
    status: 200,
    statusReason: "",
    answer: { kind: "written" },
  };
}

/** The verdict with the event's inbox's own secret when one is known, else listen's secret (none: unverified). */
function verifyWithInboxSecret(
  request: CapturedRequest,
  inspection: Inspection,
  options: PipelineOptions,
  now: number,
): Verdict | undefined {
  const secret = options.secretFor?.(inspection.summary.inboxId ?? undefined) ?? options.secret;
  return verifyCaptured(request, { secret, toleranceSeconds: options.toleranceSeconds, now });
}

function tally(stats: ListenStats, arrival: Arrival): void {
  stats.received += 1;
  if (arrival.signature === "unverified") stats.unverified += 1;
  else if (arrival.signature === "valid") stats.verified += 1;
  else stats.failedVerification += 1;
  if (arrival.duplicate) stats.retries += 1;
}

/** The summary's key for a forward: the status, "timeout", or the network error ("refused"). */
function forwardKey(outcome: DeliveryOutcome): string {
  if (outcome.kind === "response") return String(outcome.status);
  return outcome.kind === "timeout" ? "timeout" : outcome.error;
}

function forwardTarget(inspection: Inspection, options: PipelineOptions): string | undefined {
  const inboxId = inspection.summary.inboxId;
  if (inboxId && options.routes.has(inboxId)) return options.routes.get(inboxId);
  return options.forwardTo;
}

/** What the answer depends on: a failed save, the forward's result, else the verdict and --events. */
type AnswerFacts = Pick<Partial<Outcome>, "saveError" | "filteredOut" | "inspection"> & {
  forward?: Pick<ForwardResult, "url" | "outcome">;
};

function decideResponse(
  event: AnswerFacts,
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
  const verdict = event.inspection?.verification;
  // A failed verification is refused whatever its type: --events only chooses what is forwarded.
  if (verdict && !verdict.valid) return text(400, `rejected: ${verdict.message}`);
  if (event.filteredOut) return text(200, "not in --events: acknowledged, not forwarded");
  if (!verdict) return text(200, "accepted unverified (no secret)");
  return text(200, "signature valid");
}

function captureExtra(event: Arrival & { forward?: ForwardResult }): Record<string, unknown> {
  const verdict = event.inspection.verification;
  const extra: Record<string, unknown> = {
    verification: verdict ? { valid: verdict.valid, reason: verdict.reason ?? null, message: verdict.message } : null,
  };
  if (event.duplicate) extra.duplicate = event.duplicate;
  if (event.forward) {
    const { url, outcome, verdict, judgement } = event.forward;
    extra.forward = { ...forwardFields(url, outcome, verdict), judgement };
  }
  return extra;
}
