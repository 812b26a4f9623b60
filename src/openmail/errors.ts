/**
 * OpenMail API failures as one line each, with the next step. Pure. The server's own text is
 * untrusted: it is sanitised, clipped, and scrubbed of anything that looks like an API key.
 */
import { formatMs } from "../core/contract.js";
import { CliError } from "../errors.js";
import { shellQuote } from "../inspector/shell-commands.js";
import { clip } from "../output/sanitize.js";

export const API_KEYS_PAGE = "https://console.openmail.sh/settings/api";

/** What the caller was doing, so the message can say what failed and what to do. */
export type ApiOperation =
  | { kind: "list-inboxes" }
  | { kind: "get-inbox"; inboxId: string }
  | { kind: "set-webhook"; inboxId: string; url: string | null }
  | { kind: "rotate-secret"; inboxId: string }
  | { kind: "test-webhook"; inboxId: string }
  | { kind: "send"; inboxId: string; idempotencyKey?: string };

export type ApiFailure =
  | { kind: "http"; status: number; code?: string; message?: string; retryAfterSeconds?: number }
  /** `connecting`: no connection was made, so nothing reached OpenMail. */
  | { kind: "timeout"; timeoutMs: number; connecting?: boolean }
  /** `afterConnect`: the connection broke once open, so the request may have reached OpenMail. */
  | { kind: "network"; message: string; afterConnect?: boolean };

/** A failed API call. `failure` keeps the facts for callers that react to them (429, 502). */
export class OpenMailApiError extends CliError {
  readonly failure: ApiFailure;
  readonly operation: ApiOperation;

  constructor(message: string, failure: ApiFailure, operation: ApiOperation) {
    super(message, { code: "api_error" });
    this.name = "OpenMailApiError";
    this.failure = failure;
    this.operation = operation;
  }

  get status(): number | undefined {
    return this.failure.kind === "http" ? this.failure.status : undefined;
  }
}

/** Replace the key, and anything shaped like an OpenMail key, wherever it appears. */
export function redactApiKey(text: string, key?: string): string {
  let out = text;
  if (key && key.length >= 4) out = out.split(key).join("[redacted]");
  return out.replace(/\bom_[A-Za-z0-9_-]{6,}/g, "om_[redacted]");
}

function what(operation: ApiOperation): string {
  switch (operation.kind) {
    case "list-inboxes":
      return "listing inboxes";
    case "get-inbox":
      return `reading inbox ${operation.inboxId}`;
    case "set-webhook":
      return operation.url === null
        ? `clearing inbox ${operation.inboxId}'s webhook URL`
        : `pointing inbox ${operation.inboxId} at ${operation.url}`;
    case "rotate-secret":
      return `rotating inbox ${operation.inboxId}'s webhook secret`;
    case "test-webhook":
      return `asking OpenMail to test inbox ${operation.inboxId}'s webhook`;
    case "send":
      return `sending from inbox ${operation.inboxId}`;
  }
}

