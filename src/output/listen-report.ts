/**
 * Rendering of `listen`: the banner; per webhook an arrival line (`-->`) at once and an outcome
 * line (`<--`) when its answer is settled, plus a line for anything wrong (with --verbose, the
 * email's fields in between); ignored requests dimmed, tunnel changes, and the summary. With
 * --json, one NDJSON record per line on stdout and nothing else. Strings that came with a request
 * pass through the sanitiser here, and everything through Output's terminalSafe on the way out.
 */
import { describeRetry, formatMs, forwardFields, outcomeText, statusText } from "../core/contract.js";
import { parseJsonBody } from "../core/inspect.js";
import {
  formatBytes,
  judgementProblem,
  judgementShowsHint,
  REJECTED_AS_EXPECTED,
  undeliveredAnswerText,
} from "../core/judgement-words.js";
import { ageText } from "../core/signature.js";
import type { ListenerNotice, UnparsedReason } from "../io/listener.js";
import type { Arrival, ListenStats, Outcome } from "../io/webhook-pipeline.js";
import type { TunnelNotice } from "../tunnel/supervisor.js";
import { JSON_SCHEMA_VERSION } from "./records.js";
import { responseSummary } from "./response-summary.js";
import { clipToLine, sanitizeLine, sanitizeText } from "./sanitize.js";
import { pathFromCwd } from "./shown-path.js";
import type { Output } from "./terminal.js";

export interface ListenBanner {
  localUrl: string;
  publicUrl?: string;
  /** The listener is bound to an address other machines can reach (--host 0.0.0.0, a LAN address). */
  reachableFromNetwork?: boolean;
  secret?: { source: string; masked: string };
  saveDir?: string;
  forwardTo?: string;
  routes: ReadonlyMap<string, string>;
  forcedStatus?: number;
  tunnel?: { source?: string };
  /** The inspector page's address, with its token. */
  inspectorUrl?: string;
  /** listen --inbox: the inboxes now delivering to the webhook URL, and what they pointed at before. */
  inboxes?: Array<{ id: string; address?: string; previousUrl: string | null }>;
  /** --events: the only types forwarded. */
  events?: readonly string[];
}

export interface ListenRenderer {
  ready(banner: ListenBanner): void;
  arrival(arrival: Arrival): void;
  outcome(outcome: Outcome): void;
  /** Something worth a line at start-up that is not fatal (the forward target does not answer). */
  warning(message: string): void;
  notice(notice: ListenerNotice): void;
  tunnel(notice: TunnelNotice): void;
  error(message: string): void;
  summary(stats: ListenStats, saveDir: string | undefined): void;
}

export function createListenRenderer(
  output: Output,
  options: { json: boolean; cwd: string; verbose?: boolean },
): ListenRenderer {
  const showPath = (path: string) => pathFromCwd(path, options.cwd);
  return options.json ? jsonRenderer(output) : prettyRenderer(output, showPath, Boolean(options.verbose));
}

