/**
 * Where output goes: stdout for the report or NDJSON data, stderr for progress, warnings and
 * errors. Colour follows the stream: off when it is not a terminal or NO_COLOR is set, on with
 * FORCE_COLOR. This is the one way text reaches a terminal, and it sanitises everything it writes
 * (terminalSafe) and fits it to the terminal's width, so no call site can forget to.
 */
import { Chalk, type ChalkInstance, supportsColor, supportsColorStderr } from "chalk";
import {
  beforeOutputWait,
  droppedLines,
  OUTPUT_QUEUE_BOUND,
  SENDER_QUEUE_BYTES,
  whenQueuedAtMost,
} from "../output-drain.js";
import { outputLost } from "../output-lost.js";
import { displayWidth, truncateToWidth, wrapLine } from "./fit.js";
import { recordLine } from "./records.js";
import { terminalSafe } from "./sanitize.js";

export interface Output {
  /** A line of the report on stdout (sanitised, wrapped to the terminal's width). */
  out(line: string): void;
  /** One NDJSON record on stdout (never wrapped; characters JSON leaves raw are escaped). */
  record(record: unknown): void;
  /** Exact bytes on stdout (for raw requests piped to a file; sanitised on a terminal). */
  write(data: string | Uint8Array): void;
  /** A line for humans on stderr: progress, warnings, errors. */
  err(line: string): void;
  /** Rewrite the live progress line on stderr (terminals only; a no-op elsewhere). */
  progress(line: string): void;
  /** Take the live progress line off the screen (at the end of a run), so nothing is glued to it. */
  endProgress(): void;
  /**
   * undefined while stdout's reader keeps up; else a promise that settles once it has taken most of
   * what is queued (or took nothing for OUTPUT_PATIENCE_MS). Senders wait on it so their output is
   * bounded; listen does not (it cannot make OpenMail wait): past OUTPUT_QUEUE_BOUND its lines are
   * dropped, counted and said.
   */
  roomForOutput(): Promise<void> | undefined;
  /** Colours for stdout and for stderr. */
  color: ChalkInstance;
  errColor: ChalkInstance;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** The terminal's width for stdout, when stdout is a terminal. */
  columns?: number;
}

/** The lines `text` becomes on a terminal `columns` wide (one line each when the width is unknown). */
export function fitLines(text: string, columns: number | undefined): string[] {
  const lines = terminalSafe(text).split("\n");
  return columns ? lines.flatMap((line) => wrapLine(line, columns)) : lines;
}

function colorLevel(env: NodeJS.ProcessEnv, detected: false | { level: number }): 0 | 1 | 2 | 3 {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "" && !forced) return 0;
  return detected ? (detected.level as 0 | 1 | 2 | 3) : 0;
}

/**
 * stdout written at most once per event-loop turn, and under a steady stream of lines at most once
 * per STDOUT_GAP_MS: a busy `listen` prints two lines per event, and one write() per line was a
 * fifth of its time per event (BENCHMARKS.md). A write per turn (about one per 20 events at 12,000
 * events a second) still woke the pipe's reader each time: with no write at all `listen --no-save`
 * used 3.4% less CPU per event (paired runs, notes-p7); the gap halves the writes. A line after a
 * quiet moment is written in its own turn as before; only lines that come within a few milliseconds
 * of the last write wait for the rest of that gap, which no person or pipe reader can tell from at
 * once. Lines keep their
 * order; anything written to stderr, or as raw bytes, first writes what is pending; and what is
 * pending when the process exits is written then (stdout is synchronous for files and terminals;
 * on a pipe, what the pipe cannot take yet is queued, and cli.ts waits for the reader: output-drain.ts). The lines are encoded into one buffer as they come, outside V8's heap:
 * gathered as one string, a turn's lines stayed alive through the young generation's collections
 * that came meanwhile, and that made V8 grow its young generation, and listen's memory, over a long
 * run (notes-n4). Bounded: the buffer is written out when the next line might not fit.
 */
/** stdout's lines are written at most this often when they come in a steady stream (see above). */
const STDOUT_GAP_MS = 5;
/** Where stdout's lines go: standard error once standard output is gone (cli.ts says so). */
let stdoutStream: NodeJS.WriteStream = process.stdout;
outputLost.once("stdout", () => {
  stdoutStream = process.stderr;
});

