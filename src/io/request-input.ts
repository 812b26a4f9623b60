/**
 * Read a captured request from a file or standard input ("-"): a capture file or a raw HTTP dump.
 * Errors name the file and the problem, and exit 2.
 */
import { readFile } from "node:fs/promises";
import { CaptureFormatError, type ParsedDocument, parseRequestDocument } from "../core/capture.js";
import { inputError } from "../errors.js";
import { sanitizeLine } from "../output/sanitize.js";

export async function readFileOrStdin(path: string, readStdin: () => Promise<Buffer>): Promise<Buffer> {
  if (path === "-") return readStdin();
  try {
    return await readFile(path);
  } catch (error) {
    throw inputError(describeReadError(path, error), error);
  }
}

export function describeReadError(path: string, error: unknown): string {
  const shown = sanitizeLine(path);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `${shown}: no such file; check the path`;
  if (code === "EISDIR") return `${shown}: is a folder; give a file`;
  if (code === "EACCES" || code === "EPERM") return `${shown}: permission denied`;
  return `${shown}: cannot read (${(error as Error).message})`;
}

export async function readRequestDocument(
  path: string,
  readStdin: () => Promise<Buffer>,
): Promise<ParsedDocument & { name: string }> {
  const bytes = await readFileOrStdin(path, readStdin);
  const name = path === "-" ? "standard input" : path;
  try {
    return { ...parseRequestDocument(bytes), name };
  } catch (error) {
    if (error instanceof CaptureFormatError) throw inputError(`${sanitizeLine(name)}: ${error.message}`, error);
    throw error;
  }
}
