/** Run `openmail-hooks listen --json` as a subprocess and follow its NDJSON records. */
import type { ChildProcess } from "node:child_process";
import { startCli, tempDir } from "./cli.js";

export interface ListenProcess {
  child: ChildProcess;
  ready: { localUrl: string; publicUrl: string | null; webhookUrl: string; saveDir: string | null };
  url: string;
  cwd: string;
  records: Array<Record<string, unknown>>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first record (already seen or to come) that matches. */
  waitFor(
    predicate: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Send a signal and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startListen(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; via?: string[] } = {},
): Promise<ListenProcess> {
  const cwd = options.cwd ?? tempDir();
  // --no-tunnel unless the test asks for one with --tunnel (a test-only marker, removed here).
  const tunnel = args.includes("--tunnel");
  const rest = args.filter((arg) => arg !== "--tunnel");
  const child = startCli(["listen", "--json", "--port", "0", ...(tunnel ? [] : ["--no-tunnel"]), ...rest], {
    env: options.env,
    cwd,
    via: options.via,
  });
  child.stdin?.end();
  const records: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    predicate: (r: Record<string, unknown>) => boolean;
    resolve: (r: Record<string, unknown>) => void;
  }> = [];
  let out = "";
  let err = "";
  let pending = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(record)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
    }
  });
  const waitFor: ListenProcess["waitFor"] = (predicate, timeoutMs = 15_000) => {
    const found = records.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching record; stdout:\n${out}\nstderr:\n${err}`)),
        timeoutMs,
      );
      waiters.push({
        predicate,
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
      });
      exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`listen exited; stdout:\n${out}\nstderr:\n${err}`));
      });
    });
  };
  const ready = (await waitFor((r) => r.type === "ready")) as unknown as ListenProcess["ready"];
  return {
    child,
    ready,
    url: ready.localUrl,
    cwd,
    records,
    stdout: () => out,
    stderr: () => err,
    waitFor,
    async stop(signal = "SIGINT") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface PrettyListen {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches (already or later). */
  waitForText(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `openmail-hooks listen` with its human output (no --json), followed line by line. */
export async function startPrettyListen(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<PrettyListen> {
  const child = startCli(["listen", "--port", "0", "--no-tunnel", ...args], {
    env: options.env,
    cwd: options.cwd ?? tempDir(),
  });
  child.stdin?.end();
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const waitForText: PrettyListen["waitForText"] = async (pattern, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(out);
      if (match) return match;
      if (gone || Date.now() > deadline) throw new Error(`no ${pattern} in stdout:\n${out}\nstderr:\n${err}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const url = (await waitForText(/Webhook URL\s+(http:\S+)/))[1] ?? "";
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    waitForText,
    async stop(signal = "SIGINT") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `listen` without --json, as a person sees it: resolves once the banner is out ("Waiting for events"). */
export async function startListenForHumans(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<{
  child: ChildProcess;
  stdout(): string;
  /** Resolves once stdout contains `text` (output written together may arrive in several chunks). */
  until(text: string, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}> {
  const child = startCli(["listen", ...args], { env: options.env, cwd: options.cwd ?? tempDir() });
  let out = "";
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no banner; stdout:\n${out}\nstderr:\n${err}`)),
      options.timeoutMs ?? 15_000,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("Waiting for events")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`listen exited; stdout:\n${out}\nstderr:\n${err}`));
    });
  });
  const until = async (text: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!out.includes(text)) {
      if (Date.now() > deadline) throw new Error(`no "${text}" on stdout:\n${out}\nstderr:\n${err}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return out;
  };
  return { child, stdout: () => out, until, exited };
}

/** `listen --json` with its inspector: the page's URL, origin and token from the ready record. */
export interface InspectedListen extends ListenProcess {
  inspectorUrl: string;
  origin: string;
  token: string;
}

export async function startInspectedListen(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<InspectedListen> {
  const process = await startListen(args, options);
  const inspectorUrl = String((process.ready as unknown as { inspectorUrl: string }).inspectorUrl);
  const url = new URL(inspectorUrl);
  return Object.assign(process, {
    inspectorUrl,
    origin: url.origin,
    token: new URLSearchParams(url.hash.slice(1)).get("token") ?? "",
  });
}
