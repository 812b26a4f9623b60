/**
 * Send many deliveries with a fixed number in flight, shared by send-test and replay. Work is
 * prepared lazily, one item at a time, so memory stays flat however many events are sent.
 */
import {
  type DeliveryOutcome,
  type DeliveryRecord,
  isFatalNetworkError,
  judgeDelivery,
  meetsExpectation,
  type PreparedDelivery,
  responseHint,
} from "../core/contract.js";
import { verify } from "../core/signature.js";
import { createDeliveryStats, type DeliveryStats } from "../core/stats.js";
import { CliError, EXIT } from "../errors.js";
import type { HttpClient } from "./http-client.js";

export type PrepareResult = PreparedDelivery | { skipped: string };

export interface RunOptions {
  total: number;
  concurrency: number;
  url: string;
  client: HttpClient;
  /** Secret used to tell whether a request's signature verified, for hints. */
  secret?: string;
  /** Where that secret came from, named in the hint for a rejected valid signature. */
  secretSource?: string;
  /**
   * The item to send; return it directly when it is at hand (no promise per item), a promise when it
   * must be read or saved first.
   */
  prepare(index: number): Promise<PrepareResult> | PrepareResult;
  /** Called for every delivery, in completion order; may save a capture and set record.capturePath. */
  onRecord(record: DeliveryRecord): Promise<void> | void;
  onSkipped?(index: number, reason: string): void;
  onProgress?(done: number, stats: DeliveryStats): void;
  /** A request is about to go out (so an interruption can count the ones in flight). */
  onSending?(index: number): void;
  /** Given the run's stop (a Ctrl-C): once called, nothing more is sent, recorded or reported, and the run never settles. */
  stopWith?(stop: () => void): void;
}

export interface RunResult {
  stats: DeliveryStats;
  skipped: number;
  durationMs: number;
  /** The connection failure that stopped the run, if the endpoint was not reachable at all. */
  fatal?: DeliveryRecord;
}

/**
 * Keep `concurrency` items in flight until all are sent. One sweep per event-loop turn handles every
 * answer that came in (its record, statistics, rendering) and starts as many new items as answers
 * freed slots: no promise, worker or closure chain per request. An answer that ended cleanly, with
 * no other answer waiting for the sweep, is handled as it comes instead, and the next item sent on
 * the connection it freed: undici then writes that request after one turn of the event loop, where a
 * request sent a turn later first waited another turn for undici's check of the idle connection (an
 * Immediate, a resume and a read per request: about 1.5 µs of CPU each). Either way, items are
 * prepared in order (prepare(i) before prepare(i + 1)), records come in completion order, a skipped
 * item is reported after the record of the answer that freed its slot, and a slot is used again only
 * once its record is done; a failing prepare (a capture that could not be saved) rejects the run.
 */
