/**
 * What every command gets from the CLI: output streams, the environment (with .env), stdin and
 * the clock. Injected so tests and other callers can supply their own.
 */
import { type Environment, loadEnvironment } from "./config/environment.js";
import { readStdinBounded } from "./io/request-input.js";
import { createOutput, type Output } from "./output/terminal.js";

export interface CommandContext {
  output: Output;
  environment: Environment;
  /**
   * Read all of standard input, up to `limit` bytes (an error past it), saying what it waits for
   * when it does not end and giving up after a minute of silence.
   */
  readStdin(limit: number): Promise<Buffer>;
  /** Current time in milliseconds. */
  now(): number;
  cwd: string;
  /** The raw process environment (for paths such as XDG_CONFIG_HOME); settings go through `environment`. */
  env: NodeJS.ProcessEnv;
  /** Leave at once, skipping the normal shutdown (a second Ctrl-C). */
  exitNow(code: number): never;
}

export function createContext(globalOptions: { envFile?: string }): CommandContext {
  const output = createOutput();
  return {
    output,
    environment: loadEnvironment({
      envFile: globalOptions.envFile,
      onUnreadable: (message) => output.err(output.errColor.yellow(`warning: ${message}`)),
    }),
    readStdin: (limit) =>
      readStdinBounded(process.stdin, limit, { onWaiting: (text) => output.err(output.errColor.dim(text)) }),
    now: () => Date.now(),
    cwd: process.cwd(),
    env: process.env,
    exitNow: (code) => process.exit(code),
  };
}
