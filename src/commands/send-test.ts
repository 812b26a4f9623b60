/**
 * `openmail-hooks send-test`: sign realistic fake events exactly as OpenMail does, send them to any
 * endpoint, and judge the answers against OpenMail's contract; with --scenario, a conformance check
 * of the developer's handler.
 */

import type { CommandContext } from "../command-context.js";
import { maskSecret, type ResolvedSecret, requireSecret } from "../config/environment.js";
import { type CapturedRequest, normalizeHeaders } from "../core/capture.js";
import { formatMs, isFatalNetworkError, type PreparedDelivery } from "../core/contract.js";
import { createEventStream, type EventStream, serializeEvent } from "../core/event-template.js";
import { EVENT_TYPES, isKnownEventType, SUSPENSION_REASONS } from "../core/events.js";
import { buildFakeEvent, deepMerge, type RandomHex } from "../core/fake-events.js";
import { signedRequest, UnsendableEventIdError, unixSeconds } from "../core/request.js";
import { buildScenario, judgeStep, SCENARIO_NAMES, type ScenarioName } from "../core/scenarios.js";
import { EXIT, type ExitCode, errorMessage, inputError, usageError } from "../errors.js";
import { type CaptureStore, openCaptureStore } from "../io/capture-store.js";
import { listFixtures, saveFixture } from "../io/fixtures.js";
import type { HttpClient } from "../io/http-client.js";
import { fillRandomHex, randomHex } from "../io/random.js";
import { readFileOrStdin } from "../io/request-input.js";
import { tightenedFolderLine } from "../output/capture-folder.js";
import type { ScenarioRow } from "../output/delivery-report.js";
import { renderFixtureList } from "../output/fixture-list.js";
import { renderRawRequest } from "../output/request-print.js";
import { sanitizeLine } from "../output/sanitize.js";
import { type EventTemplate, loadTemplates } from "./shared/event-templates.js";

// Sending's modules (./shared/sending.ts: undici's client, the delivery runner, its report) are loaded
// by the runs that send (each `await import()` below), not with the command: `send-test --print` only
// signs and prints, and every command's start-up is held to 1.5x bare Node (BENCHMARKS.md, goal 5).

export interface SendTestOptions {
  url?: string;
  secret?: string;
  event: string;
  eventId?: string;
  inboxId?: string;
  from?: string;
  to?: string;
  subject?: string;
  text?: string;
  attachment?: string[];
  reason?: string;
  data?: string;
  attempt?: number;
  header?: Array<[string, string]>;
  timeout: number;
  print?: boolean;
  save?: string;
  json?: boolean;
  scenario?: string[];
  count: number;
  concurrency: number;
  /** Real mail: .eml files, folders of them, or - for stdin. */
  eml?: string[];
  /** Fixture names or paths. */
  fixture?: string[];
  saveFixture?: string;
  listFixtures?: boolean;
  /** Send fixtures with their saved event_id and times. */
  keepIds?: boolean;
}

export async function runSendTest(options: SendTestOptions, ctx: CommandContext): Promise<ExitCode> {
  try {
    return await sendTest(options, ctx);
  } catch (error) {
    // The one signed-request builder refuses an event_id no header can carry, before the first send:
    // the input's fault (a --data or fixture file), said in one line.
    if (!(error instanceof UnsendableEventIdError)) throw error;
    throw inputError(
      `${error.detail}: nothing sent; give the event an event_id of visible ASCII characters (--event-id, or in the --data or --fixture file)`,
      error,
    );
  }
}