export function runDeliveries(options: RunOptions): Promise<RunResult> {
  return new Promise((resolveRun, rejectRun) => {
    const stats = createDeliveryStats();
    const started = performance.now();
    const limit = Math.max(1, Math.min(options.concurrency, options.total));
    let next = 0;
    let active = 0;
    let done = 0;
    let skipped = 0;
    let fatal: DeliveryRecord | undefined;
    let over = false;
    // Answers noted by the client (from inside undici's parser), handled in the next sweep. The
    // arrays keep their capacity between sweeps (entries are cleared, not the arrays).
    const answeredIndex: number[] = [];
    const answeredDelivery: Array<PreparedDelivery | undefined> = [];
    const answeredOutcome: Array<DeliveryOutcome | undefined> = [];
    let answered = 0;
    let scheduled = false;
    // Inside our own call to the client: an answer given synchronously from there goes to the sweep.
    let sending = false;

    const fail = (error: unknown) => {
      if (over) return;
      over = true;
      rejectRun(error);
    };
    const schedule = () => {
      if (scheduled || over) return;
      scheduled = true;
      queueMicrotask(sweep);
    };
    const send = (index: number, prepared: PrepareResult) => {
      if (over) return;
      if ("skipped" in prepared) {
        skipped += 1;
        active -= 1;
        options.onSkipped?.(index, prepared.skipped);
        return;
      }
      options.onSending?.(index);
      sending = true;
      try {
        options.client.send(options.url, prepared.headers, prepared.body, (outcome, connectionFree) => {
          if (connectionFree && answered === 0 && !sending) {
            answerNow(index, prepared, outcome);
            return;
          }
          answeredIndex[answered] = index;
          answeredDelivery[answered] = prepared;
          answeredOutcome[answered] = outcome;
          answered += 1;
          schedule();
        });
      } finally {
        sending = false;
      }
    };
    // A clean answer with none waiting before it: recorded now, and the slot it frees filled now.
    const answerNow = (index: number, prepared: PreparedDelivery, outcome: DeliveryOutcome) => {
      if (over) return;
      try {
        handle(index, prepared, outcome);
        startMore();
      } catch (error) {
        fail(error);
      }
    };
    const afterPreparing = (index: number) => (prepared: PrepareResult) => {
      try {
        send(index, prepared);
        schedule();
      } catch (error) {
        fail(error);
      }
    };
    const recorded = () => {
      active -= 1;
      done += 1;
      options.onProgress?.(done, stats);
    };
    const afterRecording = () => {
      if (over) return;
      try {
        recorded();
        schedule();
      } catch (error) {
        fail(error);
      }
    };
    const handle = (index: number, prepared: PreparedDelivery, outcome: DeliveryOutcome) => {
      const record = buildRecord(index, options.url, prepared, outcome, options.secret, options.secretSource);
      if (isFatalNetworkError(outcome)) {
        fatal ??= record;
        active -= 1;
        return;
      }
      const status = outcome.kind === "response" ? outcome.status : outcome.kind;
      stats.record(status, outcome.latencyMs, record.passed, record.verdict.accepted);
      const pending = options.onRecord(record);
      if (pending) pending.then(afterRecording, fail);
      else recorded();
    };
    function sweep() {
      scheduled = false;
      if (over) return;
      try {
        // (`answered` is read on every turn: an answer noted meanwhile is handled in this sweep too.)
        for (let i = 0; i < answered; i++) {
          const prepared = answeredDelivery[i] as PreparedDelivery;
          const outcome = answeredOutcome[i] as DeliveryOutcome;
          answeredDelivery[i] = undefined;
          answeredOutcome[i] = undefined;
          handle(answeredIndex[i] as number, prepared, outcome);
        }
        answered = 0;
        startMore();
      } catch (error) {
        fail(error);
      }
    }
    /** Start items while slots are free, or end the run when nothing is left in flight. */
    function startMore() {
      while (!over && !fatal && active < limit && next < options.total) {
        const index = next++;
        active += 1;
        const prepared = options.prepare(index);
        if (prepared instanceof Promise) prepared.then(afterPreparing(index), fail);
        else send(index, prepared);
      }
      if (!over && active === 0 && (fatal || next >= options.total)) {
        over = true;
        resolveRun({ stats, skipped, durationMs: performance.now() - started, fatal });
      }
    }
    options.stopWith?.(() => {
      over = true;
    });
    sweep();
  });
}

export function buildRecord(
  index: number,
  url: string,
  delivery: PreparedDelivery,
  outcome: DeliveryRecord["outcome"],
  secret: string | undefined,
  secretSource?: string,
): DeliveryRecord {
  // Only a 4xx answer needs to know whether the signature was good (for the hint).
  const rejected = outcome.kind === "response" && outcome.status >= 400 && outcome.status < 500;
  const signatureValid =
    secret === undefined || !rejected
      ? undefined
      : verify({ body: delivery.body, headers: delivery.headers, secret }).valid;
  // The delivery, not its attempt: replay reads the attempt from the event's body, only for a
  // delivery not accepted (what OpenMail would retry).
  const verdict = judgeDelivery(outcome, delivery);
  const passed = meetsExpectation(delivery, outcome, verdict);
  return {
    index,
    url,
    delivery,
    outcome,
    verdict,
    passed,
    // A rejection that was expected needs no hint.
    hint:
      passed && delivery.expect === "4xx"
        ? undefined
        : responseHint(outcome, { signatureValid, secretSource, timeoutOption: "--timeout" }),
    capturePath: delivery.capturePath,
  };
}

/** The one-line usage error for an endpoint that is not there: "connection refused at ..., is your server running?" */
export function fatalConnectionError(record: DeliveryRecord): CliError {
  const { outcome } = record;
  const message = outcome.kind === "network-error" ? outcome.message : record.verdict.summary;
  const hint = record.hint ? `: ${record.hint}` : "";
  return new CliError(`${message}${hint}`, { code: "connection_failed", exitCode: EXIT.USAGE });
}
