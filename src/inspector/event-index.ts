/**
 * Everything the inspector can show: the capture folder (earlier runs included) merged with what
 * exists only in memory (events of this run that were not saved, and replays sent from the page),
 * newest first, a page at a time. A capture is read only when its page is asked for, and its short
 * summary is cached, so a folder of 10,000 captures never has all its bodies in memory.
 */
import { lstat, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  type CapturedRequest,
  captureFileName,
  emptyHeaders,
  fileSafeEventId,
  fromCaptureObject,
  headersFromRaw,
  parseCaptureFileName,
  serializeCapture,
} from "../core/capture.js";
import { type Inspection, inspectRequest, verifyCaptured } from "../core/inspect.js";
import { formatBytes, judgementShowsHint, undeliveredAnswerText } from "../core/judgement-words.js";
import { goneFolderProblem } from "../io/capture-folder.js";
import { InputTooLargeError, readRegularFileAsync } from "../io/request-input.js";
import type { Arrival, ReceivedEvent, ReplayFrom } from "../io/webhook-pipeline.js";
import { type EntryReader, EventRing, textBytesAtMost, writeText, writeUint } from "./event-ring.js";
import {
  emailView,
  type ForwardBrief,
  forwardBrief,
  forwardFromCapture,
  type ListItem,
  lifecycleView,
  listItem,
  requestView,
  type SecretInfo,
  unverifiedView,
  type VerdictName,
  verificationView,
} from "./views.js";

export interface EventIndexOptions {
  /** The capture folder; undefined with --no-save. */
  dir?: string;
  /** The secret for an inbox's events (listen --inbox learns one per inbox), else listen's own. */
  secretFor(inboxId: string | undefined): SecretInfo | undefined;
  toleranceSeconds: number;
  now(): number;
  /** How much is kept in memory (tests make these small; listen uses the defaults). */
  limits?: Partial<MemoryLimits>;
}

export interface MemoryLimits {
  /** Records of this run kept in memory (summaries, answers, replays); older ones fall back to the folder. */
  records: number;
  /** Bodies of replays and of unsaved events too large for the ring, all together. */
  bodyBytes: number;
  /** The ring of unsaved events' bytes: allocated at first, and at most (then an entry takes a quarter at most). */
  ringInitialBytes: number;
  ringMaxBytes: number;
}

const DEFAULT_LIMITS: MemoryLimits = {
  records: 2000,
  bodyBytes: 32 * 1024 * 1024,
  ringInitialBytes: 1024 * 1024,
  ringMaxBytes: 32 * 1024 * 1024,
};

export interface ListQuery {
  /** Only items older than this (the `next` of the previous page). */
  cursor?: string;
  limit: number;
  type?: string;
  inbox?: string;
  verdict?: VerdictName;
  text?: string;
}

export interface ListPage {
  items: ListItem[];
  /** Pass as `cursor` for the next (older) page; null when there is nothing older. */
  next: string | null;
  /** Deliveries known in all (folder plus memory), before filtering. */
  total: number;
  /** False when a filtered search stopped at its reading budget before filling the page. */
  complete: boolean;
  /**
   * Why the capture folder could not be listed (removed while listen runs, unreadable), so the page
   * can say the list holds only what this run keeps in memory; null when it was read.
   */
  folderProblem: string | null;
}

/** What replaying from the page sent and got back. */
export interface ReplayRecord {
  original: string;
  url: string;
  mode: "resign" | "verbatim" | "edited";
  request: CapturedRequest;
  forward: ForwardBrief;
  answerBody: string;
  /** The status's hint, only where the judgement shows one (judgementShowsHint). */
  hint?: string;
  notes: string[];
}

interface MemoryRecord {
  id: string;
  /** When it was added among this run's records (the ring's entries count in the same order). */
  added: number;
  /** The list item; for an unsaved event of this run, made from `live` when first asked for. */
  item?: ListItem;
  live?: LiveFacts;
  /** Kept for events that were not saved, and for replays (bounded by MEMORY_BODY_BYTES). */
  request?: StoredRequest;
  capturePath?: string;
  answerBody?: string;
  /** As ReplayRecord's: only where the judgement shows one, so the detail shows what is kept. */
  hint?: string;
  replay?: Omit<ReplayRecord, "request" | "forward" | "answerBody" | "hint">;
}

/**
 * What an unsaved event's list item needs beyond its request (kept until the item is first asked
 * for). Its other fields are the request's inspection, made again then: with no page open, listen
 * keeps for each event only its request and these few fields, not an item's copies of them.
 */
interface LiveFacts {
  eventId: string | undefined;
  verdict: { valid: boolean; message: string } | undefined;
  forward: ForwardBrief | null;
  answered: NonNullable<ListItem["answered"]>;
  retry: { timesSeen: number } | null;
  replayOf: string | undefined;
}

/**
 * A request kept in memory, its headers as one JSON string: a header object and its dozen strings
 * per event, kept for the last 2,000 events, were what made keeping them cost (each survives two
 * young-generation collections before it is promoted); one string is copied as one piece.
 */
