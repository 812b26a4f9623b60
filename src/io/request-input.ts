/**
 * Read a captured request from a file or standard input ("-"): a capture file or a raw HTTP dump.
 * Errors name the file and the problem, and exit 2.
 *
 * Every read is bounded: a file larger than the input limit is refused before it is read, standard
 * input is cut off past it, and devices, FIFOs and sockets are refused (reading /dev/zero filled
 * memory until V8 died; a FIFO with no writer waited forever).
 */
// fs.promises, not node:fs/promises: Node then loads it (with the readline and watch modules it needs)
// at its first use, not with this module, which every command loads. About 1 ms of start-up for those
// that read nothing asynchronously, such as send-test --print (BENCHMARKS.md, goal 5).
import {
  closeSync,
  constants,
  existsSync,
  promises as fsPromises,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  type Stats,
} from "node:fs";
import { sep } from "node:path";
import { CaptureFormatError, type ParsedDocument, parseRequestDocument } from "../core/capture.js";
import { inputError } from "../errors.js";
import { sanitizeLine } from "../output/sanitize.js";

/** Largest input file read: a 10 MB body as base64 in a capture, many times over (NDJSON). */
export const DEFAULT_INPUT_LIMIT = 64 * 1024 * 1024;

/** Standard input, read up to `limit` bytes. */
export type StdinReader = (limit: number) => Promise<Buffer>;

export class InputTooLargeError extends Error {
  override name = "InputTooLargeError";
}

/**
 * The path to open for a name given as text (an argument). Node.js decodes arguments as UTF-8, so a
 * file whose name is not valid UTF-8 arrives with U+FFFD in place of the bytes that are not, and no
 * file has that name. When exactly one entry of the folder reads as the given name once decoded the
 * same way, that entry's bytes are the path (each part of the path looked up so); otherwise the name
 * as given, whose error then says what happened.
 */
export function openablePath(path: string): FilePath {
  if (!path.includes(REPLACEMENT) || existsSync(path)) return path;
  let resolved: Buffer = Buffer.from(path.startsWith(sep) ? sep : "");
  for (const part of path.split(sep)) {
    if (part === "") continue;
    let bytes: Buffer = Buffer.from(part);
    if (part.includes(REPLACEMENT)) {
      let entries: Buffer[];
      try {
        entries = readdirSync(resolved.length > 0 ? resolved : ".", { encoding: "buffer" });
      } catch {
        return path;
      }
      const matches = entries.filter((entry) => entry.toString("utf8") === part);
      if (matches.length !== 1) return path;
      bytes = matches[0] as Buffer;
    }
    const separator = resolved.length > 0 && resolved[resolved.length - 1] !== SEP_BYTE ? [SEP_BYTES] : [];
    resolved = Buffer.concat([resolved, ...separator, bytes]);
  }
  return resolved;
}

const REPLACEMENT = "\uFFFD";
const SEP_BYTES = Buffer.from(sep);
const SEP_BYTE = SEP_BYTES[0] as number;

export async function readFileOrStdin(
  path: string,
  readStdin: StdinReader,
  limit = DEFAULT_INPUT_LIMIT,
  tooLargeAdvice?: string,
): Promise<Buffer> {
  try {
    return path === "-" ? await readStdin(limit) : readRegularFile(openablePath(path), limit);
  } catch (error) {
    throw inputError(describeReadError(path === "-" ? "standard input" : path, error, tooLargeAdvice), error);
  }
}

/** A file's path: a string, or its bytes (a name that is not valid UTF-8 can only be opened by its bytes). */
export type FilePath = string | Buffer;

/**
 * A regular file's bytes, at most `limit` of them (InputTooLargeError past it). Opened without
 * blocking, so a FIFO is refused rather than waited on; the type is checked on the open file.
 */
export function readRegularFile(path: FilePath, limit: number): Buffer {
  return readRegular(path, limit, (size) => Buffer.allocUnsafe(size), true, false);
}

/** One buffer for readRegularFileReusing, grown to the largest file read so far (within the limit). */
let scratch = Buffer.alloc(0);
/** What a listed file is first read into: a capture is a few KB. */
const FIRST_READ_BYTES = 64 * 1024;

/**
 * readRegularFile's bytes, in a buffer that the next call reuses: for a reader that decodes a file
 * at once and keeps nothing of its bytes (replay reads 100,000 captures one after another, and a new
 * buffer for each was garbage for the collector to find).
 *
 * `listedAsFile`: a folder listing just said this name is a regular file. Then the file is not
 * fstat'ed first (a system call and a Stats object per capture replayed): it is opened with
 * O_NOFOLLOW as well as O_NONBLOCK, so a symbolic link put in its place is refused and nothing put in
 * its place can make the read wait, and it is read at once. A read that stops short of the buffer
 * is the end of a regular file. Only when that first read says nothing certain (no bytes, a full
 * buffer, an error) is the open file fstat'ed, and a folder, device, FIFO or socket refused as
 * before, an oversized file refused at once.
 */