/** How far a reader may fall behind before the line writer drops lines (see output-drain.ts). */
export interface QueueBound {
  /** Bytes queued for the reader at which lines start being dropped. */
  bytes: number;
  /** Lines start being dropped. */
  fellBehind(): void;
  /** `lines` more were dropped. */
  dropped(lines: number): void;
  /** The reader took half of what was queued: lines are written again. */
  caughtUp(): void;
}

/** What the line writer needs of a stream: Node's `write`, and how much of it is still queued. */
export interface LineSink {
  write(data: Uint8Array | string, done?: () => void): unknown;
  /** Bytes written but not yet taken by the reader (a pipe that is behind). */
  readonly writableLength: number;
}

/** A buffer of lines and how many writes of it are not done yet. */
interface Block {
  bytes: Buffer;
  writes: number;
}

/**
 * Lines gathered into one buffer outside V8's heap and written at most once per turn (see above).
 * A buffer handed to `write` belongs to the stream until every write of it is done: a write that
 * completed at once (its callback still to come) and a later one of the same buffer that was queued
 * must not make it free when the first callback comes, or the queued bytes are overwritten before
 * the pipe takes them (a 500-request burst under load corrupted listen's NDJSON so).
 */
export function createLineWriter(
  sink: () => LineSink,
  /** After a write, the next waits until this many ms have passed (0: the next turn, whatever the rate). */
  gapMs = 0,
  /** The most queued for a reader that is behind; lines past it are dropped, and counted here. */
  bound?: QueueBound,
): { writeLine(text: string): void; flush(): void } {
  const BYTES = 64 * 1024;
  // Each buffer carries the count of its writes not yet done (a Map of counts, emptied and filled
  // again every turn, reallocated its table in V8's old generation: garbage until a mark-compact).
  const newBlock = (): Block => ({ bytes: Buffer.allocUnsafeSlow(BYTES), writes: 0 });
  let block = newBlock();
  /** A buffer all of whose writes are done, ready to be used again. */
  let spare: Block | undefined;
  let used = 0;
  /** Lines in `block`, counted only to say how many were dropped. */
  let lines = 0;
  /** The reader is past the bound: lines are dropped until it has taken half of what is queued. */
  let behind = false;
  let scheduled = false;
  /** When the last write was made (performance.now()). */
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  const readerIsBehind = (stream: LineSink, { bytes, fellBehind, caughtUp }: QueueBound) => {
    const queued = stream.writableLength;
    if (!behind && queued >= bytes) {
      behind = true;
      fellBehind();
    } else if (behind && queued <= bytes / 2) {
      behind = false;
      caughtUp();
    }
    return behind;
  };
  const flush = () => {
    scheduled = false;
    if (used === 0) return;
    if (gapMs > 0) lastWriteAt = performance.now();
    const stream = sink();
    if (bound && readerIsBehind(stream, bound)) {
      bound.dropped(lines);
      used = 0;
      lines = 0;
      return;
    }
    const written = block;
    const bytes = written.bytes.subarray(0, used);
    used = 0;
    lines = 0;
    written.writes += 1;
    stream.write(bytes, () => {
      written.writes -= 1;
      if (written.writes === 0 && written !== block) spare ??= written;
    });
    // Still queued (a pipe whose reader is behind): those bytes are the stream's until written.
    if (stream.writableLength > 0) {
      block = spare ?? newBlock();
      spare = undefined;
    }
  };
  return {
    /** `text` and a newline. */
    writeLine(text: string) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
      const most = 3 * text.length + 1;
      if (used + most > BYTES) {
        flush();
        if (most > BYTES) {
          const stream = sink();
          if (bound && readerIsBehind(stream, bound)) bound.dropped(1);
          else stream.write(`${text}\n`);
          return;
        }
      }
      used += block.bytes.write(text, used);
      block.bytes[used++] = 0x0a;
      lines += 1;
      if (!scheduled) {
        scheduled = true;
        const wait = gapMs > 0 ? lastWriteAt + gapMs - performance.now() : 0;
        // Unreferenced: the gap never keeps a process alive (what is pending is written at exit).
        if (wait > 0) setTimeout(flush, Math.ceil(wait)).unref();
        else setImmediate(flush);
      }
    },
    flush,
  };
}

