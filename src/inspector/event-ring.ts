/**
 * A bounded ring of bytes for the inspector's unsaved events: each entry is a short key string, a
 * longer metadata string and the body's bytes, copied in one after the other, with the bookkeeping
 * (where an entry starts, how long its parts are, its number) in typed arrays. Strings are copied
 * as UTF-16: they come back exactly as they went in, lone surrogates included (UTF-8 would replace
 * those), and their size is known without a scan (checking for Latin-1 first cost more than the
 * bytes it saves). Keeping events as
 * objects made every one of the last 2,000 survive two young-generation collections and be promoted
 * (15-20 µs per event); bytes copied into a buffer allocated once leave nothing behind per event.
 *
 * Entries are kept oldest first in `slots` places. Their bytes are dropped oldest first when a new
 * entry does not fit and the ring is already at its largest (the owner is told first, so it can keep
 * what it shows in a list); the entries themselves (their number, their place in the order) stay
 * until `dropOldest` removes them.
 */

export interface EventRingOptions {
  /** Entries kept at most. */
  slots: number;
  /** Bytes allocated at first; doubled as needed up to `maxBytes`. */
  initialBytes: number;
  /** The ring's largest size. An entry larger than a quarter of it is refused (kept another way). */
  maxBytes: number;
  /** Called just before an entry's bytes are dropped to make room, with its position (0 = oldest). */
  beforeBytesDropped(position: number): void;
}

/** An entry's parts as they were given. */
export interface RingEntry {
  key: string;
  meta: string;
  body: Buffer;
}

export class EventRing {
  private bytes: Buffer;
  private readonly numbers: Float64Array;
  private readonly order: Float64Array;
  /** Where each slot's bytes start, or -1 once they were dropped. */
  private readonly starts: Int32Array;
  private readonly keyLengths: Int32Array;
  private readonly metaLengths: Int32Array;
  private readonly bodyLengths: Int32Array;
  /** The slot of the oldest entry. */
  private first = 0;
  private size = 0;
  /** Entries whose bytes were dropped: always the oldest ones. */
  private dropped = 0;
  /** Where the next entry's bytes go. */
  private head = 0;

  constructor(private readonly options: EventRingOptions) {
    const { slots } = options;
    this.bytes = Buffer.allocUnsafeSlow(Math.min(options.initialBytes, options.maxBytes));
    this.numbers = new Float64Array(slots);
    this.order = new Float64Array(slots);
    this.starts = new Int32Array(slots);
    this.keyLengths = new Int32Array(slots);
    this.metaLengths = new Int32Array(slots);
    this.bodyLengths = new Int32Array(slots);
  }

  /** Entries kept (with or without their bytes). */
  get count(): number {
    return this.size;
  }

  /** Bytes allocated for the ring now. */
  get capacity(): number {
    return this.bytes.length;
  }

  /** The largest entry the ring takes. */
  get maxEntryBytes(): number {
    return Math.floor(this.options.maxBytes / 4);
  }

