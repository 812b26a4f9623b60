/**
 * `openmail-hooks redact <capture…>`: write redacted copies of captures already taken, for a bug
 * report. The originals are never touched. Exit 0 all written, 2 an input could not be read or redacted, or a
 * copy could not be written (a folder that takes no file at all stops the run at the first).
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { CommandContext } from "../command-context.js";
import { requireSecret } from "../config/environment.js";
import { type CapturedRequest, CaptureFormatError } from "../core/capture.js";
import { NestedTooDeeplyError, redactCapture } from "../core/redact.js";
import { eventIdOf } from "../core/request.js";
import { ageText, DEFAULT_TOLERANCE_SECONDS, verify } from "../core/signature.js";
import { CliError, EXIT, type ExitCode, errorMessage, usageError } from "../errors.js";
import { type CaptureStore, listCaptureFiles, openCaptureStore } from "../io/capture-store.js";
import { readRequestDocument } from "../io/request-input.js";
import { tightenedFolderLine } from "../output/capture-folder.js";
import { sanitizeLine } from "../output/sanitize.js";
import { pathFromCwd } from "../output/shown-path.js";
import { haltedByInterrupt, onInterrupt } from "./shared/deliver.js";

export interface RedactOptions {
  secret?: string;
  outDir: string;
  json?: boolean;
}

export const DEFAULT_REDACTED_DIR = ".openmail-hooks/redacted";

export async function runRedact(paths: string[], options: RedactOptions, ctx: CommandContext): Promise<ExitCode> {
  const { secret } = requireSecret(options.secret, ctx.environment);
  const { files, passedOver } = await expand(paths);
  // The folder is made when the first copy is to be written, not before: inputs that cannot be read
  // (a mistyped path) leave nothing behind, not an empty .openmail-hooks/redacted.
  let store: CaptureStore | undefined;
  const openStore = async (): Promise<CaptureStore> => {
    if (store) return store;
    try {
      store = await openCaptureStore(options.outDir, {
        dirOption: "--out-dir",
        // Ctrl-C stops all work after abandon() (then leaves, once its output is taken): no temporary file may
        // still be being created then.
        createOnMainThread: true,
        onTightened: (folder, from, to) => ctx.output.err(tightenedFolderLine(folder, from, to)),
      });
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw usageError(`cannot create ${options.outDir}: ${errorMessage(error)}; choose another with --out-dir`);
    }
    return store;
  };
  const outDir = () => store?.dir ?? resolve(ctx.cwd, options.outDir);
  const shown = (path: string) => {
    const short = pathFromCwd(path, ctx.cwd);
    // A path the next command would read as an option ("-x.json") is printed as ./-x.json.
    return sanitizeLine(short.startsWith("-") ? `./${short}` : short);
  };
  const tally: Tally = {
    written: 0,
    skipped: 0,
    notCaptures: 0,
    unreadable: 0,
    passedOver: passedOver.length,
    unredactable: 0,
    unwritable: 0,
    notTried: 0,
  };
  const total = files.length + passedOver.length;
  // Set once the folder itself refuses files (full, read-only, gone): the rest would fail the same way.
  let folderProblem: string | undefined;
  // Ctrl-C: the copy being written is removed (no temporary file is left), and what was done is said.
  const stopOnInterrupt = onInterrupt(() => {
    store?.abandon?.();
    if (options.json) ctx.output.record({ type: "interrupted", written: tally.written, total });
    else {
      ctx.output.err(
        `interrupted (Ctrl-C): ${tally.written} of ${total} written to ${shown(outDir())}; the copy in progress was not kept`,
      );
    }
  }, ctx.exitNow);
  // A folder's links, folders and FIFOs named *.json are never read: each is named, as replay names them.
  for (const { path, what } of passedOver) {
    if (options.json) {
      const message = `${shown(path)}: ${what}`;
      ctx.output.record({ type: "redacted", input: path, kind: "problem", stage: "passed-over", message });
    } else ctx.output.err(`openmail-hooks: ${shown(path)}: ${what}`);
  }
  for (const file of files) {
    const result: RedactResult = folderProblem
      ? { kind: "problem", stage: "not-tried", message: `not tried: ${folderProblem}` }
      : await redactOne(file, openStore, secret, ctx, shown);
    // Interrupted meanwhile: the report is out and the copy in progress removed; nothing more is done.
    await haltedByInterrupt();
    if (result.kind === "problem") tally[STAGE_TALLY[result.stage]] += 1;
    else if (result.kind === "skipped") tally.skipped += 1;
    else tally.written += 1;
    if (result.kind === "problem" && result.stage === "write" && result.folderLevel) {
      folderProblem = `${shown(outDir())} takes no files (${result.reason})`;
    }
    if (options.json) {
      const { kind, stage, message } = result as { kind: string; stage?: string; message?: string };
      ctx.output.record(
        result.kind === "problem"
          ? { type: "redacted", input: file, kind, stage, message }
          : { type: "redacted", input: file, ...result },
      );
    } else if (result.kind === "written") {
      ctx.output.out(`${shown(file)} → ${shown(result.output)} (${signedText(result, ctx)})`);
    } else if (result.kind === "skipped") {
      ctx.output.out(ctx.output.color.dim(`${shown(file)}: already redacted, skipped`));
    } else if (result.stage !== "not-tried") {
      ctx.output.err(`openmail-hooks: ${result.message}`);
    }
  }
  if (!options.json && tally.notTried > 0) {
    ctx.output.err(
      `openmail-hooks: stopped: ${folderProblem}, so the other ${tally.notTried} capture(s) were not tried`,
    );
  }
  stopOnInterrupt();
  if (!options.json) ctx.output.out(ctx.output.color.dim(tallyText(tally, total, shown(outDir()))));
  const problems =
    tally.notCaptures + tally.unreadable + tally.passedOver + tally.unredactable + tally.unwritable + tally.notTried;
  return problems > 0 ? EXIT.USAGE : EXIT.OK;
}

interface Tally {
  written: number;
  skipped: number;
  /** Read, and not a capture (nor a raw request): JSON of something else, say. */
  notCaptures: number;
  unreadable: number;
  /** A folder's `*.json` entries that are not regular files, never read (named before the rest). */
  passedOver: number;
  unredactable: number;
  unwritable: number;
  notTried: number;
}

