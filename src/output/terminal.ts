/**
 * Where output goes: stdout for the report or NDJSON data, stderr for progress, warnings and
 * errors. Colour follows the stream: off when it is not a terminal or NO_COLOR is set, on with
 * FORCE_COLOR.
 */
import { Chalk, type ChalkInstance, supportsColor, supportsColorStderr } from "chalk";

export interface Output {
  /** A line of the report (or one NDJSON record) on stdout. */
  out(line: string): void;
  /** Exact bytes on stdout (for raw requests piped to a file). */
  write(data: string | Uint8Array): void;
  /** A line for humans on stderr: progress, warnings, errors. */
  err(line: string): void;
  /** Rewrite the live progress line on stderr (terminals only; a no-op elsewhere). */
  progress(line: string): void;
  /** Colours for stdout and for stderr. */
  color: ChalkInstance;
  errColor: ChalkInstance;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
}

function colorLevel(env: NodeJS.ProcessEnv, detected: false | { level: number }): 0 | 1 | 2 | 3 {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "" && !forced) return 0;
  return detected ? (detected.level as 0 | 1 | 2 | 3) : 0;
}

export function createOutput(env: NodeJS.ProcessEnv = process.env): Output {
  const stdoutIsTTY = Boolean(process.stdout.isTTY);
  const stderrIsTTY = Boolean(process.stderr.isTTY);
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) process.stderr.write("\r\u001b[2K");
    progressShown = false;
  };
  return {
    out(line) {
      clearProgress();
      process.stdout.write(`${line}\n`);
    },
    write(data) {
      clearProgress();
      process.stdout.write(data);
    },
    err(line) {
      clearProgress();
      process.stderr.write(`${line}\n`);
    },
    progress(line) {
      if (!stderrIsTTY) return;
      process.stderr.write(`\r\u001b[2K${line}`);
      progressShown = true;
    },
    color: new Chalk({ level: colorLevel(env, supportsColor) }),
    errColor: new Chalk({ level: colorLevel(env, supportsColorStderr) }),
    stdoutIsTTY,
    stderrIsTTY,
  };
}
