/**
 * `openmail-hooks redact <capture…>`: write redacted copies of captures already taken, for a bug
 * report. The originals are never touched. Exit 0 all written, 2 an input could not be read.
 */
import { stat } from "node:fs/promises";
import { relative } from "node:path";
import type { CommandContext } from "../command-context.js";
import { requireSecret } from "../config/environment.js";
import type { CapturedRequest } from "../core/capture.js";
import { redactCapture } from "../core/redact.js";
import { eventIdOf } from "../core/request.js";
import { ageText, DEFAULT_TOLERANCE_SECONDS, verify } from "../core/signature.js";
import { EXIT, type ExitCode, errorMessage, usageError } from "../errors.js";
import { listCaptureFiles, openCaptureStore } from "../io/capture-store.js";
import { readRequestDocument } from "../io/request-input.js";
import { sanitizeLine } from "../output/sanitize.js";

export interface RedactOptions {
  secret?: string;
  outDir: string;
  json?: boolean;
}

export const DEFAULT_REDACTED_DIR = ".openmail-hooks/redacted";

export async function runRedact(paths: string[], options: RedactOptions, ctx: CommandContext): Promise<ExitCode> {
  const { secret } = requireSecret(options.secret, ctx.environment);
  const files = await expand(paths);
  let store: Awaited<ReturnType<typeof openCaptureStore>>;
  try {
    store = await openCaptureStore(options.outDir, { option: "--out-dir" });
  } catch (error) {
    throw usageError(`cannot create ${options.outDir}: ${errorMessage(error)}; choose another with --out-dir`);
  }
  const shown = (path: string) => {
    const rel = relative(ctx.cwd, path);
    return sanitizeLine(rel && !rel.startsWith("..") ? rel : path);
  };
  const tally = { written: 0, skipped: 0, failed: 0 };
  for (const file of files) {
    const result = await redactOne(file, store, secret, ctx);
    if (result.kind === "problem") tally.failed += 1;
    else if (result.kind === "skipped") tally.skipped += 1;
    else tally.written += 1;
    if (options.json) {
      ctx.output.record({ type: "redacted", input: file, ...result });
    } else if (result.kind === "written") {
      ctx.output.out(`${shown(file)} → ${shown(result.output)} (${signedText(result, ctx)})`);
    } else if (result.kind === "skipped") {
      ctx.output.out(ctx.output.color.dim(`${shown(file)}: already redacted, skipped`));
    } else {
      ctx.output.err(`openmail-hooks: ${result.message}`);
    }
  }
  if (!options.json) ctx.output.out(ctx.output.color.dim(tallyText(tally, files.length, shown(store.dir))));
  return tally.failed > 0 ? EXIT.USAGE : EXIT.OK;
}

/** "3 of 3 written to bug-report", "0 of 21 written to bug2 (21 already redacted, skipped)". */
function tallyText(tally: { written: number; skipped: number; failed: number }, total: number, dir: string): string {
  const notes = [
    tally.skipped > 0 && `${tally.skipped} already redacted, skipped`,
    tally.failed > 0 && `${tally.failed} could not be read`,
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
  | { kind: "problem"; message: string };

async function redactOne(
  file: string,
  store: Awaited<ReturnType<typeof openCaptureStore>>,
  secret: string,
  ctx: CommandContext,
): Promise<RedactResult> {
  try {
    const document = await readRequestDocument(file, ctx.readStdin);
    if (document.extra.redacted === true) return { kind: "skipped", reason: "already redacted" };
    const redacted = redactCapture(document.request, secret);
    const output = await store.save(redacted.request, eventIdOf(document.request.body), {
      ...document.extra,
      ...redacted.extra,
    });
    return {
      kind: "written",
      output,
      resigned: redacted.extra.redaction.resigned,
      ...verdictOf(redacted.request, secret),
    };
  } catch (error) {
    return { kind: "problem", message: errorMessage(error) };
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

/** Files as given, and the captures inside folders. */
async function expand(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const isFolder = path !== "-" && (await stat(path).catch(() => undefined))?.isDirectory();
    if (isFolder) files.push(...(await listCaptureFiles(path)));
    else files.push(path);
  }
  return files;
}