function jsonRenderer(output: Output): ListenRenderer {
  const line = (record: Record<string, unknown>) => output.record(record);
  return {
    ready(banner) {
      line({
        type: "ready",
        localUrl: banner.localUrl,
        publicUrl: banner.publicUrl ?? null,
        webhookUrl: banner.publicUrl ?? banner.localUrl,
        secret: banner.secret ?? null,
        saveDir: banner.saveDir ?? null,
        forwardTo: banner.forwardTo ?? null,
        routes: Object.fromEntries(banner.routes),
        inspectorUrl: banner.inspectorUrl ?? null,
        inboxes: banner.inboxes ?? [],
        events: banner.events ?? null,
      });
    },
    arrival(arrival) {
      line(arrivalJson(arrival));
    },
    outcome(outcome) {
      line(eventJson(outcome));
    },
    warning(message) {
      line({ type: "warning", message });
    },
    notice(notice) {
      if (notice.type === "handler-error") line({ type: "error", code: "internal_error", message: notice.message });
      else if (notice.type === "refused")
        line({
          type: "rejected",
          reason: notice.reason,
          status: notice.status,
          method: notice.method,
          path: notice.path,
          answer: notice.fate.kind,
        });
      else if (notice.type === "unparsed") line({ type: "rejected", reason: notice.reason, status: notice.status });
      else if (notice.type === "timed-out")
        line({
          type: "rejected",
          reason: "request-timeout",
          status: notice.status,
          method: notice.method,
          path: notice.path,
          limitMs: notice.limitMs,
        });
      else if (notice.type === "incomplete-body")
        line({ type: "rejected", reason: "incomplete-body", status: null, method: notice.method, path: notice.path });
      else if (notice.type === "too-large")
        line({
          type: "rejected",
          reason: "too-large",
          status: 413,
          method: notice.method,
          path: notice.path,
          limit: notice.limit,
        });
      else line({ type: "ignored", method: notice.method, path: notice.path, status: notice.status });
    },
    tunnel(notice) {
      line({ type: "tunnel", ...notice });
    },
    error(message) {
      line({ type: "error", code: "listen_error", message });
    },
    summary(stats, saveDir) {
      line({ type: "summary", ...stats, saveDir: saveDir ?? null });
    },
  };
}

/** The `arrival` record: emitted at once, after verification and saving, before the answer. */
export function arrivalJson(arrival: Arrival) {
  return eventFields("arrival", arrival);
}

/** The `event` record: the arrival's fields plus the outcome, once the answer is settled. */
export function eventJson(event: Outcome) {
  const { forward } = event;
  const record: ReturnType<typeof eventFields> & Record<string, unknown> = eventFields("event", event);
  record.forward = forward
    ? {
        ...forwardFields(forward.url, forward.outcome, forward.verdict),
        judgement: forward.judgement,
        retry: forward.verdict.retry ?? null,
        hint: forward.hint ?? null,
      }
    : null;
  record.status = event.status;
  record.answer = event.answer.kind;
  return record;
}

/**
 * The fields both records share, built once per record in the order they are written (with the
 * envelope's `schemaVersion` already second, so recordLine need not copy the record to add it).
 */
function eventFields(type: "arrival" | "event", arrival: Arrival) {
  const { inspection } = arrival;
  const verdict = inspection.verification;
  return {
    type,
    schemaVersion: JSON_SCHEMA_VERSION,
    seq: arrival.seq,
    receivedAt: arrival.request.receivedAt,
    eventId: inspection.eventId ?? null,
    eventType: inspection.summary.eventType ?? null,
    attempt: inspection.summary.attempt ?? null,
    inboxId: inspection.summary.inboxId ?? null,
    bytes: arrival.request.body.length,
    verification: verdict
      ? { valid: verdict.valid, reason: verdict.reason ?? null, message: verdict.message }
      : { valid: null, reason: "no_secret", message: "unverified: no secret" },
    payload: { known: inspection.payload.known, problems: inspection.payload.problems },
    duplicate: arrival.duplicate ?? null,
    replay: arrival.replay ?? null,
    forwardTo: arrival.forwardTo ?? null,
    filteredOut: Boolean(arrival.filteredOut),
    capturePath: arrival.capturePath ?? null,
    saveError: arrival.saveError ?? null,
  };
}

