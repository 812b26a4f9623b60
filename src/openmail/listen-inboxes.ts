/**
 * `listen --inbox`: everything listen does with OpenMail inboxes, behind a few calls that
 * listen.ts makes at the right moments (prepare, claim after the tunnel is up, notices, restore
 * on exit). Also, for every listen: put back inboxes an earlier run left behind.
 */
import { resolve } from "node:path";
import type { CommandContext } from "../command-context.js";
import { upsertEnvFile } from "../config/env-file.js";
import { maskSecret, requireApiKey, SECRET_VARIABLE } from "../config/environment.js";
import { errorMessage, usageError } from "../errors.js";
import type { ReceivedEvent } from "../io/webhook-pipeline.js";
import { createInboxReporter, type InboxReporter } from "../output/inbox-report.js";
import type { TunnelNotice } from "../tunnel/supervisor.js";
import type { OpenMailApi } from "./api.js";
import { type ApiFlags, configuredApiBase, openApi, openApiIfKey } from "./connect.js";
import {
  type ClaimedInbox,
  claimInboxes,
  readClaimableInboxes,
  recoverAbandoned,
  repointInboxes,
  restoreInboxes,
} from "./registrar.js";
import { createRoundTripWatch } from "./round-trip.js";
import { openStateStore, type StateStore } from "./state.js";

export interface InboxListenOptions extends ApiFlags {
  inbox?: string[];
  takeOver?: boolean;
  rotateSecret?: boolean;
  writeEnv?: boolean;
  test?: boolean;
  testTimeout: number;
  publicUrl?: string;
  tunnel: boolean;
  saveDir: string;
  path: string;
  json?: boolean;
  /** The global --dotenv: where --write-env writes (default ./.env). */
  envFile?: string;
}

export interface InboxSession {
  /** The secret to verify an event for this inbox with, when this run knows one. */
  secretFor(inboxId: string | undefined): string | undefined;
  /** The webhook URL OpenMail should use, given the tunnel's (undefined without a tunnel). */
  webhookUrl(tunnelWebhookUrl: string | undefined): string;
  /** Before the tunnel opens: read every inbox and refuse what `claim` would refuse (changes nothing). */
  check(): Promise<void>;
  claim(webhookUrl: string): Promise<void>;
  /** For the banner: the inboxes now delivering here. */
  bannerInboxes(): Array<{ id: string; address?: string; previousUrl: string | null }>;
  /** The banner is out: print what was held back, and start --test. */
  announce(): void;
  /** For the banner's Secret line, when this run learned one. */
  learnedSecret(): { source: string; masked: string } | undefined;
  onTunnelNotice(notice: TunnelNotice, fallback: (notice: TunnelNotice) => void): void;
  /** Feed every settled event; true when it was the --test event (not counted as real mail). */
  observe(event: ReceivedEvent): boolean;
  runTests(): Promise<void>;
  /** Point the inboxes back; false when one could not be (it stays in the state file for `restore`). */
  restore(): Promise<boolean>;
  /** Say that the restore did not finish before listen had to exit. */
  restoreUnfinished(seconds: number): void;
  /** A --test round trip failed. */
  readonly testFailed: boolean;
}

/** Per-inbox secrets in .env when several inboxes learn different ones: OPENMAIL_WEBHOOK_SECRET_INB_…. */
export function inboxSecretVariable(inboxId: string): string {
  return `${SECRET_VARIABLE}_${inboxId.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

/**
 * The inbox options that cannot work, refused as usage errors before listen creates anything (its
 * capture folder) or asks OpenMail anything; returns the inboxes wanted.
 */
export function checkInboxOptions(options: InboxListenOptions, ctx: CommandContext): string[] {
  const wanted = options.inbox ?? [];
  const needInbox = (
    [
      ["--take-over", options.takeOver],
      ["--rotate-secret", options.rotateSecret],
      ["--write-env", options.writeEnv],
      ["--test", options.test],
      ["--public-url", options.publicUrl],
    ] as const
  ).filter(([, given]) => given);
  if (wanted.length === 0 && needInbox.length > 0) {
    throw usageError(
      `${needInbox.map(([flag]) => flag).join(", ")} ${needInbox.length > 1 ? "work" : "works"} with --inbox <id>: name the OpenMail inbox to point here (find ids with \`openmail-hooks inboxes\`)`,
    );
  }
  if (wanted.length > 0 && !options.tunnel && !options.publicUrl) {
    throw usageError(
      "--inbox with --no-tunnel: OpenMail cannot reach 127.0.0.1; drop --no-tunnel, or pass --public-url https://… where your own tunnel or proxy forwards to this listener",
    );
  }
  if (wanted.length > 0) {
    requireApiKey(options.apiKey, ctx.environment, "--inbox");
    configuredApiBase(options, ctx.environment);
  }
  return wanted;
}