interface StoredRequest {
  receivedAt: string;
  method: string;
  path: string;
  headers: string;
  body: Uint8Array;
}

/**
 * An unsaved event in the ring (see event-ring.ts), its fields in this order: first what the list
 * and the links between records need (arrival time, event id, the replay it answers: `readRingKey`
 * reads only these), then the rest of its request but the body, what listen did with it, the
 * headers, and last the body's bytes. Written straight from the event into the ring, nothing made on
 * the way (this runs for every event while no page is open); `readRingEvent` reads it back.
 */
interface RingEvent {
  receivedAt: string;
  eventId: string | null;
  replayOf: string | null;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  live: Omit<LiveFacts, "eventId" | "replayOf">;
  answerBody: string | undefined;
  hint: string | undefined;
}

/** How the headers follow: the listener's raw entries (a count, then each), or JSON of the header object. */
const RAW_HEADERS = 0;
const JSON_HEADERS = 1;
/** The verdict's state, a number in the entry. */
const NO_VERDICT = 0;
const VALID = 1;
const INVALID = 2;
/** Numbers an entry holds (verdict, status, retry, header form). */
const ENTRY_NUMBERS = 4;

/**
 * Copy an unsaved event into the ring; false when the ring does not take it (too large, or full
 * places), with nothing kept. The forward's brief, the undelivered answer's words, the answer body
 * and the hint are addLive's, made once for the ring and the item; `order` is the event's place
 * among the index's records. (Arguments, not an object of them: this runs for every event.)
 */
function writeRingEvent(
  ring: EventRing,
  event: ReceivedEvent,
  replayOf: string | undefined,
  forward: ForwardBrief | null,
  undelivered: string | undefined,
  answerBody: string | undefined,
  hint: string | undefined,
  order: number,
): boolean {
  const { receivedAt, method, path, headers, body } = event.request;
  const eventId = event.inspection.eventId;
  const verdict = event.inspection.verification;
  const message = verdict?.message;
  const brief = forward ? JSON.stringify(forward) : undefined;
  const raw = event.rawHeaders;
  // The raw entries when the listener gave them (copied as they are, about a dozen short Latin-1
  // strings), else JSON of the header object (a dictionary: JSON.stringify walks it faster than a loop).
  const headersJson = raw === undefined ? JSON.stringify(headers) : undefined;
  let most =
    ENTRY_NUMBERS * 4 +
    textBytesAtMost(receivedAt) +
    textBytesAtMost(eventId) +
    textBytesAtMost(replayOf) +
    textBytesAtMost(method) +
    textBytesAtMost(path) +
    textBytesAtMost(message) +
    textBytesAtMost(brief) +
    textBytesAtMost(event.statusReason) +
    textBytesAtMost(undelivered) +
    textBytesAtMost(answerBody) +
    textBytesAtMost(hint) +
    body.length;
  if (raw === undefined) most += textBytesAtMost(headersJson);
  else {
    most += 4;
    for (let index = 0; index < raw.length; index++) most += textBytesAtMost(raw[index]);
  }
  const start = ring.reserve(most);
  if (start < 0) return false;
  const bytes = ring.buffer;
  let at = writeText(bytes, start, receivedAt);
  at = writeText(bytes, at, eventId);
  at = writeText(bytes, at, replayOf);
  at = writeText(bytes, at, method);
  at = writeText(bytes, at, path);
  at = writeUint(bytes, at, verdict ? (verdict.valid ? VALID : INVALID) : NO_VERDICT);
  at = writeText(bytes, at, message);
  at = writeText(bytes, at, brief);
  at = writeUint(bytes, at, event.status);
  at = writeText(bytes, at, event.statusReason);
  at = writeText(bytes, at, undelivered);
  at = writeUint(bytes, at, event.duplicate ? event.duplicate.timesSeen + 1 : 0);
  at = writeText(bytes, at, answerBody);
  at = writeText(bytes, at, hint);
  if (raw === undefined) {
    at = writeUint(bytes, at, JSON_HEADERS);
    at = writeText(bytes, at, headersJson);
  } else {
    at = writeUint(bytes, at, RAW_HEADERS);
    at = writeUint(bytes, at, raw.length);
    for (let index = 0; index < raw.length; index++) at = writeText(bytes, at, raw[index]);
  }
  bytes.set(body, at);
  ring.commit(event.seq, order, at + body.length - start);
  return true;
}

/** The fields the list and the links between records need: the first three of an entry. */
function readRingKey(reader: EntryReader): Pick<RingEvent, "receivedAt" | "eventId" | "replayOf"> {
  const receivedAt = reader.text() ?? "";
  const eventId = reader.text() ?? null;
  return { receivedAt, eventId, replayOf: reader.text() ?? null };
}