function prettyRenderer(output: Output, showPath: (path: string) => string, verbose: boolean): ListenRenderer {
  const c = output.color;
  // HH:MM:SS of an ISO time, styled: made once a second (every event's two lines show one).
  let timeKey = "";
  let timeText = "";
  const time = (iso: string) => {
    if (timeKey === "" || !iso.startsWith(timeKey)) {
      timeKey = iso.slice(0, 19);
      timeText = c.dim(iso.slice(11, 19));
    }
    return timeText;
  };
  const now = () => time(clockText());
  // The terminal's width (read per event: it may be resized), or undefined when stdout is not a
  // terminal (or reports no width, 0, as Output.out takes it), where values keep their fixed caps.
  const columns = () => (output.stdoutIsTTY ? output.columns || undefined : undefined);
  return {
    ready(banner) {
      const label = (name: string) => c.dim(name.padEnd(13));
      output.out(c.bold("openmail-hooks listen"));
      if (banner.publicUrl) {
        output.out(`  ${label("Webhook URL")}${c.green.bold(banner.publicUrl)}`);
        if (banner.inboxes?.length) {
          for (const inbox of banner.inboxes) {
            const name = inbox.address
              ? `${sanitizeLine(inbox.id)} (${sanitizeLine(inbox.address)})`
              : sanitizeLine(inbox.id);
            const before = inbox.previousUrl ? sanitizeLine(inbox.previousUrl) : "the account webhook";
            output.out(`  ${label("Inbox")}${name} delivers here ${c.dim(`(put back to ${before} on exit)`)}`);
          }
        } else {
          output.out(`  ${" ".repeat(13)}${c.dim("paste it into the OpenMail Dashboard → Settings → Webhook URL")}`);
        }
        output.out(`  ${label("Local")}${banner.localUrl}`);
      } else {
        const reach = banner.reachableFromNetwork ? "no tunnel; reachable from your network" : "local only";
        output.out(`  ${label("Webhook URL")}${c.bold(banner.localUrl)} ${c.dim(`(${reach})`)}`);
      }
      if (banner.tunnel?.source) output.out(`  ${label("ngrok")}authtoken from ${banner.tunnel.source}`);
      output.out(
        banner.secret
          ? `  ${label("Secret")}${banner.secret.masked} from ${banner.secret.source}`
          : `  ${label("Secret")}${c.yellow("none: events are shown UNVERIFIED (set OPENMAIL_WEBHOOK_SECRET or --secret)")}`,
      );
      output.out(
        `  ${label("Captures")}${banner.saveDir ? showPath(banner.saveDir) : c.yellow("not saved (--no-save)")}`,
      );
      if (banner.forwardTo) output.out(`  ${label("Forward to")}${banner.forwardTo}`);
      for (const [inbox, url] of banner.routes) output.out(`  ${label("Route")}${sanitizeLine(inbox)} → ${url}`);
      if (banner.events)
        output.out(`  ${label("Events")}${banner.events.join(", ")} ${c.dim("(others: 200, not forwarded)")}`);
      if (banner.forcedStatus !== undefined) output.out(`  ${label("Answer")}always ${banner.forcedStatus} (--status)`);
      if (banner.inspectorUrl) output.out(`  ${label("Inspector")}${c.cyan(banner.inspectorUrl)}`);
      output.out(c.dim("Waiting for events (Ctrl-C to stop)…"));
    },
    arrival(arrival) {
      if (verbose) output.out("");
      const width = columns();
      const lines = arrivalLines(arrival, c, time, showPath, width);
      output.out(lines[0] ?? "");
      if (verbose) for (const line of detailLines(arrival, c, width)) output.out(line);
      for (let i = 1; i < lines.length; i++) output.out(lines[i] as string);
    },
    outcome(outcome) {
      for (const line of outcomeLines(outcome, c, now(), verbose, showPath, columns())) output.out(line);
    },
    warning(message) {
      output.err(output.errColor.yellow(`warning: ${message}`));
    },
    notice(notice) {
      if (notice.type === "handler-error") output.err(c.red(`error: ${sanitizeLine(notice.message)}`));
      else if (notice.type === "refused") {
        const why = notice.reason === "busy" ? "too many large bodies at once" : "listen is stopping";
        const fate = notice.fate.kind === "written" ? "" : " (the sender hung up first)";
        output.out(
          c.yellow(
            `${now()} ${sanitizeLine(notice.method)} ${clipToLine(notice.path, 80, columns(), HANGING_INDENT)} → 503: ${why}, not processed; OpenMail retries it${fate}`,
          ),
        );
      } else if (notice.type === "unparsed")
        output.out(c.dim(`${now()} → ${notice.status}: ${unparsedText(notice.reason)}`));
      else if (notice.type === "timed-out")
        output.out(
          c.yellow(
            `${now()} ${sanitizeLine(notice.method)} ${clipToLine(notice.path, 80, columns(), HANGING_INDENT)} → 408: the whole request did not arrive within ${formatMs(notice.limitMs)}; closed, not processed`,
          ),
        );
      else if (notice.type === "incomplete-body")
        output.out(
          c.yellow(
            `${now()} ${sanitizeLine(notice.method)} ${clipToLine(notice.path, 80, columns(), HANGING_INDENT)} → no answer: the sender hung up before its body was complete; not processed`,
          ),
        );
      else if (notice.type === "too-large")
        output.out(
          c.yellow(
            `${now()} ${sanitizeLine(notice.method)} ${clipToLine(notice.path, 80, columns(), HANGING_INDENT)} → 413: body over ${formatBytes(notice.limit)} (raise --max-body-size)`,
          ),
        );
      else
        output.out(
          c.dim(
            `${now()} ${sanitizeLine(notice.method)} ${clipToLine(notice.path, 80, columns(), HANGING_INDENT)} → ${notice.status} (${notice.hint})`,
          ),
        );
    },
    tunnel(notice) {
      if (notice.state === "down")
        output.out(c.yellow(`${now()} tunnel down: ${notice.url} is unreachable; reconnecting…`));
      else if (notice.state === "restored") output.out(c.green(`${now()} tunnel restored: ${notice.url}`));
      else if (notice.state === "reconnecting")
        output.out(c.yellow(`${now()} tunnel still down after ${formatMs(notice.downForMs)}: opening a new session…`));
      else if (notice.state === "closed") output.out(c.dim(`${now()} tunnel closed: ${notice.url}`));
      else if (notice.state === "reopen-failed")
        output.out(c.red(`${now()} could not reopen the tunnel: ${sanitizeLine(notice.message)}; trying again…`));
      else {
        output.out(c.red.bold(`${now()} the public URL changed: ${notice.from} → ${notice.to}`));
        output.out(
          c.red.bold(`  UPDATE the OpenMail Dashboard → Settings → Webhook URL to ${notice.to}${notice.path}`),
        );
      }
    },
    error(message) {
      output.err(c.red(`error: ${message}`));
    },
    summary(stats, saveDir) {
      output.out("");
      output.out(c.bold("Summary"));
      output.out(
        `  received ${stats.received} · verified ${stats.verified} · failed verification ${stats.failedVerification}` +
          `${stats.unverified ? ` · unverified ${stats.unverified}` : ""} · retries ${stats.retries}` +
          `${stats.ignored ? ` · ignored ${stats.ignored}` : ""}` +
          `${stats.filteredOut ? ` · not in --events ${stats.filteredOut}` : ""}`,
      );
      const forwarded = Object.entries(stats.forwarded);
      if (forwarded.length > 0) {
        output.out(`  forwarded: ${forwarded.map(([key, count]) => `${forwardLabel(key)} ×${count}`).join(" · ")}`);
      }
      if (stats.senderGone > 0)
        output.out(c.yellow(`  ${stats.senderGone} answer(s) not delivered: the sender hung up first`));
      if (stats.saveErrors > 0) output.out(c.red(`  ${stats.saveErrors} event(s) could not be saved`));
      if (saveDir) output.out(`  captures in ${showPath(saveDir)}`);
    },
  };
}

