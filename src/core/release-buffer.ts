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
