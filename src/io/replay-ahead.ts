/**
 * Reading and preparing a folder's capture files ahead of sending them, in a worker thread.
 *
 * Replaying a capture costs more than sending it: open, stat, read and close the file, parse the
 * capture and its body, check the captured signature and sign again (about 40 µs of a 70 µs event,
 * measured; notes in BENCHMARKS.md). On the main thread that work and undici's share one core. A
 * worker does it for the next few dozen files, in the same order, with the same code and the same
 * clock reading as the main thread would use, and hands back the prepared requests in batches (one
 * message per batch, the bodies packed in one transferred buffer). The main thread only sends.
 *
 * What is sent and printed is what the main thread would have prepared itself: a result made in a
 * second other than the current one when it is taken (its X-Timestamp would be a second old, or a
 * --keep-signature age check could differ) is dropped and the file prepared again on the main thread,
 * as is every file the worker declined (one whose body does not fit in its batch's slot of the shared
 * ring) and every file after the worker failed. Memory stays bounded: WINDOW prepared items at most,
 * their bodies in a ring of SLOTS × SLOT_BYTES.
 */
import type { Worker } from "node:worker_threads";
import type { PreparedDelivery } from "../core/contract.js";
import { newId } from "../core/fake-events.js";
import { prepareReplay, type ReplayItem, type ReplayOptions } from "../core/replay.js";
import type { PrepareResult } from "./delivery-runner.js";
import { randomHex } from "./random.js";
import { readFileItem } from "./replay-input.js";
import { InputTooLargeError } from "./request-input.js";

/** How each item is prepared: the same on the main thread and in the worker. */
export interface ReplaySettings {
  replay: ReplayOptions;
  /** A fresh event id for each item (--new-event-id). */
  newEventId: boolean;
  /** Largest file read (--max-input-size). */
  inputLimit: number;
}

/** Build the request for one loaded item (prepareReplay, with a new event id when asked for). */
export function prepareItem(loaded: ReplayItem, settings: ReplaySettings, nowSeconds: number) {
  const newEventId = settings.newEventId ? newId("evt", randomHex) : undefined;
  return prepareReplay(loaded, newEventId ? { ...settings.replay, newEventId } : settings.replay, nowSeconds);
}

/** A file read and prepared, or the line that says why it is skipped (named by `origin`). */
export function prepareFile(
  origin: string,
  settings: ReplaySettings,
  nowSeconds: number,
  readLimit = settings.inputLimit,
): PrepareResult {
  try {
    return prepareItem(readFileItem(origin, settings.inputLimit, readLimit), settings, nowSeconds);
  } catch (error) {
    if (readLimit < settings.inputLimit && error instanceof InputTooLargeError) throw error;
    return { skipped: `${origin}: ${(error as Error).message}` };
  }
}

/** Files per batch. */
export const BATCH_FILES = 32;
/** Files the worker prepares ahead of the one being taken: SLOTS batches. */
export const SLOTS = 4;
export const WINDOW = SLOTS * BATCH_FILES;
/**
 * Bodies travel in a shared ring of SLOTS slots of SLOT_BYTES, one slot per batch, copied out by the
 * main thread when it takes the item (a transferred buffer per batch was malloc'd in the worker and
 * freed only by the main thread's next collection: megabytes of them waited). A body that does not
 * fit in what is left of its batch's slot, or a file larger than a slot, is left to the main thread.
 */
export const SLOT_BYTES = 256 * 1024;
/**
 * Paths are handed to the worker in lists of this many (a message to a busy worker costs its
 * sender 0.2–0.3 ms here, measured: one per batch was 20 µs per event).
 */
const PATHS_PER_MESSAGE = 512;
/** The read-ahead starts only for runs of at least this many items (a worker costs ~30 ms and ~10 MB). */
export const READ_AHEAD_MIN_ITEMS = 1000;

/**
 * Shared between the threads (Int32Array over a SharedArrayBuffer): how many files the main thread
 * is done with (taken, and its batch arrived: its body copied out of the ring), the number the
 * worker waits for, and whether it should stop.
 */
export const RELEASED = 0;
/** The RELEASED the worker waits for (0: it does not wait). */
export const WAKE_AT = 1;
export const STOP = 2;

export interface AheadWorkerData {
  settings: ReplaySettings;
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
}

/** What the worker answers per file (each JSON, parsed when the file is taken). */
export type AheadRecord =
  | { skipped: string }
  /** Left to the main thread. */
  | { declined: true }
  /** Prepared; its body is bytes [start, end) of the batch's slot. */
  | { prepared: Omit<PreparedDelivery, "body">; start: number; end: number };

/** One batch: the next files' records, prepared in the second `seconds` (unix time). */
export interface AheadBatch {
  slot: number;
  records: string[];
  seconds: number;
}

type Taken = PrepareResult | undefined;

/**
 * The main thread's side. take(index) is called for index 0, 1, 2, … in order (delivery-runner
 * prepares items in order); it answers the prepared result, a promise of it when its batch is still
 * being read, or undefined: prepare it yourself. The worker numbers the files it is handed 0, 1, 2, …
 * and prepares at most WINDOW past the number the main thread is done with.
 */
