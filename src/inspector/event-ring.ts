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

/** ES2024's resizable ArrayBuffer (V8 11.x, Node 20), not yet in the ES2023 lib this project compiles against. */
type ResizableArrayBufferConstructor = new (
  byteLength: number,
  options: { maxByteLength: number },
) => ArrayBuffer & { resize(byteLength: number): void };

export class EventRing {
  /**
   * A resizable buffer of at most `maxBytes`, grown in place (`limit`). Allocating a larger buffer
   * for each growth left every outgrown one resident until V8's next full collection, and handing
   * those back at once raised glibc's threshold for mmap, after which the run's id table grew
   * malloc's heap instead (notes-m7). Allocating `maxBytes` at once cost no resident memory, but V8
   * counts an ordinary buffer's whole size as external memory, and 32 MiB of it at the first event
   * set off a full collection in listen's first second (7-20 ms: the bench's first-second row);
   * a resizable buffer is counted as it grows.
   */
  private readonly memory: ArrayBuffer & { resize(byteLength: number): void };
  /** A view of `memory` as it is now (made again when it grows). */
  private bytes: Buffer;
  /** Bytes in use now: entries are placed below it. */
  private limit: number;
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
    this.limit = Math.min(options.initialBytes, options.maxBytes);
    this.memory = new (ArrayBuffer as unknown as ResizableArrayBufferConstructor)(this.limit, {
      maxByteLength: options.maxBytes,
    });
    this.bytes = Buffer.from(this.memory);
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

  /** The ring's bytes: entries are written into and read from it. */
  get buffer(): Buffer {
    return this.bytes;
  }

  /**
   * Make room for an entry of at most `most` bytes, to be written at the offset returned and then
   * committed (`commit`). -1, with nothing changed, when it is larger than `maxEntryBytes` or all
   * places are taken. May grow the ring or drop the oldest entries' bytes.
   */
  reserve(most: number): number {
    if (this.size >= this.options.slots || most > this.maxEntryBytes) return -1;
    this.reserved = this.room(most);
    this.reservedBytes = most;
    return this.reserved;
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

  /** A reader of the entry's bytes in `buffer` (valid until the next `reserve`), or undefined once they were dropped. */
  readerAt(position: number): EntryReader | undefined {
    if (!this.hasBytes(position)) return undefined;
    const slot = this.slotAt(position);
    const start = this.starts[slot] as number;
    return new EntryReader(this.bytes, start, start + (this.lengths[slot] as number));
  }

  private slotAt(position: number): number {
    return (this.first + position) % this.options.slots;
  }

  /** Where an entry of `total` bytes can go: grows the ring, else drops the oldest entries' bytes. */
  private room(total: number): number {
    for (;;) {
      if (this.size === this.dropped) {
        // Nothing in use: start over at the beginning (grown first if the entry needs it).
        this.head = 0;
        if (total <= this.limit) return 0;
      } else {
        const tail = this.starts[this.slotAt(this.dropped)] as number;
        if (this.head > tail) {
          if (this.limit - this.head >= total) return this.head;
          if (tail >= total) return 0; // wrap: the end of the buffer stays unused this turn
        } else if (tail - this.head >= total) return this.head;
      }
      if (this.limit < this.options.maxBytes) this.grow(total);
      else this.dropOldestBytes();
    }
  }

  /**
   * Double the bytes in use (at most to `maxBytes`). Entries that wrapped around to the start are
   * moved to just past the old end, so that every entry follows the one before it again.
   */
  private grow(total: number): void {
    const old = this.limit;
    let limit = old * 2;
    while (limit < total) limit *= 2;
    this.limit = Math.min(limit, this.options.maxBytes);
    this.memory.resize(this.limit);
    this.bytes = Buffer.from(this.memory);
    if (this.size === this.dropped) return; // nothing in use
    const tail = this.starts[this.slotAt(this.dropped)] as number;
    if (this.head > tail) return; // in order already
    this.bytes.copy(this.bytes, old, 0, this.head);
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
