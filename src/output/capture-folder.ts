/** What is said about capture folders: one made private (a side effect on the user's files), entries passed over. */
import { sanitizeLine } from "./sanitize.js";

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;

/** "made the capture folder /x private: mode 0755 → 0700 (captures hold personal data)". */
export function tightenedFolderLine(folder: string, fromMode: number, toMode: number): string {
  return `made the capture folder ${sanitizeLine(folder)} private: mode ${octal(fromMode)} → ${octal(toMode)} (captures hold personal data)`;
}

/**
 * Why a `*.json` entry of a capture folder that is not a regular file is passed over (never read),
 * and what to do to `command` it: replay and redact say it alike.
 */
export function passedOverText(entry: { isSymbolicLink(): boolean; isDirectory(): boolean }, command: string): string {
  if (entry.isSymbolicLink()) {
    return `a symbolic link: links inside a folder are not followed (name the file it points to, to ${command} it)`;
  }
  if (entry.isDirectory()) return `a folder: folders inside a folder are not read (name it, to ${command} it)`;
  return "not a regular file (a device, FIFO or socket): not read";
}
