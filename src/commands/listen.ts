/**
 * `openmail-hooks listen`: receive OpenMail webhooks locally (and through a tunnel), verify, print,
 * save and forward every one of them, until Ctrl-C.
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import type { CommandContext } from "../command-context.js";
import { maskSecret, resolveSecret } from "../config/environment.js";
import { type Expectation, parseSubjectMatcher } from "../core/expect.js";
import { EXIT, type ExitCode, usageError } from "../errors.js";
import type { Inspector, InspectorOptions } from "../inspector/server.js";
import { type CaptureStore, openCaptureStore } from "../io/capture-store.js";
import { rehearseWebhook, warmUpEvent, warmUpEventPath } from "../io/event-warm-up.js";
import { createHttpClient, type HttpClient } from "../io/http-client.js";
import { SETTLE_MS, startListener } from "../io/listener.js";
import { probeTarget } from "../io/probe.js";
import { folderRedactionKey, redactingStore } from "../io/redacting-store.js";
import { readRegularFileAsync } from "../io/request-input.js";
import { createWebhookPipeline, eventIdsInFolder, type FolderIds } from "../io/webhook-pipeline.js";
import type { InboxListenOptions } from "../openmail/listen-inboxes.js";
import { registrationStateExists } from "../openmail/state.js";
import { tightenedFolderLine } from "../output/capture-folder.js";
import { createListenRenderer, type ListenRenderer } from "../output/listen-report.js";
import { discardingOutput } from "../output/terminal.js";
import { onOutputLost } from "../output-lost.js";
import { type AuthtokenSource, resolveAuthtoken } from "../tunnel/authtoken.js";
import { noAuthtokenMessage } from "../tunnel/errors.js";
import { openSupervisedTunnel, type SupervisedTunnel, type TunnelNotice } from "../tunnel/supervisor.js";
import { TunnelError, type TunnelProvider } from "../tunnel/types.js";
import { watchExpectation } from "./shared/expect-watch.js";

export interface ListenOptions extends Omit<InboxListenOptions, "tunnel" | "saveDir" | "path" | "json"> {
  host: string;
  port: number;
  path: string;
  maxBodySize: number;
  secret?: string;
  tolerance: number;
  saveDir: string;
  save: boolean;
  forwardTo?: string;
  route?: Array<[string, string]>;
  status?: number;
  forwardTimeout: number;
  json?: boolean;
  /** Show each email's fields between its arrival and outcome lines. */
  verbose?: boolean;
  /** Forward only these event types; others are answered 200 here. */
  events?: string[];
  tunnel: boolean;
  authtoken?: string;
  domain?: string;
  tunnelTimeout: number;
  /** Hidden: ngrok's ingress address (tests point it at a closed port). */
  ngrokServerAddr?: string;
  /** Hidden: how long a tunnel drop may last before a fresh session is opened. */
  tunnelGrace: number;
  /** Serve the inspector page (--no-inspect turns it off). */
  inspect: boolean;
  /** Its port; default: the listener's port + 1 (any free one when that is taken), 0 for any. */
  inspectPort?: number;
  /** One-shot mode for CI: stop after the expected verified event(s); see core/expect.ts. */
  once?: boolean;
  expect?: string[];
  expectInbox?: string;
  expectSubject?: string;
  count?: number;
  timeout?: number;
  /** Redact personal data before captures are written (and sign them again). */
  redact?: boolean;
}

export const DEFAULT_PORT = 4811;
export const DEFAULT_SAVE_DIR = ".openmail-hooks/events";
/** How long requests in flight may take to finish after Ctrl-C. */
const SHUTDOWN_GRACE_MS = 5_000;
/** What the README promises: listen exits within this long of a Ctrl-C or SIGTERM. */
const SHUTDOWN_LIMIT_MS = SHUTDOWN_GRACE_MS + 1_000;
/** Keep up to this much of a forward target's answer, to relay it to the sender. */
const RELAYED_BODY_BYTES = 1024 * 1024;
/** ngrok's configuration file, read for its authtoken: a few lines of YAML, bounded like every file read. */
const AUTHTOKEN_FILE_LIMIT = 1024 * 1024;

