/**
 * The folder of captures: each request saved as one file, atomically and durably (a temporary
 * file written and fsynced, then linked or renamed into place, then the folder fsynced), folder
 * mode 0700 and file mode 0600. An existing capture is never overwritten: a clash gets a numbered
 * name.
 *
 * The folder is ours alone: it must belong to the current user and not be writable by anyone else
 * (we tighten a folder we own; we refuse one we do not, and a symlink whose target fails the same
 * test). Temporary names are random per file and created exclusively, so nobody can predict one
 * or plant a symlink in its place; a clash just draws a new name. A failed save removes its
 * temporary file, and temporary files left by a crashed run are removed at start: when the store
 * opens, or (`listen`, whose folder may hold hundreds of thousands of captures) in the one pass over
 * the folder that `scan` makes in the background after listening has begun.
 *
 * Small captures are written with synchronous calls: on the machines measured, one async fs call
 * (a hop through libuv's thread pool) cost about 8 times a sync one, and a capture of a few KB
 * blocks the event loop for well under a millisecond. Two calls are the exception. The create runs
 * in the pool: it can wait for a journal commit in progress, and under load a profile showed the
 * event loop blocked in open() half of the time (1.3x the rate in the pool, notes-i16f). And the
 * fsyncs run in the pool, so the events in flight are made durable together (the file system commits
 * concurrent fsyncs in one journal transaction) instead of one after another on the event loop,
 * and one folder fsync covers every capture linked before it started. Synchronous fsyncs held
 * `listen` to about one event per fsync pair (BENCHMARKS.md). Large captures go async, written in
 * pieces, so they never stall the loop or double in memory.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsync,
  linkSync,
  lstatSync,
  open,
  openSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeSync,
} from "node:fs";
import { chmod, link, opendir, open as openHandle, readdir, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, join, resolve, sep } from "node:path";
import { type CapturedRequest, captureFileName, serializeCapture, serializeCapturePieces } from "../core/capture.js";
import { CliError, usageError } from "../errors.js";
import { passedOverText } from "../output/capture-folder.js";
import { sanitizeLine } from "../output/sanitize.js";
import { makeCaptureFolder } from "./capture-folder.js";
import { processAlive } from "./process-alive.js";

export interface CaptureStore {
  /** Absolute path of the folder (its real path, symlinks resolved). */
  readonly dir: string;
  /** Save a new capture; returns its path. */
  save(request: CapturedRequest, eventId: string | undefined, extra?: Record<string, unknown>): Promise<string>;
  /** Rewrite a capture saved earlier (to add results), atomically. */
  update(path: string, request: CapturedRequest, extra: Record<string, unknown>): Promise<void>;
  /**
   * One pass over the folder, entry by entry (never the whole listing at once): temporary files left
   * by runs that died are removed, every other name is passed to `onName`. Errors end the pass quietly.
   */
  scan(onName: (name: string) => void): Promise<void>;
  /**
   * Rehearse a save without keeping anything: `request` written to a temporary file and fsynced,
   * the file removed, the folder fsynced. Never linked, so never a capture; a crash mid-way leaves
   * only a temporary file, which the next start sweeps. The first real save would otherwise pay for
   * the thread pool's first calls, the folder's first create and fsync, and the save path's code
   * being compiled, while events wait (BENCHMARKS.md).
   */
  warmUp(request: CapturedRequest): Promise<void>;
  /**
   * The process is leaving now (Ctrl-C): remove the files of saves still in progress, synchronously,
   * so none is left in the folder: their temporary files, and a capture already linked into place
   * whose save has not returned (it waits for the folder's fsync), which its command has not counted.
   * Captures whose save returned stay. Only a store opened with `createOnMainThread` can promise that
   * (see there). A save still running then fails.
   */
  abandon?(): void;
}

/**
 * A capture the store refuses to write whatever the folder's state (listen --redact: a body too
 * deeply nested to redact), with what to do instead of fixing the folder.
 */
