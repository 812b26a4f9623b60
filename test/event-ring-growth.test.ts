import { describe, expect, it } from "vitest";
import { EventRing, textBytesAtMost, writeText } from "../src/inspector/event-ring.js";

// The ring grows by adding ordinary buffers and never replaces one: a larger buffer per growth left
// every outgrown one resident until V8's next full collection (notes-m7); a buffer of the largest size
// allocated at once set off a full collection in listen's first second (V8 counts all of it); one
// resizable buffer grown in place made V8 deoptimise and recompile the writers at every growth, and
// write each event more slowly (notes-i8).
describe("the ring of unsaved events grows without replacing its buffers", () => {
  const body = (n: number, size: number) => Buffer.alloc(size, n % 251);
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

  it("keeps its buffers as it grows, and every entry, also when they had wrapped around its end", () => {
    const ring = new EventRing({ slots: 3, initialBytes: 1024, maxBytes: 4096, beforeBytesDropped() {} });
    const first = ring.buffer;
    expect(first.length).toBe(1024);
    // Ordinary buffers: V8 compiles access to a resizable one's views slowly, and anew at each growth.
    expect((first.buffer as ArrayBuffer & { resizable?: boolean }).resizable).not.toBe(true);
    for (const n of [1, 2, 3]) expect(push(ring, n, 300)).toBe(true);
    expect(push(ring, 4, 300)).toBe(false); // every place taken: the index drops the oldest first
    ring.dropOldest();
    ring.dropOldest();
    expect(push(ring, 4, 300)).toBe(true); // no room at the end: it goes to the start (wrapped)
    expect(ring.capacity).toBe(1024);
    expect(ring.buffer).toBe(first);
    expect(push(ring, 5, 400)).toBe(true); // does not fit between the wrapped entry and the oldest: grows
    expect(ring.capacity).toBe(2048);
    const second = ring.buffer;
    expect(second).not.toBe(first);
    expect(second.length).toBe(1024);
    expect(contents(ring)).toEqual([3, 4, 5].map((n) => ({ key: `k${n}`, body: body(n, n === 5 ? 400 : 300) })));
    // More growth, up to the limit, then the oldest bytes go first: the first buffers are still in use.
    ring.dropOldest();
    expect(push(ring, 6, 1000)).toBe(true);
    ring.dropOldest();
    expect(push(ring, 7, 1000)).toBe(true);
    expect(ring.capacity).toBe(4096);
    expect(contents(ring)).toEqual([5, 6, 7].map((n) => ({ key: `k${n}`, body: body(n, n === 5 ? 400 : 1000) })));
    let sawFirst = false;
    for (let n = 8; n < 40; n++) {
      ring.dropOldest();
      expect(push(ring, n, 200 + ((n * 37) % 500))).toBe(true);
      if (ring.buffer === first) sawFirst = true;
    }
    expect(sawFirst).toBe(true);
    expect(ring.capacity).toBe(4096);
  });

  it("moves entries that wrapped into more than one buffer when it grows", () => {
    const ring = new EventRing({ slots: 20, initialBytes: 100, maxBytes: 1600, beforeBytesDropped() {} });
    expect(push(ring, 1, 90)).toBe(true); // first buffer
    expect(push(ring, 2, 90)).toBe(true); // grows: second buffer (100 bytes)
    expect(push(ring, 3, 190)).toBe(true); // grows: third buffer (200 bytes)
    expect(ring.capacity).toBe(400);
    ring.dropOldest();
    ring.dropOldest();
    expect(push(ring, 4, 90)).toBe(true); // wraps into the first buffer
    expect(push(ring, 5, 90)).toBe(true); // then the second
    expect(ring.capacity).toBe(400);
    expect(push(ring, 6, 90)).toBe(true); // no room before the oldest: grows, moving 4 and 5 past the end
    expect(ring.capacity).toBe(800);
    expect(contents(ring)).toEqual([3, 4, 5, 6].map((n) => ({ key: `k${n}`, body: body(n, n === 3 ? 190 : 90) })));
    expect(push(ring, 7, 90)).toBe(true); // after 6, in the new buffer: the first two are free again
    ring.dropOldest(); // 3
    for (const n of [8, 9, 10, 11]) expect(push(ring, n, 90)).toBe(true);
    expect(ring.capacity).toBe(800);
    expect(contents(ring)).toEqual([4, 5, 6, 7, 8, 9, 10, 11].map((n) => ({ key: `k${n}`, body: body(n, 90) })));
  });

  it("keeps every entry whole, whatever the sizes, growth steps and drops (against a model)", () => {
    for (const [initialBytes, maxBytes] of [
      [1024, 32 * 1024],
      [1000, 1500], // a last step smaller than the one before: wrapped entries cannot all move
      [300, 10_000],
      [64, 4096],
    ] as const) {
      let seed = initialBytes * 7 + maxBytes;
      const random = (below: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % below;
      };
      const model: Array<{ n: number; size: number; bytes: boolean }> = [];
      const ring: EventRing = new EventRing({
        slots: 12,
        initialBytes,
        maxBytes,
        beforeBytesDropped(position) {
          expect(model[position]?.bytes).toBe(true);
          expect(position === 0 || model[position - 1]?.bytes === false).toBe(true); // oldest first
          (model[position] as { bytes: boolean }).bytes = false;
        },
      });
      for (let n = 1; n <= 3000; n++) {
        if (ring.count > 0 && (ring.count === 12 || random(3) === 0)) {
          ring.dropOldest();
          model.shift();
        }
        const size = random(5) === 0 ? random(Math.floor(maxBytes / 4) - 8) : random(Math.floor(maxBytes / 16));
        if (push(ring, n, size)) model.push({ n, size, bytes: true });
        else expect(textBytesAtMost(`k${n}`) + size).toBeGreaterThan(Math.floor(maxBytes / 4));
        expect(ring.capacity).toBeLessThanOrEqual(maxBytes);
        if (n % 29 === 0 || n > 2990) {
          const wrong = contents(ring).flatMap((entry, position) => {
            const { n: m, size: s, bytes } = model[position] as { n: number; size: number; bytes: boolean };
            const right = bytes
              ? entry !== undefined && entry.key === `k${m}` && entry.body.equals(body(m, s))
              : entry === undefined;
            return right ? [] : [`entry ${m} at ${position}`];
          });
          expect(wrong).toEqual([]);
          expect(ring.count).toBe(model.length);
        }
      }
    }
  });
});
