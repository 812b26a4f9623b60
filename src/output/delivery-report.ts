/**
 * Rendering of outgoing deliveries (send-test, replay): one block per delivery, a live progress
 * line, a summary, the scenario table, and the same as NDJSON with --json.
 */

import { basename } from "node:path";
import { type DeliveryRecord, describeRetry, formatMs, outcomeText } from "../core/contract.js";
import type { StepJudgement } from "../core/scenarios.js";
import type { DeliveryStats } from "../core/stats.js";
import { displayWidth } from "./fit.js";
import { responseSummary } from "./response-summary.js";
import { clip, sanitizeLine } from "./sanitize.js";
import type { Output } from "./terminal.js";

/** Above this many deliveries, pretty output shows only the failures (at most this many). */
export const DETAIL_LIMIT = 20;

/**
 * Should successful answers' bodies be read? Yes whenever each delivery is shown (a few in pretty
 * mode, or --json); in a pretty load run nobody sees them, and draining unread is cheaper.
 */
export function showsSuccessBodies(total: number, json: boolean): boolean {
  return json || total <= DETAIL_LIMIT;
}

export interface DeliveryRenderer {
  delivery(record: DeliveryRecord): void;
  skipped(source: string, reason: string): void;
  progress(done: number, total: number, stats: DeliveryStats, elapsedMs: number): void;
  /** A slow stretch: nothing answered for `quietMs` (terminals only). */
  waiting(done: number, total: number, quietMs: number): void;
  /** Ctrl-C: how far the run got (the summary follows). */
  interrupted(done: number, total: number, inFlight: number): void;
  /** `interrupted`: requests in flight when Ctrl-C came (sent, never answered). */
  summary(stats: DeliveryStats, durationMs: number, skipped: number, interrupted?: number): void;
}

export function createDeliveryRenderer(output: Output, options: { json: boolean; total: number; url: string }) {
  const c = output.color;
  let failuresShown = 0;
  // Notes of deliveries not shown one by one: never dropped, summarised at the end.
  const unshownNotes: string[] = [];
  const renderer: DeliveryRenderer = {
    delivery(record) {
      if (options.json) {
        output.record(deliveryJson(record));
        return;
      }
      const detailed = options.total <= DETAIL_LIMIT;
      if (!detailed && (record.passed || failuresShown >= DETAIL_LIMIT)) {
        if (record.delivery.notes) unshownNotes.push(...record.delivery.notes);
        return;
      }
      if (!record.passed) failuresShown += 1;
      for (const line of deliveryLines(record, c)) output.out(line);
    },
    skipped(source, reason) {
      if (options.json) output.record({ type: "error", code: "input_error", source, message: reason });
      else output.err(c.red(`✗ ${sanitizeLine(reason)}`));
    },
    progress(done, total, stats, elapsedMs) {
      if (options.json) return;
      const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
      output.progress(`sent ${done}/${total} · ${rate}/s · passed ${stats.passed} · failed ${done - stats.passed}`);
    },
    waiting(done, total, quietMs) {
      if (options.json) return;
      output.progress(`${done}/${total} answered · waiting ${formatMs(quietMs)} for the next answer…`);
    },
    interrupted(done, total, inFlight) {
      if (options.json) output.record({ type: "interrupted", done, total, inFlight });
      else {
        const flying = inFlight > 0 ? `, ${inFlight} in flight (no answer)` : "";
        output.err(c.yellow(`interrupted (Ctrl-C): ${done} of ${total} answered${flying}`));
      }
    },
    summary(stats, durationMs, skipped, interrupted = 0) {
      const summary = stats.summary();
      const throughput = durationMs > 0 ? (summary.total / durationMs) * 1000 : 0;
      if (options.json) {
        output.record({
          type: "summary",
          url: options.url,
          sent: summary.total,
          passed: summary.passed,
          failed: summary.failed,
          accepted: summary.accepted,
          skipped,
          interrupted,
          statuses: summary.statuses,
          durationMs: round(durationMs),
          perSecond: round(throughput),
          latencyMs: mapValues(summary.latencyMs, round),
        });
        return;
      }
      if (summary.total <= 1 && skipped === 0 && options.total <= 1) return;
      const histogram = Object.entries(summary.statuses)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([status, count]) => `${status} ×${count}`)
        .join(" · ");
      const { p50, p95, p99, max } = summary.latencyMs;
      output.out("");
      output.out(
        c.bold(
          `Sent ${summary.total + interrupted} to ${sanitizeLine(options.url)} in ${formatMs(durationMs)} (${Math.round(throughput)}/s)`,
        ),
      );
      const failed = summary.failed > 0 ? c.red(`failed ${summary.failed}`) : "failed 0";
      const cut = interrupted > 0 ? c.yellow(` · interrupted ${interrupted}`) : "";
      output.out(
        `  passed ${summary.passed} · ${failed}${cut}${skipped > 0 ? c.yellow(` · not sent ${skipped} (named above)`) : ""}`,
      );
      output.out(`  statuses: ${histogram || "none"}`);
      // No answers, no latency: zeros would read as measurements.
      if (summary.total > 0)
        output.out(
          `  latency: p50 ${formatMs(p50)} · p95 ${formatMs(p95)} · p99 ${formatMs(p99)} · max ${formatMs(max)}`,
        );
      for (const line of summariseNotes(unshownNotes)) output.out(c.yellow(line));
      if (summary.total > DETAIL_LIMIT && summary.failed > failuresShown) {
        output.out(c.dim(`  (${summary.failed - failuresShown} more failures not shown; --json lists every delivery)`));
      }
    },
  };
  return renderer;
}

