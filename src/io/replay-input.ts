/**
 * Reading what `replay` sends: capture files, folders of them, NDJSON files of captures, bare event
 * bodies, raw HTTP requests, or standard input. A folder's files are only indexed up front (their
 * metadata), and read again when sent, so memory stays flat for large folders. Unreadable inputs
 * become errors naming the file; the rest still go. Files are read synchronously: this is a batch
 * command, and a sync read of a small file costs a fraction of an async one (see capture-store.ts).
 */
import { opendirSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join, sep } from "node:path";
import {
  type CapturedRequest,
  CaptureFormatError,
  captureRequestOf,
  isCaptureFileName,
  isCaptureObject,
  looksLikeRawHttp,
  parseCaptureFileName,
  readDocument,
} from "../core/capture.js";
import { metaOf, type ReplayItem, type ReplayMeta } from "../core/replay.js";
import { passedOverText } from "../output/capture-folder.js";
import { sanitizeLine } from "../output/sanitize.js";
import {
  DEFAULT_INPUT_LIMIT,
  describeReadError,
  type FilePath,
  InputTooLargeError,
  openablePath,
  RAISE_THE_LIMIT,
  readRegularFile,
  readRegularFileReusing,
  type StdinReader,
} from "./request-input.js";

/** An item found in the inputs: in memory, or a file to read again when it is sent. */

/** A read failure named for replay, whose size limit --max-input-size raises. */
const describeReplayReadError = (origin: string, error: unknown) => describeReadError(origin, error, RAISE_THE_LIMIT);

export interface IndexedItem {
  origin: string;
  meta: ReplayMeta;
  /** Position among the inputs, for a stable order. */
  order: number;
  load(): Promise<ReplayItem>;
  /** The same as load(), synchronously, for items read from a file when sent (no promise per item). */
  read?(): ReplayItem;
}

export interface InputProblem {
  origin: string;
  message: string;
}

/**
 * The items found, in order. A list rather than an array: a folder of captures named by listen or
 * send-test is held as its sorted file names only, and each item is made when it is asked for.
 */
export interface ItemList {
  readonly length: number;
  at(index: number): IndexedItem | undefined;
}

/**
 * A folder's capture files, by name in arrival order, packed: the names' bytes in one buffer and
 * where each starts. 100,000 names as strings were 8 MB of the heap that every full collection had
 * to walk, and the heap's next limit grew with them; packed they are 5 MB outside it.
 */
class NamedCaptures {
  private readonly bytes: Buffer;
  private readonly starts: Uint32Array;
  readonly length: number;

  /** `names` sorted, as byte names (see listCaptureFiles). */
  constructor(
    readonly folder: CaptureFolder,
    names: string[],
    readonly limit: number,
  ) {
    this.length = names.length;
    this.starts = new Uint32Array(names.length + 1);
    let size = 0;
    for (let i = 0; i < names.length; i++) {
      this.starts[i] = size;
      size += (names[i] as string).length;
    }
    this.starts[names.length] = size;
    this.bytes = Buffer.allocUnsafeSlow(size);
    // One write of the names joined (a string that lives only for this call): a write per name, with
    // its checks, was a fifth of listing a folder of 100,000.
    this.bytes.write(names.join(""), 0, "latin1");
  }

  name(index: number): string {
    return this.bytes.toString("latin1", this.starts[index], this.starts[index + 1]);
  }
}

/**
 * A folder given to replay, and its files by their byte names: Node.js decodes file names as UTF-8,
 * and a name that is not valid UTF-8 comes out with U+FFFD in it, a name no file has. So a folder's
 * names are read as latin1 (one character per byte, the bytes exactly: a "byte name"), and a file is
 * opened by its bytes; such a capture is replayed like any other, and named with U+FFFD where it is
 * printed. Byte names sort as their bytes do (for UTF-8, in code point order).
 */
class CaptureFolder {
  private readonly prefix: Buffer;
  /** Where each path is put together: the folder's bytes, a separator, then the name's bytes. */
  private path: Buffer;

  /** `given` as printed; `at` where it is (its bytes when openablePath found them). */
  constructor(
    private readonly given: string,
    at: FilePath,
  ) {
    const bytes = Buffer.from(at);
    this.prefix = bytes[bytes.length - 1] === sep.charCodeAt(0) ? bytes : Buffer.concat([bytes, Buffer.from(sep)]);
    this.path = Buffer.allocUnsafeSlow(this.prefix.length + 256);
    this.prefix.copy(this.path);
  }

