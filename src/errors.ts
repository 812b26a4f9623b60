/**
 * Typed errors and the exit-code table. Commands throw; only src/cli.ts turns an error into an exit.
 */

export const EXIT = {
  /** Everything checked out. */
  OK: 0,
  /** A check failed: a signature did not verify, an endpoint answered wrongly, a delivery failed. */
  CHECK_FAILED: 1,
  /** Usage or input error: a bad flag, an unreadable file, nothing listening at the URL. */
  USAGE: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Stable machine codes, shown in `--json` output and usable by scripts. */
export type ErrorCode =
  | "usage_error"
  | "input_error"
  | "file_not_found"
  | "no_secret"
  | "check_failed"
  | "connection_failed"
  | "port_in_use"
  | "tunnel_failed"
  | "api_error"
  /** The environment cannot run it (WebAssembly could not get memory under `ulimit -v`). */
  | "environment_error";

/** An error meant for the user: one line, with what to do next. Never printed with a stack. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: ErrorCode;

  constructor(message: string, options: { exitCode?: ExitCode; code?: ErrorCode; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.exitCode = options.exitCode ?? EXIT.USAGE;
    this.code = options.code ?? "usage_error";
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: EXIT.USAGE, code: "usage_error" });
}

export function inputError(message: string, cause?: unknown): CliError {
  return new CliError(message, { exitCode: EXIT.USAGE, code: "input_error", cause });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Under a virtual-memory limit (`ulimit -v`, common in sandboxes and CI) V8 cannot reserve the
 * address space a WebAssembly instance needs, and undici's HTTP parser (llhttp) is WebAssembly,
 * loaded on first use: Node's own copy even fails in a promise nobody awaits. Searched through causes.
 */
export function isWasmOutOfMemory(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  if (error instanceof RangeError && /^WebAssembly\.\w+\(\):.*(out of memory|could not allocate)/i.test(error.message))
    return true;
  return isWasmOutOfMemory(error.cause, depth + 1);
}

/** What to do about it, in one line. */
export const WASM_MEMORY_ADVICE =
  "the HTTP client could not load: WebAssembly could not get memory (a virtual-memory limit, `ulimit -v`?); raise or remove the limit (`ulimit -v unlimited`) and run again";

/** The failure as a usage/environment error (exit 2): the run cannot work in this environment. */
export function wasmMemoryError(cause: unknown): CliError {
  return new CliError(WASM_MEMORY_ADVICE, { exitCode: EXIT.USAGE, code: "environment_error", cause });
}

/** A stack overflow: only input nested thousands of levels deep (JSON) makes the tool recurse that far. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message);
}