function readRingEvent(reader: EntryReader): RingEvent {
  const { receivedAt, eventId, replayOf } = readRingKey(reader);
  const method = reader.text() ?? "";
  const path = reader.text() ?? "";
  const state = reader.uint();
  const message = reader.text() ?? "";
  const forward = reader.text();
  const status = reader.uint();
  const reason = reader.text() ?? "";
  const undelivered = reader.text() ?? null;
  const retry = reader.uint();
  const answerBody = reader.text();
  const hint = reader.text();
  let headers: Record<string, string>;
  if (reader.uint() === RAW_HEADERS) {
    const raw: string[] = [];
    for (let count = reader.uint(); count > 0; count--) raw.push(reader.text() ?? "");
    headers = headersFromRaw(raw);
  } else {
    headers = emptyHeaders();
    // JSON.parse makes "__proto__" an own key like any other; the copy keeps it one.
    for (const [name, value] of Object.entries(JSON.parse(reader.text() ?? "{}") as Record<string, string>)) {
      headers[name] = value;
    }
  }
  return {
    receivedAt,
    eventId,
    replayOf,
    method,
    path,
    headers,
    body: reader.rest(),
    live: {
      verdict: state === NO_VERDICT ? undefined : { valid: state === VALID, message },
      forward: forward === undefined ? null : (JSON.parse(forward) as ForwardBrief),
      answered: { status, reason, undelivered },
      retry: retry === 0 ? null : { timesSeen: retry - 1 },
    },
    answerBody,
    hint,
  };
}

function storeRequest(request: CapturedRequest): StoredRequest {
  const { receivedAt, method, path, headers, body } = request;
  return { receivedAt, method, path, headers: JSON.stringify(headers), body };
}

function storedRequest(stored: StoredRequest): CapturedRequest {
  const headers = emptyHeaders();
  // JSON.parse makes "__proto__" an own key like any other; the copy keeps it one.
  for (const [name, value] of Object.entries(JSON.parse(stored.headers) as Record<string, string>)) {
    headers[name] = value;
  }
  const { receivedAt, method, path, body } = stored;
  return { receivedAt, method, path, headers, body };
}

/** How much of a handler's answer is kept to show. */
const ANSWER_BYTES = 64 * 1024;
/** Summaries of capture files kept (about half a kilobyte each). */
const SUMMARY_CACHE = 20_000;
/** A filtered search reads at most this many uncached captures per page, then lets the page ask for more. */
const READS_PER_PAGE = 2000;
/** Captures larger than this are listed but not opened. */
const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;
/**
 * Captures larger than this are listed without being read: a page of the list parses up to 16 at a
 * time on listen's event loop, and 16 bodies of 9 MB (sent unsigned by anyone, or planted) held
 * webhooks' answers for 0.6 s and the list for 0.8 s. Their detail still opens them.
 */
const LIST_CAPTURE_BYTES = 2 * 1024 * 1024;
/** A folder listing is reused for this long (this run's own captures are added at once). */
const LISTING_TTL_MS = 2000;
/** Captures read at once when a page is assembled. */
const READ_BATCH = 16;

