/**
 * Reading what `replay` sends: capture files, folders of them, NDJSON files of captures, bare event
 * bodies, raw HTTP requests, or standard input. A folder's files are only indexed up front (their
 * metadata), and read again when sent, so memory stays flat for large folders. Unreadable inputs
 * become errors naming the file; the rest still go. Files are read synchronously: this is a batch
 * command, and a sync read of a small file costs a fraction of an async one (see capture-store.ts).
 */
import { stat } from "node:fs/promises";
import {
  type CapturedRequest,
  CaptureFormatError,
  fromCaptureObject,
  isCaptureObject,
  parseCaptureFileName,
  readDocument,
} from "../core/capture.js";
import { metaOf, type ReplayItem, type ReplayMeta } from "../core/replay.js";
import { sanitizeLine } from "../output/sanitize.js";
import { listCaptureFiles } from "./capture-store.js";
import { DEFAULT_INPUT_LIMIT, describeReadError, readRegularFile, type StdinReader } from "./request-input.js";

/** An item found in the inputs: in memory, or a file to read again when it is sent. */
export interface IndexedItem {
  origin: string;
  meta: ReplayMeta;
  /** Position among the inputs, for a stable order. */
  order: number;
  load(): Promise<ReplayItem>;
}

export interface InputProblem {
  origin: string;
  message: string;
}

export async function indexInputs(
  paths: string[],
  readStdin: StdinReader,
  options: { needsMeta: boolean; inputLimit?: number } = { needsMeta: true },
): Promise<{ items: IndexedItem[]; problems: InputProblem[] }> {
  const limit = options.inputLimit ?? DEFAULT_INPUT_LIMIT;
  const items: IndexedItem[] = [];
  const problems: InputProblem[] = [];
  const add = (parsed: ReplayItem[]) => {
    for (const item of parsed) {
      items.push({ origin: item.origin, meta: metaOf(item.request), order: items.length, load: async () => item });
    }
  };
  for (const path of paths) {
    if (path === "-") {
      try {
        add(parseDocument(await readStdin(limit), "standard input", problems));
      } catch (error) {
        problems.push({ origin: "standard input", message: describeReadError("standard input", error) });
      }
      continue;
    }
    let isFolder = false;
    try {
      isFolder = (await stat(path)).isDirectory();
    } catch (error) {
      problems.push({ origin: path, message: describeReadError(path, error) });
      continue;
    }
    if (!isFolder) {
      try {
        add(parseDocument(readRegularFile(path, limit), path, problems));
      } catch (error) {
        problems.push({ origin: path, message: describeReadError(path, error) });
      }
      continue;
    }
    const folderItems: IndexedItem[] = [];
    for (const file of await listCaptureFiles(path)) {
      // Without filters, a capture named by listen or send-test carries its arrival time in its
      // name: order by that and read the file once, when it is sent.
      const receivedAt = options.needsMeta ? undefined : receivedAtFromName(file);
      if (receivedAt) {
        folderItems.push({ origin: file, meta: { receivedAt }, order: 0, load: () => loadFile(file, limit) });
        continue;
      }
      try {
        const [item] = parseDocument(readRegularFile(file, limit), file, problems);
        if (!item) continue;
        folderItems.push({ origin: file, meta: metaOf(item.request), order: 0, load: () => loadFile(file, limit) });
      } catch (error) {
        problems.push({ origin: file, message: describeReadError(file, error) });
      }
    }
    // A folder is replayed in the order its events arrived.
    folderItems.sort((a, b) => a.meta.receivedAt.localeCompare(b.meta.receivedAt) || a.origin.localeCompare(b.origin));
    for (const item of folderItems) items.push({ ...item, order: items.length });
  }
  return { items, problems };
}

/** A capture's arrival time from its name, when listen or send-test named it. */
export function receivedAtFromName(path: string): string | undefined {
  return parseCaptureFileName(path)?.receivedAt;
}

async function loadFile(path: string, limit: number): Promise<ReplayItem> {
  const problems: InputProblem[] = [];
  const [item] = parseDocument(readRegularFile(path, limit), path, problems);
  if (!item) throw new CaptureFormatError(problems[0]?.message ?? `${path}: changed since it was read`);
  return item;
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
    if (bad.length > 0 && items.length === 0) throw new CaptureFormatError("not JSON, NDJSON or a raw HTTP request");
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
  if (isCaptureObject(value)) return { origin, kind: "capture", request: fromCaptureObject(value).request };
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
