/**
 * Rendering of `verify`'s verdict: a readable report or one JSON object. Strings from the input
 * pass through the sanitiser.
 */
import type { Diagnosis, Finding } from "../core/diagnose.js";
import {
  ageText,
  type CheckState,
  describeAge,
  isInMilliseconds,
  type TimestampCheck,
  type VerifyFailureReason,
} from "../core/signature.js";
import { sanitizeLine } from "./sanitize.js";
import type { Output } from "./terminal.js";

export interface VerifyReport {
  input: { name: string; kind: "capture" | "raw-http" | "flags"; warnings: string[] };
  eventId?: string;
  /** Unix seconds the timestamp was judged against. */
  judgedAt: number;
  judgedAgainst: "receivedAt" | "--now" | "now";
  diagnosis: Diagnosis;
  /** For a capture judged at receipt: how its timestamp looks against the current time. */
  now?: TimestampCheck;
  secret: { source: string; masked: string };
}

export function renderVerifyReport(report: VerifyReport, output: Output, json: boolean): void {
  if (json) {
    output.record(verifyReportJson(report));
    return;
  }
  const c = output.color;
  const { verdict } = report.diagnosis;
  const head = verdict.valid ? c.green.bold("✓ valid") : c.red.bold("✗ invalid");
  output.out(
    `${head}  ${sanitizeLine(report.input.name)}${report.eventId ? c.dim(`  ${sanitizeLine(report.eventId)}`) : ""}`,
  );
  for (const warning of report.input.warnings) output.out(c.yellow(`  ! ${sanitizeLine(warning)}`));

  const mark = (state: CheckState) => (state === "pass" ? c.green("✓") : state === "fail" ? c.red("✗") : c.dim("-"));
  for (const check of verifyChecks(report)) output.out(`  ${mark(check.state)} ${check.name.padEnd(10)} ${check.text}`);

  for (const finding of reportedFindings(report.diagnosis)) {
    output.out("");
    output.out(`  ${c.bold("Why:")} ${finding.summary}`);
    output.out(`  ${c.bold("Fix:")} ${finding.fix}`);
  }
  if (report.now && !report.now.within && verdict.valid) {
    output.out("");
    output.out(
      c.yellow(
        `  note: valid when it arrived, but a receiver would reject it now: ${describeAge(report.now)}; replay re-signs it`,
      ),
    );
  }
  output.out("");
  output.out(c.dim(`  secret: ${report.secret.masked} from ${report.secret.source}`));
}

/**
 * One capture of a folder in one line: `✓ valid  path  evt_…`, or `✗ invalid  path  evt_…: the check
 * that failed; the likeliest cause` (`verify <file>` on it says the rest: each check, and the fix).
 */
export function renderVerifyLine(report: VerifyReport, output: Output): void {
  const c = output.color;
  const { verdict } = report.diagnosis;
  const name = `${sanitizeLine(report.input.name)}${report.eventId ? c.dim(`  ${sanitizeLine(report.eventId)}`) : ""}`;
  if (verdict.valid) {
    output.out(`${c.green("✓ valid")}    ${name}`);
    return;
  }
  const failed = verifyChecks(report).find((check) => check.state === "fail");
  const [finding] = reportedFindings(report.diagnosis);
  const why = [failed && `${failed.name} ${failed.text}`, finding?.summary].filter(Boolean).join("; ");
  output.out(`${c.red("✗ invalid")}  ${name}: ${sanitizeLine(why || verdict.message)}`);
}

/** "12 of 14 valid in events (1 invalid: verify it alone for why and the fix; 1 not read)". */
export function verifyFolderSummary(
  folder: string,
  total: number,
  tally: { valid: number; invalid: number; unreadable: number },
  output: Output,
): string {
  const notes = [
    tally.invalid > 0 && `${tally.invalid} invalid: verify one alone for each check and the fix`,
    tally.unreadable > 0 && `${tally.unreadable} not read or not a capture (named above)`,
  ].filter(Boolean);
  const line = `${tally.valid} of ${total} valid in ${sanitizeLine(folder)}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
  return tally.valid === total ? output.color.green(line) : output.color.yellow(line);
}

/** Signature findings, then the timestamp's unless a signature finding already named the same cause. */
function reportedFindings({ signatureFindings, timestampFinding }: Diagnosis): Finding[] {
  if (!timestampFinding || signatureFindings.some((finding) => finding.code === timestampFinding.code))
    return signatureFindings;
  return [...signatureFindings, timestampFinding];
}

export interface CheckLine {
  name: "headers" | "signature" | "timestamp";
  state: CheckState;
  text: string;
}

/** The three checks, each with its one-line explanation (the terminal report and the inspector page). */
export function verifyChecks(report: VerifyReport): CheckLine[] {
  const { checks, message } = report.diagnosis.verdict;
  return [
    { name: "headers", state: checks.headers, text: headersLine(checks.headers, message) },
    {
      name: "signature",
      state: checks.signature,
      text: signatureLine(checks.signature, report.diagnosis.verdict.reason),
    },
    { name: "timestamp", state: checks.timestamp, text: timestampLine(report) },
  ];
}

function headersLine(state: CheckState, message: string): string {
  return state === "fail" ? message : "X-Timestamp and X-Signature present";
}

function signatureLine(state: CheckState, reason: VerifyFailureReason | undefined): string {
  if (state === "pass") return "matches the raw body, timestamp and secret";
  if (reason === "malformed_signature") return "is not 64 lowercase hex characters (not compared)";
  if (state === "skipped") return "not checked";
  return "does not match the raw body, timestamp and secret";
}

const JUDGED_WHEN = { receivedAt: " when received", "--now": " at --now", now: "" } as const;

function timestampLine(report: VerifyReport): string {
  const check = report.diagnosis.verdict.timestamp;
  if (!check) return "not checked";
  // The line is already named "timestamp": "✗ timestamp  "abc" is not unix seconds".
  if (check.ageSeconds === undefined) return `${JSON.stringify(check.raw.slice(0, 40))} is not unix seconds`;
  // Not "1794078977270 s in the future": the header is in milliseconds, and the Why says what to do.
  if (isInMilliseconds(check)) return `${check.raw} is in milliseconds; OpenMail sends unix seconds`;
  return `${ageText(check.ageSeconds)}${JUDGED_WHEN[report.judgedAgainst]} (tolerance ${check.toleranceSeconds} s)`;
}

export function verifyReportJson(report: VerifyReport) {
  const { verdict } = report.diagnosis;
  return {
    type: "verify",
    valid: verdict.valid,
    reason: verdict.reason ?? null,
    message: verdict.message,
    checks: verdict.checks,
    input: { name: report.input.name, kind: report.input.kind, warnings: report.input.warnings },
    eventId: report.eventId ?? null,
    timestamp: verdict.timestamp
      ? {
          value: verdict.timestamp.raw,
          ageSeconds: verdict.timestamp.ageSeconds ?? null,
          toleranceSeconds: verdict.timestamp.toleranceSeconds,
          within: verdict.timestamp.within,
          judgedAt: report.judgedAt,
          judgedAgainst: report.judgedAgainst,
          withinNow: report.now ? report.now.within : null,
        }
      : null,
    findings: reportedFindings(report.diagnosis),
    secret: { source: report.secret.source, masked: report.secret.masked },
  };
}