export function describeApiFailure(
  failure: ApiFailure,
  operation: ApiOperation,
  context: { keySource: string; apiBase: string; key?: string },
): string {
  const doing = what(operation);
  const inbox = "inboxId" in operation ? operation.inboxId : undefined;
  let line: string;
  if (operation.kind === "send" && sendOutcomeUnknown(failure)) {
    line = `${unanswered(failure, context.apiBase, doing)}: the mail may or may not have been sent. ${safeRetry(failure, operation.idempotencyKey)}`;
  } else if (failure.kind === "timeout") {
    line = `the OpenMail API (${context.apiBase}) did not answer within ${formatMs(failure.timeoutMs)} while ${doing}: try again, or raise --api-timeout`;
  } else if (failure.kind === "network") {
    line = `cannot reach the OpenMail API while ${doing}: ${failure.message}; check your network connection, or --api-base / OPENMAIL_API_BASE`;
  } else {
    const said = serverSaid(failure);
    switch (failure.status) {
      case 401:
        line = `OpenMail rejected the API key from ${context.keySource} (${said}): it is missing, invalid or expired; create one at ${API_KEYS_PAGE}`;
        break;
      case 403:
        line =
          operation.kind === "send"
            ? `the API key from ${context.keySource} may not send from inbox ${inbox} (${said}): use an account-wide key, or one scoped to this inbox or its pod`
            : `the API key from ${context.keySource} may not change inbox ${inbox}'s webhook (${said}): that needs an account-wide key (pod- and inbox-scoped keys cannot); create one at ${API_KEYS_PAGE}`;
        break;
      case 404:
        line = inbox
          ? `no inbox ${inbox} in this OpenMail account (${said}): run \`openmail-hooks inboxes\` to see the ids`
          : `OpenMail answered 404 while ${doing} (${said}): check --api-base`;
        break;
      case 422:
        line =
          failure.code === "invalid_webhook_url" && operation.kind === "set-webhook"
            ? `OpenMail refused the webhook URL ${operation.url} (${said}): it accepts public https:// URLs only; with --no-tunnel, pass --public-url https://… where your traffic really arrives`
            : `OpenMail refused the request while ${doing} (${said}): check the values given`;
        break;
      case 429:
        line = `OpenMail's rate limit stopped ${doing} (${said})${failure.retryAfterSeconds !== undefined ? `: it asks to wait ${failure.retryAfterSeconds} s (Retry-After)` : ""}; try again later${operation.kind === "send" ? " (sending is limited to 10 a minute and 200 a day per inbox), or raise --max-wait" : ""}`;
        break;
      case 400:
        line =
          failure.code === "no_webhook_url"
            ? `inbox ${inbox} has no webhook URL of its own (${said}): run \`openmail-hooks listen --inbox ${inbox}\` to set one`
            : `OpenMail refused the request while ${doing} (${said})`;
        break;
      case 502:
        line =
          failure.code === "webhook_failed"
            ? `OpenMail could not deliver its test event to inbox ${inbox}'s webhook (${said})`
            : `OpenMail answered 502 while ${doing} (${said}): try again in a moment`;
        break;
      default:
        line =
          failure.status >= 500
            ? `OpenMail answered ${said} while ${doing}: its side failed; try again in a moment`
            : `OpenMail answered ${said} while ${doing}`;
    }
  }
  return redactApiKey(line, context.key);
}

/**
 * Could a send have gone out although no success came back? A request that reached OpenMail and
 * got no answer (a timeout, a connection that broke once open) or a server error: only OpenMail
 * knows. (A timeout while connecting, a refused connection, a DNS or TLS failure sent nothing.)
 */
export function sendOutcomeUnknown(failure: ApiFailure): boolean {
  if (failure.kind === "timeout") return !failure.connecting;
  if (failure.kind === "network") return failure.afterConnect === true;
  return failure.status >= 500;
}

function unanswered(failure: ApiFailure, apiBase: string, doing: string): string {
  if (failure.kind === "timeout")
    return `the OpenMail API (${apiBase}) did not answer within ${formatMs(failure.timeoutMs)} while ${doing}`;
  if (failure.kind === "network")
    return `the connection to the OpenMail API broke without an answer while ${doing} (${failure.message})`;
  return `OpenMail answered ${serverSaid(failure)} while ${doing}`;
}

/** The one retry that cannot send twice: the same Idempotency-Key (each run draws a new one). */
function safeRetry(failure: ApiFailure, idempotencyKey: string | undefined): string {
  const key =
    idempotencyKey === undefined ? "the same --idempotency-key" : `--idempotency-key ${shellQuote(idempotencyKey)}`;
  const slow = failure.kind === "timeout" ? "; if the API is slow, raise --api-timeout too" : "";
  return `To retry without risking a second copy, run it again with ${key} (without it, a new key is drawn and the mail could go out twice)${slow}`;
}

function serverSaid(failure: Extract<ApiFailure, { kind: "http" }>): string {
  const parts = [String(failure.status)];
  if (failure.code) parts.push(clip(failure.code, 60));
  const head = parts.join(" ");
  return failure.message ? `${head}: ${clip(failure.message, 200)}` : head;
}