type Colors = Output["color"];

/** Up to this many notes are listed one by one; more are grouped by what they say. */
const NOTES_LISTED = 5;
/** Files named per group of notes. */
const FILES_NAMED = 5;

/**
 * Notes ("<file>: the captured signature does not verify ...; re-signing with it anyway") as lines:
 * each one when there are few, else one line per kind of note with its count and the files named.
 */
export function summariseNotes(notes: string[]): string[] {
  if (notes.length === 0) return [];
  if (notes.length <= NOTES_LISTED) return notes.map((note) => `! ${sanitizeLine(note)}`);
  const groups = new Map<string, string[]>();
  for (const note of notes) {
    const split = /^(.*?): (.*)$/.exec(note);
    const origin = split?.[1] ?? "";
    // The kind: the text without its origin and without the parenthesised detail.
    const kind = (split?.[2] ?? note).replace(/\s*\([^)]*\)/g, "");
    groups.set(kind, [...(groups.get(kind) ?? []), origin]);
  }
  const lines: string[] = [];
  for (const [kind, origins] of groups) {
    const named = origins.slice(0, FILES_NAMED).map((origin) => sanitizeLine(basename(origin)));
    const more = origins.length > FILES_NAMED ? ` and ${origins.length - FILES_NAMED} more` : "";
    lines.push(`! ${origins.length} × ${sanitizeLine(kind)}`);
    lines.push(`    ${named.join(", ")}${more}`);
  }
  return lines;
}

export function deliveryLines(record: DeliveryRecord, c: Colors): string[] {
  const { delivery, outcome, verdict } = record;
  const id = delivery.eventId ? c.dim(` ${sanitizeLine(delivery.eventId)}`) : "";
  const what = `${c.cyan(sanitizeLine(delivery.label))}${id}`;
  const lines: string[] = [];
  for (const note of delivery.notes ?? []) lines.push(c.yellow(`! ${sanitizeLine(note)}`));
  const result = outcomeText(outcome, verdict);
  const expected =
    delivery.expect === "4xx" ? (record.passed ? " (rejected, as expected)" : " (should have been rejected)") : "";
  const head = record.passed ? c.green(`✓ ${result}${expected}`) : c.red(`✗ ${sanitizeLine(result)}${expected}`);
  lines.push(`→ ${what}  ${head}`);
  if (!verdict.accepted && delivery.expect !== "4xx") {
    const retry = describeRetry(verdict.retry);
    if (retry) lines.push(c.dim(`    ${retry}`));
  }
  if (outcome.kind === "response" && outcome.bodyPreview) {
    // As listen shows a handler's answer: an HTML error page by its title, else the first line.
    const preview = `    response: ${responseSummary(outcome.bodyPreview, outcome.headers["content-type"])}`;
    lines.push(record.passed ? c.dim(preview) : preview);
  }
  if (record.hint) lines.push(c.yellow(`    hint: ${record.hint}`));
  if (record.capturePath) lines.push(c.dim(`    saved: ${sanitizeLine(record.capturePath)}`));
  return lines;
}