export async function runListen(options: ListenOptions, ctx: CommandContext): Promise<ExitCode> {
  const secret = resolveSecret(options.secret, ctx.environment);
  // With --inbox, secrets can also come from OpenMail (learned while registering) or .env per inbox.
  const inboxSecrets = (options.inbox?.length ?? 0) > 0;
  const expectation = expectationFrom(options, secret !== undefined || inboxSecrets);
  if (options.redact && !secret && !inboxSecrets) {
    throw usageError(
      "--redact signs the redacted captures again, so it needs the secret: pass --secret or set OPENMAIL_WEBHOOK_SECRET",
    );
  }
  if (options.inspectPort !== undefined && options.inspectPort !== 0 && options.inspectPort === options.port) {
    throw usageError(
      `--inspect-port ${options.inspectPort} is the webhook's own --port: choose another (0 for any free one), or --no-inspect`,
    );
  }
  const routes = new Map(options.route ?? []);
  if (options.host === "0.0.0.0" || options.host === "::") {
    ctx.output.err(
      ctx.output.errColor.yellow(
        `warning: listening on all interfaces (${options.host}): anyone on your network can send events`,
      ),
    );
  }
  const renderer = createListenRenderer(ctx.output, {
    json: Boolean(options.json),
    cwd: ctx.cwd,
    verbose: options.verbose,
  });

  // Inbox options that cannot work (no API key, --inbox with --no-tunnel, …) are refused before the
  // capture folder is made: bad input creates nothing.
  const wantsInboxes = inboxSessionWanted(options, ctx);
  const inboxModule = wantsInboxes ? await import("../openmail/listen-inboxes.js") : undefined;
  inboxModule?.checkInboxOptions(options, ctx);

  let store: CaptureStore | undefined;
  if (options.save) {
    // Its errors are one line already: cannot create, not a folder, not private to this user.
    // Stale temporary files are swept in the background pass that reads the folder's ids.
    store = await openCaptureStore(options.saveDir, {
      sweepAtOpen: false,
      keepOutOfGit: true,
      onTightened: (folder, from, to) =>
        ctx.output.err(ctx.output.errColor.yellow(tightenedFolderLine(folder, from, to))),
    });
  }
  const folderIds: FolderIds | undefined = store ? eventIdsInFolder(store) : undefined;
  // Puts back inboxes an earlier run left pointing at its tunnel; with --inbox, the session.
  const inboxes = inboxModule ? await inboxModule.prepareInboxSession(options, ctx) : undefined;
  // A refused or unknown inbox stops us here, before a tunnel or a listener exists.
  await inboxes?.check();
  if (store && options.redact) {
    store = redactingStore(store, {
      placeholderKey: secret?.secret ?? (await folderRedactionKey(store.dir)),
      secretFor: (inboxId) => inboxes?.secretFor(inboxId) ?? secret?.secret,
    });
  }
  const watch = expectation ? watchExpectation(expectation, ctx, Boolean(options.json)) : undefined;
  const forwarding = options.forwardTo !== undefined || routes.size > 0;
  const clientOptions = {
    timeoutMs: options.forwardTimeout,
    connections: 64,
    previewBytes: RELAYED_BODY_BYTES,
    keepSuccessBodies: true,
  };
  const client: HttpClient | undefined = forwarding ? createHttpClient(clientOptions) : undefined;

  // undici's start-up (loading it, compiling its parser) is paid before the URL is announced, on a
  // loopback request of our own, while the inspector and the tunnel open: once the URL is out,
  // events may arrive at once, and the first forwarded ones were the slow ones (BENCHMARKS.md).
  // That request is a made-up webhook sent through scratch instances of the listener, the pipeline
  // and the renderer (writing nowhere), so their code is compiled too (rehearseWebhook). The first
  // save's one-time costs are rehearsed in the same wait.
  const warming = client
    ? Promise.all([
        rehearseWebhook(warmUpEvent(secret?.secret, ctx.now()), clientOptions, (targetUrl, scratchClient) => {
          const scratch = createListenRenderer(discardingOutput(ctx.output), {
            json: Boolean(options.json),
            cwd: ctx.cwd,
            verbose: options.verbose,
          });
          return createWebhookPipeline({
            secret: secret?.secret,
            toleranceSeconds: options.tolerance,
            forwardTo: targetUrl,
            routes: new Map(),
            client: scratchClient,
            now: ctx.now,
            onArrival: (arrival) => scratch.arrival(arrival),
            onOutcome: (outcome) => scratch.outcome(outcome),
          }).handle;
        }),
        warmUpEventPath(warmUpEvent(secret?.secret, ctx.now()), {
          store,
          secret: secret?.secret,
          toleranceSeconds: options.tolerance,
          now: Math.floor(ctx.now() / 1000),
        }),
      ])
    : undefined;

  let inspector: Inspector | undefined;
  // What the inspector verifies and re-signs with: the inbox's own secret (--inbox), else listen's.
  const secretFor = (inboxId: string | undefined) => {
    const own = inboxes?.secretFor(inboxId);
    if (own !== undefined && own !== secret?.secret) {
      return { secret: own, source: `learned for inbox ${inboxId}`, masked: maskSecret(own) };
    }
    return secret ? { ...secret, masked: maskSecret(secret.secret) } : undefined;
  };
  const pipeline = createWebhookPipeline(
    {
      secret: secret?.secret,
      secretFor: inboxes?.secretFor,
      toleranceSeconds: options.tolerance,
      store,
      forwardTo: options.forwardTo,
      routes,
      client,
      forcedStatus: options.status,
      events: options.events ? new Set(options.events) : undefined,
      secretSource: secret?.source,
      now: ctx.now,
      replayOf: (request) => inspector?.replayOf(request),
      onArrival(arrival) {
        renderer.arrival(arrival);
        inspector?.arrival(arrival);
      },
      onOutcome(outcome) {
        renderer.outcome(outcome);
        inspector?.record(outcome);
        // OpenMail's test event (--inbox --test) proves the path, not that real mail arrived.
        if (inboxes?.observe(outcome)) return;
        watch?.offer(outcome);
      },
    },
    folderIds,
  );

  const listener = await startListener(
    { host: options.host, port: options.port, path: options.path, maxBodySize: options.maxBodySize },
    {
      onWebhook: pipeline.handle,
      onNotice(notice) {
        // Requests not processed as webhooks: wrong path or method, too large, timed out, not HTTP.
        if (notice.type !== "refused" && notice.type !== "handler-error") pipeline.noteIgnored();
        renderer.notice(notice);
      },
    },
  );

  let tunnel: OpenedTunnel | undefined;
  try {
    refuseForwardToItself([options.forwardTo, ...routes.values()], listener.port, options.path);
    if (options.inspect) inspector = await openInspector(options, listener, store?.dir, secretFor, ctx);
    if (options.tunnel) {
      const onTunnelNotice = (notice: TunnelNotice) =>
        inboxes ? inboxes.onTunnelNotice(notice, renderer.tunnel) : renderer.tunnel(notice);
      tunnel = await openTunnel(options, listener.origin, ctx, onTunnelNotice);
    }
  } catch (error) {
    await inspector?.close();
    await listener.close(0);
    await client?.close();
    throw error;
  }

  // From the claim on, a stop must put the inboxes back: one that comes while listen still starts is
  // noted and acted on once the claim is done (Ctrl-C then killed listen with the inbox still diverted).
  const earlyStop = inboxes ? noteEarlyStop(ctx) : undefined;
  if (inboxes) {
    try {
      await inboxes.claim(inboxes.webhookUrl(tunnel ? `${tunnel.supervised.url}${options.path}` : undefined));
    } catch (error) {
      earlyStop?.dispose();
      await inspector?.close();
      await listener.close(0);
      await tunnel?.supervised.close();
      await client?.close();
      throw error;
    }
  }

  // Bounded by its own deadline, and never a failure: a cold client only makes the first events slower.
  const interruptedWarmUp = await untilWarmedUp(warming);
  // With no inbox to put back, a stop before listen is ready exits as an interrupted start-up always has.
  if (interruptedWarmUp && !inboxes) ctx.exitNow(130);
  // With inboxes, it goes the usual way of a stop (they are put back), and says nothing of being ready.
  const stopEarly = Boolean(earlyStop?.requested || interruptedWarmUp);
  if (!stopEarly) earlyStop?.dispose();
  const stopped = stopEarly ? Promise.resolve() : waitForStopSignal(ctx);
  if (!stopEarly)
    renderer.ready({
      localUrl: `${listener.origin}${options.path}`,
      // Where OpenMail sends: the tunnel's URL, or with --no-tunnel the --public-url the inboxes were pointed at.
      publicUrl: tunnel
        ? `${tunnel.supervised.url}${options.path}`
        : options.publicUrl !== undefined
          ? inboxes?.webhookUrl(undefined)
          : undefined,
      reachableFromNetwork: !isLoopbackHost(options.host),
      tunnel: tunnel ? { source: tunnel.tokenSource } : undefined,
      secret:
        inboxes?.learnedSecret() ?? (secret ? { source: secret.source, masked: maskSecret(secret.secret) } : undefined),
      saveDir: store?.dir,
      forwardTo: options.forwardTo,
      routes,
      forcedStatus: options.status,
      inspectorUrl: inspector?.url,
      events: options.events,
      inboxes: inboxes?.bannerInboxes(),
    });
  inboxes?.announce();
  // The folder's ids (and the sweep of temporary files a crash left) are read now, not during start-up.
  void folderIds?.ready?.();
  if (!stopEarly) await warnIfUnreachable([options.forwardTo, ...routes.values()], renderer);
  watch?.start();

  if (options.test && inboxes && !stopEarly) void inboxes.runTests();

  const ending = await Promise.race([
    stopped.then(() => "stopped" as const),
    watch?.done ?? new Promise<never>(() => {}),
  ]);
  // The promise is grace + 1 s, whatever is stuck: past it, leave without waiting further.
  const deadline = Date.now() + SHUTDOWN_LIMIT_MS;
  // The inboxes are pointed back first, so OpenMail stops sending to a tunnel about to close, and
  // while the requests in flight finish: a hanging API must not hold the exit (it took 15 s), and
  // an inbox left pointing at a dead tunnel is not a clean exit (exit 2: run `restore`).
  const restore = { settled: !inboxes, ok: true };
  const restoring = inboxes?.restore().then((ok) => {
    restore.settled = true;
    restore.ok = ok;
  });
  const exitCodeOfRestore = () => (restore.settled && restore.ok ? EXIT.OK : EXIT.USAGE);
  const hardStop =
    ending === "stopped"
      ? setTimeout(() => {
          if (!restore.settled) inboxes?.restoreUnfinished(SHUTDOWN_LIMIT_MS / 1000);
          ctx.output.err("stopping: the grace period is over; exiting now");
          ctx.exitNow(exitCodeOfRestore());
        }, SHUTDOWN_GRACE_MS + 950)
      : undefined;
  hardStop?.unref();
  // The listener closes only once every answer in flight is out: a matched event has been
  // answered (and forwarded) before listen exits.
  await listener.close(SHUTDOWN_GRACE_MS);
  const left = () => Math.max(0, deadline - Date.now() - 150);
  if (restoring) await withinMs(restoring, left());
  if (!restore.settled) inboxes?.restoreUnfinished(SHUTDOWN_LIMIT_MS / 1000);
  await withinMs(pipeline.drain(), Math.min(left(), SETTLE_MS));
  await withinMs(Promise.all([inspector?.close(), tunnel?.supervised.close(), client?.close()]), left());
  clearTimeout(hardStop);
  renderer.summary(pipeline.stats(), store?.dir);
  const code = watch ? watch.finish(ending) : EXIT.OK;
  // An inbox left pointing at this run's tunnel decides the exit code: it needs `restore`.
  if (exitCodeOfRestore() !== EXIT.OK) return exitCodeOfRestore();
  // A failed --test round trip fails the run (unless something already did).
  return inboxes?.testFailed && code === EXIT.OK ? EXIT.CHECK_FAILED : code;
}

