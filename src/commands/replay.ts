/**
 * `openmail-hooks replay <file...>`: send saved events again, to any endpoint, re-signed with a fresh
 * timestamp (or with their captured signature, to check that a handler rejects stale replays).
 * Shares delivery and reporting with send-test.
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { CommandContext } from "../command-context.js";
import { requireSecret } from "../config/environment.js";
import { DEFAULT_CAPTURE_DIR } from "../core/capture.js";
import type { PreparedDelivery } from "../core/contract.js";
import { newId } from "../core/fake-events.js";
import {
  matchesFilters,
  parseFilter,
  prepareReplay,
  type ReplayFilter,
  type ReplayItem,
  type ReplayOptions,
} from "../core/replay.js";
import { unixSeconds } from "../core/request.js";
import { EXIT, type ExitCode, inputError, usageError } from "../errors.js";
import { randomHex } from "../io/random.js";
import { describeItemError, type IndexedItem, type ItemList, indexInputs } from "../io/replay-input.js";
import { createDeliveryRenderer, showsSuccessBodies } from "../output/delivery-report.js";
import { renderRawRequest } from "../output/request-print.js";

export interface ReplayCommandOptions {
  url?: string;
  to?: string;
  secret?: string;
  filter?: string[];
  last?: number;
  sort: "received" | "occurred_at";
  keepSignature?: boolean;
  newEventId?: boolean;
  attempt?: number;
  header?: Array<[string, string]>;
  timeout: number;
  concurrency: number;
  json?: boolean;
  dryRun?: boolean;
  /** Re-sign captures whose captured signature is missing or does not verify. */
  resignUnverified?: boolean;
  /** Largest input read (file or standard input). */
  maxInputSize?: number;
}

export async function runReplay(
  paths: string[],
  options: ReplayCommandOptions,
  ctx: CommandContext,
): Promise<ExitCode> {
  const url = options.url ?? options.to;
  const resolved = resolveInputs(paths, ctx);
  paths = resolved.paths;
  options = { ...options, filter: [...(options.filter ?? []), ...resolved.filters] };
  if (url === undefined && !options.dryRun) {
    throw usageError("replay needs --url <endpoint> (for example --url http://127.0.0.1:3000/webhooks), or --dry-run");
  }
  const filters = parseFilters(options.filter ?? []);
  const secret = options.keepSignature ? undefined : requireSecret(options.secret, ctx.environment).secret;
  const needsMeta = filters.length > 0 || options.sort === "occurred_at";
  const { items, problems } = await indexInputs(paths, ctx.readStdin, {
    needsMeta,
    inputLimit: options.maxInputSize,
  });
  const selected = select(items, filters, options);
  const total = selected.length;
  const renderer = createDeliveryRenderer(ctx.output, { json: Boolean(options.json), total, url: url ?? "" });
  for (const problem of problems) renderer.skipped(problem.origin, problem.message);
  if (selected.length === 0) {
    if (problems.length > 0) return EXIT.USAGE;
    throw inputError(
      items.length === 0
        ? "nothing to replay in the given inputs"
        : `none of the ${items.length} event(s) matched --filter`,
    );
  }

  const replayOptions: ReplayOptions = {
    secret,
    keepSignature: Boolean(options.keepSignature),
    attempt: options.attempt,
    extraHeaders: options.header,
    resignUnverified: Boolean(options.resignUnverified),
  };
  const prepareLoaded = (loaded: ReplayItem): PreparedDelivery => {
    const newEventId = options.newEventId ? newId("evt", randomHex) : undefined;
    return prepareReplay(loaded, newEventId ? { ...replayOptions, newEventId } : replayOptions, unixSeconds(ctx.now()));
  };
  const prepare = async (item: IndexedItem): Promise<PreparedDelivery> => prepareLoaded(await item.load());

  if (options.dryRun) return dryRun(selected, prepare, url, ctx, Boolean(options.json), problems.length);

  // Loaded here, not with the command: --dry-run sends nothing, and start-up is held to 1.5x bare
  // Node (BENCHMARKS.md, goal 5).
  const { createHttpClient, deliverAndReport } = await import("./shared/sending.js");
  const client = createHttpClient({
    timeoutMs: options.timeout,
    connections: options.concurrency,
    keepSuccessBodies: showsSuccessBodies(total, Boolean(options.json)),
  });
  try {
    return await deliverAndReport({
      total,
      concurrency: options.concurrency,
      url: url as string,
      client,
      secret,
      renderer,
      output: ctx.output,
      unreadable: problems.length,
      originOf: (index) => selected.at(index)?.origin ?? "",
      // A file in a folder is read and prepared synchronously (no promise per event); what came in
      // memory (standard input, NDJSON) through load().
      prepare: (index) => {
        const item = selected.at(index) as IndexedItem;
        const skipped = (error: unknown) => ({ skipped: describeItemError(item.origin, error) });
        try {
          return item.read ? prepareLoaded(item.read()) : prepare(item).catch(skipped);
        } catch (error) {
          return skipped(error);
        }
      },
    });
  } finally {
    await client.close();
  }
}

