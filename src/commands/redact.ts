/**
 * `openmail-hooks redact <capture…>`: write redacted copies of captures already taken, for a bug
 * report. The originals are never touched. Exit 0 all written, 2 an input could not be read.
 */
import { stat } from "node:fs/promises";
import { relative } from "node:path";
import type { CommandContext } from "../command-context.js";
import { requireSecret } from "../config/environment.js";
import { redactCapture } from "../core/redact.js";
import { eventIdOf } from "../core/request.js";
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
    store = await openCaptureStore(options.outDir);
  } catch (error) {
    throw usageError(`cannot create ${options.outDir}: ${errorMessage(error)}; choose another with --out-dir`);
  }
  const shown = (path: string) => {
    const rel = relative(ctx.cwd, path);
    return sanitizeLine(rel && !rel.startsWith("..") ? rel : path);
  };
  let failed = 0;
  for (const file of files) {
    const result = await redactOne(file, store, secret, ctx);
    if (result.kind === "problem") failed += 1;
    if (options.json) {
      ctx.output.out(JSON.stringify({ type: "redacted", input: file, ...result }));
    } else if (result.kind === "written") {
      const signed = result.resigned
        ? "re-signed, verifies"
        : ctx.output.color.yellow("not re-signed: the original did not verify");
      ctx.output.out(`${shown(file)} → ${shown(result.output)} (${signed})`);
    } else if (result.kind === "skipped") {
      ctx.output.out(ctx.output.color.dim(`${shown(file)}: already redacted, skipped`));
    } else {
      ctx.output.err(`openmail-hooks: ${result.message}`);
    }
  }
  if (!options.json)
    ctx.output.out(ctx.output.color.dim(`${files.length - failed} of ${files.length} written to ${shown(store.dir)}`));
  return failed > 0 ? EXIT.USAGE : EXIT.OK;
}

type RedactResult =
  | { kind: "written"; output: string; resigned: boolean }
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
    return { kind: "written", output, resigned: redacted.extra.redaction.resigned };
  } catch (error) {
    return { kind: "problem", message: errorMessage(error) };
  }
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