/**
 * A forward target that is this listener's own webhook URL: every event would be forwarded back to it,
 * saved and forwarded again, over a hundred times within the forward timeout. Only its own port (a
 * --port 0 listener learns it now) on a local address, and its own path, can be that.
 */
/** The host names a URL to this listener itself can have (a listener on 127.0.0.1 is not on 127.0.0.2). */
const LISTENER_SELF_HOSTS = new Set([
  "127.0.0.1",
  "localhost",
  "localhost.",
  "[::1]",
  "[::ffff:7f00:1]",
  "0.0.0.0",
  "[::]",
]);

function refuseForwardToItself(targets: Array<string | undefined>, port: number, path: string): void {
  for (const target of targets) {
    if (target === undefined) continue;
    const url = new URL(target);
    const local = LISTENER_SELF_HOSTS.has(url.hostname);
    const targetPort = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const samePath = (url.pathname.replace(/\/+$/, "") || "/") === (path.replace(/\/+$/, "") || "/");
    if (local && targetPort === port && samePath) {
      throw usageError(
        `${target} is this listener itself: each event would be forwarded back to it in a loop; forward to your app's URL`,
      );
    }
  }
}

/** A forward target that accepts no connection is worth a warning, not a failure: apps often start second. */
async function warnIfUnreachable(targets: Array<string | undefined>, renderer: ListenRenderer): Promise<void> {
  const unique = [...new Set(targets.filter((target): target is string => target !== undefined))];
  const results = await Promise.all(unique.map(async (target) => ({ target, result: await probeTarget(target) })));
  for (const { target, result } of results) {
    if (!result.reachable) {
      renderer.warning(`${target} does not answer (${result.reason}): start your app there; until then events get 502`);
    }
  }
}