let clockSecond = Number.NaN;
let clockIso = "";
/** The current time as an ISO string, made once a second: every outcome line shows it. */
function clockText(): string {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockIso = new Date(second * 1000).toISOString();
  }
  return clockIso;
}

const NETWORK_LABELS: Record<string, string> = {
  refused: "connection refused",
  dns: "host not found",
  tls: "TLS failed",
  reset: "connection reset",
  "connect-timeout": "connect timed out",
  stopped: "stopped by listen",
  other: "network error",
  timeout: "timed out",
};

/** "200", "404", or what a failed forward's key means ("connection refused"). */
function forwardLabel(key: string): string {
  return NETWORK_LABELS[key] ?? key;
}

type Colors = Output["color"];

/** The styled marks every event's lines use, made once per set of colours (not twice per event). */
interface Marks {
  separator: string;
  arrivalArrow: string;
  outcomeArrow: string;
  verified: string;
  unverified: string;
}
let marksFor: Colors | undefined;
let cachedMarks: Marks | undefined;
function marksOf(c: Colors): Marks {
  if (marksFor !== c || cachedMarks === undefined) {
    marksFor = c;
    cachedMarks = {
      separator: c.dim(" · "),
      arrivalArrow: c.bold("-->"),
      outcomeArrow: c.bold("<--"),
      verified: c.green("✓ verified"),
      unverified: c.yellow("? unverified"),
    };
  }
  return cachedMarks;
}

