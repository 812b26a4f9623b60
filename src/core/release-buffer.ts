/**
 * Hand the memory of typed arrays a structure has outgrown back at once. V8 frees an ArrayBuffer's
 * memory when it collects the buffer's object, and an object that lived long (a table used for tens
 * of thousands of events) is collected only by a full mark-compact, which a busy `listen` may not run
 * for hundreds of thousands of events: until then every table an index outgrew stays resident beside
 * the live one (as much memory again). Transferring the buffer moves its memory to a new, unreferenced
 * ArrayBuffer that the next young-generation collection frees (within a few hundred events). The
 * arrays given are unusable afterwards (length 0). Pure: no I/O, and a no-op where structuredClone is
 * missing.
 */
export function releaseBuffers(...arrays: ArrayBufferView[]): void {
  if (typeof structuredClone !== "function") return;
  for (const array of arrays) {
    const { buffer } = array;
    if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) structuredClone(buffer, { transfer: [buffer] });
  }
}

let detachedOnce = false;

/**
 * Call where buffers will be released later (an index that may grow), before the run's hot code is
 * optimised. The first ArrayBuffer a process detaches makes V8 drop an assumption ("no buffer was
 * ever detached") and deoptimise all optimised code that relied on it: Node's streams and http, and
 * listen's own per-event functions. Released at the id table's first growth, ~1,000 events into a
 * run, that recompiled everything hot while events kept coming (notes-i8: paired runs, listen's CPU
 * per request over its first 3 s 0.963x with the inspector, 0.980x without, when it happens here at
 * start instead). Detaching one 8-byte throw-away buffer is the whole cost; once per process.
 */
export function detachOnceBeforeReleases(): void {
  if (detachedOnce || typeof structuredClone !== "function") return;
  detachedOnce = true;
  const throwAway = new ArrayBuffer(8);
  structuredClone(throwAway, { transfer: [throwAway] });
}
