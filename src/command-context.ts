/**
 * What every command gets from the CLI: output streams, the environment (with .env), stdin and
 * the clock. Injected so tests and other callers can supply their own.
 */
import { type Environment, loadEnvironment } from "./config/environment.js";
import { readStreamBounded } from "./io/request-input.js";
import { createOutput, type Output } from "./output/terminal.js";

export interface CommandContext {
  output: Output;
  environment: Environment;
  /** Read all of standard input, up to `limit` bytes (an error past it). */
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
  return {
    output: createOutput(),
    environment: loadEnvironment({ envFile: globalOptions.envFile }),
    readStdin: (limit) => readStreamBounded(process.stdin, limit),
    now: () => Date.now(),
    cwd: process.cwd(),
    env: process.env,
    exitNow: (code) => process.exit(code),
  };
}