const STAGE_TALLY = {
  "not-a-capture": "notCaptures",
  read: "unreadable",
  redact: "unredactable",
  write: "unwritable",
  "not-tried": "notTried",
} as const;

/** "3 of 3 written to bug-report", "1 of 16 written to red (1 could not be written; 14 not tried)". */
function tallyText(tally: Tally, total: number, dir: string): string {
  const notes = [
    tally.skipped > 0 && `${tally.skipped} already redacted, skipped`,
    tally.notCaptures > 0 && `${tally.notCaptures} not ${tally.notCaptures === 1 ? "a capture" : "captures"}`,
    tally.unreadable > 0 && `${tally.unreadable} could not be read`,
    tally.passedOver > 0 && `${tally.passedOver} not read (named above)`,
    tally.unredactable > 0 && `${tally.unredactable} could not be redacted`,
    tally.unwritable > 0 && `${tally.unwritable} could not be written`,
    tally.notTried > 0 && `${tally.notTried} not tried`,
  ].filter(Boolean);
  return `${tally.written} of ${total} written to ${dir}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

/** What holds for the copy: re-signed or not, and whether `verify` accepts it (the timestamp is kept). */
function signedText(result: Extract<RedactResult, { kind: "written" }>, ctx: CommandContext): string {
  if (!result.resigned) return ctx.output.color.yellow("not re-signed: the original did not verify");
  if (result.verifies || result.timestampAge === undefined)
    return result.verifies ? "re-signed, verifies" : "re-signed";
  return ctx.output.color.yellow(
    `re-signed, signature valid; its X-Timestamp (kept) was ${result.timestampAge} when received, outside the ${DEFAULT_TOLERANCE_SECONDS} s tolerance, so verify reports it invalid; replay re-stamps it`,
  );
}

type RedactResult =
  | { kind: "written"; output: string; resigned: boolean; verifies: boolean; timestampAge?: string }
  | { kind: "skipped"; reason: string }
  | { kind: "problem"; stage: "not-a-capture" | "read" | "redact" | "not-tried"; message: string }
  | { kind: "problem"; stage: "write"; message: string; reason: string; folderLevel: boolean };

async function redactOne(
  file: string,
  openStore: () => Promise<CaptureStore>,
  secret: string,
  ctx: CommandContext,
  shown: (path: string) => string,
): Promise<RedactResult> {
  let document: Awaited<ReturnType<typeof readRequestDocument>>;
  let redacted: ReturnType<typeof redactCapture>;
  try {
    document = await readRequestDocument(file, ctx.readStdin);
    if (document.extra.redacted === true) return { kind: "skipped", reason: "already redacted" };
  } catch (error) {
    // Read, but not a capture (JSON of something else, an event body): not "could not be read".
    const stage = error instanceof Error && error.cause instanceof CaptureFormatError ? "not-a-capture" : "read";
    return { kind: "problem", stage, message: errorMessage(error) };
  }
  try {
    redacted = redactCapture(document.request, secret);
  } catch (error) {
    // Read fine, but it cannot be redacted (nested too deeply): no copy, and not "could not be read".
    if (!(error instanceof NestedTooDeeplyError)) throw error;
    return { kind: "problem", stage: "redact", message: `${shown(file)}: not copied: ${error.message}` };
  }
  // Opened outside the write's try: a folder that cannot be made or is not ours ends the run (exit 2).
  const store = await openStore();
  let output: string;
  try {
    output = await store.save(redacted.request, eventIdOf(document.request.body), {
      ...document.extra,
      ...redacted.extra,
    });
  } catch (error) {
    const { reason, next, folderLevel } = writeFailure(error);
    const message = `could not write the redacted copy of ${shown(file)} into ${shown(store.dir)}: ${reason}; ${next}`;
    return { kind: "problem", stage: "write", message, reason, folderLevel };
  }
  return {
    kind: "written",
    output,
    resigned: redacted.extra.redaction.resigned,
    ...verdictOf(redacted.request, secret),
  };
}

/**
 * A failed write, said plainly with what to do. `folderLevel`: the folder itself takes no file
 * (full, read-only, not ours to write, gone), so every other copy would fail the same way.
 */
function writeFailure(error: unknown): { reason: string; next: string; folderLevel: boolean } {
  const code = (error as NodeJS.ErrnoException).code;
  const another = "choose another --out-dir";
  switch (code) {
    case "ENOSPC":
      return { reason: "no space left on its disk", next: `free space there, or ${another}`, folderLevel: true };
    case "EDQUOT":
      return { reason: "your disk quota is used up", next: `free space there, or ${another}`, folderLevel: true };
    case "EACCES":
    case "EPERM":
      return { reason: "no permission to write there", next: another, folderLevel: true };
    case "EROFS":
      return { reason: "its file system is read-only", next: another, folderLevel: true };
    case "ENOENT":
    case "ENOTDIR":
      return { reason: "the folder is gone", next: another, folderLevel: true };
    case "EFBIG":
      return {
        reason: "the copy is larger than a file may be here (file size limit, ulimit -f)",
        next: `raise the limit, or ${another}`,
        folderLevel: false,
      };
    default:
      return { reason: sanitizeLine(errorMessage(error)), next: another, folderLevel: false };
  }
}

/** The copy judged as `verify` judges a capture: as of when it was received. */
function verdictOf(request: CapturedRequest, secret: string): { verifies: boolean; timestampAge?: string } {
  const received = Math.floor(Date.parse(request.receivedAt) / 1000);
  const verdict = verify({
    body: request.body,
    headers: request.headers,
    secret,
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
    ...(Number.isFinite(received) ? { now: received } : {}),
  });
  const age = verdict.timestamp?.ageSeconds;
  const stale = verdict.reason === "timestamp_too_old" || verdict.reason === "timestamp_in_future";
  return { verifies: verdict.valid, ...(stale && age !== undefined ? { timestampAge: ageText(age) } : {}) };
}

/** Files as given, and the captures inside folders; a folder's other `*.json` entries, passed over. */
async function expand(
  paths: string[],
): Promise<{ files: string[]; passedOver: Array<{ path: string; what: string }> }> {
  const files: string[] = [];
  const passedOver: Array<{ path: string; what: string }> = [];
  for (const path of paths) {
    const isFolder = path !== "-" && (await stat(path).catch(() => undefined))?.isDirectory();
    if (isFolder) files.push(...(await listCaptureFiles(path, passedOver, "redact")));
    else files.push(path);
  }
  return { files, passedOver };
}
