/**
 * `openmail-hooks restore`: put back the webhook URLs a `listen --inbox` left pointing at its
 * tunnel when it could not stop cleanly (crash, kill -9), from the state file in its capture folder.
 */
import { resolve } from "node:path";
import type { CommandContext } from "../command-context.js";
import { EXIT, type ExitCode, usageError } from "../errors.js";
import { processAlive } from "../io/process-alive.js";
import { type ApiFlags, configuredApiBase, openApi } from "../openmail/connect.js";
import { registeredElsewhere, restoreInboxes } from "../openmail/registrar.js";
import { openStateStore } from "../openmail/state.js";
import { createInboxReporter } from "../output/inbox-report.js";
import { sanitizeLine } from "../output/sanitize.js";

export interface RestoreOptions extends ApiFlags {
  saveDir: string;
  json?: boolean;
}

export async function runRestore(options: RestoreOptions, ctx: CommandContext): Promise<ExitCode> {
  const store = openStateStore(resolve(ctx.cwd, options.saveDir));
  const reporter = createInboxReporter(ctx.output, { json: Boolean(options.json) });
  const state = await store.read();
  if (state.pending.length === 0) {
    if (options.json) ctx.output.record({ type: "inbox", action: "nothing", message: "nothing to restore" });
    else ctx.output.out(`nothing to restore: no inbox is left pointing at a listen tunnel (${options.saveDir})`);
    return EXIT.OK;
  }
  if (state.pid !== undefined && state.pid !== process.pid && processAlive(state.pid)) {
    reporter.recovery({ kind: "running", pid: state.pid, inboxIds: state.pending.map((p) => p.inboxId) });
    ctx.output.err("restore: that listen is still running; stop it with Ctrl-C and it puts the URLs back itself");
    return EXIT.USAGE;
  }
  // The API base is this run's (--api-base, OPENMAIL_API_BASE or OpenMail's), never the state file's:
  // the file can come with a cloned repository, and the key is sent to whatever base is used.
  const base = configuredApiBase(options, ctx.environment);
  if (registeredElsewhere(state, base)) {
    throw usageError(
      `the registrations in ${sanitizeLine(options.saveDir)} were made through the API at ${sanitizeLine(state.apiBase)}, not ${base}: your key is not sent there unless you ask; if that run was yours, pass --api-base ${sanitizeLine(state.apiBase)}`,
    );
  }
  const api = openApi(options, ctx.environment, "`restore`");
  try {
    const results = await restoreInboxes(api, store);
    reporter.restored(results, "command");
    return results.some((result) => result.outcome === "failed") ? EXIT.USAGE : EXIT.OK;
  } finally {
    await api.close();
  }
}