  /** The path to open for a byte name, as bytes; valid until the next call. */
  fileBytes(name: string): Buffer {
    const length = this.prefix.length + name.length;
    if (this.path.length < length) {
      this.path = Buffer.allocUnsafeSlow(length + 256);
      this.prefix.copy(this.path);
    }
    this.path.write(name, this.prefix.length, "latin1");
    return this.path.subarray(0, length);
  }

  /** The path of a byte name as printed (a byte that is not UTF-8 shows as U+FFFD; printers sanitise it). */
  shown(name: string): string {
    return join(this.given, Buffer.from(name, "latin1").toString("utf8"));
  }
}

class Inputs implements ItemList {
  length = 0;
  private readonly parts: Array<IndexedItem[] | NamedCaptures> = [];
  /** Index of each part's first item. */
  private readonly starts: number[] = [];

  push(item: IndexedItem): void {
    let last = this.parts[this.parts.length - 1];
    if (!Array.isArray(last)) {
      last = [];
      this.parts.push(last);
      this.starts.push(this.length);
    }
    item.order = this.length;
    last.push(item);
    this.length += 1;
  }

  pushNames(captures: NamedCaptures): void {
    if (captures.length === 0) return;
    this.parts.push(captures);
    this.starts.push(this.length);
    this.length += captures.length;
  }

  at(index: number): IndexedItem | undefined {
    if (!(index >= 0 && index < this.length)) return undefined;
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as number) <= index) low = middle;
      else high = middle - 1;
    }
    const part = this.parts[low] as IndexedItem[] | NamedCaptures;
    const offset = index - (this.starts[low] as number);
    if (Array.isArray(part)) return part[offset];
    const item = new CaptureFileItem(part.folder, part.name(offset), part.limit);
    item.order = index;
    return item;
  }
}

export async function indexInputs(
  paths: string[],
  readStdin: StdinReader,
  options: { needsMeta: boolean; inputLimit?: number } = { needsMeta: true },
): Promise<{ items: ItemList; problems: InputProblem[] }> {
  // Every file (and standard input) is read up to this size; devices and FIFOs are refused.
  const limit = options.inputLimit ?? DEFAULT_INPUT_LIMIT;
  const items = new Inputs();
  const problems: InputProblem[] = [];
  const add = (parsed: ReplayItem[]) => {
    for (const item of parsed) {
      items.push({ origin: item.origin, meta: metaOf(item.request), order: 0, load: async () => item });
    }
  };
  for (const path of paths) {
    if (path === "-") {
      try {
        add(parseDocument(await readStdin(limit), "standard input", problems));
      } catch (error) {
        problems.push({
          origin: "standard input",
          message: describeReplayReadError("standard input", error),
        });
      }
      continue;
    }
    const target = openablePath(path);
    let isFolder = false;
    try {
      isFolder = (await stat(target)).isDirectory();
    } catch (error) {
      problems.push({ origin: path, message: describeReplayReadError(path, error) });
      continue;
    }
    if (!isFolder) {
      try {
        add(parseDocument(readRegularFile(target, limit), path, problems));
      } catch (error) {
        problems.push({ origin: path, message: describeReplayReadError(path, error) });
      }
      continue;
    }
    // Without filters, a capture named by listen or send-test carries its arrival time in its name,
    // and names sort in arrival order: such files are only listed now, and read once, when sent.
    // A folder of nothing else is kept as its sorted names, packed (about 50 bytes each).
    const passedOver: PassedOver[] = [];
    const names = listCaptureFiles(target, passedOver);
    const folder = new CaptureFolder(path, target);
    for (const { name, what } of passedOver) {
      const file = folder.shown(name);
      problems.push({ origin: file, message: `${file}: ${what}` });
    }
    if (!options.needsMeta && names.every(isCaptureFileName)) {
      items.pushNames(new NamedCaptures(folder, names, limit));
      continue;
    }
    const named: IndexedItem[] = [];
    const read: IndexedItem[] = [];
    for (const name of names) {
      if (!options.needsMeta && isCaptureFileName(name)) {
        named.push(new CaptureFileItem(folder, name, limit));
        continue;
      }
      const file = folder.shown(name);
      try {
        const [item] = parseDocument(readRegularFile(folder.fileBytes(name), limit), file, problems);
        if (item) read.push(new CaptureFileItem(folder, name, limit, metaOf(item.request)));
      } catch (error) {
        problems.push({ origin: file, message: describeReplayReadError(file, error) });
      }
    }
    // A folder is replayed in the order its events arrived.
    read.sort(byArrival);
    for (const item of mergeSorted(named, read, byArrival)) items.push(item);
  }
  return { items, problems };
}