const MEMORY_ID = /^(?:live|replay)-\d+$/;
/**
 * A capture file's name as its id: any name replay and verify would read (a cloned folder can carry
 * `…_evt_日本.json` or `a;b.json`), but never a path separator, a control character, a name starting
 * with "." (hidden, or our own temporary files) or "-" (an option to the shell commands the page
 * offers), nor U+FFFD (a name that was not UTF-8, which could not be opened by its decoded text).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const FILE_ID = /^[^-./\\\u0000-\u001f\u007f\ufffd][^/\\\u0000-\u001f\u007f\ufffd]{0,199}\.json$/;

export function isEntryId(id: string): boolean {
  return MEMORY_ID.test(id) || FILE_ID.test(id);
}

export type EventIndex = ReturnType<typeof createEventIndex>;

export function createEventIndex(options: EventIndexOptions) {
  const limits: MemoryLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const memory = new Map<string, MemoryRecord>();
  let memoryBodyBytes = 0;
  let counter = 0;
  /** Records added so far (memory's and the ring's): their order, to keep the newest `limits.records`. */
  let added = 0;
  const summaries = new Map<string, ListItem>();
  /** Signatures of replays sent to this listener, so their arrival is linked to the original. */
  const pendingReplays = new Map<string, ReplayFrom>();
  let listing: { entries: SortEntry[]; names: Set<string>; at: number; problem: string | null } | undefined;

  // Unsaved events of this run, as bytes (see event-ring.ts), by their arrival number; their list
  // items once made (a page open, or asked for), and kept when their bytes have to be dropped.
  const ringItems = new Map<number, ListItem>();
  const ring = new EventRing({
    slots: limits.records,
    initialBytes: limits.ringInitialBytes,
    maxBytes: limits.ringMaxBytes,
    // As for a record whose request is dropped for the body budget: its item is made while it can be.
    beforeBytesDropped: (position) => void ringItem(position),
  });
  const dropRingOldest = () => {
    ringItems.delete(ring.numberAt(0));
    ring.dropOldest();
  };

  // Insertion order of `memory`, oldest first: evicting through a Map's own iterator walks over the
  // slots of deleted entries, which made each new event cost more than verifying it.
  let order: string[] = [];
  let oldest = 0;
  /** Keep the newest `limits.records` records, memory's and the ring's together. */
  const evictOldest = () => {
    while (memory.size + ring.count > limits.records) {
      while (oldest < order.length && !memory.has(order[oldest] as string)) oldest += 1;
      const inMemory = oldest < order.length ? (memory.get(order[oldest] as string) as MemoryRecord).added : Infinity;
      if (ring.count > 0 && ring.orderAt(0) < inMemory) dropRingOldest();
      else if (oldest < order.length) forget(order[oldest++] as string);
      else break;
    }
    if (oldest > limits.records) {
      order = order.slice(oldest);
      oldest = 0;
    }
  };
  const remember = (record: MemoryRecord) => {
    const size = memory.size;
    const previous = memory.get(record.id);
    if (previous) {
      record.added = previous.added;
      forget(record.id);
    }
    memory.set(record.id, record);
    if (memory.size > size) order.push(record.id);
    if (record.request && !record.capturePath) memoryBodyBytes += record.request.body.length;
    evictOldest();
    for (let index = oldest; memoryBodyBytes > limits.bodyBytes && index < order.length; index++) {
      const old = memory.get(order[index] as string);
      if (old?.request && !old.capturePath && old !== record) {
        itemOf(old); // made while its request is still here
        memoryBodyBytes -= old.request.body.length;
        old.request = undefined;
      }
    }
  };
  const forget = (id: string) => {
    const old = memory.get(id);
    if (old?.request && !old.capturePath) memoryBodyBytes -= old.request.body.length;
    memory.delete(id);
  };

  /** A record's list item (made now for an unsaved event whose page has not been asked for yet). */
  const itemOf = (record: MemoryRecord, inspection?: Inspection, received?: CapturedRequest): ListItem => {
    if (record.item) return record.item;
    const { live } = record;
    const request = received ?? (record.request ? storedRequest(record.request) : undefined);
    if (!live || !request) throw new Error(`no list item for ${record.id}`);
    // The same inspection listen made (its verdict is kept in `live`): a pure function of the request.
    inspection ??= inspectRequest(request, {
      toleranceSeconds: options.toleranceSeconds,
      now: Math.floor(options.now() / 1000),
    });
    record.item = listItem({
      id: record.id,
      kind: "delivery",
      request,
      inspection,
      verdict: live.verdict,
      forward: live.forward,
      answered: live.answered,
      retry: live.retry,
      replayOf: live.replayOf,
      saved: Boolean(record.capturePath),
      thisRun: true,
    });
    record.live = undefined;
    return record.item;
  };

  /** The ring's entry at `position` as a record and its request (made for this call); undefined once its bytes were dropped. */
  const ringRecord = (position: number): { record: MemoryRecord; request: CapturedRequest } | undefined => {
    const seq = ring.numberAt(position);
    const reader = ring.readerAt(position);
    if (!reader) return undefined;
    const { receivedAt, eventId, replayOf, method, path, headers, body, live, answerBody, hint } =
      readRingEvent(reader);
    const record: MemoryRecord = {
      id: `live-${seq}`,
      added: ring.orderAt(position),
      item: ringItems.get(seq),
      live: { ...live, eventId: eventId ?? undefined, replayOf: replayOf ?? undefined },
      answerBody,
      hint,
    };
    return { record, request: { receivedAt, method, path, headers, body } };
  };
  /** The list item of the ring's entry at `position` (made from its bytes when first asked for). */
  const ringItem = (position: number): ListItem => {
    const seq = ring.numberAt(position);
    let item = ringItems.get(seq);
    if (!item) {
      const { record, request } = ringRecord(position) as { record: MemoryRecord; request: CapturedRequest };
      item = itemOf(record, undefined, request);
      ringItems.set(seq, item);
    }
    return item;
  };
  /** Where a `live-N` id is in the ring, or -1. */
  const ringPosition = (id: string): number => {
    const match = /^live-(\d+)$/.exec(id);
    return match ? ring.find(Number(match[1])) : -1;
  };
  /** What the ring's entry at `position` is listed and linked by, from its item or its key. */
  const ringFacts = (position: number): { receivedAt: string; eventId: string | null; replayOf: string | null } => {
    const item = ringItems.get(ring.numberAt(position));
    if (item) return { receivedAt: item.receivedAt, eventId: item.eventId, replayOf: item.replayOf ?? null };
    return readRingKey(ring.readerAt(position) as EntryReader);
  };

  const cacheSummary = (name: string, item: ListItem) => {
    summaries.set(name, item);
    if (summaries.size > SUMMARY_CACHE) summaries.delete(summaries.keys().next().value as string);
  };

  /** The folder's captures as sort keys, newest first (file names start with the arrival time). */
  async function folderEntries(): Promise<SortEntry[]> {
    if (!options.dir) return [];
    const now = options.now();
    if (listing && now - listing.at < LISTING_TTL_MS) return listing.entries;
    let names: string[] = [];
    let problem: string | null = null;
    try {
      names = (await readdir(options.dir)).filter((name) => FILE_ID.test(name));
    } catch (error) {
      names = [];
      problem = folderListingProblem(error, options.dir);
    }
    // A capture's name starts with its arrival time, so the names sort by time as they are.
    const entries = names
      .sort()
      .reverse()
      .map((name) => ({ key: name, id: name }));
    listing = { entries, names: new Set(names), at: now, problem };
    return listing.entries;
  }

  async function readCapture(
    name: string,
    limit = MAX_CAPTURE_BYTES,
  ): Promise<{ request: CapturedRequest; extra: Record<string, unknown> }> {
    if (!options.dir || !FILE_ID.test(name)) throw new Error("no such capture");
    let bytes: Buffer;
    try {
      bytes = await readRegularFileAsync(join(options.dir, name), limit, false);
    } catch (error) {
      if (error instanceof InputTooLargeError && limit < MAX_CAPTURE_BYTES) throw new NotListedError();
      throw captureReadError(error);
    }
    return fromCaptureObject(JSON.parse(bytes.toString("utf8")));
  }

  async function summaryOf(name: string): Promise<ListItem> {
    const live = memory.get(name);
    if (live) return itemOf(live);
    const position = ringPosition(name);
    if (position >= 0) return ringItem(position);
    const cached = summaries.get(name);
    if (cached) return cached;
    let item: ListItem;
    try {
      const { request, extra } = await readCapture(name, LIST_CAPTURE_BYTES);
      item = fileItem(name, request, extra, options);
    } catch (error) {
      item =
        error instanceof NotListedError
          ? await largeItem(name, options.dir as string)
          : unreadableItem(name, (error as Error).message);
    }
    cacheSummary(name, item);
    return item;
  }

  return {
    /** The list item of a webhook that just arrived, before its answer (not kept: its outcome follows). */
    arrivalItem(arrival: Arrival): ListItem {
      return listItem({
        id: liveId(arrival),
        kind: "delivery",
        request: arrival.request,
        inspection: arrival.inspection,
        verdict: arrival.inspection.verification,
        forward: null,
        retry: arrival.duplicate ? { timesSeen: arrival.duplicate.timesSeen } : null,
        replayOf: arrival.replay?.of ?? null,
        saved: Boolean(arrival.capturePath),
        thisRun: true,
        pending: true,
      });
    },

    /**
     * Note an event listen just handled. Cheap: no I/O, no parsing. Its list item is made now when
     * `wanted` (a page is open) or when it was saved; an unsaved one's is made when first asked for.
     */
    addLive(event: ReceivedEvent, wanted = true): ListItem | undefined {
      const replayOf = event.replay?.of;
      const forward = event.forward;
      const answer = forward?.outcome.kind === "response" ? forward.outcome.bodyPreview : undefined;
      const answerBody = answer?.slice(0, ANSWER_BYTES);
      // Made once, for the ring's bytes and for the list item.
      const brief = forward
        ? forwardBrief(forward.url, forward.outcome, forward.verdict, forward.judgement, event.inspection.verification)
        : null;
      const undelivered = undeliveredAnswerText(event.answer, event.status);
      // Kept only where the judgement shows it, as a replay's (replay-action.ts): the detail shows what is kept.
      const hint = forward && judgementShowsHint(forward.judgement) ? forward.hint : undefined;
      if (!event.capturePath) {
        // An unsaved event is copied into the ring: nothing of it stays behind as objects.
        if (ring.count >= limits.records) dropRingOldest(); // then memory holds nothing: it is the oldest
        if (writeRingEvent(ring, event, replayOf, brief, undelivered, answerBody, hint, added + 1)) {
          added += 1;
          evictOldest();
          if (!wanted) return undefined;
          const record = { id: liveId(event), added, live: liveFacts(event, replayOf, brief, undelivered) };
          const item = itemOf(record, event.inspection, event.request);
          ringItems.set(event.seq, item);
          return item;
        }
      }
      const id = liveId(event);
      const live = liveFacts(event, replayOf, brief, undelivered);
      const record: MemoryRecord = {
        id,
        added: ++added,
        item: undefined,
        live,
        capturePath: event.capturePath,
        // A saved event's request is not kept (its capture is on disk): its item is made now.
        request: event.capturePath ? undefined : storeRequest(event.request),
        answerBody,
        hint,
      };
      const item = event.capturePath || wanted ? itemOf(record, event.inspection, event.request) : undefined;
      remember(record);
      if (event.capturePath && listing && !listing.names.has(id)) listing = undefined;
      return item;
    },

    /** Note a replay sent from the page; returns its list item. */
    addReplay(replay: ReplayRecord): ListItem {
      const inspection = inspectWithSecret(replay.request, options, Math.floor(options.now() / 1000));
      const item = listItem({
        id: `replay-${++counter}`,
        kind: "replay",
        request: replay.request,
        inspection,
        verdict: inspection.verification,
        forward: replay.forward,
        replayOf: replay.original,
        replayTo: replay.url,
        saved: false,
        thisRun: true,
      });
      const { request, forward: _forward, answerBody, hint, ...rest } = replay;
      remember({
        id: item.id,
        added: ++added,
        item,
        request: storeRequest(request),
        answerBody: answerBody.slice(0, ANSWER_BYTES),
        hint,
        replay: rest,
      });
      return item;
    },

    /** Expect a replay with this signature to arrive at the listener, and link it to its original. */
    expectReplay(signature: string, original: string, originalReceivedAt: string | null): void {
      pendingReplays.set(signature, { of: original, originalReceivedAt });
      if (pendingReplays.size > 100) pendingReplays.delete(pendingReplays.keys().next().value as string);
    },

    /** The replay this request is, if one from the page was expected with its signature (taken: once). */
    takeReplay(request: CapturedRequest): ReplayFrom | undefined {
      // (Looking a signature up hashes it: only when a replay from the page is on its way.)
      if (pendingReplays.size === 0) return undefined;
      const signature = request.headers["x-signature"];
      const replay = signature === undefined ? undefined : pendingReplays.get(signature);
      if (replay && signature !== undefined) pendingReplays.delete(signature);
      return replay;
    },

    /** The ring's unsaved events as sort keys (as their capture files would be named). */
    ringEntries(): SortEntry[] {
      const entries: SortEntry[] = [];
      for (let position = 0; position < ring.count; position++) {
        const id = `live-${ring.numberAt(position)}`;
        entries.push({ key: captureFileName(ringFacts(position).receivedAt, id), id });
      }
      return entries;
    },

    async list(query: ListQuery): Promise<ListPage> {
      const entries = withMemoryOnly(await folderEntries(), memory, this.ringEntries());
      const filtered = Boolean(query.type || query.inbox || query.verdict || query.text);
      let index = query.cursor === undefined ? 0 : firstOlder(entries, query.cursor);
      const items: ListItem[] = [];
      let reads = 0;
      while (index < entries.length && items.length < query.limit) {
        if (filtered && reads >= READS_PER_PAGE) break;
        // Read a few captures at once: the page needs them all, and the disk answers faster in parallel.
        const wanted = filtered ? READ_BATCH : Math.min(READ_BATCH, query.limit - items.length);
        const batch = entries.slice(index, index + wanted);
        const summaries = await Promise.all(batch.map((entry) => summaryOf(entry.id)));
        for (const item of summaries) {
          index += 1;
          if (matches(item, query)) items.push(item);
          if (items.length >= query.limit) break;
        }
        reads += batch.length;
      }
      const last = entries[index - 1];
      const more = index < entries.length;
      return {
        items,
        next: more && last ? last.key : null,
        total: entries.length,
        complete: items.length >= query.limit || !more,
        folderProblem: listing?.problem ?? null,
      };
    },

    /** Everything the detail pane shows about one delivery or replay. */
    async detail(id: string) {
      const loaded = await this.load(id);
      if (!loaded) return undefined;
      const { request, extra, record } = loaded;
      const item = record ? itemOf(record, undefined, request) : fileItem(id, request, extra, options);
      const inspection = inspectRequest(request, {
        toleranceSeconds: options.toleranceSeconds,
        now: Math.floor(options.now() / 1000),
      });
      const summary = inspection.summary;
      const related = await this.related(item);
      return {
        item,
        email: emailView(summary),
        lifecycle: lifecycleView(summary),
        payload: inspection.payload,
        request: requestView(request),
        verification:
          extra.redacted === true
            ? unverifiedView(REDACTED_UNVERIFIED)
            : verificationView(
                request,
                inspection.eventId,
                options.secretFor(summary.inboxId ?? undefined),
                options.toleranceSeconds,
                Math.floor(options.now() / 1000),
              ),
        forward: item.forward
          ? {
              ...item.forward,
              answerBody: record?.answerBody ?? null,
              hint: record?.hint ?? null,
            }
          : null,
        replay: record?.replay ? { mode: record.replay.mode, notes: record.replay.notes } : null,
        /** The saved capture had its personal data replaced (listen --redact, or the redact command). */
        redacted: extra.redacted === true,
        capturePath: record?.capturePath ?? (FILE_ID.test(id) && options.dir ? join(options.dir, id) : null),
        deliveries: related.deliveries,
        replays: related.replays,
      };
    },

    /** The request behind an id, from memory or its capture file. */
    async load(
      id: string,
    ): Promise<{ request: CapturedRequest; extra: Record<string, unknown>; record?: MemoryRecord } | undefined> {
      if (!isEntryId(id)) return undefined;
      const record = memory.get(id);
      if (record?.request) return { request: storedRequest(record.request), extra: {}, record };
      const position = record ? -1 : ringPosition(id);
      const fromRing = position >= 0 ? ringRecord(position) : undefined;
      if (fromRing) return { request: fromRing.request, extra: {}, record: fromRing.record };
      if (!FILE_ID.test(id)) return undefined;
      try {
        return { ...(await readCapture(id)), record };
      } catch (error) {
        // Gone is "no such event"; a file that is there but cannot be shown says why.
        if (error instanceof UnreadableCaptureError && error.code === "ENOENT") return undefined;
        throw error instanceof UnreadableCaptureError ? error : new UnreadableCaptureError((error as Error).message);
      }
    },

    /** A capture file's bytes for download (serialized from memory when it was not saved). */
    async captureFile(id: string): Promise<{ name: string; content: string } | undefined> {
      const loaded = await this.load(id);
      if (!loaded) return undefined;
      const name = FILE_ID.test(id) ? id : `${id}.json`;
      return { name, content: serializeCapture(loaded.request, loaded.extra) };
    },

    /** Other deliveries of the same event_id (OpenMail's retries), oldest first, and replays of this one. */
    async related(item: ListItem): Promise<{ deliveries: ListItem[]; replays: ListItem[] }> {
      // This run's records in the order they were added: memory's and the ring's.
      const kept: { added: number; id: string; kind: string; eventId: string | null; replayOf: string | null }[] = [];
      for (const record of memory.values()) {
        kept.push({
          added: record.added,
          id: record.id,
          // Unsaved events of this run (`live`) are deliveries; their event id is kept beside them.
          kind: record.item?.kind ?? "delivery",
          eventId: record.item ? record.item.eventId : (record.live?.eventId ?? null),
          replayOf: record.item?.replayOf ?? record.live?.replayOf ?? null,
        });
      }
      for (let position = 0; position < ring.count; position++) {
        const { eventId, replayOf } = ringFacts(position);
        kept.push({
          added: ring.orderAt(position),
          id: `live-${ring.numberAt(position)}`,
          kind: "delivery",
          eventId,
          replayOf,
        });
      }
      kept.sort((a, b) => a.added - b.added);
      const replays: ListItem[] = [];
      for (const record of kept) {
        if (record.replayOf === item.id && record.id !== item.id) replays.push(await summaryOf(record.id));
      }
      if (!item.eventId) return { deliveries: [], replays };
      const safe = fileSafeEventId(item.eventId);
      const candidates = new Set<string>();
      for (const { id: name } of await folderEntries()) {
        const fileEventId = parseCaptureFileName(name)?.fileEventId;
        if (safe && fileEventId && (fileEventId === safe || fileEventId.replace(/-\d+$/, "") === safe)) {
          candidates.add(name);
        }
      }
      for (const record of kept) {
        if (record.kind === "delivery" && record.eventId === item.eventId) candidates.add(record.id);
      }
      const deliveries: ListItem[] = [];
      for (const name of [...candidates].slice(-50)) {
        const other = await summaryOf(name);
        if (other.eventId === item.eventId && other.kind === "delivery") deliveries.push(other);
      }
      deliveries.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
      return { deliveries, replays };
    },
  };
}

