/**
 * The one sanitiser for everything that came from outside (payloads, headers, subjects, file names,
 * response bodies) before it reaches a terminal: escape sequences removed, other control and
 * bidirectional-override characters shown as visible escapes. Pure.
 */
import { truncateToWidth } from "./fit.js";

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST, possibly unterminated), DCS/SOS/PM/APC strings,
// two- and three-byte escapes (ESC ( B, ESC 7, ESC c), and the 8-bit CSI/OSC forms.
const ESCAPE_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]?|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[PX^_][^\u001b]*(?:\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]?|\u009d[^\u0007\u001b]*(?:\u0007|\u001b\\)?/g;

// C0 controls, DEL, C1 controls, the bidi controls that can reorder what a reader sees, the line and
// paragraph separators, and the invisible characters that make two different ids look the same (zero
// width space, word joiner and invisible operators, the byte-order mark, and the tag characters,
// U+E0000-E007F, matched as their surrogate pairs). The zero width (non-)joiners U+200C and U+200D are
// kept: Persian and Indic text and emoji sequences need them. The source of a regular expression
// (without the u flag: it matches UTF-16 units), so that the inspector page uses the very same set.
export const CONTROL_CHARACTERS =
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b\\u200e\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]|\\udb40[\\udc00-\\udc7f]";
const CONTROL = new RegExp(CONTROL_CHARACTERS, "g");
// The same characters, tested once: every escape sequence starts with one of them (ESC, 8-bit CSI
// or OSC), and so do CR, newline and tab, so text without any is returned as it is, unscanned.
const ANY_CONTROL = new RegExp(CONTROL_CHARACTERS);

function visible(ch: string): string {
  const code = ch.codePointAt(0) as number;
  if (code > 0xffff) return `\\u{${code.toString(16)}}`;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** For multi-line text (a body preview): keeps newlines and tabs, drops CR, neutralises the rest. */
export function sanitizeText(value: string): string {
  if (!ANY_CONTROL.test(value)) return value;
  return value
    .replace(ESCAPE_SEQUENCE, "")
    .replace(/\r\n?/g, "\n")
    .replace(CONTROL, (ch) => (ch === "\n" || ch === "\t" ? ch : visible(ch)));
}

/** For one-line fields (subject, address, id, file name): newlines and tabs become spaces. */
export function sanitizeLine(value: string): string {
  if (!ANY_CONTROL.test(value)) return value;
  return sanitizeText(value).replace(/[\n\t]/g, " ");
}

/** sanitizeLine, then cut to `max` columns with an ellipsis (never inside a character). */
export function clip(value: string, max: number): string {
  return truncateToWidth(sanitizeLine(value), max);
}

/**
 * clip for a value shown on a terminal line `columns` wide (undefined: not a terminal) after
 * `used` columns: cut to what is left of the line, or to `max`, whichever is less, so a value too
 * long for the line ends in "…" instead of spilling over. Paths, URLs and commands never come
 * here: they stay whole, so they can be copied.
 */
export function clipToLine(value: string, max: number, columns: number | undefined, used: number): string {
  return clip(value, columns === undefined ? max : Math.min(max, Math.max(1, columns - used)));
}

/**
 * The colour and weight codes chalk emits for the styles this tool uses (reset, bold, dim, normal
 * weight, the 16 foreground colours and their reset). Nothing else that starts with ESC survives.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching our own SGR codes is the point
const OWN_STYLE = /(\u001b\[(?:0|1|2|22|3[0-79]|9[0-7])m)/;
/**
 * A character terminalSafe would change: a control character (newline and tab are kept) that does
 * not start one of our own style codes. Most lines have none, and are returned unscanned.
 */
const UNSAFE_OUTSIDE_OWN_STYLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\u001b(?!\[(?:0|1|2|22|3[0-79]|9[0-7])m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/;

/**
 * The last step before anything reaches a terminal: every character outside our own style codes
 * goes through sanitizeText, so a string that skipped its call site's sanitiser still cannot move
 * the cursor, set a title, open a link or reorder text.
 */
export function terminalSafe(text: string): string {
  if (!UNSAFE_OUTSIDE_OWN_STYLE.test(text)) return text;
  const parts = text.split(OWN_STYLE);
  // split() with a capture group alternates: text, style, text, style, ...
  return parts.map((part, index) => (index % 2 === 1 ? part : sanitizeText(part))).join("");
}

// C1 controls, DEL, line/paragraph separators, bidi controls and the invisible characters above:
// JSON.stringify leaves them raw.
const JSON_UNSAFE =
  /[\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;
/** The same characters, tested once: most JSON has none, and a replace copies the text even then. */
const ANY_JSON_UNSAFE = new RegExp(JSON_UNSAFE.source);

/** Each UTF-16 unit of `ch` as a JSON \u escape (a tag character is two). */
function jsonEscape(ch: string): string {
  let escaped = "";
  for (let i = 0; i < ch.length; i++) escaped += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return escaped;
}

/** One NDJSON record: JSON.stringify, with the characters it leaves raw written as \u escapes. */
export function jsonLine(record: unknown): string {
  return jsonSafe(JSON.stringify(record));
}

/** JSON text (JSON.stringify's) with the characters it leaves raw written as \u escapes: the same JSON value. */
export function jsonSafe(json: string): string {
  return ANY_JSON_UNSAFE.test(json) ? json.replace(JSON_UNSAFE, jsonEscape) : json;
}