/** The indent of a wrapped line's continuation (fit.ts wrapLine) for lines that start unindented. */
const HANGING_INDENT = 2;

/** A value on an unindented line: on a terminal, cut to fit a continuation line if it is too long. */
function lineValue(text: string, max: number, columns: number | undefined): string {
  return clipToLine(text, max, columns, HANGING_INDENT);
}

function colorForType(c: Colors, type: string | undefined) {
  if (!type) return c.magenta;
  if (type.endsWith(".suspended")) return c.red.bold;
  if (type.endsWith(".reactivated")) return c.green.bold;
  if (type.startsWith("message.")) return c.cyan.bold;
  return c.magenta.bold;
}

/** The `-->` line: when, what, which inbox, who → what subject, the signature verdict. */
export function arrivalLines(
  arrival: Arrival,
  c: Colors,
  time: (iso: string) => string,
  showPath: (path: string) => string,
  columns?: number,
): string[] {
  const { inspection, request } = arrival;
  const s = inspection.summary;
  const type = s.eventType
    ? lineValue(s.eventType, 40, columns)
    : inspection.payload.json
      ? "(no event type)"
      : // Parsed once more, only on this rare path, so `[1,2,3]` is not called "not JSON".
        parseJsonBody(request.body) !== undefined
        ? "(JSON, not an object)"
        : "(not JSON)";
  const marks = marksOf(c);
  const separator = marks.separator;
  // The parts joined by the separator as they are made (no array and join per event).
  let head = `${time(request.receivedAt)} ${marks.arrivalArrow} ${colorForType(c, s.eventType)(type)} ${c.dim(lineValue(inspection.eventId ?? "(no event id)", 64, columns))}`;
  if (s.attempt !== undefined && s.attempt > 1) head += c.dim(` attempt ${s.attempt}`);
  if (arrival.duplicate) {
    const { timesSeen, inFolder, firstSeenAt } = arrival.duplicate;
    const where = inFolder
      ? " (already in the capture folder)"
      : firstSeenAt
        ? ` (first ${firstSeenAt.slice(11, 19)})`
        : "";
    head += separator + c.yellow(`retry #${timesSeen}${where}`);
  } else if (arrival.replay) {
    const of = arrival.replay.originalReceivedAt;
    head += separator + c.magenta(`↺ replay from the inspector${of ? ` (of ${of.slice(11, 19)})` : ""}`);
  }
  if (s.lifecycle) {
    const noInbox = s.eventType?.startsWith("inbox.") ? "(no inbox_id)" : "pod event";
    head +=
      separator +
      (s.inboxId ? lineValue(s.inboxId, 40, columns) : c.dim(s.podId ? lineValue(s.podId, 40, columns) : noInbox));
    if (s.reason) head += separator + lineValue(s.reason, 40, columns);
  } else if (inspection.payload.json) {
    if (s.inboxId) head += separator + lineValue(s.inboxId, 40, columns);
    if (s.from || s.subject !== undefined) {
      head += `${separator}${lineValue(s.from ?? "?", 60, columns)} → ${s.subject !== undefined ? lineValue(s.subject, 80, columns) : c.dim("(no subject)")}`;
    }
  } else {
    head += separator + c.dim(`${request.body.length} bytes`);
  }
  const verdict = inspection.verification;
  const signature = !verdict
    ? marks.unverified
    : verdict.valid
      ? marks.verified
      : c.red(`✗ ${sanitizeLine(verdict.message)}`);
  head += separator + signature;
  const lines = [arrival.filteredOut ? c.dim(`${head} (not in --events)`) : head];
  if (inspection.payload.json && !inspection.payload.known && s.eventType) {
    lines.push(c.yellow("   ! unknown event type: a handler should answer 2xx and ignore it"));
  } else if (inspection.payload.problems.length > 0 && inspection.payload.json) {
    lines.push(c.yellow(`   ! payload is missing ${inspection.payload.problems.slice(0, 4).join(", ")}`));
  }
  const headerId = request.headers["x-event-id"];
  if (headerId !== undefined && s.eventId !== undefined && headerId !== s.eventId) {
    lines.push(
      c.yellow(
        `   ! X-Event-Id ${lineValue(headerId, 64, columns)} differs from the body's event_id ${lineValue(s.eventId, 64, columns)}: OpenMail sends the same id in both`,
      ),
    );
  }
  if (verdict && !verdict.valid && arrival.capturePath) {
    lines.push(c.dim(`   why: openmail-hooks verify ${showPath(arrival.capturePath)}`));
  }
  if (arrival.saveError) {
    lines.push(
      c.red(
        `   ✗ NOT saved: ${sanitizeLine(arrival.saveError)}; it will be answered 500 so OpenMail retries (${arrival.saveNextStep ?? "fix the folder, or run with --no-save"})`,
      ),
    );
  }
  return lines;
}