async function sendTest(options: SendTestOptions, ctx: CommandContext): Promise<ExitCode> {
  if (options.listFixtures) {
    return renderFixtureList(await listFixtures(ctx.cwd), ctx.output, Boolean(options.json));
  }
  validate(options, ctx);
  const secret =
    options.saveFixture && !options.url && !options.print ? undefined : requireSecret(options.secret, ctx.environment);
  const overrides = options.data === undefined ? undefined : await readData(options.data, ctx);
  // Real mail and fixtures take the place of the invented event, in turn.
  const templates = await loadMailAndFixtures(options, ctx);
  let turn = 0;
  // The notes of the input the last event was built from (its --json record carries them).
  let lastNotes: string[] = [];
  const makeEvent: MakeEvent = (type, extra = {}, random = randomHex, now = new Date(ctx.now())) => {
    const template = templates.length > 0 && type === options.event ? templates[turn++ % templates.length] : undefined;
    lastNotes = template?.notes ?? [];
    const event = template
      ? template.build(now)
      : buildFakeEvent({
          type,
          now,
          randomHex: random,
          eventId: options.eventId,
          attempt: options.attempt,
          inboxId: options.inboxId,
          from: options.from,
          to: options.to,
          subject: options.subject,
          text: options.text,
          attachments: options.attachment,
          reason: options.reason,
        });
    return deepMerge(deepMerge(event, overrides ?? {}), extra) as Record<string, unknown>;
  };
  if (options.saveFixture) {
    if (templates.length > 1) throw usageError("--save-fixture saves one event: give one --eml or --fixture");
    const path = await saveFixture(options.saveFixture, makeEvent(options.event), ctx.cwd);
    ctx.output.err(`saved fixture ${options.saveFixture} → ${path}`);
  }
  // Only --save-fixture without --url or --print gets this far without a secret: nothing to send.
  if (!secret) return EXIT.OK;
  const store = options.save ? await openSaveFolder(options.save, ctx) : undefined;
  const plan: SendPlan = {
    options,
    secret,
    makeEvent,
    // Said once on standard error in the terminal; every --json record carries its input's notes.
    notesOfLastEvent: () => (options.json ? lastNotes : []),
    ctx,
    target: new URL(options.url ?? "http://localhost/webhooks"),
    store,
    total: options.count * Math.max(1, templates.length),
    // Invented events are spliced from a few templates: the same bytes as building each one, a
    // fraction of the cost. Mail and fixtures are built one by one, in turn.
    events:
      templates.length === 0
        ? createEventStream((random, now) => makeEvent(options.event, {}, random, now), randomHex, 8, fillRandomHex)
        : undefined,
  };

  if (options.print) return printRequests(plan);

  // Which secret signed these, and from where: a handler with another secret is the usual 401.
  if (!options.json) {
    ctx.output.err(ctx.output.errColor.dim(`signing with secret ${maskSecret(secret.secret)} from ${secret.source}`));
  }
  const { createHttpClient, warmUpHttp, DETAIL_LIMIT, showsSuccessBodies } = await import("./shared/sending.js");
  // Latencies are the handler's: undici's one-time start-up is paid on a loopback request first.
  if (options.count <= DETAIL_LIMIT) await warmUpHttp();
  const client = createHttpClient({
    timeoutMs: options.timeout,
    connections: options.concurrency,
    keepSuccessBodies: showsSuccessBodies(options.count, Boolean(options.json)),
  });
  try {
    if (options.scenario?.length) return await runScenarios(plan, client);
    return await sendEvents(plan, client);
  } finally {
    await client.close();
  }
}

function validate(options: SendTestOptions, ctx: CommandContext): void {
  if (options.eml?.length && options.event !== "message.received") {
    throw usageError(`--eml builds message.received events; drop --event ${options.event}`);
  }
  if ((options.eml?.length || options.fixture?.length) && options.attachment?.length) {
    throw usageError("--attachment invents files; with --eml or --fixture the message's own attachments are sent");
  }
  if (!options.print && !options.saveFixture && options.url === undefined) {
    throw usageError("send-test needs --url <endpoint> (for example --url http://127.0.0.1:3000/webhooks), or --print");
  }
  if (!isKnownEventType(options.event)) {
    throw usageError(`unknown --event "${options.event}": use one of ${EVENT_TYPES.join(", ")}`);
  }
  if (options.reason !== undefined && !(SUSPENSION_REASONS as readonly string[]).includes(options.reason)) {
    ctx.output.err(
      ctx.output.errColor.yellow(
        `warning: --reason "${options.reason}" is not a documented code (${SUSPENSION_REASONS.join(", ")}); sending it anyway`,
      ),
    );
  }
  if (options.scenario?.length && options.print)
    throw usageError("--scenario sends requests; it cannot be combined with --print");
  if (options.scenario?.length && options.count > 1) throw usageError("--scenario runs its own cases; drop --count");
  if (options.scenario?.length && options.save !== undefined) {
    throw usageError("--save keeps the events sent, not --scenario's deliberately broken requests; drop --save");
  }
  // Before anything is printed ("signing with secret …"): a misspelled scenario is a usage error first.
  if (options.scenario?.length) resolveScenarioNames(options.scenario);
}

