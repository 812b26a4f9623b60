/**
 * The worker thread of replay's read-ahead (replay-ahead.ts): prepares the files it is handed, in
 * order, at most WINDOW past the number the main thread has taken, and answers each batch with one
 * message, the bodies packed in one transferred buffer.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  type AheadBatch,
  type AheadRecord,
  type AheadWorkerData,
  BATCH_FILES,
  prepareFile,
  RELEASED,
  SLOT_BYTES,
  SLOTS,
  STOP,
  WAKE_AT,
  WINDOW,
} from "./replay-ahead.js";

const data = workerData as AheadWorkerData;
const { settings } = data;
const control = new Int32Array(data.control);
const ring = Buffer.from(data.ring);
const readLimit = Math.min(settings.inputLimit, SLOT_BYTES);
/** Files prepared so far (the numbering the main thread's RELEASED counts in), and batches sent. */
let prepared = 0;
let batches = 0;
/** For each slot, `prepared` after the batch that last used it: the main thread has copied it out once RELEASED reaches that. */
const slotFreeAt = new Array<number>(SLOTS).fill(0);

/**
 * Wait until the main thread is done with enough files for another batch to fit in the window (and
 * so with the batch that last used its slot); false: stop.
 */
function mayGoOn(slot: number): boolean {
  const needed = Math.max(prepared + BATCH_FILES - WINDOW, slotFreeAt[slot] as number);
  for (;;) {
    if (Atomics.load(control, STOP) === 1) return false;
    // WAKE_AT is set before RELEASED is read: one stored after this read makes the wait return at once.
    Atomics.store(control, WAKE_AT, Math.max(1, needed));
    const released = Atomics.load(control, RELEASED);
    if (released >= needed) {
      Atomics.store(control, WAKE_AT, 0);
      return true;
    }
    // A deadline on each wait, so a stop is seen even if a notification was missed.
    Atomics.wait(control, RELEASED, released, 100);
  }
}

parentPort?.on("message", (list: string) => {
  const paths = list.split("\0");
  for (let from = 0; from < paths.length; from += BATCH_FILES) {
    const slot = batches % SLOTS;
    if (!mayGoOn(slot)) return;
    const into = ring.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
    const seconds = Math.floor(Date.now() / 1000);
    const records: string[] = [];
    const add = (record: AheadRecord) => records.push(JSON.stringify(record));
    let size = 0;
    for (const path of paths.slice(from, from + BATCH_FILES)) {
      try {
        const result = prepareFile(path, settings, seconds, readLimit);
        if ("skipped" in result) {
          add(result);
          continue;
        }
        const { body, ...delivery } = result;
        if (size + body.length > SLOT_BYTES) {
          add({ declined: true });
          continue;
        }
        const start = size;
        size += body.copy(into, size);
        add({ prepared: delivery, start, end: size });
      } catch {
        // Larger than the worker reads: the main thread reads it, within the user's limit.
        add({ declined: true });
      }
    }
    prepared += records.length;
    slotFreeAt[slot] = prepared;
    batches += 1;
    const batch: AheadBatch = { slot, records, seconds };
    parentPort?.postMessage(batch);
  }
});