/**
 * Stripe-style shortcuts: no path means the default capture folder (`replay --last 1`), and an
 * argument that is an event id rather than a file means that event in the folder (`replay evt_…`).
 */
function resolveInputs(given: string[], ctx: CommandContext): { paths: string[]; filters: string[] } {
  const folder = resolve(ctx.cwd, DEFAULT_CAPTURE_DIR);
  const ids = given.filter((arg) => /^evt_[\w.-]+$/.test(arg) && !existsSync(resolve(ctx.cwd, arg)));
  const paths = given.filter((arg) => !ids.includes(arg));
  if (paths.length === 0) {
    if (!existsSync(folder)) {
      throw usageError(
        given.length > 0
          ? `${given.join(", ")}: no such file, and no capture folder ${DEFAULT_CAPTURE_DIR} to look for the event in; give the capture's path`
          : `replay needs files (captures, folders, NDJSON, raw HTTP requests, or -), or a capture folder: ${DEFAULT_CAPTURE_DIR} does not exist here`,
      );
    }
    paths.push(folder);
  }
  // Ids given beside paths are looked for in those paths, not in the default folder.
  if (ids.length > 1) {
    throw usageError(`give one event id at a time (got ${ids.join(", ")}), or use --filter id=<event_id>`);
  }
  return { paths, filters: ids.map((id) => `id=${id}`) };
}

function parseFilters(texts: string[]): ReplayFilter[] {
  return texts.map((text) => {
    const filter = parseFilter(text);
    if (!filter)
      throw usageError(`--filter "${text}": use event=<type>, inbox=<inbox_id>, id=<event_id>, or a bare value`);
    return filter;
  });
}

/**
 * Filter, order, then keep the newest N. The default order is the inputs' own: files as given,
 * each folder's events as they arrived; --sort occurred_at orders everything by when it happened.
 */
function select(items: ItemList, filters: ReplayFilter[], options: ReplayCommandOptions): ItemList {
  // The usual case (a folder, in arrival order, perhaps its last N) keeps the list as it is.
  if (filters.length === 0 && options.sort !== "occurred_at") {
    return options.last === undefined ? items : tail(items, options.last);
  }
  const kept: IndexedItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items.at(i) as IndexedItem;
    if (matchesFilters(item.meta, filters)) kept.push(item);
  }
  if (options.sort === "occurred_at") {
    const key = (item: IndexedItem) => item.meta.occurredAt ?? item.meta.receivedAt;
    kept.sort((a, b) => key(a).localeCompare(key(b)) || a.order - b.order);
  }
  const list = { length: kept.length, at: (index: number) => kept[index] };
  return options.last !== undefined ? tail(list, options.last) : list;
}

/** The last `count` items (all of them for 0, as Array.prototype.slice(-0) gives). */
function tail(items: ItemList, count: number): ItemList {
  const from = count === 0 ? 0 : Math.max(0, items.length - count);
  return { length: items.length - from, at: (index) => (index >= 0 ? items.at(from + index) : undefined) };
}

async function dryRun(
  items: ItemList,
  prepare: (item: IndexedItem) => Promise<PreparedDelivery>,
  url: string | undefined,
  ctx: CommandContext,
  json: boolean,
  problems: number,
): Promise<ExitCode> {
  const target = new URL(url ?? "http://localhost/webhooks");
  let failed = problems;
  for (let i = 0; i < items.length; i++) {
    const item = items.at(i) as IndexedItem;
    try {
      const prepared = await prepare(item);
      for (const note of prepared.notes ?? []) ctx.output.err(ctx.output.errColor.yellow(`! ${note}`));
      renderRawRequest(ctx.output, target, prepared, { json });
      if (!json) ctx.output.write("\n");
      // A reader that is behind (`| less`): wait for it rather than queue every request in memory.
      const room = ctx.output.roomForOutput();
      if (room) await room;
    } catch (error) {
      failed += 1;
      ctx.output.err(`✗ ${describeItemError(item.origin, error)}`);
    }
  }
  return failed > 0 ? EXIT.USAGE : EXIT.OK;
}
