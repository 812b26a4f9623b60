/**
 * The page's replay buttons: send a delivery again to the forward target, to this listener, or to
 * any URL; re-signed with a fresh timestamp (the default), verbatim, or with an edited body (always
 * re-signed). Reuses replay's preparation and the shared HTTP client.
 */
import { type CapturedRequest, normalizeHeaders } from "../core/capture.js";
import { judgeDelivery, judgeHandler, responseHint, signatureStateOf } from "../core/contract.js";
import { verifyCaptured } from "../core/inspect.js";
import { judgementShowsHint } from "../core/judgement-words.js";
import { prepareReplay, type ReplayItem } from "../core/replay.js";
import { eventIdOf, unixSeconds } from "../core/request.js";
import { urlCredentialsRefusal } from "../core/url-credentials.js";
import type { HttpClient } from "../io/http-client.js";
import type { ReplayRecord } from "./event-index.js";
import { forwardBrief } from "./views.js";

export interface ReplayAsk {
  /** "forward": the forward target for the event's inbox; "listener": this listen; "url": `url`. */
  target: "forward" | "listener" | "url";
  url?: string;
  mode: "resign" | "verbatim";
  /** An edited body to send instead (re-signed). */
  body?: string;
}

export interface ReplayContext {
  secret?: string;
  /** How old a timestamp the listener accepts (listen's --tolerance). */
  toleranceSeconds: number;
  listenerUrl: string;
  /** Where listen forwards this inbox's events, if anywhere. */
  forwardTarget(inboxId: string | undefined): string | undefined;
  client: () => HttpClient;
  now(): number;
  /** Called with the signature about to be sent to this listener, before sending. */
  beforeSendToListener(signature: string): void;
}

export class ReplayRefused extends Error {
  override name = "ReplayRefused";
}

/** Read and check what the page asked for; throws ReplayRefused with a message for the page. */
export function parseReplayAsk(value: unknown): ReplayAsk {
  if (typeof value !== "object" || value === null) throw new ReplayRefused("send a JSON object");
  const record = value as Record<string, unknown>;
  const target = record.target;
  if (target !== "forward" && target !== "listener" && target !== "url") {
    throw new ReplayRefused('target must be "forward", "listener" or "url"');
  }
  const mode = record.mode ?? "resign";
  if (mode !== "resign" && mode !== "verbatim") throw new ReplayRefused('mode must be "resign" or "verbatim"');
  if (record.body !== undefined && typeof record.body !== "string") throw new ReplayRefused("body must be text");
  if (target === "url" && typeof record.url !== "string") throw new ReplayRefused("give the url to send to");
  return { target, mode, url: record.url as string | undefined, body: record.body as string | undefined };
}

export async function replayFromPage(
  original: { id: string; request: CapturedRequest; inboxId?: string },
  ask: ReplayAsk,
  context: ReplayContext,
): Promise<ReplayRecord> {
  const url = targetUrl(ask, original.inboxId, context);
  const edited = ask.body !== undefined;
  if ((edited || ask.mode === "resign") && context.secret === undefined) {
    throw new ReplayRefused(
      "re-signing needs the webhook secret: start listen with --secret or OPENMAIL_WEBHOOK_SECRET (or replay verbatim)",
    );
  }
  const item: ReplayItem = edited
    ? { origin: original.id, kind: "payload", request: editedRequest(original.request, ask.body as string) }
    : { origin: original.id, kind: "capture", request: original.request };
  const prepared = prepareReplay(
    item,
    { secret: context.secret, keepSignature: !edited && ask.mode === "verbatim" },
    unixSeconds(context.now()),
  );
  const signature = prepared.headers["X-Signature"] ?? prepared.headers["x-signature"];
  if (url === context.listenerUrl && signature) context.beforeSendToListener(signature);
  const sentAt = new Date(context.now()).toISOString();
  const outcome = await context.client().post(url, prepared.headers, prepared.body);
  const verdict = judgeDelivery(outcome, prepared.attempt);
  const request: CapturedRequest = {
    receivedAt: sentAt,
    method: "POST",
    path: new URL(url).pathname,
    headers: normalizeHeaders(prepared.headers),
    body: prepared.body,
  };
  // Judged as the listener judges what it receives: a verbatim replay of a stale capture fails
  // verification, and a handler that rejects it does right.
  const sent = verifyCaptured(request, {
    secret: context.secret,
    toleranceSeconds: context.toleranceSeconds,
    now: unixSeconds(context.now()),
  });
  const judgement = judgeHandler(outcome, verdict, signatureStateOf(sent));
  return {
    original: original.id,
    url,
    mode: edited ? "edited" : ask.mode,
    request,
    forward: forwardBrief(url, outcome, verdict, judgement, sent),
    answerBody: outcome.kind === "response" ? outcome.bodyPreview : "",
    hint: judgementShowsHint(judgement)
      ? responseHint(outcome, { signatureValid: ask.mode === "resign" || edited })
      : undefined,
    notes: prepared.notes ?? [],
  };
}

function targetUrl(ask: ReplayAsk, inboxId: string | undefined, context: ReplayContext): string {
  if (ask.target === "listener") return context.listenerUrl;
  if (ask.target === "forward") {
    const forward = context.forwardTarget(inboxId);
    if (!forward) throw new ReplayRefused("listen has no forward target for this event (--forward-to or --route)");
    return forward;
  }
  return otherUrl(ask.url ?? "");
}

/**
 * A URL typed into the page ("another URL…", for a replay or a copied command), checked as the CLI
 * checks its URL options: http(s) only, and no user name or password (the same rule and words).
 */
export function otherUrl(text: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ReplayRefused("not a URL: give one like http://127.0.0.1:3000/webhooks");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ReplayRefused("only http:// and https:// URLs can be replayed to");
  }
  const credentials = urlCredentialsRefusal(parsed);
  if (credentials) {
    throw new ReplayRefused(
      `${credentials} (the page sends no Authorization header: copy the replay as curl to the URL without them, and add -u or an Authorization header to it)`,
    );
  }
  return parsed.toString();
}

/** The edited body with the original headers; X-Event-Id follows the body's event_id when it has one. */
function editedRequest(request: CapturedRequest, body: string): CapturedRequest {
  const bytes = Buffer.from(body, "utf8");
  const eventId = eventIdOf(bytes);
  const headers = { ...request.headers };
  if (eventId !== undefined) headers["x-event-id"] = eventId;
  return { ...request, headers, body: bytes };
}
