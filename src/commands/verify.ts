/**
 * `openmail-hooks verify`: check a captured request's signature offline and explain a failure; or
 * every capture in a folder, one line each. Exit 0 valid, 1 invalid, 2 unreadable input or usage error.
 */
import { stat } from "node:fs/promises";
import type { CommandContext } from "../command-context.js";
import { maskSecret, requireSecret } from "../config/environment.js";
import type { CapturedRequest } from "../core/capture.js";
import { diagnose } from "../core/diagnose.js";
import { checkTimestamp } from "../core/signature.js";
import { EXIT, type ExitCode, errorMessage, inputError, usageError } from "../errors.js";
import { listCaptureFiles } from "../io/capture-store.js";
import { RAISE_THE_LIMIT, readFileOrStdin, readRequestDocument } from "../io/request-input.js";
import { sanitizeLine } from "../output/sanitize.js";
import {
  renderVerifyLine,
  renderVerifyReport,
  type VerifyReport,
  verifyFolderSummary,
  verifyReportJson,
} from "../output/verify-report.js";

export interface VerifyOptions {
  secret?: string;
  tolerance: number;
  now?: number;
  json?: boolean;
  body?: string;
  bodyFile?: string;
  timestamp?: string;
  signature?: string;
  /** Largest input read (file or standard input). */
  maxInputSize?: number;
}

interface VerifyTarget {
  name: string;
  kind: "capture" | "raw-http" | "flags";
  request: CapturedRequest;
  warnings: string[];
}

export async function runVerify(
  file: string | undefined,
  options: VerifyOptions,
  ctx: CommandContext,
): Promise<ExitCode> {
  if (file !== undefined && file !== "-" && (await isFolder(file))) {
    if (options.body !== undefined || options.bodyFile !== undefined) {
      throw usageError("give either a file (capture or raw HTTP request) or --body/--body-file, not both");
    }
    return verifyFolder(file, options, ctx);
  }
  const target = await loadTarget(file, options, ctx);
  const { secret, source } = requireSecret(options.secret, ctx.environment);
  const report = judge(target, secret, source, options, ctx);
  renderVerifyReport(report, ctx.output, Boolean(options.json));
  return report.diagnosis.verdict.valid ? EXIT.OK : EXIT.CHECK_FAILED;
}

/**
 * `verify <folder>`: each capture in it (its `*.json` files, in name order, which is arrival order for
 * listen's), one line each, then a count. Exit 1 if any is invalid, else 2 if any could not be read or
 * is not a capture, else 0. A `*.json` entry that is not a regular file is named and not read.
 */