export function readRegularFileReusing(path: FilePath, limit: number, listedAsFile = false): Buffer {
  return readRegular(path, limit, reusedScratch, false, listedAsFile);
}

function reusedScratch(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, FIRST_READ_BYTES));
  return scratch;
}

interface FileFacts {
  size: number;
}

/** The open file's type and size, checked: a folder, a device, FIFO or socket, or a file over the limit is refused. */
function checkedFacts(fd: number, limit: number): FileFacts {
  return checkedStats(fstatSync(fd), limit);
}

/** checkedFacts for a file's Stats, however they were read (synchronously, or by a FileHandle). */
function checkedStats(info: Stats, limit: number): FileFacts {
  if (info.isDirectory()) throw Object.assign(new Error("is a folder"), { code: "EISDIR" });
  if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "ENOTREGULAR" });
  if (info.size > limit) throw new InputTooLargeError(tooLargeMessage(limit, info.size));
  return { size: info.size };
}

function readRegular(
  path: FilePath,
  limit: number,
  allocate: (size: number) => Buffer,
  owned: boolean,
  listedAsFile: boolean,
): Buffer {
  const fd = openSync(path, listedAsFile ? LISTED_FLAGS : constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    let facts: FileFacts | undefined = listedAsFile ? undefined : checkedFacts(fd, limit);
    // Filled only when a file is longer than the first buffer (a capture never is).
    let parts: Buffer[] | undefined;
    const first = facts ? Math.min(facts.size, limit) + 1 : Math.min(FIRST_READ_BYTES, limit + 1);
    let buffer = owned ? allocate(first) : allocate(first).subarray(0, first);
    let used = 0;
    let total = 0;
    // The size can change while reading (a file still being written): read to the end, within the limit.
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, used, buffer.length - used, null);
      } catch (error) {
        // Unchecked so far (a folder or FIFO put in a listed file's place): say what it is.
        if (!facts) facts = checkedFacts(fd, limit);
        throw error;
      }
      if (read === 0) {
        // An empty regular file, or a FIFO with no writer: only the file's type tells.
        if (!facts) facts = checkedFacts(fd, limit);
        break;
      }
      used += read;
      total += read;
      if (total > limit) throw new InputTooLargeError(tooLargeMessage(limit));
      // A read that stops short, having brought the file to the size fstat gave, stopped at its end:
      // no further read to be told so (one system call less per capture replayed). A file that grew
      // since fills the buffer, and one that shrank stops short earlier: both read on to the end.
      // Unchecked (listed as a file), a short read of a regular file is its end.
      if (used < buffer.length && (facts ? total === facts.size : total > 0)) break;
      if (!facts) facts = checkedFacts(fd, limit);
      if (used === buffer.length) {
        parts ??= [];
        parts.push(owned ? buffer : Buffer.from(buffer));
        buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, limit - total + 1));
        used = 0;
      }
    }
    if (!parts) return buffer.subarray(0, used);
    parts.push(buffer.subarray(0, used));
    return Buffer.concat(parts, total);
  } finally {
    closeSync(fd);
  }
}

const LISTED_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** Standard input that neither sends a byte nor ends for this long is given up on (every wait has a deadline). */
export const STDIN_SILENCE_LIMIT_MS = 60_000;
/** After this long without its end, a command reading standard input says what it waits for. */
const STDIN_NOTICE_MS = 3_000;

/** "60 s", or "300 ms" for a limit under a second. */
function spanText(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** Standard input stayed silent, without ending, past its deadline. */
export class InputStalledError extends Error {
  constructor(limitMs: number) {
    super(
      `nothing arrived for ${spanText(limitMs)} and it did not end; end it (Ctrl-D on a terminal), pipe a file in, or name the file instead of -`,
    );
    this.name = "InputStalledError";
  }
}

/**
 * Read standard input to its end, but no more than `limit` bytes (then destroy it), with a
 * deadline: when it has not ended after a few seconds, `onWaiting` says (once) what the command is waiting for, and a silence of
 * `silenceLimitMs` (no byte, no end) gives up with an InputStalledError.
 */
export function readStdinBounded(
  stream: NodeJS.ReadableStream & { isTTY?: boolean; destroy?(): void },
  limit: number,
  options: { onWaiting(text: string): void; silenceLimitMs?: number; noticeMs?: number },
): Promise<Buffer> {
  const silenceLimitMs = options.silenceLimitMs ?? STDIN_SILENCE_LIMIT_MS;
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let silence: NodeJS.Timeout | undefined;
    const notice = setTimeout(() => {
      const deadline = spanText(silenceLimitMs);
      options.onWaiting(
        stream.isTTY
          ? `reading standard input: paste or type it, then Ctrl-D (gives up after ${deadline} without input)`
          : `waiting for standard input to end (whatever writes to it has not closed it yet; gives up after ${deadline} without data)`,
      );
    }, options.noticeMs ?? STDIN_NOTICE_MS);
    const finish = (error?: Error) => {
      clearTimeout(notice);
      clearTimeout(silence);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", finish);
      if (!error) return resolvePromise(Buffer.concat(chunks, size));
      stream.destroy?.();
      reject(error);
    };
    const waitForMore = () => {
      clearTimeout(silence);
      silence = setTimeout(() => finish(new InputStalledError(silenceLimitMs)), silenceLimitMs);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > limit) return finish(new InputTooLargeError(tooLargeMessage(limit)));
      chunks.push(bytes);
      waitForMore();
    };
    const onEnd = () => finish();
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", finish);
    waitForMore();
  });
}

