/**
 * Fresh events at a load generator's speed. Building a realistic event object and serialising it
 * cost about a third of send-test's time per event; a template does it once: the event is built
 * and serialised normally, then the parts that must differ per event (its random ids and its
 * timestamps) become slots, and each new event is the serialised text with fresh values spliced
 * in. The result is byte for byte what serialising an event built with those values gives, so its
 * signature is computed over exactly the bytes sent. Pure: randomness and the clock are parameters.
 */
import type { RandomHex } from "./fake-events.js";

/** Random draws shorter than this pick samples and sizes (fixed per template); longer ones are ids. */
const MIN_ID_HEX = 12;
/** Timestamps up to this far before "now" are the event's own (fake events occur 0.3–1.5 s before delivery). */
const OWN_TIMESTAMP_WINDOW_MS = 60_000;
const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;

type Slot = { kind: "hex"; index: number } | { kind: "time"; beforeNowMs: number };
/** Literal text and slots, alternating: text, slot, text, ..., text. */
type Pieces = { texts: string[]; slots: Slot[] };

export interface TemplatedEvent {
  body: Buffer;
  eventId?: string;
}

/** An event from a template, with what a delivery needs to know about it. */
export interface InstantiatedEvent extends TemplatedEvent {
  eventType: string;
  attempt: number;
}

/**
 * Writes `length` random lower-case hex digits into `target` at `offset`: the same as writing a
 * `RandomHex` draw's value there, with no string made.
 */
export type FillHex = (target: Uint8Array, offset: number, length: number) => void;

export interface EventTemplate {
  readonly eventType: string;
  readonly attempt: number;
  /**
   * A new event: fresh ids from `randomHex` (drawn in the order the original drew them), timestamps
   * from `nowMs`. With `fillHex`, ids are written straight into the body's bytes where they fit.
   */
  instantiate(randomHex: RandomHex, nowMs: number, fillHex?: FillHex): InstantiatedEvent;
}

/**
 * Build one event with `build` (recording its random draws), and the template that repeats it.
 * `first` is the event as built, serialised with JSON.stringify.
 */
export function createEventTemplate(
  build: (randomHex: RandomHex, now: Date) => Record<string, unknown>,
  randomHex: RandomHex,
  nowMs: number,
): { template: EventTemplate; first: TemplatedEvent; event: Record<string, unknown> } {
  const draws: string[] = [];
  const everyDraw: string[] = [];
  const recording: RandomHex = (length) => {
    const value = randomHex(length);
    everyDraw.push(value);
    if (length >= MIN_ID_HEX) draws.push(value);
    return value;
  };
  const event = build(recording, new Date(nowMs));
  const text = JSON.stringify(event);
  const bodyPieces = split(text, draws, nowMs, ownTimestampOffsets(build, everyDraw, nowMs, text));
  const eventId = typeof event.event_id === "string" ? split(event.event_id, draws, nowMs) : undefined;
  const patch = bytePatch(text, bodyPieces, draws);
  const filled = hexFiller(patch, eventId, draws);
  const eventType = String(event.event);
  const attempt = typeof event.attempt === "number" ? event.attempt : 1;
  const template: EventTemplate = {
    eventType,
    attempt,
    instantiate(fresh, now, fillHex) {
      if (fillHex && filled) {
        const body = filled.body(fillHex, now);
        if (body) return { body, eventId: filled.eventId(body, now), eventType, attempt };
      }
      const values = draws.map((draw) => fresh(draw.length));
      const body = patch.apply(values, now) ?? Buffer.from(join(bodyPieces, values, now), "utf8");
      return { body, eventId: eventId && join(eventId, values, now), eventType, attempt };
    },
  };
  return {
    template,
    first: {
      body: Buffer.from(text, "utf8"),
      eventId: typeof event.event_id === "string" ? event.event_id : undefined,
    },
    event,
  };
}

/**
 * Events from a few templates in turn, so a long run still varies its samples: the first `variety`
 * events are built directly, the next `variety` make the templates, the rest are spliced from them.
 */
export interface EventStream {
  next(nowMs: number): InstantiatedEvent;
}

