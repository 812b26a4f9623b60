/**
 * The folder of captures: each request saved as one file, atomically (a temporary file, then a
 * link or rename into place), folder mode 0700 and file mode 0600. An existing capture is never
 * overwritten: a clash gets a numbered name.
 *
 * Small captures are written with synchronous calls: on the machines measured, one async fs call
 * (a hop through libuv's thread pool) cost about 8 times a sync one, and a capture of a few KB
 * blocks the event loop for well under a millisecond. Large ones go async so they never stall it.
 */
import { randomBytes } from "node:crypto";
import { linkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { link, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type CapturedRequest, captureFileName, serializeCapture } from "../core/capture.js";
import { makeCaptureFolder } from "./capture-folder.js";

export interface CaptureStore {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Save a new capture; returns its path. */
  save(request: CapturedRequest, eventId: string | undefined, extra?: Record<string, unknown>): Promise<string>;
  /** Rewrite a capture saved earlier (to add results), atomically. */
  update(path: string, request: CapturedRequest, extra: Record<string, unknown>): Promise<void>;
}

/** Above this size a capture is written asynchronously. */
const SYNC_WRITE_LIMIT = 256 * 1024;

interface FileOps {
  write(path: string, content: string): Promise<void> | void;
  link(from: string, to: string): Promise<void> | void;
  rename(from: string, to: string): Promise<void> | void;
  unlink(path: string): Promise<void> | void;
}

const syncOps: FileOps = {
  write: (path, content) => writeFileSync(path, content, { mode: 0o600, flag: "wx" }),
  link: linkSync,
  rename: renameSync,
  unlink: unlinkSync,
};

const asyncOps: FileOps = {
  write: (path, content) => writeFile(path, content, { mode: 0o600, flag: "wx" }),
  link,
  rename,
  unlink,
};

export async function openCaptureStore(dir: string): Promise<CaptureStore> {
  const absolute = resolve(dir);
  await makeCaptureFolder(absolute);
  // Unique per process by pid and a counter; the random part only guards against a recycled pid.
  const prefix = `.tmp-${process.pid}-${randomBytes(4).toString("hex")}-`;
  let counter = 0;
  const temporaryPath = () => join(absolute, `${prefix}${counter++}`);
  return {
    dir: absolute,
    async save(request, eventId, extra = {}) {
      const content = serializeCapture(request, extra);
      const ops = content.length <= SYNC_WRITE_LIMIT ? syncOps : asyncOps;
      const temporary = temporaryPath();
      await ops.write(temporary, content);
      try {
        return await linkUnique(ops, temporary, absolute, captureFileName(request.receivedAt, eventId));
      } finally {
        try {
          await ops.unlink(temporary);
        } catch {
          // Already renamed into place (no hard links on this file system).
        }
      }
    },
    async update(path, request, extra) {
      const content = serializeCapture(request, extra);
      const ops = content.length <= SYNC_WRITE_LIMIT ? syncOps : asyncOps;
      const temporary = temporaryPath();
      await ops.write(temporary, content);
      await ops.rename(temporary, path);
    },
  };
}

/** link() fails rather than overwrite, which makes "first free name" atomic. */
async function linkUnique(ops: FileOps, temporary: string, dir: string, name: string): Promise<string> {
  const stem = name.replace(/\.json$/, "");
  for (let n = 1; n < 10_000; n++) {
    const path = join(dir, n === 1 ? name : `${stem}-${n}.json`);
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

/** Capture files in a folder (names ending in .json, temporary files skipped), oldest name first. */
export async function listCaptureFiles(dir: string): Promise<string[]> {
  return (await listCaptureNames(dir)).map((name) => join(dir, name));
}

/** The names alone (without the folder), for callers that keep many: a path each would double the memory. */
export async function listCaptureNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.isFile() && entry.name.endsWith(".json") && !entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}
