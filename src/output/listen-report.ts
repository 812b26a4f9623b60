/**
 * Rendering of `listen`: the banner, one compact block per event, ignored requests dimmed, tunnel
 * changes, and the summary; or, with --json, one NDJSON record per line on stdout and nothing else.
 * Every string that came with a request passes through the sanitiser.
 */
import { relative } from "node:path";
import { describeRetry, formatMs, outcomeText } from "../core/contract.js";
import { ageText } from "../core/signature.js";
import type { ListenerNotice } from "../io/listener.js";
import type { ListenStats, ReceivedEvent } from "../io/webhook-pipeline.js";
import type { TunnelNotice } from "../tunnel/supervisor.js";
import { clip, sanitizeLine, sanitizeText } from "./sanitize.js";
import type { Output } from "./terminal.js";

export interface ListenBanner {
  localUrl: string;
  publicUrl?: string;
  secret?: { source: string; masked: string };
  saveDir?: string;
  forwardTo?: string;
  routes: ReadonlyMap<string, string>;
  forcedStatus?: number;
  tunnel?: { source?: string };
  /** The inspector page's address, with its token. */
  inspectorUrl?: string;
}

export interface ListenRenderer {
  ready(banner: ListenBanner): void;
  event(event: ReceivedEvent): void;
  notice(notice: ListenerNotice): void;
  tunnel(notice: TunnelNotice): void;
  error(message: string): void;
  summary(stats: ListenStats, saveDir: string | undefined): void;
}

export function createListenRenderer(output: Output, options: { json: boolean; cwd: string }): ListenRenderer {
  const showPath = (path: string) => {
    const rel = relative(options.cwd, path);
    return rel && !rel.startsWith("..") ? rel : path;
  };
  return options.json ? jsonRenderer(output) : prettyRenderer(output, showPath);
}

function jsonRenderer(output: Output): ListenRenderer {
  const line = (record: Record<string, unknown>) => output.out(JSON.stringify(record));
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
      });
    },
    event(event) {
      line(eventJson(event));
    },
    notice(notice) {
      if (notice.type === "handler-error") line({ type: "error", message: notice.message });
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
      line({ type: "error", message });
    },
    summary(stats, saveDir) {
      line({ type: "summary", ...stats, saveDir: saveDir ?? null });
    },
  };
}

export function eventJson(event: ReceivedEvent) {
  const { inspection, forward } = event;
  const verdict = inspection.verification;
  return {
    type: "event",
    receivedAt: event.request.receivedAt,
    eventId: inspection.eventId ?? null,
    eventType: inspection.summary.eventType ?? null,
    attempt: inspection.summary.attempt ?? null,
    inboxId: inspection.summary.inboxId ?? null,
    bytes: event.request.body.length,
    verification: verdict
      ? { valid: verdict.valid, reason: verdict.reason ?? null, message: verdict.message }
      : { valid: null, reason: "no_secret", message: "unverified: no secret" },
    payload: { known: inspection.payload.known, problems: inspection.payload.problems },
    duplicate: event.duplicate ?? null,
    forward: forward
      ? {
          url: forward.url,
          outcome: forward.outcome.kind === "network-error" ? forward.outcome.error : forward.outcome.kind,
          status: forward.outcome.kind === "response" ? forward.outcome.status : null,
          latencyMs: Math.round(forward.outcome.latencyMs * 100) / 100,
          accepted: forward.verdict.accepted,
          hint: forward.hint ?? null,
        }
      : null,
    status: event.status,
    capturePath: event.capturePath ?? null,
    saveError: event.saveError ?? null,
  };
}