/** Wait for `work`, but no longer than `ms`. */
async function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The inspector page, on the port after the listener's unless --inspect-port says otherwise. */
async function openInspector(
  options: ListenOptions,
  listener: { origin: string; port: number },
  saveDir: string | undefined,
  secretFor: InspectorOptions["secretFor"],
  ctx: CommandContext,
): Promise<Inspector> {
  const { startInspector } = await import("../inspector/server.js");
  const explicit = options.inspectPort !== undefined;
  const port = options.inspectPort ?? (options.port === 0 || listener.port >= 65535 ? 0 : listener.port + 1);
  // The tunnel and replays reach the listener locally, even when it listens on every interface.
  const local = listener.origin.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:");
  return startInspector({
    port,
    fallbackToFreePort: !explicit,
    listenerUrl: `${local}${options.path}`,
    saveDir,
    secretFor,
    toleranceSeconds: options.tolerance,
    forwardTo: options.forwardTo,
    routes: new Map(options.route ?? []),
    forwardTimeoutMs: options.forwardTimeout,
    maxBodySize: options.maxBodySize,
    cwd: ctx.cwd,
    now: ctx.now,
  });
}

interface OpenedTunnel {
  supervised: SupervisedTunnel;
  tokenSource?: string;
}

async function openTunnel(
  options: ListenOptions,
  origin: string,
  ctx: CommandContext,
  onNotice: (notice: TunnelNotice) => void,
): Promise<OpenedTunnel> {
  const provider = await tunnelProvider(ctx.env);
  let token: AuthtokenSource | undefined;
  if (provider.needsAuthtoken) {
    const { found, problems } = await resolveAuthtoken({
      flag: options.authtoken,
      environment: ctx.environment,
      env: ctx.env,
      platform: process.platform,
      homedir: homedir(),
      readFile: (path) =>
        readRegularFileAsync(path, AUTHTOKEN_FILE_LIMIT).then(
          (bytes) => bytes.toString("utf8"),
          () => undefined,
        ),
    });
    if (!found) {
      const also = problems.length > 0 ? ` (${problems.join("; ")})` : "";
      throw new TunnelError("no-auth", `${noAuthtokenMessage()}${also}`);
    }
    token = found;
  }
  // The tunnel dials the listener locally, even when it listens on every interface.
  const upstream = origin.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:");
  const supervised = await openSupervisedTunnel({
    provider,
    tunnel: {
      upstream,
      authtoken: token?.token,
      domain: options.domain,
      connectTimeoutMs: options.tunnelTimeout,
      serverAddr: options.ngrokServerAddr,
    },
    graceMs: options.tunnelGrace,
    path: options.path,
    onNotice,
  });
  return { supervised, tokenSource: token?.source };
}

