/**
 * The folder of captures: each request saved as one file, atomically (a temporary file, then a
 * link or rename into place), folder mode 0700 and file mode 0600. An existing capture is never
 * overwritten: a clash gets a numbered name.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type CapturedRequest, captureFileName, serializeCapture } from "../core/capture.js";

export interface CaptureStore {
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Save a new capture; returns its path. */
  save(request: CapturedRequest, eventId: string | undefined, extra?: Record<string, unknown>): Promise<string>;
  /** Rewrite a capture saved earlier (to add results), atomically. */
  update(path: string, request: CapturedRequest, extra: Record<string, unknown>): Promise<void>;
}

export async function openCaptureStore(dir: string): Promise<CaptureStore> {
  const absolute = resolve(dir);
  await mkdir(absolute, { recursive: true, mode: 0o700 });
  return {
    dir: absolute,
    async save(request, eventId, extra = {}) {
      const name = captureFileName(request.receivedAt, eventId);
      const temporary = await writeTemporary(absolute, serializeCapture(request, extra));
      try {
        return await linkUnique(temporary, absolute, name);
      } finally {
        await unlink(temporary).catch(() => {});
      }
    },
    async update(path, request, extra) {
      const temporary = await writeTemporary(absolute, serializeCapture(request, extra));
      await rename(temporary, path);
    },
  };
}

async function writeTemporary(dir: string, content: string): Promise<string> {
  const path = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  await writeFile(path, content, { mode: 0o600, flag: "wx" });
  return path;
}

/** link() fails rather than overwrite, which makes "first free name" atomic. */
async function linkUnique(temporary: string, dir: string, name: string): Promise<string> {
  const stem = name.replace(/\.json$/, "");
  for (let n = 1; n < 10_000; n++) {
    const path = join(dir, n === 1 ? name : `${stem}-${n}.json`);
    try {
      await link(temporary, path);
      return path;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS") {
        // File systems without hard links: rename is still atomic, only the no-overwrite check is not.
        await rename(temporary, path);
        return path;
      }
      throw error;
    }
  }
  throw new Error(`too many captures named ${name} in ${dir}`);
}

/** Capture files in a folder (names ending in .json, temporary files skipped), oldest name first. */
export async function listCaptureFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json") && !entry.name.startsWith("."))
    .map((entry) => join(dir, entry.name))
    .sort();
}