function prettyRenderer(output: Output, showPath: (path: string) => string): ListenRenderer {
  const c = output.color;
  const time = (iso: string) => c.dim(iso.slice(11, 19));
  return {
    ready(banner) {
      const label = (name: string) => c.dim(name.padEnd(13));
      output.out(c.bold("openmail-hooks listen"));
      if (banner.publicUrl) {
        output.out(`  ${label("Webhook URL")}${c.green.bold(banner.publicUrl)}`);
        output.out(`  ${" ".repeat(13)}${c.dim("paste it into the OpenMail Dashboard → Settings → Webhook URL")}`);
        output.out(`  ${label("Local")}${banner.localUrl}`);
      } else {
        output.out(`  ${label("Webhook URL")}${c.bold(banner.localUrl)} ${c.dim("(local only)")}`);
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
      if (banner.forcedStatus !== undefined) output.out(`  ${label("Answer")}always ${banner.forcedStatus} (--status)`);
      if (banner.inspectorUrl) output.out(`  ${label("Inspector")}${c.cyan(banner.inspectorUrl)}`);
      output.out(c.dim("Waiting for events (Ctrl-C to stop)…"));
    },
    event(event) {
      output.out("");
      for (const line of eventLines(event, c, showPath, time)) output.out(line);
    },
    notice(notice) {
      const now = time(new Date().toISOString());
      if (notice.type === "handler-error") output.err(c.red(`error: ${sanitizeLine(notice.message)}`));
      else if (notice.type === "too-large")
        output.out(
          c.yellow(
            `${now} ${sanitizeLine(notice.method)} ${clip(notice.path, 80)} → 413: body over ${formatBytes(notice.limit)} (raise --max-body-size)`,
          ),
        );
      else
        output.out(
          c.dim(`${now} ${sanitizeLine(notice.method)} ${clip(notice.path, 80)} → ${notice.status} (${notice.hint})`),
        );
    },
    tunnel(notice) {
      const now = time(new Date().toISOString());
      if (notice.state === "down")
        output.out(c.yellow(`${now} tunnel down: ${notice.url} is unreachable; reconnecting…`));
      else if (notice.state === "restored") output.out(c.green(`${now} tunnel restored: ${notice.url}`));
      else if (notice.state === "reconnecting")
        output.out(c.yellow(`${now} tunnel still down after ${formatMs(notice.downForMs)}: opening a new session…`));
      else if (notice.state === "closed") output.out(c.dim(`${now} tunnel closed: ${notice.url}`));
      else if (notice.state === "reopen-failed")
        output.out(c.red(`${now} could not reopen the tunnel: ${sanitizeLine(notice.message)}; trying again…`));
      else {
        output.out(c.red.bold(`${now} the public URL changed: ${notice.from} → ${notice.to}`));
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
          `${stats.ignored ? ` · ignored ${stats.ignored}` : ""}`,
      );
      const forwarded = Object.entries(stats.forwarded);
      if (forwarded.length > 0) {
        output.out(`  forwarded: ${forwarded.map(([status, count]) => `${status} ×${count}`).join(" · ")}`);
      }
      if (stats.saveErrors > 0) output.out(c.red(`  ${stats.saveErrors} event(s) could not be saved`));
      if (saveDir) output.out(`  captures in ${showPath(saveDir)}`);
    },
  };
}

type Colors = Output["color"];

function colorForType(c: Colors, type: string | undefined) {
  if (!type) return c.magenta;
  if (type.endsWith(".suspended")) return c.red.bold;
  if (type.endsWith(".reactivated")) return c.green.bold;
  if (type.startsWith("message.")) return c.cyan.bold;
  return c.magenta.bold;
}

function eventLines(event: ReceivedEvent, c: Colors, showPath: (p: string) => string, time: (iso: string) => string) {
  const { inspection, forward, request } = event;
  const s = inspection.summary;
  const lines: string[] = [];
  const type = s.eventType ? clip(s.eventType, 40) : inspection.payload.json ? "(no event type)" : "(not JSON)";
  const attempt = s.attempt !== undefined ? ` attempt ${s.attempt}` : "";
  const duplicate = event.duplicate
    ? c.yellow(
        ` retry #${event.duplicate.timesSeen}${event.duplicate.inFolder ? " (already in the capture folder)" : event.duplicate.firstSeenAt ? ` (first seen ${event.duplicate.firstSeenAt.slice(11, 19)})` : ""}`,
      )
    : "";
  const head = `${time(request.receivedAt)} ${colorForType(c, s.eventType)(type)}  ${c.dim(clip(inspection.eventId ?? "(no event id)", 64))}${c.dim(attempt)}${duplicate}`;
  lines.push(head);

  const field = (name: string, value: string) => `  ${c.dim(name.padEnd(5))} ${value}`;
  if (s.lifecycle) {
    lines.push(
      field(
        "inbox",
        s.inboxId ? `${clip(s.inboxId, 60)} ${clip(s.inboxAddress ?? "", 80)}` : c.dim("none (pod event)"),
      ),
    );
    if (s.podId) lines.push(field("pod", clip(s.podId, 60)));
    lines.push(field("why", s.reason ? clip(s.reason, 80) : c.dim("none (reactivated)")));
  } else if (inspection.payload.json) {
    if (s.inboxId) lines.push(field("inbox", clip(s.inboxId, 60)));
    if (s.from || s.to) lines.push(field("from", `${clip(s.from ?? "?", 80)} → ${clip(s.to ?? "?", 80)}`));
    if (s.subject !== undefined) lines.push(field("subj", clip(s.subject, 120)));
    for (const attachment of s.attachments.slice(0, 5)) {
      const meta = [
        attachment.contentType,
        attachment.sizeBytes !== undefined ? formatBytes(attachment.sizeBytes) : undefined,
      ]
        .filter(Boolean)
        .map((part) => sanitizeLine(String(part)))
        .join(", ");
      lines.push(field("att", `${clip(attachment.filename, 80)}${meta ? c.dim(` (${meta})`) : ""}`));
    }
    if (s.attachments.length > 5) lines.push(field("att", c.dim(`… and ${s.attachments.length - 5} more`)));
    if (s.bodyText) {
      const bodyLines = sanitizeText(s.bodyText)
        .split("\n")
        .filter((line) => line.trim() !== "");
      bodyLines.slice(0, 3).forEach((line, index) => {
        lines.push(field(index === 0 ? "body" : "", c.dim(clip(line, 100))));
      });
      if (bodyLines.length > 3) lines.push(field("", c.dim(`… ${bodyLines.length - 3} more line(s)`)));
    }
  } else {
    lines.push(field("body", c.dim(`${request.body.length} bytes, not JSON`)));
  }
  if (inspection.payload.json && !inspection.payload.known && s.eventType) {
    lines.push(c.yellow(`  ! unknown event type: a handler should answer 2xx and ignore it`));
  } else if (inspection.payload.problems.length > 0 && inspection.payload.json) {
    lines.push(c.yellow(`  ! payload is missing ${inspection.payload.problems.slice(0, 4).join(", ")}`));
  }

  const verdict = inspection.verification;
  if (!verdict) lines.push(c.yellow("  ? unverified (no secret)"));
  else if (verdict.valid) {
    const age = verdict.timestamp?.ageSeconds;
    lines.push(c.green(`  ✓ signature valid${age !== undefined ? c.dim(` (timestamp ${ageText(age)})`) : ""}`));
  } else lines.push(c.red(`  ✗ ${verdict.message}`) + c.dim(` (openmail-hooks verify <capture> explains why)`));

  if (forward) {
    const { outcome, verdict: delivery } = forward;
    const result = outcomeText(outcome, delivery);
    const line = `  → ${sanitizeLine(forward.url)}: ${sanitizeLine(result)}`;
    lines.push(delivery.accepted ? c.green(line) : c.red(line));
    if (!delivery.accepted) {
      if (outcome.kind === "response" && outcome.bodyPreview)
        lines.push(`    response: ${clip(outcome.bodyPreview, 200)}`);
      const retry = describeRetry(delivery.retry);
      if (retry) lines.push(c.dim(`    ${retry}`));
    }
    if (forward.hint) lines.push(c.yellow(`    hint: ${forward.hint}`));
  }
  lines.push(c.dim(`  answered ${event.status}: ${sanitizeLine(event.statusReason)}`));
  if (event.capturePath) lines.push(c.dim(`  saved ${showPath(event.capturePath)}`));
  if (event.saveError) lines.push(c.red(`  NOT saved: ${sanitizeLine(event.saveError)}`));
  return lines;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
