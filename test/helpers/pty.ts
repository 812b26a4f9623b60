/**
 * Run the built CLI on a pseudo-terminal of a given width, as a user's terminal would, through
 * util-linux `script` (stdout and stderr are then TTYs, and `process.stdout.columns` is real).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { BIN, cleanEnv, tempDir } from "./cli.js";

const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;

export interface PtyProcess {
  child: ChildProcess;
  /** Everything the terminal received, with CRLF turned into LF. */
  output(): string;
  waitForText(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

export function startInPty(
  args: string[],
  options: { columns: number; env?: Record<string, string | undefined>; cwd?: string },
): PtyProcess {
  const command = `stty cols ${options.columns} rows 50; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(" ")}`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: options.cwd ?? tempDir(),
    env: cleanEnv({ NO_COLOR: "1", TERM: "xterm-256color", ...options.env }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk.replace(/\r\n/g, "\n");
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  return {
    child,
    output: () => out,
    exited,
    async waitForText(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out);
        if (match) return match;
        if (gone || Date.now() > deadline) throw new Error(`no ${pattern} on the terminal:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
