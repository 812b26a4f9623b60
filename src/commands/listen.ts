/**
 * `openmail-hooks listen`: receive OpenMail webhooks locally (and through a tunnel), verify, print,
 * save and forward every one of them, until Ctrl-C.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import type { CommandContext } from "../command-context.js";
import { maskSecret, resolveSecret } from "../config/environment.js";
import { EXIT, type ExitCode, usageError } from "../errors.js";
import { type CaptureStore, openCaptureStore } from "../io/capture-store.js";
import { createHttpClient, type HttpClient } from "../io/http-client.js";
import { startListener } from "../io/listener.js";
import { createWebhookPipeline, eventIdsInFolder } from "../io/webhook-pipeline.js";
import { createListenRenderer } from "../output/listen-report.js";
import { type AuthtokenSource, resolveAuthtoken } from "../tunnel/authtoken.js";
import { noAuthtokenMessage } from "../tunnel/errors.js";
import { openSupervisedTunnel, type SupervisedTunnel, type TunnelNotice } from "../tunnel/supervisor.js";
import { TunnelError, type TunnelProvider } from "../tunnel/types.js";

export interface ListenOptions {
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
  tunnel: boolean;
  authtoken?: string;
  domain?: string;
  tunnelTimeout: number;
  /** Hidden: ngrok's ingress address (tests point it at a closed port). */
  ngrokServerAddr?: string;
  /** Hidden: how long a tunnel drop may last before a fresh session is opened. */
  tunnelGrace: number;
}

export const DEFAULT_PORT = 4811;
export const DEFAULT_SAVE_DIR = ".openmail-hooks/events";
/** How long requests in flight may take to finish after Ctrl-C. */
const SHUTDOWN_GRACE_MS = 5_000;
/** Keep up to this much of a forward target's answer, to relay it to the sender. */
const RELAYED_BODY_BYTES = 1024 * 1024;

export async function runListen(options: ListenOptions, ctx: CommandContext): Promise<ExitCode> {
  const secret = resolveSecret(options.secret, ctx.environment);
  const routes = new Map(options.route ?? []);
  if (options.host === "0.0.0.0" || options.host === "::") {
    ctx.output.err(
      ctx.output.errColor.yellow(
        `warning: listening on all interfaces (${options.host}): anyone on your network can send events`,
      ),
    );
  }
  const renderer = createListenRenderer(ctx.output, { json: Boolean(options.json), cwd: ctx.cwd });

  let store: CaptureStore | undefined;
  if (options.save) {
    try {
      store = await openCaptureStore(options.saveDir);
    } catch (error) {
      throw usageError(
        `cannot create the capture folder ${options.saveDir}: ${(error as Error).message}; choose another with --save-dir`,
      );
    }
  }
  const folderIds = store ? eventIdsInFolder(store.dir) : new Set<string>();
  const forwarding = options.forwardTo !== undefined || routes.size > 0;
  const client: HttpClient | undefined = forwarding
    ? createHttpClient({
        timeoutMs: options.forwardTimeout,
        connections: 64,
        previewBytes: RELAYED_BODY_BYTES,
        keepSuccessBodies: true,
      })
    : undefined;
  // Load and exercise the forwarding client now, in the background, not on the first event.
  void client?.warm?.();

  const pipeline = createWebhookPipeline(
    {
      secret: secret?.secret,
      toleranceSeconds: options.tolerance,
      store,
      forwardTo: options.forwardTo,
      routes,
      client,
      forcedStatus: options.status,
      now: ctx.now,
      onEvent: renderer.event,
    },
    folderIds,
  );

  const listener = await startListener(
    { host: options.host, port: options.port, path: options.path, maxBodySize: options.maxBodySize },
    {
      onWebhook: pipeline.handle,
      onNotice(notice) {
        if (notice.type === "ignored" || notice.type === "too-large") pipeline.noteIgnored();
        renderer.notice(notice);
      },
    },
  );

  let tunnel: OpenedTunnel | undefined;
  if (options.tunnel) {
    try {
      tunnel = await openTunnel(options, listener.origin, ctx, renderer.tunnel);
    } catch (error) {
      await listener.close(0);
      await client?.close();
      throw error;
    }
  }

  const stopped = waitForStopSignal(ctx);
  renderer.ready({
    localUrl: `${listener.origin}${options.path}`,
    publicUrl: tunnel ? `${tunnel.supervised.url}${options.path}` : undefined,
    tunnel: tunnel ? { source: tunnel.tokenSource } : undefined,
    secret: secret ? { source: secret.source, masked: maskSecret(secret.secret) } : undefined,
    saveDir: store?.dir,
    forwardTo: options.forwardTo,
    routes,
    forcedStatus: options.status,
  });

  await stopped;
  await listener.close(SHUTDOWN_GRACE_MS);
  await pipeline.drain();
  await tunnel?.supervised.close();
  await client?.close();
  renderer.summary(pipeline.stats(), store?.dir);
  return EXIT.OK;
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
      readFile: (path) => readFile(path, "utf8").catch(() => undefined),
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

/** Resolves on the first Ctrl-C or SIGTERM; a second one exits at once. */
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
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
