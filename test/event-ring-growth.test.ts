import { describe, expect, it } from "vitest";
import { EventRing, textBytesAtMost, writeText } from "../src/inspector/event-ring.js";

// The ring grows one resizable buffer in place, not by allocating a larger buffer each time: every
// outgrown one stayed resident until V8's next full collection (notes-m7). (A buffer of the largest
// size allocated at once set off a full collection in listen's first second: V8 counts all of it.)
describe("the ring of unsaved events grows in place", () => {
  const body = (n: number, size: number) => Buffer.alloc(size, n);
  const push = (ring: EventRing, n: number, size: number) => {
    const key = `k${n}`;
    const start = ring.reserve(textBytesAtMost(key) + size);
    if (start < 0) return false;
    const at = writeText(ring.buffer, start, key);
    ring.buffer.set(body(n, size), at);
    ring.commit(n, n, at + size - start);
    return true;
  };
  const contents = (ring: EventRing) =>
    Array.from({ length: ring.count }, (_, position) => {
      const reader = ring.readerAt(position);
      return reader && { key: reader.text(), body: reader.rest() };
    });

  it("keeps one buffer as it grows, and every entry, also when they had wrapped around its end", () => {
    const ring = new EventRing({ slots: 3, initialBytes: 1024, maxBytes: 4096, beforeBytesDropped() {} });
    const memory = ring.buffer.buffer;
    expect(ring.buffer.length).toBe(1024);
    for (const n of [1, 2, 3]) expect(push(ring, n, 300)).toBe(true);
    expect(push(ring, 4, 300)).toBe(false); // every place taken: the index drops the oldest first
    ring.dropOldest();
    ring.dropOldest();
    expect(push(ring, 4, 300)).toBe(true); // no room at the end: it goes to the start (wrapped)
    expect(ring.capacity).toBe(1024);
    expect(push(ring, 5, 400)).toBe(true); // does not fit between the wrapped entry and the oldest: grows
    expect(ring.capacity).toBe(2048);
    expect(ring.buffer.buffer).toBe(memory);
    expect(ring.buffer.length).toBe(2048);
    expect(contents(ring)).toEqual([3, 4, 5].map((n) => ({ key: `k${n}`, body: body(n, n === 5 ? 400 : 300) })));
    // More growth, up to the limit, then the oldest bytes go first: still the same buffer.
    ring.dropOldest();
    expect(push(ring, 6, 1000)).toBe(true);
    ring.dropOldest();
    expect(push(ring, 7, 1000)).toBe(true);
    expect(ring.capacity).toBe(4096);
    expect(ring.buffer.buffer).toBe(memory);
    expect(memory.byteLength).toBe(4096);
    expect(contents(ring)).toEqual([5, 6, 7].map((n) => ({ key: `k${n}`, body: body(n, n === 5 ? 400 : 1000) })));
  });
});