/** ngrok, or the local fake when OPENMAIL_HOOKS_TUNNEL=fake (tests and offline demos). */
async function tunnelProvider(env: NodeJS.ProcessEnv): Promise<TunnelProvider> {
  if (env.OPENMAIL_HOOKS_TUNNEL === "fake") return (await import("../tunnel/fake.js")).createFakeProvider(env);
  return (await import("../tunnel/ngrok.js")).ngrokProvider;
}

/**
 * What stops listen cleanly (inboxes pointed back, requests in flight answered): Ctrl-C, SIGTERM, and
 * SIGHUP, which a closed terminal window, a dropped SSH session or a killed tmux pane sends; without a
 * handler it would end the process on the spot with the inbox still pointing at a dead tunnel.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Waits for the rehearsal before the URL. A Ctrl-C or SIGTERM meanwhile would kill the process with
 * the rehearsal's temporary file still in the save folder, so it waits for the rehearsal to finish and
 * clean up (bounded by its own deadline), and returns whether such a stop came: the caller exits 130
 * as an interrupted start-up always has, or first puts back the inboxes it pointed here. A second
 * signal quits at once.
 */
async function untilWarmedUp(warming: Promise<unknown> | undefined): Promise<boolean> {
  if (!warming) return false;
  let interrupted = false;
  const stopListening = () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
  const onSignal = () => {
    interrupted = true;
    stopListening();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const stopHearingLostOutput = onOutputLost(onSignal);
  try {
    await warming;
  } finally {
    stopListening();
    stopHearingLostOutput();
  }
  return interrupted;
}

/**
 * A stop (Ctrl-C, SIGTERM, SIGHUP, output lost) while inboxes are being pointed here: noted, said,
 * and acted on once the claim is done, by putting them back; a second one quits at once.
 */
function noteEarlyStop(ctx: CommandContext): { readonly requested: boolean; dispose(): void } {
  let requested = false;
  const onSignal = () => {
    if (requested) ctx.exitNow(130);
    requested = true;
    ctx.output.err(
      "stopping: the inboxes will be put back as soon as listen has pointed them here (Ctrl-C again to quit at once)",
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const stopHearingLostOutput = onOutputLost(() => {
    requested = true;
  });
  return {
    get requested() {
      return requested;
    },
    dispose() {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      stopHearingLostOutput();
    },
  };
}

/**
 * Resolves on the first Ctrl-C, SIGTERM or SIGHUP; a second one exits at once. Output that can no
 * longer be written stops it too (cli.ts has said so), but is never a second signal: a closed terminal
 * sends SIGHUP, and then the stop line itself fails to be written.
 */
function waitForStopSignal(ctx: CommandContext): Promise<void> {
  return new Promise((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals += 1;
      if (signals === 1) {
        ctx.output.err("stopping: finishing requests in flight (Ctrl-C again to quit at once)");
        resolve();
      } else {
        ctx.exitNow(130);
      }
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    onOutputLost(() => {
      if (signals > 0) return;
      signals = 1;
      resolve();
    });
  });
}

/** The --once/--expect options as one expectation, or undefined when listen runs until Ctrl-C. */
/**
 * The OpenMail client and the inbox session are loaded only when there is an inbox to point here, a
 * flag that needs one (it says so), or registrations an earlier run left to put back: for a plain
 * listen they were a few milliseconds of start-up with nothing to do.
 */
function inboxSessionWanted(options: ListenOptions, ctx: CommandContext): boolean {
  const flags = [options.inbox?.length, options.takeOver, options.rotateSecret, options.writeEnv, options.test];
  if (flags.some(Boolean) || options.publicUrl !== undefined) return true;
  return registrationStateExists(resolve(ctx.cwd, options.saveDir));
}

function expectationFrom(options: ListenOptions, hasSecret: boolean): Expectation | undefined {
  const oneShot =
    options.once ||
    (options.expect?.length ?? 0) > 0 ||
    options.expectInbox !== undefined ||
    options.expectSubject !== undefined ||
    options.count !== undefined;
  if (!oneShot) {
    if (options.timeout !== undefined)
      throw usageError("--timeout ends a wait for --once or --expect; add one of them");
    return undefined;
  }
  if (!hasSecret) {
    throw usageError(
      "--once/--expect only count verified events, so they need the secret: pass --secret or set OPENMAIL_WEBHOOK_SECRET",
    );
  }
  let subject: Expectation["subject"];
  try {
    subject = options.expectSubject === undefined ? undefined : parseSubjectMatcher(options.expectSubject);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  return {
    types: [...new Set(options.expect ?? [])],
    inbox: options.expectInbox,
    subject,
    count: options.count ?? 1,
    timeoutMs: options.timeout,
  };
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