/** --verbose: the email itself, between the arrival and the outcome. */
function detailLines(arrival: Arrival, c: Colors, columns?: number): string[] {
  const { inspection, request } = arrival;
  const s = inspection.summary;
  const lines: string[] = [];
  const field = (name: string, value: string) => `    ${c.dim(name.padEnd(5))} ${value}`;
  // A value too long for the terminal is cut to what is left after the field's name (10 columns).
  const cut = (text: string, max: number) => clipToLine(text, max, columns, 10);
  if (s.lifecycle) {
    lines.push(
      field("inbox", s.inboxId ? `${cut(s.inboxId, 60)} ${cut(s.inboxAddress ?? "", 80)}` : c.dim("none (pod event)")),
    );
    if (s.podId) lines.push(field("pod", cut(s.podId, 60)));
    lines.push(field("why", s.reason ? cut(s.reason, 80) : c.dim("none (reactivated)")));
  } else if (inspection.payload.json) {
    if (s.inboxId) lines.push(field("inbox", cut(s.inboxId, 60)));
    if (s.from || s.to) lines.push(field("from", `${cut(s.from ?? "?", 80)} → ${cut(s.to ?? "?", 80)}`));
    if (s.subject !== undefined) lines.push(field("subj", cut(s.subject, 120)));
    for (const attachment of s.attachments.slice(0, 5)) {
      const meta = [
        attachment.contentType,
        attachment.sizeBytes !== undefined ? formatBytes(attachment.sizeBytes) : undefined,
      ]
        .filter(Boolean)
        .map((part) => sanitizeLine(String(part)))
        .join(", ");
      lines.push(field("att", `${cut(attachment.filename, 80)}${meta ? c.dim(` (${meta})`) : ""}`));
    }
    if (s.attachments.length > 5) lines.push(field("att", c.dim(`… and ${s.attachments.length - 5} more`)));
    if (s.bodyText) {
      const bodyLines = sanitizeText(s.bodyText)
        .split("\n")
        .filter((line) => line.trim() !== "");
      bodyLines.slice(0, 3).forEach((line, index) => {
        lines.push(field(index === 0 ? "body" : "", c.dim(cut(line, 100))));
      });
      if (bodyLines.length > 3) lines.push(field("", c.dim(`… ${bodyLines.length - 3} more line(s)`)));
    }
  } else {
    lines.push(field("body", c.dim(`${request.body.length} bytes, not JSON`)));
  }
  const verdict = inspection.verification;
  if (verdict?.valid && verdict.timestamp?.ageSeconds !== undefined) {
    lines.push(field("sig", c.dim(`valid, timestamp ${ageText(verdict.timestamp.ageSeconds)}`)));
  }
  return lines;
}