export function createEventStream(
  build: (randomHex: RandomHex, now: Date) => Record<string, unknown>,
  randomHex: RandomHex,
  variety = 8,
  fillHex?: FillHex,
): EventStream {
  const templates: EventTemplate[] = [];
  let count = 0;
  return {
    next(nowMs) {
      const index = count++ % variety;
      const existing = templates[index];
      if (existing) return existing.instantiate(randomHex, nowMs, fillHex);
      // A slot's template is made at its second use: the first `variety` events are built and
      // serialised plainly, which costs less than making a template (it builds the event twice), so
      // a run of a few events (`send-test --print`) makes none.
      if (count <= variety) return serializeEvent(build(randomHex, new Date(nowMs)));
      const { template, first } = createEventTemplate(build, randomHex, nowMs);
      templates[index] = template;
      return { ...first, eventType: template.eventType, attempt: template.attempt };
    },
  };
}

/** An event as it is sent: JSON.stringify's bytes, and what a delivery needs to know about it. */
export function serializeEvent(event: Record<string, unknown>): InstantiatedEvent {
  return {
    body: Buffer.from(JSON.stringify(event), "utf8"),
    eventId: typeof event.event_id === "string" ? event.event_id : undefined,
    eventType: String(event.event),
    attempt: typeof event.attempt === "number" ? event.attempt : 1,
  };
}

/** How far the clock is moved to tell the event's own timestamps from fixed ones: 1 d 1 h 1 min 1 s. */
const PROBE_SHIFT_MS = 90_061_000;

/**
 * Where in `text` the event's own timestamps start. The event is built again with the same draws and
 * a clock PROBE_SHIFT_MS later: its own timestamps move by exactly that much, while a timestamp the
 * user wrote (`--text`, `--data`) stays, even one from the last minute, which the window alone would
 * take for the event's own and rewrite in later events. Undefined when the second build differs in
 * more than its timestamps' values (then split falls back to the window alone).
 */
function ownTimestampOffsets(
  build: (randomHex: RandomHex, now: Date) => Record<string, unknown>,
  everyDraw: string[],
  nowMs: number,
  text: string,
): Set<number> | undefined {
  let next = 0;
  let sameDraws = true;
  const replay: RandomHex = (length) => {
    const value = everyDraw[next++];
    if (value === undefined || value.length !== length) {
      sameDraws = false;
      return "0".repeat(length);
    }
    return value;
  };
  let shifted: string;
  try {
    shifted = JSON.stringify(build(replay, new Date(nowMs + PROBE_SHIFT_MS)));
  } catch {
    return undefined;
  }
  if (!sameDraws || next !== everyDraw.length || shifted.length !== text.length) return undefined;
  const own = new Set<number>();
  for (const match of text.matchAll(ISO_TIMESTAMP)) {
    const moved = shifted.slice(match.index, match.index + match[0].length);
    if (Date.parse(moved) - Date.parse(match[0]) === PROBE_SHIFT_MS) own.add(match.index);
  }
  return own;
}

/**
 * Cut `text` at every occurrence of a drawn id and of the event's own timestamps: those at `own`
 * offsets when known, and in any case within the window before now.
 */
function split(text: string, draws: string[], nowMs: number, own?: Set<number>): Pieces {
  const found: Array<{ at: number; length: number; slot: Slot }> = [];
  const taken = (at: number, length: number) => found.some((f) => at < f.at + f.length && f.at < at + length);
  // Longest first, so an id is never cut inside a longer one.
  const byLength = draws.map((value, index) => ({ value, index })).sort((a, b) => b.value.length - a.value.length);
  for (const { value, index } of byLength) {
    for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + value.length)) {
      if (!taken(at, value.length)) found.push({ at, length: value.length, slot: { kind: "hex", index } });
    }
  }
  for (const match of text.matchAll(ISO_TIMESTAMP)) {
    const beforeNowMs = nowMs - Date.parse(match[0]);
    if (own && !own.has(match.index)) continue;
    if (beforeNowMs < 0 || beforeNowMs > OWN_TIMESTAMP_WINDOW_MS || taken(match.index, match[0].length)) continue;
    found.push({ at: match.index, length: match[0].length, slot: { kind: "time", beforeNowMs } });
  }
  found.sort((a, b) => a.at - b.at);
  const texts: string[] = [];
  const slots: Slot[] = [];
  let from = 0;
  for (const piece of found) {
    texts.push(text.slice(from, piece.at));
    slots.push(piece.slot);
    from = piece.at + piece.length;
  }
  texts.push(text.slice(from));
  return { texts, slots };
}