/**
 * Recover what an earlier run left, then, with --inbox, check the options and return the session.
 * Without --inbox, returns undefined.
 */
export async function prepareInboxSession(
  options: InboxListenOptions,
  ctx: CommandContext,
): Promise<InboxSession | undefined> {
  const reporter = createInboxReporter(ctx.output, { json: Boolean(options.json) });
  const store = openStateStore(resolve(ctx.cwd, options.saveDir));
  const wanted = checkInboxOptions(options, ctx);
  const api = wanted.length > 0 ? openApi(options, ctx.environment, "--inbox") : undefined;
  let recoveryApi: OpenMailApi | undefined;
  try {
    const recovery = await recoverAbandoned(store, configuredApiBase(options, ctx.environment), () => {
      if (api) return api;
      recoveryApi = openApiIfKey(options, ctx.environment);
      return recoveryApi;
    });
    reporter.recovery(recovery);
  } catch (error) {
    if (wanted.length > 0) throw error;
    reporter.secretNote("warn", `could not check for inboxes left by an earlier run: ${errorMessage(error)}`);
  } finally {
    await recoveryApi?.close();
  }
  if (!api) return undefined;
  reporter.hold();
  return createSession(api, store, reporter, options, ctx);
}

/** --public-url as the webhook URL: a bare origin gets the listener's webhook path. */
function publicWebhookUrl(options: InboxListenOptions): string {
  const url = new URL(options.publicUrl as string);
  return url.pathname === "/" ? `${url.origin}${options.path}${url.search}` : url.toString();
}