export class CaptureRefusedError extends Error {
  readonly nextStep: string;
  constructor(message: string, nextStep: string) {
    super(message);
    this.name = "CaptureRefusedError";
    this.nextStep = nextStep;
  }
}

export interface CaptureStoreOptions {
  /**
   * Remove stale temporary files when the store opens (the default). `false` leaves them to `scan`,
   * which the caller then runs: listening need not wait for a listing of a large folder.
   */
  sweepAtOpen?: boolean;
  /** The option that chose the folder, named in errors (default `--save-dir`). */
  dirOption?: string;
  /** Told when an existing folder others could open was made private (its mode changed: say so). */
  onTightened?: (folder: string, fromMode: number, toMode: number) => void;
  /** A folder created for these captures gets a .gitignore (listen: they hold real email). */
  keepOutOfGit?: boolean;
  /**
   * Create each temporary file on the main thread (default: in the thread pool). A command that
   * exits at once on Ctrl-C and removes its temporary files first (`abandon`, redact) needs this: a
   * creation still running in the pool as the process exits would leave a file `abandon` could not
   * see yet. listen keeps the pool (a creation can wait for a journal commit, and listen finishes
   * its saves before it exits).
   */
  createOnMainThread?: boolean;
}

/** Above this size a capture is written asynchronously, in pieces. */
const SYNC_WRITE_LIMIT = 256 * 1024;
/** A temporary file older than this is left over from a crash whatever its pid says. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_PREFIX = ".tmp-";
const TEMP_NAME = /^\.tmp-(\d+)-[0-9a-f]+(?:-\d+)?$/;

interface FileOps {
  /** Create `path` exclusively (never through an existing file or symlink), write, fsync, close. */
  write(path: string, request: CapturedRequest, extra: Record<string, unknown>, flush: boolean): Promise<void> | void;
  link(from: string, to: string): Promise<void> | void;
  rename(from: string, to: string): Promise<void> | void;
  unlink(path: string): Promise<void> | void;
  syncDir(dir: string): Promise<void> | void;
}

const syncOps: FileOps = {
  async write(path, request, extra, flush) {
    // Created in the thread pool: creating a file can wait for a journal commit in progress (a
    // profile under load showed the event loop blocked in open() half of the time), the rest cannot.
    const fd = await openInPool(path);
    try {
      writeWholeSync(fd, serializeCapture(request, extra));
      if (flush) await fsyncInPool(fd);
    } finally {
      closeSync(fd);
    }
  },
  link: linkSync,
  rename: renameSync,
  unlink: unlinkSync,
  syncDir: syncFolder,
};

/**
 * One write() may write less than asked without an error: at a file size limit (`ulimit -f`) the
 * first write that crosses it is cut short, and only the next one fails (EFBIG). A capture saved
 * from a short write would be cut off yet answered 200, so the rest is written until it fails.
 */
function writeWholeSync(fd: number, text: string): void {
  let written = writeSync(fd, text);
  if (written === Buffer.byteLength(text)) return;
  const bytes = Buffer.from(text, "utf8");
  while (written < bytes.length) {
    const wrote = writeSync(fd, bytes, written, bytes.length - written);
    if (wrote === 0) throw new Error(`the capture could not be written whole (${written} of ${bytes.length} bytes)`);
    written += wrote;
  }
}

function openInPool(path: string): Promise<number> {
  return new Promise((resolveOpen, reject) =>
    open(path, "wx", 0o600, (error, fd) => (error ? reject(error) : resolveOpen(fd))),
  );
}

function fsyncInPool(fd: number): Promise<void> {
  return new Promise((resolveSync, reject) => fsync(fd, (error) => (error ? reject(error) : resolveSync())));
}

/**
 * fsync a folder so the links made in it are durable. One runs at a time per folder; a caller that
 * arrives while one runs waits for the next, which starts after it (its link may have come too late
 * for the running one), and shares that one with every caller that arrived meanwhile.
 */
