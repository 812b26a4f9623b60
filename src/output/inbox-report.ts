/**
 * What `listen --inbox`, `restore` and `inboxes` say about OpenMail inboxes: a line for humans, or
 * with --json one NDJSON record ({"type": "inbox", "action": …}). Values from the API (URLs,
 * addresses, its messages) are untrusted and pass through the sanitiser.
 */
import type { ClaimedInbox, Recovery, RepointResult, RestoreResult } from "../openmail/registrar.js";
import type { RoundTrip } from "../openmail/round-trip.js";
import { sanitizeLine } from "./sanitize.js";
import type { Output } from "./terminal.js";

type Level = "ok" | "info" | "warn" | "error";

export interface InboxReporter {
  registered(claimed: ClaimedInbox[], webhookUrl: string): void;
  secretNote(level: Level, text: string, data?: Record<string, unknown>): void;
  repointed(results: RepointResult[], webhookUrl: string): void;
  restored(results: RestoreResult[], context: "exit" | "recovery" | "command"): void;
  recovery(recovery: Recovery): void;
  roundTrip(result: RoundTrip): void;
  /** Keep lines back until flush() (listen prints them after its banner). */
  hold(): void;
  flush(): void;
}

const safe = (value: string | null | undefined) => (value == null ? "" : sanitizeLine(value));
const name = (inbox: { inboxId: string; address?: string }) =>
  inbox.address ? `${safe(inbox.inboxId)} (${safe(inbox.address)})` : safe(inbox.inboxId);
const target = (url: string | null) => (url ? safe(url) : "the account webhook");