async function verifyFolder(folder: string, options: VerifyOptions, ctx: CommandContext): Promise<ExitCode> {
  const { secret, source } = requireSecret(options.secret, ctx.environment);
  const json = Boolean(options.json);
  const passedOver: Array<{ path: string; what: string }> = [];
  let files: string[];
  try {
    files = await listCaptureFiles(folder, passedOver, "verify");
  } catch (error) {
    throw inputError(`${sanitizeLine(folder)}: cannot list it (${errorMessage(error)})`, error);
  }
  const tally = { valid: 0, invalid: 0, unreadable: passedOver.length };
  const problem = (path: string, message: string) => {
    if (json) ctx.output.record({ type: "verify-problem", input: path, message });
    else ctx.output.err(`openmail-hooks: ${message}`);
  };
  for (const { path, what } of passedOver) problem(path, `${sanitizeLine(path)}: ${what}`);
  if (files.length + passedOver.length === 0) {
    throw inputError(`${sanitizeLine(folder)}: no captures (*.json) in this folder`);
  }
  for (const file of files) {
    let target: VerifyTarget;
    try {
      const document = await readRequestDocument(file, ctx.readStdin, options.maxInputSize, RAISE_THE_LIMIT);
      target = { name: document.name, kind: document.kind, request: document.request, warnings: document.warnings };
    } catch (error) {
      tally.unreadable += 1;
      problem(file, errorMessage(error));
      continue;
    }
    const report = judge(target, secret, source, options, ctx);
    if (report.diagnosis.verdict.valid) tally.valid += 1;
    else tally.invalid += 1;
    if (json) ctx.output.record(verifyReportJson(report));
    else renderVerifyLine(report, ctx.output);
    // A reader that is behind (`| less`): wait for it rather than queue every line in memory.
    const room = ctx.output.roomForOutput();
    if (room) await room;
  }
  const total = files.length + passedOver.length;
  if (json) {
    ctx.output.record({ type: "verify-summary", folder, total, ...tally });
  } else {
    ctx.output.out(verifyFolderSummary(folder, total, tally, ctx.output));
    ctx.output.out(ctx.output.color.dim(`  secret: ${maskSecret(secret)} from ${source}`));
  }
  if (tally.invalid > 0) return EXIT.CHECK_FAILED;
  return tally.unreadable > 0 ? EXIT.USAGE : EXIT.OK;
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/** Judge one request's signature and timestamp, as of when it arrived (or --now). */
function judge(
  target: VerifyTarget,
  secret: string,
  source: string,
  options: VerifyOptions,
  ctx: CommandContext,
): VerifyReport {
  const currentSeconds = Math.floor(ctx.now() / 1000);
  const receivedSeconds = target.request.receivedAt
    ? Math.floor(Date.parse(target.request.receivedAt) / 1000)
    : Number.NaN;
  // A capture is judged as of when it arrived, which is what its receiver saw; --now overrides.
  const judgedAt = options.now ?? (Number.isFinite(receivedSeconds) ? receivedSeconds : currentSeconds);
  const judgedAgainst = options.now !== undefined ? "--now" : Number.isFinite(receivedSeconds) ? "receivedAt" : "now";
  // A capture is judged as of its arrival; one whose arrival cannot be read is judged now, and says so.
  if (target.kind === "capture" && judgedAgainst === "now") {
    target.warnings.push(unreadableArrivalNote(target.request.receivedAt));
  }

  const diagnosis = diagnose({
    body: target.request.body,
    headers: target.request.headers,
    secret,
    toleranceSeconds: options.tolerance,
    now: judgedAt,
  });

  const rawTimestamp = target.request.headers["x-timestamp"]?.trim();
  const stillFresh =
    judgedAgainst === "receivedAt" && rawTimestamp
      ? checkTimestamp(rawTimestamp, currentSeconds, options.tolerance)
      : undefined;

  return {
    input: { name: target.name, kind: target.kind, warnings: target.warnings },
    eventId: target.request.headers["x-event-id"],
    judgedAt,
    judgedAgainst,
    diagnosis,
    now: stillFresh,
    secret: { source, masked: maskSecret(secret) },
  };
}

/** A capture without a readable receivedAt (edited, or written by another tool): judged at the current time. */
function unreadableArrivalNote(receivedAt: string): string {
  const what =
    receivedAt === ""
      ? "has no receivedAt"
      : `has a receivedAt that is not a date (${JSON.stringify(receivedAt.length > 40 ? `${receivedAt.slice(0, 40)}…` : receivedAt)})`;
  return `the capture ${what}, so its timestamp is judged against the current time, not when it arrived; pass --now <unix seconds> to judge it at another time`;
}

async function loadTarget(
  file: string | undefined,
  options: VerifyOptions,
  ctx: CommandContext,
): Promise<VerifyTarget> {
  const fromFlags = options.body !== undefined || options.bodyFile !== undefined;
  if (file !== undefined && fromFlags) {
    throw usageError("give either a file (capture or raw HTTP request) or --body/--body-file, not both");
  }
  if (!fromFlags) {
    if (options.timestamp !== undefined || options.signature !== undefined) {
      throw usageError("--timestamp and --signature go with --body or --body-file");
    }
    if (file === undefined) {
      throw usageError(
        "nothing to verify: give a capture file, a raw HTTP request file, - for standard input, or --body-file with --timestamp and --signature",
      );
    }
    const document = await readRequestDocument(file, ctx.readStdin, options.maxInputSize, RAISE_THE_LIMIT);
    return { name: document.name, kind: document.kind, request: document.request, warnings: document.warnings };
  }
  if (options.body !== undefined && options.bodyFile !== undefined)
    throw usageError("give --body or --body-file, not both");
  const missing = [
    options.timestamp === undefined && "--timestamp",
    options.signature === undefined && "--signature",
  ].filter(Boolean);
  if (missing.length > 0) throw usageError(`--body and --body-file need ${missing.join(" and ")} too`);

  const body =
    options.bodyFile !== undefined
      ? await readFileOrStdin(options.bodyFile, ctx.readStdin, options.maxInputSize, RAISE_THE_LIMIT)
      : Buffer.from(options.body ?? "");
  return {
    name: options.bodyFile !== undefined ? (options.bodyFile === "-" ? "standard input" : options.bodyFile) : "--body",
    kind: "flags",
    request: {
      receivedAt: "",
      method: "POST",
      path: "",
      headers: { "x-timestamp": options.timestamp ?? "", "x-signature": options.signature ?? "" },
      body,
    },
    warnings: [],
  };
}