const folderSyncs = new Map<string, () => Promise<void>>();
function syncFolder(dir: string): Promise<void> {
  let sync = folderSyncs.get(dir);
  if (!sync) {
    sync = sharedSync(async () => {
      const fd = openSync(dir, "r");
      try {
        await fsyncInPool(fd);
      } finally {
        closeSync(fd);
      }
    });
    folderSyncs.set(dir, sync);
  }
  return sync();
}

export function sharedSync(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = () => {
    const current = run().finally(() => {
      if (running === current) running = undefined;
    });
    running = current;
    return current;
  };
  return () => {
    if (!running) return start();
    next ??= running
      .catch(() => {})
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}

/**
 * Every file made on the main thread: when Ctrl-C's handler runs, each temporary file either exists
 * and is listed in flight, or was not begun. Only the fsync runs in the pool (on a file that exists).
 */
const mainThreadOps: FileOps = {
  ...syncOps,
  async write(path, request, extra, flush) {
    const fd = openSync(path, "wx", 0o600);
    try {
      // In pieces, so a large body is never one more string of its size (the same text as one piece).
      for (const piece of serializeCapturePieces(request, extra)) writeWholeSync(fd, piece);
      if (flush) await fsyncInPool(fd);
    } finally {
      closeSync(fd);
    }
  },
};

const asyncOps: FileOps = {
  async write(path, request, extra, flush) {
    const handle = await openHandle(path, "wx", 0o600);
    try {
      // writeFile, not write: it keeps writing a piece until all of it is written or it fails.
      for (const piece of serializeCapturePieces(request, extra)) await handle.writeFile(piece);
      if (flush) await handle.sync();
    } finally {
      await handle.close();
    }
  },
  link,
  rename,
  unlink,
  syncDir: syncFolder,
};

export async function openCaptureStore(dir: string, options: CaptureStoreOptions = {}): Promise<CaptureStore> {
  const absolute = await preparePrivateFolder(resolve(dir), options.dirOption, options.onTightened, options);
  // Our own temporary files while they are written: a sweep running meanwhile must leave them alone.
  const inFlight = new Set<string>();
  // Linked into place, their saves not returned yet (a store that can be abandoned: listen's saves,
  // which always finish, keep no such set on their path).
  const unconfirmed = options.createOnMainThread ? new Set<string>() : undefined;
  const randomHex = randomNames();
  const opsFor = options.createOnMainThread ? () => mainThreadOps : opsBySize;
  const sweepEntry = (name: string) => {
    if (!inFlight.has(name)) removeIfStaleTemporary(absolute, name);
  };
  if (options.sweepAtOpen !== false) await walkFolder(absolute, sweepEntry);
  return {
    dir: absolute,
    async save(request, eventId, extra = {}) {
      const ops = opsFor(request);
      const temporary = await writeTemporary(ops, absolute, request, extra, true, inFlight, randomHex);
      let path: string;
      try {
        path = await linkUnique(ops, temporary, absolute, captureFileName(request.receivedAt, eventId));
      } finally {
        // Removed before the folder's fsync, which then makes the removal durable with the link, so
        // the answer does not wait for it (a crash before that fsync leaves at most a temporary file,
        // which the next start sweeps).
        await removeQuietly(ops, temporary);
        inFlight.delete(basename(temporary));
      }
      if (!unconfirmed) {
        await ops.syncDir(absolute);
        return path;
      }
      unconfirmed.add(path);
      try {
        await ops.syncDir(absolute);
      } catch (error) {
        unconfirmed.delete(path);
        throw error;
      }
      // Gone from the set: abandon() removed the capture meanwhile.
      if (!unconfirmed.delete(path)) throw new Error(`${path}: removed, its save was abandoned`);
      return path;
    },
    async update(path, request, extra) {
      const ops = opsFor(request);
      // Best effort (README): not fsynced, so it is in place at once, and a crash loses only this update.
      const temporary = await writeTemporary(ops, absolute, request, extra, false, inFlight, randomHex);
      try {
        await ops.rename(temporary, path);
      } catch (error) {
        await removeQuietly(ops, temporary);
        throw error;
      } finally {
        inFlight.delete(basename(temporary));
      }
    },
    scan(onName) {
      return walkFolder(absolute, sweepEntry, onName);
    },
    async warmUp(request) {
      const ops = opsFor(request);
      const temporary = await writeTemporary(ops, absolute, request, {}, true, inFlight, randomHex);
      try {
        await ops.unlink(temporary);
      } finally {
        inFlight.delete(basename(temporary));
      }
      await ops.syncDir(absolute);
    },
    abandon() {
      const paths = [...[...inFlight].map((name) => `${absolute}${sep}${name}`), ...(unconfirmed ?? [])];
      for (const path of paths) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone (renamed into place or removed by its own save).
        }
      }
      inFlight.clear();
      unconfirmed?.clear();
    },
  };
}