export class ReplayReadAhead {
  private worker: Worker | undefined;
  private failed = false;
  private readonly control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly ring = Buffer.from(new SharedArrayBuffer(SLOTS * SLOT_BYTES));
  /** The next index to consider handing to the worker. */
  private next = 0;
  /**
   * The indices handed to the worker, in order: those before `arrivedTo` have arrived, those before
   * `takenTo` have been taken (either may be ahead of the other).
   */
  private handed: number[] = [];
  private arrivedTo = 0;
  private takenTo = 0;
  /** Entries dropped from the front of `handed` (the worker numbers files from the first). */
  private dropped = 0;
  /** Arrived and not yet taken, in order (a queue read from `queueHead`). */
  private queue: Array<{ record: string; batch: AheadBatch }> = [];
  private queueHead = 0;
  private readonly waiting = new Map<number, (taken: Taken) => void>();

  constructor(
    private readonly total: number,
    /** The file to read for an item, or undefined for an item already in memory. */
    private readonly fileOf: (index: number) => string | undefined,
    private readonly nowSeconds: () => number,
    private readonly startWorker: (shared: Omit<AheadWorkerData, "settings">) => Worker,
  ) {}

  take(index: number): Taken | Promise<Taken> {
    this.handOver(index);
    if (this.handed[this.takenTo] !== index) return undefined;
    this.takenTo += 1;
    if (this.takenTo <= this.arrivedTo) {
      const { record, batch } = this.queue[this.queueHead] as { record: string; batch: AheadBatch };
      this.queue[this.queueHead++] = undefined as never;
      // Its body is copied before the worker is told it may reuse the slot.
      const result = this.result(record, batch);
      this.release();
      return result;
    }
    this.release();
    if (this.failed) return undefined;
    return new Promise((resolve) => this.waiting.set(index, resolve));
  }

  /** Stop the worker (after the run, or when it is abandoned). */
  async close(): Promise<void> {
    this.abandon();
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  /** The worker may prepare as many files as the main thread has both taken and received. */
  private release(): void {
    const released = this.dropped + Math.min(this.takenTo, this.arrivedTo);
    Atomics.store(this.control, RELEASED, released);
    // Woken only when a whole batch fits (a wake-up is a system call, ~10 µs here).
    const wakeAt = Atomics.load(this.control, WAKE_AT);
    if (wakeAt !== 0 && released >= wakeAt) {
      Atomics.store(this.control, WAKE_AT, 0);
      Atomics.notify(this.control, RELEASED);
    }
  }

  /** Keep the worker's list of paths at least PATHS_PER_MESSAGE ahead of `index`. */
  private handOver(index: number): void {
    if (this.next < index) this.next = index;
    while (!this.failed && this.next - index < PATHS_PER_MESSAGE && this.next < this.total) {
      const paths: string[] = [];
      // Items in memory are skipped over (a bounded look, so a long run of them costs little per call).
      for (
        let looked = 0;
        looked < 4 * PATHS_PER_MESSAGE && this.next < this.total && paths.length < PATHS_PER_MESSAGE;
        looked++
      ) {
        const i = this.next++;
        const path = this.fileOf(i);
        if (path === undefined) continue;
        this.handed.push(i);
        paths.push(path);
      }
      if (paths.length === 0) continue;
      const worker = this.ensureWorker();
      if (!worker) return;
      worker.postMessage(paths.join("\0"));
    }
    // The queues' consumed parts are dropped now and then, not on every call.
    const done = Math.min(this.takenTo, this.arrivedTo);
    if (done > 4 * PATHS_PER_MESSAGE) {
      this.handed = this.handed.slice(done);
      this.dropped += done;
      this.takenTo -= done;
      this.arrivedTo -= done;
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    try {
      const worker = this.startWorker({
        control: this.control.buffer as SharedArrayBuffer,
        ring: this.ring.buffer as SharedArrayBuffer,
      });
      worker.on("message", (batch: AheadBatch) => this.received(batch));
      // A worker that fails leaves the rest to the main thread (nothing is lost: what it was asked
      // for and had not answered is prepared there).
      worker.on("error", () => this.abandon());
      worker.on("messageerror", () => this.abandon());
      worker.on("exit", () => this.abandon());
      this.worker = worker;
    } catch {
      this.abandon();
    }
    return this.worker;
  }

  private received(batch: AheadBatch): void {
    if (this.failed) return;
    for (const record of batch.records) {
      const index = this.handed[this.arrivedTo++] as number;
      const waiter = this.waiting.get(index);
      if (waiter) {
        this.waiting.delete(index);
        waiter(this.result(record, batch));
      } else this.queue.push({ record, batch });
    }
    this.release();
  }

  /** A record as what prepare() answers: undefined when declined, or made in another second than now. */
  private result(text: string, batch: AheadBatch): Taken {
    if (batch.seconds !== this.nowSeconds()) return undefined;
    const record = JSON.parse(text) as AheadRecord;
    if ("skipped" in record) return record;
    if (!("prepared" in record)) return undefined;
    const from = batch.slot * SLOT_BYTES;
    // A copy of its own (small ones share Node's pool): the slot is the worker's again soon.
    return { ...record.prepared, body: Buffer.from(this.ring.subarray(from + record.start, from + record.end)) };
  }

  private abandon(): void {
    if (this.failed) return;
    this.failed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, RELEASED);
    // Whoever waits for a batch that will not come prepares the item itself.
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }
}

/** The worker, started from the file beside this module (dist/bin/ once bundled). */
export async function loadAheadWorker(
  settings: ReplaySettings,
): Promise<(shared: Omit<AheadWorkerData, "settings">) => Worker> {
  const { Worker } = await import("node:worker_threads");
  return (shared) =>
    new Worker(new URL("./replay-ahead-worker.js", import.meta.url), {
      workerData: { settings, ...shared } satisfies AheadWorkerData,
      // Its garbage is short-lived (one batch's parsing): a small young generation keeps its memory low.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
    });
}