/**
 * The fast way to a new event's bytes: every slot is ASCII of a fixed length (hex ids, ISO
 * timestamps), so a new event is the first event's bytes with those spans overwritten in place, with
 * no string built and no UTF-8 encoding. Returns undefined when a value does not fit its span (a
 * timestamp past year 9999, a random source that answered with another length): `join` then builds
 * the text the slow way, with the same result.
 */
interface BytePatch {
  /** The first event's bytes. */
  base: Buffer;
  /** Each slot's byte offset in `base`. */
  offsets: number[];
  slots: Slot[];
  apply(values: string[], nowMs: number): Buffer | undefined;
}

function bytePatch(text: string, pieces: Pieces, draws: string[]): BytePatch {
  const base = Buffer.from(text, "utf8");
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < pieces.slots.length; i++) {
    at += Buffer.byteLength(pieces.texts[i] ?? "", "utf8");
    offsets.push(at);
    const slot = pieces.slots[i] as Slot;
    at += slot.kind === "hex" ? (draws[slot.index] as string).length : ISO_LENGTH;
  }
  const apply: BytePatch["apply"] = (values, nowMs) => {
    // Memory of its own, not a slice of Node's shared pool (see ownUtf8Bytes in capture.ts).
    const body = Buffer.allocUnsafeSlow(base.length);
    base.copy(body);
    for (let i = 0; i < pieces.slots.length; i++) {
      const slot = pieces.slots[i] as Slot;
      let value: string;
      if (slot.kind === "hex") {
        value = values[slot.index] as string;
        if (value.length !== (draws[slot.index] as string).length || !HEX.test(value)) return undefined;
      } else {
        value = isoAt(nowMs - slot.beforeNowMs);
        if (value.length !== ISO_LENGTH) return undefined;
      }
      body.write(value, offsets[i] as number, "latin1");
    }
    return body;
  };
  return { base, offsets, slots: pieces.slots, apply };
}

/**
 * The fastest way, when the random source can write hex digits into bytes (`FillHex`): the template
 * keeps its own copy of the first event's bytes with the current millisecond's timestamps written in
 * (rewritten when the clock moves on), and a new event is that copy with each id's digits written
 * straight into it, once per draw (an id that occurs twice is copied from its first place). No
 * string is made per event except its id, read back from the body. Undefined when the event id
 * uses a draw that the body does not contain (the event id is then built from strings).
 */