function opsBySize(request: CapturedRequest): FileOps {
  // The capture's text is about the body's size plus a little (base64 makes it 4/3).
  return request.body.length * 1.4 + 4096 <= SYNC_WRITE_LIMIT ? syncOps : asyncOps;
}

/**
 * 128 random bits per name, as hex, drawn from a pool refilled every 256 names: one call for random
 * bytes per save cost more than the rest of the name (a profile of listen under load).
 */
function randomNames(): () => string {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 16 > pool.length) {
      pool = randomBytes(16 * 256);
      offset = 0;
    }
    offset += 16;
    return pool.toString("hex", offset - 16, offset);
  };
}

/** Write a new temporary file under a fresh random name; a name that exists already is drawn again. */
async function writeTemporary(
  ops: FileOps,
  dir: string,
  request: CapturedRequest,
  extra: Record<string, unknown>,
  flush: boolean,
  inFlight: Set<string>,
  randomHex: () => string,
): Promise<string> {
  for (let tries = 0; ; tries++) {
    const name = `${TEMP_PREFIX}${process.pid}-${randomHex()}`;
    // The folder is a real absolute path and the name is ours: no join() to normalise anything.
    const temporary = `${dir}${sep}${name}`;
    inFlight.add(name);
    try {
      await ops.write(temporary, request, extra, flush);
      return temporary;
    } catch (error) {
      inFlight.delete(name);
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && tries < 8) continue;
      // A full disk leaves a partial file behind: remove it (if it was ours to begin with).
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") await removeQuietly(ops, temporary);
      throw error;
    }
  }
}

async function removeQuietly(ops: FileOps, path: string): Promise<void> {
  try {
    await ops.unlink(path);
  } catch {
    // Already renamed into place (no hard links on this file system), or never created.
  }
}

/** link() fails rather than overwrite, which makes "first free name" atomic. */
async function linkUnique(ops: FileOps, temporary: string, dir: string, name: string): Promise<string> {
  const stem = name.replace(/\.json$/, "");
  for (let n = 1; n < 10_000; n++) {
    const path = `${dir}${sep}${n === 1 ? name : `${stem}-${n}.json`}`;
    try {
      await ops.link(temporary, path);
      return path;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS") {
        // File systems without hard links: rename is still atomic, only the no-overwrite check is not.
        await ops.rename(temporary, path);
        return path;
      }
      throw error;
    }
  }
  throw new Error(`too many captures named ${name} in ${dir}`);
}

/**
 * Create the folder (0700) or check an existing one: it must be a folder owned by us and not
 * writable by others; one we own is tightened to 0700. A symlink is followed and its target must
 * pass the same test. Returns the real path, which is what gets written to from then on.
 */