/** In bytes where a tenth of a megabyte would round to "0.0 MB" (a small limit and an input over it read alike). */
const megabytes = (bytes: number) =>
  bytes < 0.05 * 1024 * 1024
    ? `${bytes} ${bytes === 1 ? "byte" : "bytes"}`
    : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

function tooLargeMessage(limit: number, size?: number): string {
  const what = size !== undefined ? `is ${megabytes(size)}` : "goes on";
  return `${what}, over the input limit of ${megabytes(limit)}`;
}

/** What to do about an input over the limit, for the commands that take --max-input-size (verify, replay). */
export const RAISE_THE_LIMIT = "raise it with --max-input-size";
/** ... and for those whose limit is fixed: it is above anything OpenMail sends, so the input is likely wrong. */
const FIXED_LIMIT = "the limit is fixed, above any OpenMail event or mail: check it is the input you meant";

/** One line naming the input and what went wrong; `tooLargeAdvice` is the next step past the size limit. */
export function describeReadError(path: string, error: unknown, tooLargeAdvice = FIXED_LIMIT): string {
  const shown = sanitizeLine(path);
  if (error instanceof InputTooLargeError) return `${shown}: ${error.message}; ${tooLargeAdvice}`;
  if (error instanceof InputStalledError) return `${shown}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    // Node.js decodes file names (and arguments) as UTF-8: a name that is not valid UTF-8 comes out
    // with U+FFFD in it, and no file has that name.
    if (path.includes(REPLACEMENT)) {
      return `${shown}: no such file; or its name is not valid UTF-8 (those bytes show as \uFFFD) and another name in its folder reads the same: rename one of them`;
    }
    return `${shown}: no such file; check the path`;
  }
  if (code === "EISDIR") return `${shown}: is a folder; give a file`;
  if (code === "ELOOP")
    return `${shown}: is a symbolic link now (it was a file when its folder was listed); not followed`;
  if (code === "EACCES" || code === "EPERM") return `${shown}: permission denied`;
  if (code === "ENOTREGULAR" || code === "ENXIO") {
    return `${shown}: not a regular file (a device, FIFO or socket); give a file, or - for standard input`;
  }
  return `${shown}: cannot read (${(error as Error).message})`;
}

export async function readRequestDocument(
  path: string,
  readStdin: StdinReader,
  limit = DEFAULT_INPUT_LIMIT,
  tooLargeAdvice?: string,
): Promise<ParsedDocument & { name: string }> {
  const bytes = await readFileOrStdin(path, readStdin, limit, tooLargeAdvice);
  const name = path === "-" ? "standard input" : path;
  try {
    return { ...parseRequestDocument(bytes), name };
  } catch (error) {
    if (error instanceof CaptureFormatError) throw inputError(`${sanitizeLine(name)}: ${error.message}`, error);
    throw error;
  }
}

/**
 * readRegularFile without blocking the event loop: every call runs in the thread pool. Opened
 * without blocking, so a FIFO cannot hold a thread of the pool (in the inspector, four such opens
 * stopped every save behind them); only a regular file within `limit` is read, so a link to
 * /dev/zero is refused, not read without end. `followLinks: false` (a folder of captures, which
 * listen never fills with links) refuses a symbolic link itself (ELOOP); settings files may be links.
 */
export async function readRegularFileAsync(path: string, limit: number, followLinks = true): Promise<Buffer> {
  const handle = await fsPromises.open(path, followLinks ? constants.O_RDONLY | constants.O_NONBLOCK : LISTED_FLAGS);
  try {
    const { size } = checkedStats(await handle.stat(), limit);
    // The size can change while reading: read to the end, but never past the limit.
    const parts: Buffer[] = [];
    let total = 0;
    let chunk = Buffer.allocUnsafe(Math.min(size, limit) + 1);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw new InputTooLargeError(tooLargeMessage(limit));
      parts.push(chunk.subarray(0, bytesRead));
      if (bytesRead === chunk.length) chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, limit - total + 1));
      else chunk = chunk.subarray(bytesRead);
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  } finally {
    await handle.close();
  }
}