/** A webhook of this run: its capture's file name, or its number in the run when it was not saved. */
function liveId(arrival: Arrival): string {
  return arrival.capturePath ? basename(arrival.capturePath) : `live-${arrival.seq}`;
}

/** The event's LiveFacts, its forward's brief and undelivered answer's words as addLive made them. */
function liveFacts(
  event: ReceivedEvent,
  replayOf: string | undefined,
  forward: ForwardBrief | null,
  undelivered: string | undefined,
): LiveFacts {
  const verdict = event.inspection.verification;
  return {
    eventId: event.inspection.eventId,
    verdict: verdict ? { valid: verdict.valid, message: verdict.message } : undefined,
    forward,
    answered: { status: event.status, reason: event.statusReason, undelivered: undelivered ?? null },
    retry: event.duplicate ? { timesSeen: event.duplicate.timesSeen } : null,
    replayOf,
  };
}

function fileItem(
  name: string,
  request: CapturedRequest,
  extra: Record<string, unknown>,
  options: EventIndexOptions,
): ListItem {
  // Judged again with this run's secret, as of its arrival, as the detail judges it: what a file says
  // of itself ("verification": valid) is not trusted, since anyone who can write the folder (or a
  // cloned repository) can plant or edit a capture. A redacted body cannot be checked at all.
  const arrived = Math.floor(Date.parse(request.receivedAt) / 1000);
  const judgedAt = Number.isFinite(arrived) ? arrived : Math.floor(options.now() / 1000);
  const redacted = extra.redacted === true;
  const inspection = redacted
    ? inspectRequest(request, { toleranceSeconds: options.toleranceSeconds, now: judgedAt })
    : inspectWithSecret(request, options, judgedAt);
  const verdict = inspection.verification;
  const duplicate = extra.duplicate as { timesSeen?: unknown } | undefined;
  return listItem({
    id: name,
    kind: "delivery",
    request,
    inspection,
    verdict,
    unverifiedBecause: redacted ? REDACTED_UNVERIFIED : undefined,
    forward: forwardFromCapture(extra.forward, verdict, inspection.summary.attempt),
    retry: typeof duplicate?.timesSeen === "number" ? { timesSeen: duplicate.timesSeen } : null,
    saved: true,
    thisRun: false,
  });
}