export function deliveryJson(record: DeliveryRecord) {
  const { delivery, outcome, verdict } = record;
  return {
    type: "delivery",
    index: record.index,
    url: record.url,
    label: delivery.label,
    eventType: delivery.eventType ?? null,
    eventId: delivery.eventId ?? null,
    attempt: delivery.attempt,
    accepted: verdict.accepted,
    expected: delivery.expect ?? "2xx",
    passed: record.passed,
    status: outcome.kind === "response" ? outcome.status : null,
    outcome: outcome.kind === "network-error" ? outcome.error : outcome.kind,
    latencyMs: round(outcome.latencyMs),
    summary: verdict.summary,
    retry: verdict.retry ?? null,
    // In load runs a success's body is drained unread (see keepSuccessBodies), so it has none.
    response:
      outcome.kind === "response" && (outcome.bodyPreview || !verdict.accepted)
        ? { bytes: outcome.bodyBytes, preview: outcome.bodyPreview.slice(0, 500) }
        : null,
    hint: record.hint ?? null,
    notes: delivery.notes ?? [],
    capturePath: record.capturePath ?? null,
  };
}

export interface ScenarioRow {
  scenario: string;
  step: string;
  expectation: string;
  judgement: StepJudgement;
  reminder?: string;
}

export function renderScenarioTable(rows: ScenarioRow[], output: Output, json: boolean): void {
  if (json) {
    for (const row of rows) {
      output.record({
        type: "scenario",
        scenario: row.scenario,
        step: row.step,
        expected: row.expectation,
        status: row.judgement.status ?? null,
        got: row.judgement.got,
        pass: row.judgement.pass,
        note: row.judgement.note ?? null,
      });
    }
    const failed = rows.filter((row) => !row.judgement.pass).length;
    output.record({ type: "scenario-summary", passed: rows.length - failed, failed });
    return;
  }
  const c = output.color;
  const caseWidth = Math.max(4, ...rows.map((row) => displayWidth(`${row.scenario}: ${row.step}`))) + 2;
  const expectWidth = Math.max(18, ...rows.map((row) => displayWidth(row.expectation))) + 2;
  const gotWidth = Math.max(3, ...rows.map((row) => Math.min(30, displayWidth(sanitizeLine(row.judgement.got))))) + 2;
  // A table that does not fit the terminal becomes one block per case rather than broken cells.
  const stacked = output.columns !== undefined && caseWidth + expectWidth + gotWidth + 6 > output.columns;
  const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - displayWidth(text)));
  if (!stacked) {
    output.out(
      c.bold(`${pad("case", caseWidth)}${pad("a correct handler", expectWidth)}${pad("got", gotWidth)}result`),
    );
  }
  const reminders = new Set<string>();
  for (const row of rows) {
    const result = row.judgement.pass ? c.green("✓ pass") : c.red("✗ FAIL");
    const got = clip(row.judgement.got, 30);
    const name = `${row.scenario}: ${row.step}`;
    if (stacked) {
      output.out(`${result} ${c.bold(name)}`);
      output.out(`    ${c.dim("a correct handler:")} ${row.expectation} ${c.dim("· got:")} ${got}`);
    } else {
      output.out(`${pad(name, caseWidth)}${pad(row.expectation, expectWidth)}${pad(got, gotWidth)}${result}`);
    }
    if (row.judgement.note) output.out(c.yellow(`    ${row.judgement.note}`));
    if (row.reminder) reminders.add(row.reminder);
  }
  const failed = rows.filter((row) => !row.judgement.pass).length;
  output.out("");
  for (const reminder of reminders) output.out(c.dim(`note: ${reminder}`));
  output.out(
    failed === 0
      ? c.green.bold(`All ${rows.length} checks passed.`)
      : c.red.bold(`${failed} of ${rows.length} checks failed.`),
  );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function mapValues<T extends Record<string, number>>(record: T, fn: (value: number) => number): T {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)])) as T;
}
