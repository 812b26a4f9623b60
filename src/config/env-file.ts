/**
 * Write settings into a .env file without disturbing anything else in it: every other line,
 * comment, blank line and line ending stays byte for byte; an existing assignment is replaced in
 * place, a new one appended. The file is replaced atomically (temporary file + rename), keeps its
 * mode, and is created 0600 because it holds secrets.
 */
import { randomBytes } from "node:crypto";
import { chmod, lstat, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InputTooLargeError, readRegularFileAsync } from "../io/request-input.js";

/** Names we write are ours (OPENMAIL_…), so a plain identifier check is enough. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A .env file larger than this is not a .env file. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

export interface EnvFileUpdate {
  path: string;
  /** Names whose assignment was replaced, and names appended. */
  replaced: string[];
  added: string[];
  created: boolean;
}

export async function upsertEnvFile(path: string, values: Record<string, string>): Promise<EnvFileUpdate> {
  for (const [name, value] of Object.entries(values)) {
    if (!NAME.test(name)) throw new Error(`not a variable name: ${name}`);
    if (/[\r\n]/.test(value)) throw new Error(`the value for ${name} contains a line break`);
  }
  const shownPath = path;
  path = await linkTarget(path);
  let original: string | undefined;
  let mode = 0o600;
  try {
    mode = (await stat(path)).mode & 0o777;
    original = (await readRegularFileAsync(path, MAX_ENV_FILE_BYTES)).toString("utf8");
  } catch (error) {
    if (error instanceof InputTooLargeError) throw new Error(`${path} is larger than 1 MB; is it really a .env file?`);
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const { text, replaced, added } = applyEnvAssignments(original ?? "", values);
  await writeAtomically(path, text, mode);
  return { path: shownPath, replaced, added, created: original === undefined };
}

/** Pure: the new file text. The last assignment of a name wins in dotenv, so that one is replaced. */
export function applyEnvAssignments(
  original: string,
  values: Record<string, string>,
): { text: string; replaced: string[]; added: string[] } {
  // Split keeping each line's own ending, so CRLF and LF files come back unchanged.
  const lines: string[] = original.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const replaced: string[] = [];
  const added: string[] = [];
  const eol = original.includes("\r\n") ? "\r\n" : "\n";
  for (const [name, value] of Object.entries(values)) {
    const assignment = new RegExp(`^(\\s*(?:export\\s+)?${name}\\s*=[ \\t]*)`);
    let found = -1;
    for (let i = 0; i < lines.length; i++) if (assignment.test(lines[i] as string)) found = i;
    if (found >= 0) {
      const line = lines[found] as string;
      const prefix = (assignment.exec(line) as RegExpExecArray)[1] ?? "";
      const span = spanOfValue(lines, found, prefix.length);
      const lastLine = lines[found + span - 1] as string;
      const ending = lastLine.endsWith("\r\n") ? "\r\n" : lastLine.endsWith("\n") ? "\n" : "";
      // An unquoted value's trailing " # comment" is a comment to dotenv: keep it.
      const oldValue = line.slice(prefix.length).replace(/\r?\n$/, "");
      const comment = span === 1 && !/^["'`]/.test(oldValue) ? (/\s+#.*$/.exec(oldValue)?.[0] ?? "") : "";
      lines.splice(found, span, `${prefix}${quote(value)}${comment}${ending}`);
      replaced.push(name);
    } else {
      const last = lines.at(-1);
      if (last !== undefined && !last.endsWith("\n")) lines[lines.length - 1] = `${last}${eol}`;
      lines.push(`${name}=${quote(value)}${eol}`);
      added.push(name);
    }
  }
  return { text: lines.join(""), replaced, added };
}

/** How many lines an assignment's value spans (dotenv allows quoted values across lines). */
function spanOfValue(lines: string[], index: number, valueStart: number): number {
  const rest = (lines[index] as string).slice(valueStart).trimStart();
  const quoteChar = rest[0];
  if (quoteChar !== '"' && quoteChar !== "'" && quoteChar !== "`") return 1;
  if (rest.indexOf(quoteChar, 1) > 0) return 1;
  for (let end = index + 1; end < lines.length; end++) {
    if ((lines[end] as string).includes(quoteChar)) return end - index + 1;
  }
  return 1;
}

/** Bare when safe for dotenv, else single-quoted (dotenv takes single-quoted values literally). */
function quote(value: string): string {
  if (/^[A-Za-z0-9_\-.:+/=@,]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"') && !value.includes("\\")) return `"${value}"`;
  throw new Error("the value contains both quote kinds and cannot be written to a .env file");
}

/**
 * The file a .env that is a symbolic link points at: that is the file the app reads, so it is the
 * one updated (replacing the link with a new file left the target with the old, rotated secret).
 */
async function linkTarget(path: string): Promise<string> {
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!info?.isSymbolicLink()) return path;
  try {
    return await realpath(path);
  } catch {
    throw new Error(`${path} is a symbolic link to a file that does not exist; fix or remove the link`);
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(temporary, "wx", mode);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    // open()'s mode is filtered by the umask; the file must end up with exactly this one.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