/** Inspect with the secret of the request's own inbox (the body parsed once). */
function inspectWithSecret(request: CapturedRequest, options: EventIndexOptions, now: number) {
  const settings = { toleranceSeconds: options.toleranceSeconds, now };
  const inspection = inspectRequest(request, settings);
  const secret = options.secretFor(inspection.summary.inboxId ?? undefined)?.secret;
  inspection.verification = verifyCaptured(request, { ...settings, secret });
  return inspection;
}

/** Why a redacted capture is shown unverified: its body is no longer the one that was signed. */
const REDACTED_UNVERIFIED =
  "unverified: a redacted capture (its body was changed after it arrived, so its signature cannot be checked again)";

/** A capture file that is there but cannot be shown; the inspector's API answers it with its reason. */
export class UnreadableCaptureError extends Error {
  override name = "UnreadableCaptureError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Why a capture file could not be read, in the inspector's words (the CLI's add what to type next). */
function captureReadError(error: unknown): UnreadableCaptureError {
  if (error instanceof InputTooLargeError)
    return new UnreadableCaptureError(`too large to open here (${error.message})`);
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === "ELOOP"
      ? "a symbolic link (listen never saves one; not followed)"
      : code === "ENOTREGULAR"
        ? "not a regular file (a device, FIFO or socket)"
        : code === "EISDIR"
          ? "a folder"
          : code === "ENOENT"
            ? "no such file (deleted?)"
            : `cannot read (${code ?? (error as Error).message})`;
  return new UnreadableCaptureError(reason, code);
}

function unreadableItem(name: string, message: string): ListItem {
  const receivedAt = parseCaptureFileName(name)?.receivedAt ?? "";
  return listItem({
    id: name,
    kind: "delivery",
    request: { receivedAt, method: "POST", path: "", headers: {}, body: new Uint8Array() },
    inspection: {
      summary: { attachments: [], cc: [], lifecycle: false },
      payload: { json: false, known: false, problems: [`unreadable capture: ${message}`] },
    },
    verdict: { valid: false, message: `unreadable capture: ${message}` },
    listNote: `unreadable capture: ${message}`,
    forward: null,
    saved: true,
    thisRun: false,
  });
}

/** A capture too large to read for the list (LIST_CAPTURE_BYTES): listed by its name, opened on demand. */
class NotListedError extends Error {}

async function largeItem(name: string, dir: string): Promise<ListItem> {
  const parsed = parseCaptureFileName(name);
  const size = await lstat(join(dir, name)).then(
    (stats) => stats.size,
    () => undefined,
  );
  const what = `a large capture${size === undefined ? "" : ` (${formatBytes(size)})`}, not read for the list: open it to see it`;
  return listItem({
    id: name,
    kind: "delivery",
    request: { receivedAt: parsed?.receivedAt ?? "", method: "POST", path: "", headers: {}, body: new Uint8Array() },
    inspection: {
      eventId: parsed?.fileEventId,
      summary: { attachments: [], cc: [], lifecycle: false },
      payload: { json: false, known: false, problems: [] },
    },
    verdict: undefined,
    unverifiedBecause: `unverified: ${what}`,
    listNote: what,
    forward: null,
    saved: true,
    thisRun: false,
  });
}

interface SortEntry {
  key: string;
  id: string;
}

const newestFirst = (a: SortEntry, b: SortEntry) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);