function hexFiller(
  patch: BytePatch,
  eventId: Pieces | undefined,
  draws: string[],
):
  | {
      body(fillHex: FillHex, nowMs: number): Buffer | undefined;
      eventId(body: Buffer, nowMs: number): string | undefined;
    }
  | undefined {
  const { offsets, slots } = patch;
  // Where each draw first occurs in the body; later occurrences copy from there.
  const first: Array<number | undefined> = draws.map(() => undefined);
  const copies: Array<{ to: number; from: number; length: number }> = [];
  // `second`: the whole second last written there; within it only the milliseconds change.
  const timeSlots: Array<{ offset: number; beforeNowMs: number; second: number }> = [];
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as Slot;
    const offset = offsets[i] as number;
    if (slot.kind === "time") timeSlots.push({ offset, beforeNowMs: slot.beforeNowMs, second: Number.NaN });
    else if (first[slot.index] === undefined) first[slot.index] = offset;
    else copies.push({ to: offset, from: first[slot.index] as number, length: (draws[slot.index] as string).length });
  }
  if (eventId?.slots.some((slot) => slot.kind === "hex" && first[slot.index] === undefined)) return undefined;
  const fills: Array<{ offset: number; length: number }> = [];
  for (let index = 0; index < draws.length; index++) {
    const offset = first[index];
    if (offset !== undefined) fills.push({ offset, length: (draws[index] as string).length });
  }
  const current = Buffer.from(patch.base);
  let currentAt = Number.NaN;
  let timesFit = true;
  return {
    body(fillHex, nowMs) {
      if (nowMs !== currentAt) {
        currentAt = nowMs;
        timesFit = true;
        for (let i = 0; i < timeSlots.length; i++) {
          const slot = timeSlots[i] as { offset: number; beforeNowMs: number; second: number };
          const at = Math.trunc(nowMs - slot.beforeNowMs); // as Date does
          const second = Math.floor(at / 1000);
          if (second === slot.second) {
            // The same second as last written: only the milliseconds' three digits ("…:SS.mmmZ") change.
            const ms = at - second * 1000;
            current[slot.offset + MS_DIGITS_AT] = DIGIT_0 + Math.floor(ms / 100);
            current[slot.offset + MS_DIGITS_AT + 1] = DIGIT_0 + (Math.floor(ms / 10) % 10);
            current[slot.offset + MS_DIGITS_AT + 2] = DIGIT_0 + (ms % 10);
            continue;
          }
          const time = isoAt(at);
          if (time.length !== ISO_LENGTH) {
            timesFit = false;
            slot.second = Number.NaN;
          } else {
            current.write(time, slot.offset, "latin1");
            slot.second = second;
          }
        }
      }
      if (!timesFit) return undefined;
      const body = eventBytes(current.length);
      // TypedArray set and copyWithin: builtins, where Buffer.copy checks its arguments in JS first.
      body.set(current);
      for (let i = 0; i < fills.length; i++) {
        const fill = fills[i] as { offset: number; length: number };
        fillHex(body, fill.offset, fill.length);
      }
      for (let i = 0; i < copies.length; i++) {
        const copy = copies[i] as { to: number; from: number; length: number };
        body.copyWithin(copy.to, copy.from, copy.from + copy.length);
      }
      return body;
    },
    eventId(body, nowMs) {
      if (!eventId) return undefined;
      let out = eventId.texts[0] ?? "";
      for (let i = 0; i < eventId.slots.length; i++) {
        const slot = eventId.slots[i] as Slot;
        if (slot.kind === "hex") {
          const from = first[slot.index] as number;
          out += body.toString("latin1", from, from + (draws[slot.index] as string).length);
        } else out += isoAt(nowMs - slot.beforeNowMs);
        out += eventId.texts[i + 1];
      }
      return out;
    },
  };
}

/** `new Date(…).toISOString()` for years 0000–9999. */
const ISO_LENGTH = 24;
/** Where the milliseconds start in an ISO timestamp ("2026-11-28T09:30:00.123Z"), and the digit 0. */
const MS_DIGITS_AT = 20;
const DIGIT_0 = 0x30;
const HEX = /^[0-9a-f]*$/;

/**
 * Bytes for a new event's body, cut from small slabs of our own: one allocation per few events
 * instead of one each (a new ArrayBuffer per body cost 0.3-0.6 µs). Not Node's shared 8 KiB pool, and
 * small slabs: a body still in flight when the young generation is collected keeps its whole slab
 * until the next full collection, so what a run pins stays near what one buffer per body pinned
 * (50 bodies in flight span 6-7 slabs of 16 KiB, about 100 KiB).
 */
function eventBytes(length: number): Buffer {
  if (length > SLAB_BYTES / 4) return Buffer.allocUnsafeSlow(length);
  if (slabUsed + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += (length + 7) & ~7;
  return bytes;
}
const SLAB_BYTES = 16 * 1024;
let slab = Buffer.alloc(0);
let slabUsed = 0;

/**
 * `new Date(ms).toISOString()`, remembered for the last few hundred distinct instants: at load-test
 * rates many events, from all of a stream's templates, share each millisecond's timestamps.
 */
function isoAt(ms: number): string {
  const slot = ms & (ISO_CACHE_SIZE - 1);
  if (isoCacheKeys[slot] !== ms) {
    isoCacheValues[slot] = new Date(ms).toISOString();
    isoCacheKeys[slot] = ms;
  }
  return isoCacheValues[slot] as string;
}
const ISO_CACHE_SIZE = 256;
const isoCacheKeys = new Float64Array(ISO_CACHE_SIZE).fill(Number.NaN);
const isoCacheValues: string[] = new Array(ISO_CACHE_SIZE).fill("");

function join(pieces: Pieces, values: string[], nowMs: number): string {
  let out = pieces.texts[0] ?? "";
  for (let i = 0; i < pieces.slots.length; i++) {
    const slot = pieces.slots[i] as Slot;
    out += slot.kind === "hex" ? values[slot.index] : isoAt(nowMs - slot.beforeNowMs);
    out += pieces.texts[i + 1];
  }
  return out;
}