async function readData(value: string, ctx: CommandContext): Promise<Record<string, unknown>> {
  // Inline JSON: an object, or an array (refused below as not an object, rather than looked for as a file).
  const inline = /^\s*[{[]/.test(value);
  const text = inline ? value : (await readFileOrStdin(value, ctx.readStdin)).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw inputError(`--data ${inline ? "value" : value}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw inputError(`--data ${inline ? "value" : value}: expected a JSON object to merge over the event`);
  }
  return parsed as Record<string, unknown>;
}

type MakeEvent = (
  type: string,
  extra?: Record<string, unknown>,
  random?: RandomHex,
  now?: Date,
) => Record<string, unknown>;

/** Everything a send-test run works from, resolved once. */
interface SendPlan {
  options: SendTestOptions;
  secret: ResolvedSecret;
  makeEvent: MakeEvent;
  /** The notes for the event makeEvent built last (a fixture that lacks fields), for its record. */
  notesOfLastEvent(): string[];
  ctx: CommandContext;
  /** Where requests go (a placeholder for --print without --url). */
  target: URL;
  store?: CaptureStore;
  /** Events to send: --count times each --eml/--fixture input (or --count invented ones). */
  total: number;
  /** The stream of invented events (absent with --eml or --fixture). */
  events?: EventStream;
}

/** A fresh signed event; with --save, written as a capture before it is sent. */
async function nextEvent(plan: SendPlan): Promise<PreparedDelivery> {
  const now = plan.ctx.now();
  const prepared = signedEvent(plan, now);
  if (plan.store) {
    try {
      prepared.capturePath = await plan.store.save(asCapture(prepared, plan.target, now), prepared.eventId);
    } catch (error) {
      // Saved before it is sent: an event that cannot be saved is not sent (a full disk, a folder gone).
      throw inputError(
        `could not save a capture in ${sanitizeLine(plan.store.dir)} (${errorMessage(error)}), so it was not sent: free space there or choose another folder with --save`,
        error,
      );
    }
  }
  return prepared;
}

/** A fresh event signed at `now`: synchronous, so a load run makes no promise per event. */
function signedEvent(plan: SendPlan, now: number): PreparedDelivery {
  const { options, secret } = plan;
  const event = plan.events ? plan.events.next(now) : serializeEvent(plan.makeEvent(options.event));
  const notes = plan.events ? [] : plan.notesOfLastEvent();
  const request = signedRequest({
    body: event.body,
    secret: secret.secret,
    timestamp: unixSeconds(now),
    eventId: event.eventId,
    extraHeaders: options.header,
  });
  return {
    label: event.eventType,
    eventType: event.eventType,
    eventId: event.eventId,
    attempt: event.attempt,
    headers: request.headers,
    body: event.body,
    ...(notes.length > 0 ? { notes } : {}),
  };
}

async function printRequests(plan: SendPlan): Promise<ExitCode> {
  const { store } = plan;
  // With --save, Ctrl-C removes the capture being written (no temporary file is left in the folder).
  const { haltedByInterrupt, onInterrupt } = store ? await import("./shared/deliver.js") : {};
  const stopOnInterrupt = store && onInterrupt?.(() => store.abandon?.(), plan.ctx.exitNow);
  try {
    for (let i = 0; i < plan.total; i++) {
      const prepared = await nextEvent(plan);
      // Interrupted while it was saved: nothing more is saved or printed.
      await haltedByInterrupt?.();
      renderRawRequest(plan.ctx.output, plan.target, prepared, {
        json: Boolean(plan.options.json),
        capturePath: prepared.capturePath,
      });
      // A reader that is behind (`| less`): wait for it rather than queue every request in memory.
      const room = plan.ctx.output.roomForOutput();
      if (room) await room;
    }
  } finally {
    stopOnInterrupt?.();
  }
  return EXIT.OK;
}

async function sendEvents(plan: SendPlan, client: HttpClient): Promise<ExitCode> {
  const { deliverAndReport, createDeliveryRenderer } = await import("./shared/sending.js");
  const { options } = plan;
  const url = plan.target.toString();
  return deliverAndReport({
    total: plan.total,
    concurrency: options.concurrency,
    url,
    client,
    secret: plan.secret.secret,
    secretSource: plan.secret.source,
    renderer: createDeliveryRenderer(plan.ctx.output, { json: Boolean(options.json), total: plan.total, url }),
    output: plan.ctx.output,
    prepare: () => (plan.store ? nextEvent(plan) : signedEvent(plan, plan.ctx.now())),
    abandon: plan.store?.abandon,
  });
}

async function runScenarios(plan: SendPlan, client: HttpClient): Promise<ExitCode> {
  const { buildRecord, fatalConnectionError, haltedByInterrupt, onInterrupt, renderScenarioTable } = await import(
    "./shared/sending.js"
  );
  const { options, ctx } = plan;
  const url = plan.target.toString();
  const json = Boolean(options.json);
  const names = resolveScenarioNames(options.scenario ?? []);
  const scenarios = names.map((name) =>
    buildScenario(name, { secret: plan.secret.secret, makeEvent: plan.makeEvent, extraHeaders: options.header }),
  );
  const total = scenarios.reduce((sum, scenario) => sum + scenario.steps.length, 0);
  const rows: ScenarioRow[] = [];
  // Ctrl-C prints the cases that finished, then leaves.
  const stopOnInterrupt = onInterrupt(() => {
    ctx.output.err(ctx.output.errColor.yellow(`interrupted (Ctrl-C): ${rows.length} of ${total} checks finished`));
    if (rows.length > 0) renderScenarioTable(rows, ctx.output, json);
  }, ctx.exitNow);
  try {
    for (const scenario of scenarios) {
      for (const step of scenario.steps) {
        const request = step.build(unixSeconds(ctx.now()));
        const outcome = await withWaitingLine(
          ctx,
          `${scenario.name}: ${step.label} (${rows.length + 1}/${total})`,
          () => client.post(url, request.headers, request.body),
        );
        // Interrupted meanwhile: its report is out; nothing more is sent or shown.
        await haltedByInterrupt();
        const record = buildRecord(rows.length, url, { label: step.label, attempt: 1, ...request }, outcome, undefined);
        if (isFatalNetworkError(outcome)) throw fatalConnectionError(record);
        rows.push({
          scenario: scenario.name,
          step: step.label,
          expectation: scenario.expectation,
          judgement: judgeStep(scenario, step, outcome),
          reminder: scenario.reminder,
        });
      }
    }
  } finally {
    stopOnInterrupt();
  }
  renderScenarioTable(rows, ctx.output, json);
  return rows.every((row) => row.judgement.pass) ? EXIT.OK : EXIT.CHECK_FAILED;
}

/** While `work` runs, a live line on a terminal saying what it waits for and for how long. */
async function withWaitingLine<T>(ctx: CommandContext, what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const show = () => ctx.output.progress(`${what} · waiting ${formatMs(performance.now() - started)}`);
  const ticker = setInterval(show, 1_000);
  try {
    return await work();
  } finally {
    clearInterval(ticker);
  }
}

export function resolveScenarioNames(requested: string[]): ScenarioName[] {
  if (requested.includes("all")) return [...SCENARIO_NAMES];
  const unknown = requested.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw usageError(`unknown --scenario ${unknown.join(", ")}: use all or any of ${SCENARIO_NAMES.join(", ")}`);
  }
  return [...new Set(requested)] as ScenarioName[];
}

/** --eml and --fixture inputs as event templates; none (and nothing loaded) without them. */
async function loadMailAndFixtures(options: SendTestOptions, ctx: CommandContext): Promise<EventTemplate[]> {
  if (!options.eml?.length && !options.fixture?.length) return [];
  return loadTemplates(options, ctx);
}

/** --save's folder, opened (and created) before anything is sent. */
async function openSaveFolder(dir: string, ctx: CommandContext): Promise<CaptureStore> {
  return openCaptureStore(dir, {
    dirOption: "--save",
    // Ctrl-C stops all work after abandon() (then leaves, once its output is taken): no temporary file may
    // still be being created then.
    createOnMainThread: true,
    onTightened: (folder, from, to) => ctx.output.err(tightenedFolderLine(folder, from, to)),
  });
}

function asCapture(prepared: PreparedDelivery, target: URL, nowMs: number): CapturedRequest {
  return {
    receivedAt: new Date(nowMs).toISOString(),
    method: "POST",
    path: `${target.pathname}${target.search}`,
    headers: normalizeHeaders(prepared.headers),
    body: prepared.body,
  };
}