/**
 * A capture folder that could not be listed, in the page's words: what happened, that only this run's
 * events still in memory are listed, and what to do (listen's terminal line says the same for a save).
 */
function folderListingProblem(error: unknown, dir: string): string {
  const memoryOnly = "the list shows only this run's events still held in memory";
  const gone = goneFolderProblem(error, dir);
  if (gone) return `${gone.message}: ${memoryOnly}; ${gone.nextStep}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "an error";
  return `the capture folder cannot be read (${code}): ${memoryOnly}`;
}

/** The folder's entries with the records that exist only in memory (unsaved events, replays) merged in. */
function withMemoryOnly(
  folder: SortEntry[],
  memory: ReadonlyMap<string, MemoryRecord>,
  extra: SortEntry[],
): SortEntry[] {
  for (const [id, record] of memory) {
    const receivedAt = record.item?.receivedAt ?? record.request?.receivedAt ?? "";
    if (!record.capturePath) extra.push({ key: captureFileName(receivedAt, id), id });
  }
  if (extra.length === 0) return folder;
  extra.sort(newestFirst);
  const merged: SortEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < folder.length || j < extra.length) {
    const a = folder[i];
    const b = extra[j];
    if (b === undefined || (a !== undefined && newestFirst(a, b) <= 0)) {
      merged.push(a as SortEntry);
      i += 1;
    } else {
      merged.push(b);
      j += 1;
    }
  }
  return merged;
}

function firstOlder(entries: ReadonlyArray<{ key: string }>, cursor: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((entries[mid] as { key: string }).key >= cursor) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The same matching the page applies to items that arrive live (app.js, matchesFilters). */
export function matches(item: ListItem, query: Omit<ListQuery, "limit" | "cursor">): boolean {
  if (query.type && item.eventType !== query.type) return false;
  if (query.verdict && item.verdict !== query.verdict) return false;
  if (query.inbox && !(item.inboxId ?? "").toLowerCase().includes(query.inbox.toLowerCase())) return false;
  if (query.text) {
    const haystack = [
      item.id,
      item.eventId,
      item.eventType,
      item.inboxId,
      item.from,
      item.to,
      item.subject,
      item.snippet,
      ...item.attachments,
    ]
      .join("\n")
      .toLowerCase();
    return query.text
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((word) => haystack.includes(word));
  }
  return true;
}