function createSession(
  api: OpenMailApi,
  store: StateStore,
  reporter: InboxReporter,
  options: InboxListenOptions,
  ctx: CommandContext,
): InboxSession {
  const learned = new Map<string, string>();
  let claimed: ClaimedInbox[] = [];
  let repointing: Promise<void> = Promise.resolve();
  let testFailed = false;
  const watch = createRoundTripWatch();

  const fromEnvFile = (inboxId: string) => ctx.environment.get(inboxSecretVariable(inboxId))?.value;

  const writeEnv = async () => {
    const secrets = claimed.filter((inbox) => inbox.secret);
    const path = resolve(ctx.cwd, options.envFile ?? ".env");
    if (secrets.length === 0) {
      reporter.secretNote("info", `nothing written to ${options.envFile ?? ".env"}: OpenMail sent no new secret`);
      return;
    }
    const values: Record<string, string> = { [SECRET_VARIABLE]: secrets[0]?.secret as string };
    if (new Set(secrets.map((s) => s.secret)).size > 1) {
      for (const inbox of secrets) values[inboxSecretVariable(inbox.inboxId)] = inbox.secret as string;
    }
    try {
      const update = await upsertEnvFile(path, values);
      const names = Object.keys(values).join(", ");
      reporter.secretNote(
        "ok",
        `wrote ${names} to ${options.envFile ?? ".env"} (${update.created ? "created, mode 0600" : "every other line kept as it was"})`,
        { envFile: path, variables: Object.keys(values) },
      );
      if (ctx.env[SECRET_VARIABLE]) {
        reporter.secretNote(
          "warn",
          `your shell also sets ${SECRET_VARIABLE}, which wins over .env for most apps: unset it so yours reads the new one`,
        );
      }
    } catch (error) {
      reporter.secretNote(
        "error",
        `could not write ${path}: ${errorMessage(error)}; the new secret is in use here but not saved`,
      );
    }
  };

  return {
    secretFor(inboxId) {
      if (inboxId) return learned.get(inboxId) ?? fromEnvFile(inboxId);
      // An event naming no inbox (OpenMail's test event is undocumented): the one secret we learned.
      return learned.size === 1 ? [...learned.values()][0] : undefined;
    },
    webhookUrl(tunnelWebhookUrl) {
      return tunnelWebhookUrl ?? publicWebhookUrl(options);
    },
    async check() {
      // With --public-url the webhook URL is known now; a tunnel's is not until it opens.
      const webhookUrl = options.publicUrl ? publicWebhookUrl(options) : undefined;
      await readClaimableInboxes(api, store, {
        inboxIds: options.inbox ?? [],
        takeOver: Boolean(options.takeOver),
        webhookUrl,
      });
    },
    async claim(webhookUrl) {
      claimed = await claimInboxes(api, store, {
        inboxIds: options.inbox ?? [],
        webhookUrl,
        takeOver: Boolean(options.takeOver),
        rotateSecret: Boolean(options.rotateSecret),
      });
      for (const inbox of claimed) if (inbox.secret) learned.set(inbox.inboxId, inbox.secret);
      reporter.registered(claimed, webhookUrl);
      for (const inbox of claimed) {
        if (inbox.secret || fromEnvFile(inbox.inboxId) || ctx.environment.get(SECRET_VARIABLE)) continue;
        reporter.secretNote(
          "warn",
          `no secret for ${inbox.inboxId}: OpenMail shows it only once (it had a webhook URL before), so its events show unverified; pass --rotate-secret for a new one (it replaces the old one at once)`,
          { inboxId: inbox.inboxId },
        );
      }
      if (options.writeEnv) await writeEnv();
      else if (learned.size > 0) {
        reporter.secretNote(
          "warn",
          "OpenMail shows a new secret only once: add --write-env to save it to .env for your app (it is used here either way)",
        );
      }
    },
    bannerInboxes() {
      return claimed.map((inbox) => ({ id: inbox.inboxId, address: inbox.address, previousUrl: inbox.previousUrl }));
    },
    announce() {
      reporter.flush();
    },
    learnedSecret() {
      const first = claimed.find((inbox) => inbox.secret);
      if (!first?.secret) return undefined;
      const others = claimed.filter((inbox) => inbox.secret).length - 1;
      return {
        masked: maskSecret(first.secret),
        source: `OpenMail (${first.secretOrigin === "rotated" ? "rotated" : "new"} for ${first.inboxId}${others > 0 ? `, and ${others} more inbox secret${others > 1 ? "s" : ""}` : ""})`,
      };
    },
    onTunnelNotice(notice, fallback) {
      if (notice.state !== "url-changed" || claimed.length === 0) {
        fallback(notice);
        return;
      }
      const url = `${notice.to}${notice.path}`;
      repointing = repointing.then(async () => {
        let results: Awaited<ReturnType<typeof repointInboxes>>;
        try {
          results = await repointInboxes(api, store, url);
        } catch (error) {
          results = claimed.map((inbox) => ({ inboxId: inbox.inboxId, ok: false, message: errorMessage(error) }));
        }
        reporter.repointed(results, url);
        // Anything not re-pointed needs the old way: the exact URL to paste.
        if (results.some((result) => !result.ok)) fallback(notice);
      });
    },
    observe(event) {
      return watch.observe(event);
    },
    async runTests() {
      for (const inbox of claimed) {
        const result = await watch.run(api, inbox.inboxId, options.testTimeout);
        if (!result.ok) testFailed = true;
        reporter.roundTrip(result);
      }
    },
    async restore() {
      await repointing;
      let restoredAll = false;
      try {
        const results = await restoreInboxes(api, store);
        reporter.restored(results, "exit");
        restoredAll = results.every((result) => result.outcome !== "failed");
      } catch (error) {
        reporter.secretNote(
          "error",
          `could not restore the inboxes: ${errorMessage(error)}; run \`openmail-hooks restore\``,
        );
      }
      await api.close();
      return restoredAll;
    },
    restoreUnfinished(seconds) {
      reporter.secretNote(
        "error",
        `could not restore the inboxes: the OpenMail API did not answer within the ${seconds} s listen has to stop; run \`openmail-hooks restore\``,
      );
    },
    get testFailed() {
      return testFailed;
    },
  };
}
