/**
 * A bounded ring of bytes for the inspector's unsaved events: each entry is a run of bytes its owner
 * writes straight into the ring (fields with `writeText`/`writeUint`, read back with `EntryReader`),
 * with the bookkeeping (where an entry starts, its length, its number, its order) in typed arrays.
 * Keeping events as objects made every one of the last 2,000 survive two young-generation
 * collections and be promoted (15-20 µs per event); bytes copied into a buffer allocated once leave
 * nothing behind per event, and writing each field in place makes no string on the way (joining the
 * fields first made ~2 KB of strings per event, and the join was flattened again to be written).
 *
 * Entries are kept oldest first in `slots` places. Their bytes are dropped oldest first when a new
 * entry does not fit and the ring is already at its largest (the owner is told first, so it can keep
 * what it shows in a list); the entries themselves (their number, their place in the order) stay
 * until `dropOldest` removes them.
 */

export interface EventRingOptions {
  /** Entries kept at most. */
  slots: number;
  /** Bytes used at first; doubled as needed up to `maxBytes`. */
  initialBytes: number;
  /** The ring's largest size. An entry larger than a quarter of it is refused (kept another way). */
  maxBytes: number;
  /** Called just before an entry's bytes are dropped to make room, with its position (0 = oldest). */
  beforeBytesDropped(position: number): void;
}

export class EventRing {
  /**
   * The ring's bytes, as ordinary buffers ("segments") laid end to end: the first `initialBytes`
   * long, each later one as long as all before it (so the ring doubles), the last cut at `maxBytes`.
   * Growing adds a segment and never copies or frees one: a larger buffer per growth left every
   * outgrown one resident until V8's next full collection, and handing those back at once raised
   * glibc's threshold for mmap, after which the run's id table grew malloc's heap instead
   * (notes-m7); allocating `maxBytes` at once set off a full collection in listen's first second
   * (V8 counts a buffer's whole size as external memory). One resizable ArrayBuffer grown in place
   * avoided both, but V8 (Node 20) compiles access to its views slowly and deoptimises the writers
   * at every growth, recompiling them larger each time: ~0.3 s of compiling in listen's first
   * seconds and 1.75 µs instead of 1.05 per event (notes-i8). Ordinary buffers share one map.
   *
   * An entry never spans two segments; positions (`starts`, `head`) count from the first
   * segment's start, as if the segments were one buffer.
   */
  private readonly segments: Buffer[] = [];
  /** Where each segment starts. */
  private readonly segmentStarts: number[] = [];
  /** The segment the entry being written is in (`reserve`), and where that segment starts. */
  private current: Buffer;
  private currentStart = 0;
  /** Bytes in use now (the segments' total): entries are placed below it. */
  private limit = 0;
  private readonly numbers: Float64Array;
  private readonly order: Float64Array;
  /** Where each slot's bytes start, or -1 once they were dropped. */
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  /** The slot of the oldest entry. */
  private first = 0;
  private size = 0;
  /** Entries whose bytes were dropped: always the oldest ones. */
  private dropped = 0;
  /** Where the next entry's bytes go. */
  private head = 0;
  /** Where the entry being written starts and the bytes it may take (`reserve`), until `commit`. */
  private reserved = -1;
  private reservedBytes = 0;

  constructor(private readonly options: EventRingOptions) {
    const { slots } = options;
    this.current = this.addSegment(Math.max(1, Math.min(options.initialBytes, options.maxBytes)));
    this.numbers = new Float64Array(slots);
    this.order = new Float64Array(slots);
    this.starts = new Int32Array(slots);
    this.lengths = new Int32Array(slots);
  }

  /** Entries kept (with or without their bytes). */
  get count(): number {
    return this.size;
  }

  /** Bytes the ring uses now. */
  get capacity(): number {
    return this.limit;
  }

  /** The largest entry the ring takes. */
  get maxEntryBytes(): number {
    return Math.floor(this.options.maxBytes / 4);
  }

  /** The buffer the entry being written goes into, at the offset `reserve` returned. */
  get buffer(): Buffer {
    return this.current;
  }