export function createInboxReporter(output: Output, options: { json: boolean }): InboxReporter {
  const c = output.color;
  let held: Array<() => void> | undefined;
  const emit = (level: Level, action: string, text: string, data: Record<string, unknown> = {}) => {
    if (held) {
      held.push(() => emit(level, action, text, data));
      return;
    }
    if (options.json) {
      output.record({ type: "inbox", action, level, ...data, message: text });
      return;
    }
    const paint = level === "ok" ? c.green : level === "warn" ? c.yellow : level === "error" ? c.red : (s: string) => s;
    output.out(paint(text));
  };

  return {
    hold() {
      held ??= [];
    },
    flush() {
      const lines = held ?? [];
      held = undefined;
      for (const line of lines) line();
    },
    registered(claimed, webhookUrl) {
      for (const inbox of claimed) {
        // For humans the banner says it (listenBannerInboxes); the record is for --json readers.
        if (!options.json) continue;
        const was = inbox.previousWasOurs
          ? `was ${target(inbox.previousUrl)}, an earlier openmail-hooks tunnel`
          : `was ${target(inbox.previousUrl)}; put back when listen stops`;
        emit("ok", "registered", `  inbox ${name(inbox)} now delivers here (${was})`, {
          inboxId: inbox.inboxId,
          address: inbox.address ?? null,
          webhookUrl,
          previousUrl: inbox.previousUrl,
          secret: inbox.secretOrigin ?? null,
        });
      }
      for (const inbox of claimed) {
        if (inbox.secretOrigin === "rotated") {
          emit(
            "warn",
            "secret-rotated",
            `  rotated ${safe(inbox.inboxId)}'s webhook secret (--rotate-secret): anything else that verified its webhooks with the old secret now fails`,
            { inboxId: inbox.inboxId },
          );
        }
      }
    },
    secretNote(level, text, data = {}) {
      emit(level, "secret", `  ${text}`, data);
    },
    repointed(results, webhookUrl) {
      for (const result of results) {
        if (result.ok)
          emit("ok", "repointed", `inbox ${safe(result.inboxId)} now delivers to the new URL ${safe(webhookUrl)}`, {
            inboxId: result.inboxId,
            webhookUrl,
          });
        else
          emit(
            "error",
            "repoint-failed",
            `could not point inbox ${safe(result.inboxId)} at ${safe(webhookUrl)}: ${safe(result.message)}`,
            { inboxId: result.inboxId, webhookUrl },
          );
      }
    },
    restored(results, context) {
      const why = context === "recovery" ? " (left by an earlier listen that did not stop cleanly)" : "";
      for (const result of results) {
        const data = {
          inboxId: result.inboxId,
          outcome: result.outcome,
          previousUrl: result.previousUrl,
          currentUrl: result.currentUrl ?? null,
        };
        if (result.outcome === "restored") {
          emit("ok", "restored", `restored inbox ${name(result)} to ${target(result.previousUrl)}${why}`, data);
          if (result.previousIsTunnel)
            emit(
              "warn",
              "restored",
              `  that is a tunnel's URL, as before --take-over: right while what opened it still runs; if that was a listen that has stopped, run \`openmail-hooks restore\` in its capture folder to put back what the inbox had before it`,
              data,
            );
          if (result.rotated)
            emit(
              "warn",
              "restored",
              `  its secret was rotated during that run: wherever ${target(result.previousUrl)} verifies, use the new secret`,
              data,
            );
        } else if (result.outcome === "held-elsewhere") {
          emit(
            "warn",
            "held-elsewhere",
            `left inbox ${name(result)} with ${target(result.currentUrl ?? null)}, another tunnel that took it over (another listen with --take-over?): when that one stops it points the inbox back at this run's tunnel URL; then run \`openmail-hooks restore\` with this capture folder (or start listen here again) to put back ${target(result.previousUrl)}`,
            data,
          );
        } else if (result.outcome === "changed-elsewhere") {
          emit(
            "warn",
            "left-alone",
            `left inbox ${name(result)} alone: ${result.message ? safe(result.message) : `it now points at ${target(result.currentUrl ?? null)}, set by someone else`}`,
            data,
          );
        } else {
          emit(
            "error",
            "restore-failed",
            `could not restore inbox ${name(result)} to ${target(result.previousUrl)}: ${safe(result.message)}; run \`openmail-hooks restore\` later`,
            data,
          );
        }
      }
    },
    recovery(recovery) {
      if (recovery.kind === "restored") this.restored(recovery.results, "recovery");
      else if (recovery.kind === "no-key")
        emit(
          "warn",
          "needs-restore",
          `an earlier listen left ${recovery.pending.map((p) => safe(p.inboxId)).join(", ")} pointing at its tunnel: set OPENMAIL_API_KEY (or pass --api-key) and run \`openmail-hooks restore\``,
          { inboxIds: recovery.pending.map((p) => p.inboxId) },
        );
      else if (recovery.kind === "other-api")
        emit(
          "warn",
          "needs-restore",
          `the capture folder's registration file says ${recovery.pending.map((p) => safe(p.inboxId)).join(", ")} ${recovery.pending.length === 1 ? "was" : "were"} pointed here through another API (${safe(recovery.apiBase)}), so your key was not sent there; if that run was yours, run \`openmail-hooks restore --api-base ${safe(recovery.apiBase)}\``,
          { inboxIds: recovery.pending.map((p) => p.inboxId), apiBase: recovery.apiBase },
        );
      else if (recovery.kind === "running")
        emit(
          "info",
          "held",
          `another listen (pid ${recovery.pid}) holds ${recovery.inboxIds.map(safe).join(", ")} from this capture folder`,
          { pid: recovery.pid, inboxIds: recovery.inboxIds },
        );
    },
    roundTrip(result) {
      const data = { inboxId: result.inboxId, ok: result.ok, hops: result.hops, problem: result.problem ?? null };
      const hops = result.hops.map(safe).join(" → ");
      if (result.ok) emit("ok", "test-passed", `test round trip for ${safe(result.inboxId)} passed: ${hops}`, data);
      else
        emit(
          "error",
          "test-failed",
          `test round trip for ${safe(result.inboxId)} FAILED: ${safe(result.problem)}${hops ? ` [${hops}]` : ""}`,
          data,
        );
    },
  };
}