/**
 * A folder's capture files (regular files named *.json, not hidden), as byte names (see
 * CaptureFolder), sorted: listCaptureNames' answer, read entry by entry (readdir with file types made
 * an object per entry all at once, 10 MB of short-lived objects for 100,000 captures, which set the
 * heap's size for the rest of the run).
 */
function listCaptureFiles(folder: FilePath, passedOver: PassedOver[]): string[] {
  const names: string[] = [];
  const dir = opendirSync(folder, { bufferSize: 256, encoding: "latin1" });
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (!entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
      if (entry.isFile()) names.push(entry.name);
      else passedOver.push({ name: entry.name, what: passedOverText(entry, "replay") });
    }
  } finally {
    dir.closeSync();
  }
  return names.sort();
}

/** A `*.json` entry of a folder that is not a regular file: named with the problems, never read. */
interface PassedOver {
  /** A byte name (see CaptureFolder). */
  name: string;
  what: string;
}

/** A capture file to read when it is sent; its arrival time from its name unless its content was read. */
class CaptureFileItem implements IndexedItem {
  order = 0;
  constructor(
    private readonly folder: CaptureFolder,
    /** A byte name (see CaptureFolder). */
    private readonly name: string,
    private readonly limit: number,
    private readonly known?: ReplayMeta,
  ) {}
  get origin(): string {
    return this.folder.shown(this.name);
  }
  get meta(): ReplayMeta {
    return this.known ?? { receivedAt: receivedAtFromName(this.name) ?? "" };
  }
  load(): Promise<ReplayItem> {
    return Promise.resolve().then(() => this.read());
  }
  read(): ReplayItem {
    return readFileItem(this.folder.fileBytes(this.name), this, this.limit);
  }
}

/** Arrival time, then path, compared as code points: the order listCaptureNames gives named captures. */
function byArrival(a: IndexedItem, b: IndexedItem): number {
  return compare(a.meta.receivedAt, b.meta.receivedAt) || compare(a.origin, b.origin);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Merge two lists each already in `order`'s order. */
function* mergeSorted<T>(a: T[], b: T[], order: (x: T, y: T) => number): Generator<T> {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && order(a[i] as T, b[j] as T) <= 0)) yield a[i++] as T;
    else yield b[j++] as T;
  }
}

/** A capture's arrival time from its name, when listen or send-test named it. */
export function receivedAtFromName(path: string): string | undefined {
  return parseCaptureFileName(path)?.receivedAt;
}

/**
 * A file's one item, read when it is sent. A capture (the usual case) is decoded straight from a
 * reused read buffer, since nothing of a capture's bytes is kept (its body is decoded from its text),
 * and its path is put together as text only if something is said about it. Anything else (a raw
 * request, a bare body) keeps views of the bytes it was parsed from, so it is read again into bytes
 * of its own; a capture that is not well formed goes the same way, to be named with its problem.
 */
function readFileItem(path: Buffer, named: { readonly origin: string }, limit: number): ReplayItem {
  const bytes = readRegularFileReusing(path, limit, true);
  const request = wellFormedCapture(bytes);
  if (request) return new ReadCapture(named, request);
  const problems: InputProblem[] = [];
  const origin = named.origin;
  let [item] = parseDocument(bytes, origin, problems);
  if (item && item.kind !== "capture") [item] = parseDocument(readRegularFile(path, limit), origin, []);
  if (!item) throw new NamedFileError(problems[0]?.message ?? `${sanitizeLine(origin)}: changed since it was read`);
  // Read while going through a folder: a bare body here was not named by the user.
  if (item.kind === "payload") item.foundInFolder = true;
  return item;
}

/** A problem with a file whose message already names the file. */
class NamedFileError extends CaptureFormatError {}

/**
 * What to say about an item that could not be sent: the file named once, with what is wrong with it
 * (a file gone, replaced or grown since the folder was listed is described as when it is listed).
 */
