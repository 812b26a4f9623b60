/**
 * Creating the capture folder: one level at a time, so a path that cannot exist fails at once
 * (Node 20's recursive mkdir spins forever on some, e.g. under /proc), and with a .gitignore in
 * ./.openmail-hooks, since the captures there hold real email that must not end up in a repository;
 * and in a folder listen creates for its captures elsewhere (--save-dir). Other folders are the user's
 * choice: redacted captures, for one, are meant to be shared.
 */
import { existsSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

const GITIGNORE = "# Written by openmail-hooks: captures hold real email; keep them out of git.\n*\n";
/** The folder listen saves under by default; it gets a .gitignore whenever one is missing. */
const TOOL_FOLDER = ".openmail-hooks";

/**
 * Create `dir` (mode 0700) and any missing parents; returns the folders it created, outermost first.
 * `keepOutOfGit`: a folder of captures this call creates elsewhere than under ./.openmail-hooks (listen
 * --save-dir captures) gets a .gitignore of its own too; a folder that already existed is left as it is.
 */
export async function makeCaptureFolder(dir: string, { keepOutOfGit = false } = {}): Promise<string[]> {
  const absolute = resolve(dir);
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw Object.assign(new Error(`${current} is not a folder`), { code: "ENOTDIR" });
      break;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing) await mkdir(folder, { mode: 0o700 });
  const underToolFolder = await ignoreInGit(absolute);
  if (keepOutOfGit && !underToolFolder && missing.includes(absolute)) await writeGitignore(absolute);
  return missing;
}

/** "wx": never overwrite a .gitignore someone wrote; failing to write one never blocks saving. */
async function writeGitignore(folder: string): Promise<void> {
  await writeFile(join(folder, ".gitignore"), GITIGNORE, { flag: "wx", mode: 0o644 }).catch(() => {});
}

/**
 * Drop a .gitignore into a .openmail-hooks folder (the capture folder or one above it) that has none.
 * Returns whether there was such a folder.
 */
async function ignoreInGit(dir: string): Promise<boolean> {
  let found = false;
  for (let folder = dir; dirname(folder) !== folder; folder = dirname(folder)) {
    if (basename(folder) !== TOOL_FOLDER) continue;
    found = true;
    await writeGitignore(folder);
  }
  return found;
}

/**
 * A save that failed because the capture folder itself is gone (removed while listen runs): every
 * later save fails the same way, so say that, and what to do, rather than ENOENT on a temporary file.
 * Only on the error path (one existsSync), never per saved event.
 */
export function goneFolderProblem(error: unknown, dir: string): { message: string; nextStep: string } | undefined {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== "ENOENT" || existsSync(dir)) return undefined;
  return {
    message: "the capture folder is gone (removed while listen runs)",
    nextStep: "create the folder again or restart listen, which creates it; or run with --no-save",
  };
}
