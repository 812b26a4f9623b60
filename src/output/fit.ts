/**
 * Fitting text to a terminal's width: display width that counts wide characters (emoji, CJK) as
 * two columns and combining marks as none, truncation that never splits a character, and word
 * wrapping that keeps a line's indentation and its colours. Pure.
 */
import stringWidth from "string-width";

// Made on first use: the first Intl.Segmenter of a process loads ICU data (about 10 ms), which
// commands that print only ASCII never need.
let segmenter: Intl.Segmenter | undefined;
function graphemes(text: string): Intl.Segments {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return segmenter.segment(text);
}
// biome-ignore lint/suspicious/noControlCharactersInRegex: SGR codes are what we step over
const STYLE_CODE = /\u001b\[[0-9;]*m/y;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Columns the text takes on a terminal (style codes take none). */
export function displayWidth(text: string): number {
  // Printable ASCII, most of what is shown, is one column a character (string-width says the
  // same). Answering it here means the bundled CLI loads string-width, whose set-up costs about
  // 25 ms, only once something wider is shown (scripts/bundle.mjs defers its loading).
  return PRINTABLE_ASCII.test(text) ? text.length : stringWidth(text);
}

/** Cut plain text to at most `max` columns, ending in "…" when cut; whole characters only. */
export function truncateToWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  if (max <= 0) return "";
  let out = "";
  let used = 0;
  for (const { segment } of graphemes(text)) {
    const width = displayWidth(segment);
    if (used + width > max - 1) break;
    out += segment;
    used += width;
  }
  return `${out}…`;
}

/** A run of the line: a style code (no width) or one character cluster. */
interface Cell {
  text: string;
  width: number;
  style: boolean;
}

function cells(line: string): Cell[] {
  const out: Cell[] = [];
  let index = 0;
  while (index < line.length) {
    STYLE_CODE.lastIndex = index;
    const style = STYLE_CODE.exec(line);
    if (style) {
      out.push({ text: style[0], width: 0, style: true });
      index += style[0].length;
      continue;
    }
    let next = line.indexOf("\u001b[", index);
    if (next === -1) next = line.length;
    if (next === index) next = index + 1;
    for (const { segment } of graphemes(line.slice(index, next))) {
      out.push({ text: segment, width: displayWidth(segment), style: false });
    }
    index = next;
  }
  return out;
}

/**
 * Wrap one line to `columns` at spaces. Continuation lines get the line's own indentation plus
 * two spaces; a word too long for a line on its own (a path, URL or command) gets a line of its
 * own and is never cut, so it can be copied. Colours open at the break are closed and reopened on the next line.
 */
export function wrapLine(line: string, columns: number): string[] {
  if (columns < 20 || displayWidth(line) <= columns) return [line];
  const all = cells(line);
  const firstText = all.findIndex((cell) => !cell.style && cell.text !== " ");
  const leadSpaces = all.slice(0, Math.max(0, firstText)).filter((cell) => !cell.style).length;
  const originalIndent = " ".repeat(leadSpaces);
  const indent = " ".repeat(Math.min(leadSpaces + 2, Math.floor(columns / 2)));

  // Words: runs of non-space cells, each with the style codes just before it and the number of
  // spaces that separated it from the previous word (kept when both stay on one line).
  const leading: Cell[] = [];
  const words: Array<{ cells: Cell[]; gap: number }> = [];
  let word: Cell[] = [];
  let spaces = 0;
  let gap = 0;
  const endWord = () => {
    if (word.some((cell) => !cell.style)) words.push({ cells: word, gap });
    else if (words.length > 0) words[words.length - 1]?.cells.push(...word);
    else leading.push(...word);
    word = [];
  };
  for (const cell of all) {
    if (!cell.style && cell.text === " ") {
      if (spaces === 0) endWord();
      spaces += 1;
      continue;
    }
    if (spaces > 0 || word.length === 0) gap = spaces;
    spaces = 0;
    word.push(cell);
  }
  endWord();

  const lines: string[] = [];
  const active: string[] = [];
  const track = (cell: Cell) => {
    if (!cell.style) return;
    if (cell.text === "\u001b[0m") active.length = 0;
    else active.push(cell.text);
  };
  leading.forEach(track);
  let current = originalIndent + leading.map((cell) => cell.text).join("");
  let used = originalIndent.length;
  let lineHasWord = false;

  for (const { cells: w, gap: before } of words) {
    const width = w.reduce((sum, cell) => sum + cell.width, 0);
    const separator = lineHasWord ? Math.max(1, before) : 0;
    if (width > columns - used - separator && lineHasWord) {
      lines.push(active.length > 0 ? `${current}\u001b[0m` : current);
      current = indent + active.join("");
      used = indent.length;
      lineHasWord = false;
    }
    // A word wider than a line (a path, a URL, a command) is never cut: it gets a line of its own,
    // unindented, and the terminal wraps it, so it can still be copied whole.
    const tooWide = width > columns - used;
    if (tooWide && used > 0 && !lineHasWord && current.trim() === active.join("").trim()) {
      current = active.join("");
      used = 0;
    }
    const space = lineHasWord ? separator : 0;
    current += " ".repeat(space);
    used += space;
    for (const cell of w) {
      track(cell);
      current += cell.text;
    }
    used += width;
    lineHasWord = true;
  }
  lines.push(current);
  return lines;
}