  /**
   * Copy an entry in. `number` names it (find), `order` places it among its owner's other records.
   * False, with nothing changed, when it is larger than `maxEntryBytes` or all places are taken.
   */
  push(number: number, order: number, key: string, meta: string, body: Uint8Array): boolean {
    if (this.size >= this.options.slots) return false;
    const keyLength = key.length * 2;
    const metaLength = meta.length * 2;
    const total = keyLength + metaLength + body.length;
    if (total > this.maxEntryBytes) return false;
    const start = this.room(total);
    const slot = (this.first + this.size) % this.options.slots;
    // One write for both strings: each write is a call into C++ (the joined string is flattened there).
    this.bytes.write(key + meta, start, keyLength + metaLength, "utf16le");
    this.bytes.set(body, start + keyLength + metaLength);
    this.numbers[slot] = number;
    this.order[slot] = order;
    this.starts[slot] = start;
    this.keyLengths[slot] = keyLength;
    this.metaLengths[slot] = metaLength;
    this.bodyLengths[slot] = body.length;
    this.head = start + total;
    this.size += 1;
    return true;
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

  /** The entry's key (cheap: the short part only), or undefined once its bytes were dropped. */
  keyAt(position: number): string | undefined {
    if (!this.hasBytes(position)) return undefined;
    const slot = this.slotAt(position);
    const start = this.starts[slot] as number;
    return this.bytes.toString("utf16le", start, start + (this.keyLengths[slot] as number));
  }

  /** The entry's parts, the body copied out; undefined once its bytes were dropped. */
  entryAt(position: number): RingEntry | undefined {
    if (!this.hasBytes(position)) return undefined;
    const slot = this.slotAt(position);
    const start = this.starts[slot] as number;
    const metaStart = start + (this.keyLengths[slot] as number);
    const bodyStart = metaStart + (this.metaLengths[slot] as number);
    const body = Buffer.allocUnsafe(this.bodyLengths[slot] as number);
    this.bytes.copy(body, 0, bodyStart, bodyStart + body.length);
    return {
      key: this.bytes.toString("utf16le", start, metaStart),
      meta: this.bytes.toString("utf16le", metaStart, bodyStart),
      body,
    };
  }

  private slotAt(position: number): number {
    return (this.first + position) % this.options.slots;
  }

  private entryBytes(slot: number): number {
    return (this.keyLengths[slot] as number) + (this.metaLengths[slot] as number) + (this.bodyLengths[slot] as number);
  }

  /** Where an entry of `total` bytes can go: grows the ring, else drops the oldest entries' bytes. */
  private room(total: number): number {
    for (;;) {
      if (this.size === this.dropped) {
        // Nothing in use: start over at the beginning (grown first if the entry needs it).
        this.head = 0;
        if (total <= this.bytes.length) return 0;
      } else {
        const tail = this.starts[this.slotAt(this.dropped)] as number;
        if (this.head > tail) {
          if (this.bytes.length - this.head >= total) return this.head;
          if (tail >= total) return 0; // wrap: the end of the buffer stays unused this turn
        } else if (tail - this.head >= total) return this.head;
      }
      if (this.bytes.length < this.options.maxBytes) this.grow(total);
      else this.dropOldestBytes();
    }
  }

  /** Double the ring (at most to its limit), its entries copied in order to the start. */
  private grow(total: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < total) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(Math.min(capacity, this.options.maxBytes));
    let at = 0;
    for (let position = this.dropped; position < this.size; position++) {
      const slot = this.slotAt(position);
      const start = this.starts[slot] as number;
      const length = this.entryBytes(slot);
      this.bytes.copy(grown, at, start, start + length);
      this.starts[slot] = at;
      at += length;
    }
    this.bytes = grown;
    this.head = at;
  }

  private dropOldestBytes(): void {
    this.options.beforeBytesDropped(this.dropped);
    this.starts[this.slotAt(this.dropped)] = -1;
    this.dropped += 1;
  }
}

/**
 * One field of a packed string: its length, a colon, then itself ("-:" for none). Fields packed one
 * after the other come back exactly, whatever characters they hold; cheaper to make than JSON (no
 * escaping, no object walk), which matters when it is done for every event.
 */
export function packed(text: string | undefined): string {
  return text === undefined ? "-:" : `${text.length}:${text}`;
}

/** Reads back, in order, the fields that `packed` wrote. */
export class Unpacker {
  private at = 0;

  constructor(private readonly text: string) {}

  /** What follows the fields read so far. */
  rest(): string {
    return this.text.slice(this.at);
  }

  next(): string | undefined {
    const colon = this.text.indexOf(":", this.at);
    if (colon < 0) throw new Error("not a packed field");
    const head = this.text.slice(this.at, colon);
    this.at = colon + 1;
    if (head === "-") return undefined;
    const start = this.at;
    this.at = start + Number(head);
    return this.text.slice(start, this.at);
  }
}