/** The `<--` line: what the handler said and what the sender got; then a line for anything wrong. */
export function outcomeLines(
  event: Outcome,
  c: Colors,
  time: string,
  verbose: boolean,
  showPath: (path: string) => string,
  columns?: number,
): string[] {
  const { forward } = event;
  const id = c.dim(`[${clipToLine(event.inspection.eventId ?? `#${event.seq}`, 64, columns, HANGING_INDENT + 2)}]`);
  const { separator, outcomeArrow } = marksOf(c);
  // The parts joined by the separator as they are made (no array and join per event).
  let text: string;
  let bracket: string;
  let good: boolean;
  if (forward) {
    const { outcome, verdict, judgement } = forward;
    const handled =
      outcome.kind === "response" ? `${outcome.status} ${statusText(outcome.status)}`.trim() : "no answer";
    good = judgement === "accepted" || judgement === "rejected-as-expected";
    bracket = `[${handled}]`;
    text = `handler ${outcome.kind === "response" ? formatMs(outcome.latencyMs) : sanitizeLine(outcomeText(outcome, verdict))}`;
    if (judgement === "rejected-as-expected") text += separator + REJECTED_AS_EXPECTED;
  } else {
    good = event.status < 300 || (event.signature === "invalid" && event.status < 500);
    bracket = `[${event.status}]`;
    text = `answered here: ${sanitizeLine(event.statusReason)}`;
  }
  const undelivered = undeliveredAnswerText(event.answer, event.status);
  if (undelivered) {
    text += separator + (event.answer.kind === "dropped" ? c.red(undelivered) : c.yellow(undelivered));
  } else if (forward) {
    const relayed = forward.outcome.kind === "response" && event.status === forward.outcome.status;
    text +=
      separator +
      (relayed ? `answered ${event.status}` : `answered ${event.status}: ${sanitizeLine(event.statusReason)}`);
  }
  const colour = good ? c.green : c.red;
  const lines = [`${time} ${outcomeArrow} ${colour(bracket)} ${text} ${id}`];

  if (forward) {
    const { outcome, verdict, judgement } = forward;
    if (judgement === "accepted-bad" || judgement === "failed-bad") {
      const problem = `   ✗ ${judgementProblem(judgement, outcome.kind === "response" ? outcome.status : null, event.inspection.verification, sanitizeLine)}`;
      lines.push(judgement === "accepted-bad" ? c.red.bold(problem) : c.red(problem));
    }
    const wrong = judgement === "rejected-valid" || judgement === "failed-bad";
    if (outcome.kind === "response" && outcome.bodyPreview && (wrong || verbose)) {
      const summary = responseSummary(outcome.bodyPreview, outcome.headers["content-type"], columns);
      if (summary) lines.push(wrong ? `   response: ${summary}` : c.dim(`   response: ${summary}`));
    }
    if (forward.hint && judgementShowsHint(judgement)) lines.push(c.yellow(`   hint: ${forward.hint}`));
    if (judgement === "rejected-valid") {
      const retry = describeRetry(verdict.retry);
      if (retry) lines.push(c.dim(`   ${retry}`));
    }
  }
  if (verbose && event.capturePath) lines.push(c.dim(`   saved ${showPath(event.capturePath)}`));
  return lines;
}

/** A request Node's parser gave up on, for the terminal (the sender got the status shown with it). */
function unparsedText(reason: UnparsedReason): string {
  if (reason === "header-overflow") return "a request with headers over 16 KiB (Node's limit), not read";
  if (reason === "headers-timeout") return "a request whose headers did not all arrive within 10 s, closed";
  return "a request that is not valid HTTP, closed";
}
