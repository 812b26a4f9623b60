/** What is said when a capture folder had to be made private (a side effect on the user's files). */
import { sanitizeLine } from "./sanitize.js";

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;

/** "made the capture folder /x private: mode 0755 → 0700 (captures hold personal data)". */
export function tightenedFolderLine(folder: string, fromMode: number, toMode: number): string {
  return `made the capture folder ${sanitizeLine(folder)} private: mode ${octal(fromMode)} → ${octal(toMode)} (captures hold personal data)`;
}