  /**
   * Make room for an entry of at most `most` bytes, to be written into `buffer` at the offset
   * returned and then committed (`commit`). -1, with nothing changed, when it is larger than
   * `maxEntryBytes` or all places are taken. May grow the ring or drop the oldest entries' bytes.
   */
  reserve(most: number): number {
    if (this.size >= this.options.slots || most > this.maxEntryBytes) return -1;
    const at = this.room(most);
    const segment = this.segmentOf(at);
    this.current = this.segments[segment] as Buffer;
    this.currentStart = this.segmentStarts[segment] as number;
    this.reserved = at;
    this.reservedBytes = most;
    return at - this.currentStart;
  }

  /** Keep the entry just written at the offset `reserve` gave, `length` bytes long. */
  commit(number: number, order: number, length: number): void {
    const start = this.reserved;
    if (start < 0 || length > this.reservedBytes) throw new Error("no room reserved for this entry");
    const slot = (this.first + this.size) % this.options.slots;
    this.numbers[slot] = number;
    this.order[slot] = order;
    this.starts[slot] = start;
    this.lengths[slot] = length;
    this.head = start + length;
    this.size += 1;
    this.reserved = -1;
  }

  /** Remove the oldest entry altogether. */
  dropOldest(): void {
    if (this.size === 0) return;
    if (this.dropped > 0) this.dropped -= 1;
    this.first = (this.first + 1) % this.options.slots;
    this.size -= 1;
    if (this.size === this.dropped) this.head = 0; // no bytes left in use
  }

  /** The position (0 = oldest) of the entry with this number, or -1. */
  find(number: number): number {
    for (let position = this.size - 1; position >= 0; position--) {
      if (this.numbers[this.slotAt(position)] === number) return position;
    }
    return -1;
  }

  numberAt(position: number): number {
    return this.numbers[this.slotAt(position)] as number;
  }

  orderAt(position: number): number {
    return this.order[this.slotAt(position)] as number;
  }

  hasBytes(position: number): boolean {
    return position >= this.dropped && position < this.size;
  }

  /** A reader of the entry's bytes (valid until the next `reserve`), or undefined once they were dropped. */
  readerAt(position: number): EntryReader | undefined {
    if (!this.hasBytes(position)) return undefined;
    const slot = this.slotAt(position);
    const segment = this.segmentOf(this.starts[slot] as number);
    const start = (this.starts[slot] as number) - (this.segmentStarts[segment] as number);
    return new EntryReader(this.segments[segment] as Buffer, start, start + (this.lengths[slot] as number));
  }

  private slotAt(position: number): number {
    return (this.first + position) % this.options.slots;
  }

  /** The segment a position below `limit` is in. */
  private segmentOf(at: number): number {
    let segment = this.segments.length - 1;
    while ((this.segmentStarts[segment] as number) > at) segment -= 1;
    return segment;
  }

  private addSegment(length: number): Buffer {
    // Not zeroed (readers only read what was written), and not from Node's shared pool.
    const segment = Buffer.allocUnsafeSlow(length);
    this.segments.push(segment);
    this.segmentStarts.push(this.limit);
    this.limit += length;
    return segment;
  }

  /** Where an entry of `total` bytes can go: grows the ring, else drops the oldest entries' bytes. */
  private room(total: number): number {
    for (;;) {
      if (this.size === this.dropped) {
        // Nothing in use: start over at the beginning (grown first if the entry needs it).
        this.head = 0;
        const at = this.fit(0, this.limit, total);
        if (at >= 0) return at;
      } else {
        const tail = this.starts[this.slotAt(this.dropped)] as number;
        if (this.head > tail) {
          const at = this.fit(this.head, this.limit, total);
          if (at >= 0) return at;
          // wrap: the end of the ring stays unused this turn
          const wrapped = this.fit(0, tail, total);
          if (wrapped >= 0) return wrapped;
        } else {
          const at = this.fit(this.head, tail, total);
          if (at >= 0) return at;
        }
      }
      if (this.limit < this.options.maxBytes) this.grow(total);
      else this.dropOldestBytes();
    }
  }

  /**
   * The first place at or after `from` where `total` bytes fit below `end` within one segment
   * (the rest of a segment too short for them stays unused this turn), or -1.
   */
  private fit(from: number, end: number, total: number): number {
    let at = from;
    while (at + total <= end) {
      const segment = this.segmentOf(at);
      const segmentEnd = (this.segmentStarts[segment] as number) + (this.segments[segment] as Buffer).length;
      if (at + total <= segmentEnd) return at;
      at = segmentEnd;
    }
    return -1;
  }

