/** Run the built CLI (bin/openmail-hooks.js) as a subprocess, as a user would. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const BIN = resolve(import.meta.dirname, "../../bin/openmail-hooks.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  cwd?: string;
  /** Run the CLI through this command first, e.g. ["sh", "-c", 'ulimit -f 64; exec "$0" "$@"']. */
  via?: string[];
}

/** A clean environment: no secret, no colour, no inherited .env. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [
    "OPENMAIL_WEBHOOK_SECRET",
    "NGROK_AUTHTOKEN",
    "FORCE_COLOR",
    "NO_COLOR",
    "OPENMAIL_HOOKS_DEBUG",
    "OPENMAIL_API_KEY",
    "OPENMAIL_API_BASE",
  ]) {
    delete env[key];
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function tempDir(prefix = "omh-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function startCli(args: string[], options: CliOptions = {}): ChildProcess {
  const [command, ...prefix] = [...(options.via ?? []), process.execPath, BIN, ...args];
  return spawn(command as string, prefix, {
    cwd: options.cwd ?? tempDir(),
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child, options.input);
}

export function collect(child: ChildProcess, input?: string | Buffer): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk) => {
    stderr += chunk;
  });
  // A CLI that exits before reading its input (a usage error, a port in use) closes the pipe: writing
  // to it then fails with EPIPE, which is not the test's subject (its exit code and output are).
  child.stdin?.on("error", () => {});
  child.stdin?.end(input ?? "");
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * The CLI with a reader that is behind: its standard output is not read until `resume()` (the pipe
 * fills, and the rest waits in the CLI), standard error is read as it comes.
 */
export function startWithPausedStdout(args: string[], options: CliOptions = {}) {
  const child = startCli(args, options);
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  const taken = { stdout: "", stderr: "" };
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    taken.stderr += chunk;
  });
  const out = child.stdout as NonNullable<typeof child.stdout>;
  out.setEncoding("utf8").on("data", (chunk: string) => {
    taken.stdout += chunk;
  });
  out.pause();
  child.stdin?.end();
  return { child, closed, taken, resume: () => out.resume() };
}