export async function preparePrivateFolder(
  absolute: string,
  dirOption = "--save-dir",
  onTightened?: CaptureStoreOptions["onTightened"],
  { keepOutOfGit = false }: Pick<CaptureStoreOptions, "keepOutOfGit"> = {},
): Promise<string> {
  const shown = sanitizeLine(absolute);
  try {
    await makeCaptureFolder(absolute, { keepOutOfGit });
  } catch (error) {
    throw usageError(
      `cannot create the capture folder ${shown}: ${(error as Error).message}; choose another with ${dirOption}`,
    );
  }
  const real = await realpath(absolute);
  const info = await stat(real);
  if (!info.isDirectory()) throw usageError(`${shown} is not a folder; choose another with ${dirOption}`);
  const problem = ownershipProblem(info);
  if (problem) {
    const via = real !== absolute ? ` (a link to ${sanitizeLine(real)})` : "";
    throw new CliError(
      `refusing the capture folder ${shown}${via}: ${problem}, so another user could change or read captures; ` +
        `choose another with ${dirOption}`,
      { code: "input_error" },
    );
  }
  if ((info.mode & 0o077) !== 0) {
    try {
      await chmod(real, info.mode & 0o700);
    } catch (error) {
      // A read-only file system, say: the folder cannot be made private, nor written to.
      throw usageError(
        `cannot make the capture folder ${shown} private (${(error as Error).message}); choose another with ${dirOption}`,
      );
    }
    onTightened?.(real, info.mode & 0o777, info.mode & 0o700);
  }
  return real;
}

function ownershipProblem(info: Stats): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // Windows: no POSIX owner or mode to check.
  if (info.uid !== uid) return `it belongs to another user (uid ${info.uid}), not to you (uid ${uid})`;
  return undefined;
}

/**
 * The folder entry by entry (never the whole listing at once): temporary files to `onTemporary`,
 * every other name to `onName`. An unreadable folder ends the walk quietly: nothing to sweep or recognise.
 */
async function walkFolder(
  dir: string,
  onTemporary: (name: string) => void,
  onName?: (name: string) => void,
): Promise<void> {
  try {
    const folder = await opendir(dir, { bufferSize: 1024 });
    for await (const entry of folder) {
      if (entry.name.startsWith(TEMP_PREFIX)) onTemporary(entry.name);
      else onName?.(entry.name);
    }
  } catch {
    // Unreadable.
  }
}

/** Remove `name` if it is a temporary file of a run that died (its pid is gone, or it is an hour old). */
function removeIfStaleTemporary(dir: string, name: string): void {
  const match = TEMP_NAME.exec(name);
  if (!match) return;
  const path = join(dir, name);
  try {
    const info = lstatSync(path);
    if (!info.isFile() && !info.isSymbolicLink()) return;
    // Our own pid here is a run before us whose pid was reused: our saves in flight are never swept.
    const pid = Number(match[1]);
    if (pid !== process.pid && processAlive(pid) && Date.now() - info.mtimeMs < STALE_TEMP_MS) return;
    unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove.
  }
}

/**
 * Capture files in a folder (names ending in .json, temporary files skipped), oldest name first.
 * The other `*.json` entries (links, folders, FIFOs: never read) go to `passedOver` (sorted), each with why,
 * said as replay says it (passedOverText), with `command` as the verb.
 */
export async function listCaptureFiles(
  dir: string,
  passedOver: Array<{ path: string; what: string }>,
  command: string,
): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  // In "." (`verify .`), join gives the bare name: one like "-x.json" is printed, and pasted into the
  // next command, as an option. "./-x.json" is the same file and reads as one.
  const inFolder = (name: string) => {
    const path = join(dir, name);
    return path.startsWith("-") ? `.${sep}${path}` : path;
  };
  for (const entry of entries) {
    if (!entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
    if (entry.isFile()) names.push(entry.name);
    else passedOver.push({ path: inFolder(entry.name), what: passedOverText(entry, command) });
  }
  passedOver.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return names.sort().map(inFolder);
}