export function describeItemError(origin: string, error: unknown): string {
  if (error instanceof NamedFileError) return error.message;
  if (error instanceof InputTooLargeError || typeof (error as NodeJS.ErrnoException).code === "string") {
    return describeReplayReadError(origin, error);
  }
  return `${sanitizeLine(origin)}: ${(error as Error).message}`;
}

/** A capture read from a file, named (its path as text) only when asked. */
class ReadCapture implements ReplayItem {
  readonly kind = "capture";
  constructor(
    private readonly named: { readonly origin: string },
    readonly request: CapturedRequest,
  ) {}
  get origin(): string {
    return this.named.origin;
  }
}

/** The request in a file that is one well-formed capture (parseDocument's first answer); undefined for anything else. */
function wellFormedCapture(bytes: Buffer): CapturedRequest | undefined {
  if (looksLikeRawHttp(bytes)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isCaptureObject(value)) return undefined;
  try {
    return captureRequestOf(value);
  } catch (error) {
    if (error instanceof CaptureFormatError) return undefined;
    throw error;
  }
}

/** The output of a command's --json (listen.ndjson): each record names its type and schemaVersion. */
function isRecordStream(lines: string[]): boolean {
  const first = lines.find((line) => line.trim());
  try {
    const record = JSON.parse(first ?? "") as { type?: unknown; schemaVersion?: unknown };
    return typeof record?.type === "string" && typeof record.schemaVersion === "number";
  } catch {
    return false;
  }
}

/**
 * One file's worth of items: a capture, a raw HTTP request, a bare event body, or NDJSON (one
 * capture or body per line). Problems are pushed with the file (and line) named.
 */
export function parseDocument(bytes: Buffer, origin: string, problems: InputProblem[]): ReplayItem[] {
  try {
    const document = readDocument(bytes);
    if (document.kind === "raw-http") return [{ origin, kind: "raw-http", request: document.request }];
    try {
      return [fromJson(JSON.parse(document.text), bytes, origin)];
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
    const lines = document.text.split("\n");
    if (lines.filter((line) => line.trim()).length < 2) {
      throw new CaptureFormatError("not JSON, NDJSON or a raw HTTP request");
    }
    const items: ReplayItem[] = [];
    const bad: Array<{ line: number; message: string }> = [];
    lines.forEach((line, index) => {
      if (!line.trim()) return;
      try {
        items.push(fromJson(JSON.parse(line), Buffer.from(line), `${origin}:${index + 1}`));
      } catch (error) {
        bad.push({
          line: index + 1,
          message: error instanceof SyntaxError ? "not valid JSON" : (error as Error).message,
        });
      }
    });
    // One line per input file, however many of its lines are unreadable.
    if (bad.length > 0 && items.length === 0) {
      throw new CaptureFormatError(
        isRecordStream(lines)
          ? 'openmail-hooks --json records (ready, arrival, event, …), not captures: replay the capture files they name ("capturePath"), or their folder'
          : "not JSON, NDJSON or a raw HTTP request",
      );
    }
    if (bad.length > 0) problems.push({ origin, message: `${sanitizeLine(origin)}: ${describeBadLines(bad)}` });
    return items;
  } catch (error) {
    if (error instanceof CaptureFormatError) {
      problems.push({ origin, message: `${sanitizeLine(origin)}: ${error.message}` });
      return [];
    }
    throw error;
  }
}

function describeBadLines(bad: Array<{ line: number; message: string }>): string {
  const first = bad[0] as { line: number; message: string };
  const shown = bad.slice(0, 5).map((entry) => entry.line);
  const more = bad.length > shown.length ? ` and ${bad.length - shown.length} more` : "";
  const lines = `${bad.length === 1 ? "line" : "lines"} ${shown.join(", ")}${more}`;
  return `${bad.length} unreadable ${bad.length === 1 ? "line" : "lines"} skipped (${lines}); line ${first.line}: ${first.message}`;
}

/** A capture object, or a bare event body (kept as the exact bytes given). */
function fromJson(value: unknown, bytes: Buffer, origin: string): ReplayItem {
  if (isCaptureObject(value)) return { origin, kind: "capture", request: captureRequestOf(value) };
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "event" in value) {
    const request: CapturedRequest = {
      receivedAt: "",
      method: "POST",
      path: "/",
      headers: { "content-type": "application/json" },
      body: bytes,
    };
    return { origin, kind: "payload", request };
  }
  throw new CaptureFormatError('neither a capture (no "format" field) nor an event body (no "event" field)');
}