/** The wait senders share while stdout's reader is behind (roomForOutput). */
let roomWait: Promise<void> | undefined;
const stdoutLines = createLineWriter(() => stdoutStream, STDOUT_GAP_MS, {
  bytes: OUTPUT_QUEUE_BOUND,
  fellBehind() {
    process.stderr.write(
      `openmail-hooks: standard output's reader is ${OUTPUT_QUEUE_BOUND / 1024 / 1024} MiB behind: its lines are dropped, and counted, until it catches up\n`,
    );
  },
  dropped(lines) {
    droppedLines.total += lines;
    droppedLines.unsaid += lines;
  },
  caughtUp() {
    process.stderr.write(
      `openmail-hooks: standard output's reader caught up; ${droppedLines.unsaid} ${droppedLines.unsaid === 1 ? "line was" : "lines were"} dropped\n`,
    );
    droppedLines.unsaid = 0;
  },
});
process.on("exit", stdoutLines.flush);
// Written before the end of a run waits for the reader (a line may wait out the gap on an unreferenced timer).
beforeOutputWait(stdoutLines.flush);

export function createOutput(env: NodeJS.ProcessEnv = process.env): Output {
  const stdoutIsTTY = Boolean(process.stdout.isTTY);
  const stderrIsTTY = Boolean(process.stderr.isTTY);
  // A terminal without escape codes (TERM=dumb: Emacs shells, some CI consoles) still returns the
  // carriage: the progress line is overwritten with spaces there instead of erased with ESC[2K.
  const dumb = env.TERM === "dumb";
  let progressShown = false;
  let progressWidth = 0;
  const eraseProgress = () => (dumb ? `\r${" ".repeat(progressWidth)}\r` : "\r\u001b[2K");
  const clearProgress = () => {
    if (progressShown) process.stderr.write(eraseProgress());
    progressShown = false;
  };
  const beforeStderr = () => {
    stdoutLines.flush();
    clearProgress();
  };
  // Read on every line: the terminal may be resized while listen runs.
  const width = (stream: NodeJS.WriteStream) => (stream.isTTY ? stream.columns : undefined);
  return {
    out(line) {
      clearProgress();
      const columns = width(process.stdout);
      // Not a terminal: nothing to wrap, so the lines need not be taken apart and joined again.
      stdoutLines.writeLine(columns ? fitLines(line, columns).join("\n") : terminalSafe(line));
    },
    record(record) {
      clearProgress();
      stdoutLines.writeLine(recordLine(record));
    },
    write(data) {
      clearProgress();
      stdoutLines.flush();
      stdoutStream.write(stdoutIsTTY ? terminalSafe(Buffer.from(data).toString("utf8")) : data);
    },
    err(line) {
      beforeStderr();
      process.stderr.write(`${fitLines(line, width(process.stderr)).join("\n")}\n`);
    },
    progress(line) {
      if (!stderrIsTTY) return;
      stdoutLines.flush();
      const columns = process.stderr.columns ?? 80;
      const shown = truncateToWidth(terminalSafe(line), columns - 1);
      process.stderr.write(`${progressShown ? eraseProgress() : "\r"}${shown}`);
      progressWidth = displayWidth(shown);
      progressShown = true;
    },
    endProgress: clearProgress,
    roomForOutput() {
      const stream = stdoutStream;
      if (stream.writableLength < SENDER_QUEUE_BYTES) return undefined;
      // One wait for every sender slot that asks meanwhile.
      roomWait ??= whenQueuedAtMost([stream], SENDER_QUEUE_BYTES / 2).then(() => {
        roomWait = undefined;
      });
      return roomWait;
    },
    color: new Chalk({ level: colorLevel(env, supportsColor) }),
    errColor: new Chalk({ level: colorLevel(env, supportsColorStderr) }),
    stdoutIsTTY,
    stderrIsTTY,
    get columns() {
      return width(process.stdout);
    },
  };
}

/** `output` with nothing written anywhere: for rehearsing a renderer's work (listen's warm-up). */
export function discardingOutput(output: Output): Output {
  const nothing = () => {};
  return {
    ...output,
    out: nothing,
    record: nothing,
    write: nothing,
    err: nothing,
    progress: nothing,
    endProgress: nothing,
    roomForOutput: () => undefined,
  };
}