  /**
   * Double the bytes in use (at most to `maxBytes`) with a new segment large enough for `total`.
   * Entries that wrapped around to the start are moved to the new segment, so that every entry
   * follows the one before it again (when it can take them all; else they stay, and the new
   * segment is used once the ring has gone round).
   */
  private grow(total: number): void {
    const old = this.limit;
    let length = old;
    while (length < total) length *= 2;
    const segment = this.addSegment(Math.min(length, this.options.maxBytes - old));
    if (this.size === this.dropped) return; // nothing in use
    const tail = this.starts[this.slotAt(this.dropped)] as number;
    if (this.head > tail || this.head > segment.length) return; // in order already, or too much to move
    for (let index = 0; index < this.segments.length - 1; index++) {
      const from = this.segmentStarts[index] as number;
      if (from >= this.head) break;
      const source = this.segments[index] as Buffer;
      source.copy(segment, from, 0, Math.min(source.length, this.head - from));
    }
    for (let position = this.dropped; position < this.size; position++) {
      const slot = this.slotAt(position);
      const start = this.starts[slot] as number;
      if (start < tail) this.starts[slot] = start + old;
    }
    this.head += old;
  }

  private dropOldestBytes(): void {
    this.options.beforeBytesDropped(this.dropped);
    this.starts[this.slotAt(this.dropped)] = -1;
    this.dropped += 1;
  }
}

/** A field's head for a text that is not there (`writeText(…, undefined)`). */
const ABSENT = 0xffffffff;
/**
 * Texts up to this long are copied by a loop that also checks every character fits in one byte
 * (then one byte each); longer ones, and any with a wider character, are copied as UTF-16 (two bytes
 * each) by one call. Either way a text comes back exactly, lone surrogates included (UTF-8 would
 * replace those). The loop costs less than a call into the runtime for the short fields an event
 * has, and makes no string.
 */
const LOOPED_TEXT = 256;

/** The most bytes `writeText` takes for this text. */
export function textBytesAtMost(text: string | undefined): number {
  return text === undefined ? 4 : 4 + text.length * 2;
}

/** Write a 32-bit unsigned number at `at` (little-endian); returns where the next field goes. */
export function writeUint(bytes: Uint8Array, at: number, value: number): number {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
  return at + 4;
}

/**
 * Write a text (or its absence) at `at`: a head (its length times two, plus one when stored as
 * UTF-16), then its characters. Returns where the next field goes; `EntryReader.text` reads it back.
 */
export function writeText(bytes: Buffer, at: number, text: string | undefined): number {
  if (text === undefined) return writeUint(bytes, at, ABSENT);
  const length = text.length;
  const base = at + 4;
  if (length <= LOOPED_TEXT) {
    let index = 0;
    for (; index < length; index++) {
      const code = text.charCodeAt(index);
      if (code > 0xff) break;
      bytes[base + index] = code;
    }
    if (index === length) {
      writeUint(bytes, at, length * 2);
      return base + length;
    }
  }
  writeUint(bytes, at, length * 2 + 1);
  bytes.write(text, base, length * 2, "utf16le");
  return base + length * 2;
}

/** Reads back, in order, the fields of an entry written with `writeUint` and `writeText`. */
export class EntryReader {
  constructor(
    private readonly bytes: Buffer,
    private at: number,
    private readonly end: number,
  ) {}

  uint(): number {
    const { bytes, at } = this;
    if (at + 4 > this.end) throw new Error("past the end of a ring entry");
    this.at = at + 4;
    return (
      ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) +
      (bytes[at + 3] as number) * 0x1000000
    );
  }

  text(): string | undefined {
    const head = this.uint();
    if (head === ABSENT) return undefined;
    const start = this.at;
    const wide = head % 2 === 1;
    this.at = start + (wide ? head - 1 : head / 2);
    if (this.at > this.end) throw new Error("past the end of a ring entry");
    return this.bytes.toString(wide ? "utf16le" : "latin1", start, this.at);
  }

  /** The rest of the entry, copied out. */
  rest(): Buffer {
    const copy = Buffer.allocUnsafe(this.end - this.at);
    this.bytes.copy(copy, 0, this.at, this.end);
    this.at = this.end;
    return copy;
  }
}
