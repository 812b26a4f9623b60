/**
 * `openmail-hooks listen`: receive OpenMail webhooks locally (and through a tunnel), verify, print,
 * save and forward every one of them, until Ctrl-C.
 */
import { maskSecret, resolveSecret } from "../config/environment.js";
import { EXIT, type ExitCode, usageError } from "../errors.js";
import { type CaptureStore, openCaptureStore } from "../io/capture-store.js";
import { createHttpClient, type HttpClient } from "../io/http-client.js";
import { startListener } from "../io/listener.js";
import { createWebhookPipeline, eventIdsInFolder } from "../io/webhook-pipeline.js";
import { createListenRenderer } from "../output/listen-report.js";
import type { CommandContext } from "./context.js";

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
  const folderIds = store ? await eventIdsInFolder(store.dir) : new Set<string>();
  const forwarding = options.forwardTo !== undefined || routes.size > 0;
  const client: HttpClient | undefined = forwarding
    ? createHttpClient({ timeoutMs: options.forwardTimeout, connections: 64, previewBytes: RELAYED_BODY_BYTES })
    : undefined;

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

  const stopped = waitForStopSignal(ctx);
  renderer.ready({
    localUrl: `${listener.origin}${options.path}`,
    secret: secret ? { source: secret.source, masked: maskSecret(secret.secret) } : undefined,
    saveDir: store?.dir,
    forwardTo: options.forwardTo,
    routes,
    forcedStatus: options.status,
  });

  await stopped;
  await listener.close(SHUTDOWN_GRACE_MS);
  await client?.close();
  renderer.summary(pipeline.stats(), store?.dir);
  return EXIT.OK;
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
