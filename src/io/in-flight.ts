/** What an `InFlight` list needs of its entries: two links, set only by the list. */
export interface InFlightLinks<T> {
  inFlightPrev: T | undefined;
  inFlightNext: T | undefined;
}

/**
 * The requests a listener is handling, as a list linked through the requests themselves. A Set that
 * gains and loses an entry per request reallocates its table every few dozen requests, and once its
 * table is in V8's old generation (every mark-compact moves it there) each new table is allocated there
 * too: garbage only the next mark-compact frees, about 100 bytes a request, which made the old
 * generation, and listen's RSS with it, grow between collections (notes-m7). Linking allocates nothing.
 */
export class InFlight<T extends InFlightLinks<T>> {
  private first: T | undefined;
  private last: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(entry: T): void {
    if (this.has(entry)) return;
    entry.inFlightPrev = this.last;
    entry.inFlightNext = undefined;
    if (this.last) this.last.inFlightNext = entry;
    else this.first = entry;
    this.last = entry;
    this.count += 1;
  }

  delete(entry: T): boolean {
    if (!this.has(entry)) return false;
    const { inFlightPrev: prev, inFlightNext: next } = entry;
    if (prev) prev.inFlightNext = next;
    else this.first = next;
    if (next) next.inFlightPrev = prev;
    else this.last = prev;
    entry.inFlightPrev = undefined;
    entry.inFlightNext = undefined;
    this.count -= 1;
    return true;
  }

  has(entry: T): boolean {
    return entry.inFlightPrev !== undefined || this.first === entry;
  }

  /** The entries, oldest first, as an array: the list may change while it is gone through. */
  toArray(): T[] {
    const entries: T[] = [];
    for (let entry = this.first; entry; entry = entry.inFlightNext) entries.push(entry);
    return entries;
  }
}
