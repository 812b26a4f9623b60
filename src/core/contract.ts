/**
 * OpenMail's delivery contract (../shared/openmail-webhooks.md §4): a 2xx within 15 s is a
 * success; anything else is retried, 5 attempts in all. Judging a delivery and the hints for a
 * handler's answer live here, shared by send-test, replay and listen. Pure.
 */

export const DELIVERY_DEADLINE_MS = 15_000;
export const MAX_ATTEMPTS = 5;
/** Delay before each attempt, in seconds: attempt 1 immediately, then 30 s, 60 s, 2 min, 4 min. */
export const RETRY_DELAYS_SECONDS = [0, 30, 60, 120, 240] as const;

/** What came back from one HTTP delivery. */
export type DeliveryOutcome =
  | {
      kind: "response";
      status: number;
      latencyMs: number;
      /** The first part of the response body (not yet sanitised). */
      bodyPreview: string;
      bodyBytes: number;
      headers: Record<string, string>;
    }
  | { kind: "timeout"; latencyMs: number; timeoutMs: number }
  | { kind: "network-error"; error: NetworkErrorKind; message: string; latencyMs: number };

/** `stopped`: not the network's doing: listen, stopping, gave up waiting for the handler (the grace period ended). */
export type NetworkErrorKind = "refused" | "dns" | "tls" | "reset" | "connect-timeout" | "stopped" | "other";

export interface ContractVerdict {
  /** Would OpenMail count this delivery as a success? */
  accepted: boolean;
  /** "accepted: 200 in 12 ms", "retry: 500 Internal Server Error". */
  summary: string;
  /** When not accepted: the attempt OpenMail would make next and its delay, or null after the last. */
  retry?: { nextAttempt: number; afterSeconds: number } | null;
}

/**
 * `attempt` is the attempt this delivery was, which matters only to one not accepted (which attempt
 * OpenMail would make next): given as a delivery, its `attempt` is read only then (replay reads it
 * from the event's body).
 */
export function judgeDelivery(
  outcome: DeliveryOutcome,
  attempt: number | { readonly attempt: number } = 1,
): ContractVerdict {
  if (outcome.kind === "timeout") {
    return { accepted: false, summary: `no answer within ${formatMs(outcome.timeoutMs)}`, retry: retryAfter(attempt) };
  }
  if (outcome.kind === "network-error") {
    return { accepted: false, summary: outcome.message, retry: retryAfter(attempt) };
  }
  const inTime = outcome.latencyMs <= DELIVERY_DEADLINE_MS;
  if (outcome.status >= 200 && outcome.status < 300 && inTime) {
    return { accepted: true, summary: `${outcome.status} in ${formatMs(outcome.latencyMs)}` };
  }
  const why =
    outcome.status >= 200 && outcome.status < 300
      ? `${outcome.status} but after ${formatMs(outcome.latencyMs)}, past OpenMail's 15 s deadline`
      : `${outcome.status} ${statusText(outcome.status)}`.trim();
  return { accepted: false, summary: why, retry: retryAfter(attempt) };
}

function retryAfter(attempt: number | { readonly attempt: number }): ContractVerdict["retry"] {
  return nextRetry(typeof attempt === "number" ? attempt : attempt.attempt);
}

/** "200 OK in 12 ms" for an answer; the verdict's summary ("no answer within 15 s", ...) otherwise. */
/**
 * A forward's result in the shape every record of it uses (the capture's `forward`, the `--json` event
 * record, the inspector's list item), so the three name an outcome the same way: `response`, `timeout`,
 * or the network error itself (`refused`, `dns`, `tls`, `reset`, ...).
 */
export function forwardFields(url: string, outcome: DeliveryOutcome, verdict: ContractVerdict) {
  return {
    url,
    outcome: outcome.kind === "network-error" ? outcome.error : outcome.kind,
    status: outcome.kind === "response" ? outcome.status : null,
    latencyMs: Math.round(outcome.latencyMs * 100) / 100,
    accepted: verdict.accepted,
  };
}

export function outcomeText(outcome: DeliveryOutcome, verdict: ContractVerdict): string {
  if (outcome.kind !== "response") return verdict.summary;
  return [outcome.status, statusText(outcome.status), "in", formatMs(outcome.latencyMs)].filter(Boolean).join(" ");
}

export function nextRetry(attempt: number): { nextAttempt: number; afterSeconds: number } | null {
  if (attempt >= MAX_ATTEMPTS) return null;
  const next = Math.max(2, attempt + 1);
  return { nextAttempt: next, afterSeconds: RETRY_DELAYS_SECONDS[next - 1] ?? 240 };
}

/** "OpenMail would retry: attempt 2 in 30 s" or "... marks the event failed". */
export function describeRetry(retry: ContractVerdict["retry"]): string {
  if (retry === undefined) return "";
  if (retry === null) return "that was the last of 5 attempts: OpenMail marks the event failed";
  return `OpenMail would retry: attempt ${retry.nextAttempt} of ${MAX_ATTEMPTS} in ${formatDelay(retry.afterSeconds)}`;
}

export interface HintContext {
  /** Did the request's signature verify (here, with the secret we have)? */
  signatureValid?: boolean;
  /** Where the secret we signed or verified with came from ("--secret flag", ".env file ..."). */
  secretSource?: string;
  /** The option that set the request deadline ("--forward-timeout", "--timeout"), named in a timeout hint. */
  timeoutOption?: string;
}

/** TLS failures that are the certificate's issuer, not the handshake: a local dev server's own certificate. */
const UNTRUSTED_CERTIFICATE = /SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/;
const UNTRUSTED_CERTIFICATE_HINT =
  "Node does not trust the server's certificate (self-signed, or from a local CA such as mkcert's): give that CA to Node with NODE_EXTRA_CA_CERTS=<its .pem file>, or use the server's http:// port";

/** Where the evidence points to a known handler mistake, a one-line hint that fits the status. */
export function responseHint(outcome: DeliveryOutcome, context: HintContext = {}): string | undefined {
  if (outcome.kind === "timeout") return timeoutHint(outcome.timeoutMs, context.timeoutOption);
  if (outcome.kind === "network-error") {
    if (outcome.error === "stopped") return "stopped before the handler answered";
    // "request to … not sent: …" (the HTTP client could not run here) says what to do itself, and
    // nothing reached the handler: the generic hint ("may still have received it") would be untrue.
    if (/^request to \S+ not sent: /.test(outcome.message)) return undefined;
    if (outcome.error === "tls" && UNTRUSTED_CERTIFICATE.test(outcome.message)) return UNTRUSTED_CERTIFICATE_HINT;
    return networkHint(outcome.error);
  }
  const { status } = outcome;
  if (status >= 200 && status < 300) {
    return outcome.latencyMs > DELIVERY_DEADLINE_MS
      ? "answer within 15 s and do slow work asynchronously; OpenMail retries slow deliveries"
      : undefined;
  }
  if ((status === 400 || status === 401 || status === 403) && context.signatureValid) {
    const ours = context.secretSource ? ` (the one from ${context.secretSource})` : "";
    return `the signature verifies with this secret${ours}, so the handler most likely uses a different secret; if the secrets match, it verifies a parsed (re-serialized) body instead of the raw bytes (express.raw())`;
  }
  if (status === 400 || status === 401 || status === 403) {
    return "the handler rejected the request; if it should have accepted it, check its secret and that it verifies the raw body";
  }
  if (status === 404)
    return "nothing at this path: the URL's path differs from the handler's route (OpenMail's docs use /webhooks)";
  if (status === 405) return "the route exists but not for POST: register the handler for POST";
  if (status === 408) return "the handler (or a proxy) gave up reading the request: look for a slow body parser";
  if (status === 413)
    return "the handler's body-size limit is too small: raise it (emails with attachments can be large)";
  if (status === 415)
    return "the handler refuses application/json: accept that content type (express.raw({ type: 'application/json' }))";
  if (status === 429) return "the handler rate-limits OpenMail: exempt the webhook route from rate limiting";
  if (status >= 300 && status < 400) {
    const location = outcome.headers.location ? ` to ${outcome.headers.location}` : "";
    return `the endpoint redirects${location}; webhooks do not follow redirects, so use the final URL (trailing slash, http vs https)`;
  }
  if (status >= 500) return serverErrorHint(status);
  return undefined;
}

/** What a deadline that passed says about OpenMail's own 15 s wait: only a longer one proves it was exceeded. */
function timeoutHint(timeoutMs: number, option = "the timeout"): string {
  const advice = "answer 2xx first and do slow work asynchronously (OpenMail retries, so expect duplicates)";
  const limit = formatDuration(timeoutMs);
  if (timeoutMs < DELIVERY_DEADLINE_MS) {
    return `the handler did not answer within the ${limit} ${option}; whether it would also exceed OpenMail's 15 s wait is unknown (raise ${option} to see); if it is slow, ${advice}`;
  }
  const past =
    timeoutMs === DELIVERY_DEADLINE_MS
      ? "OpenMail's 15 s wait"
      : `${limit} (${option}), longer than OpenMail's 15 s wait`;
  return `the handler did not answer within ${past}: ${advice}`;
}

/** "3 s", "1.5 s", "250 ms": a deadline as the user wrote it, without trailing zeros. */
function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`;
}

/** Each 5xx means something different; none of them is proof that the handler crashed. */
function serverErrorHint(status: number): string {
  switch (status) {
    case 500:
      return "the handler failed with an error on this payload: its log says why (the answer's body may too); OpenMail retries it";
    case 501:
      return "the server does not implement POST here: check the route and the method";
    case 502:
      return "a proxy or gateway in front of the handler could not get an answer from it (is the handler running?); OpenMail retries it";
    case 503:
      return "the endpoint says it is unavailable (starting, overloaded, or told to answer 503); OpenMail retries it";
    case 504:
      return "a proxy or gateway timed out waiting for the handler; OpenMail retries it";
    default:
      // 505-599 are server errors; above 599 is not an HTTP status at all (and not a 2xx either).
      return status > 599
        ? `the server answered ${status}, which is not an HTTP status code: fix what sets it; OpenMail retries it`
        : `the server answered ${status}: a server-side failure; OpenMail retries it`;
  }
}

/** The signature verdict of a request as `listen` judged it. */
export type SignatureState = "valid" | "invalid" | "unverified";

/** A verdict's state: none (no secret) is unverified. */
export function signatureStateOf(verdict: { valid: boolean } | null | undefined): SignatureState {
  return !verdict ? "unverified" : verdict.valid ? "valid" : "invalid";
}

/**
 * How a handler's answer compares with what a correct handler does with this request: accept
 * a valid one (2xx in time), reject a bad one (4xx). An unverified one (no secret) is judged as
 * valid, since nothing says it is not.
 */
export type HandlerJudgement =
  /** A valid event accepted in time: the good case. */
  | "accepted"
  /** A valid event not accepted: OpenMail would retry it. */
  | "rejected-valid"
  /** An event that fails verification answered 4xx: also the good case. */
  | "rejected-as-expected"
  /** An event that fails verification answered 2xx: the handler does not verify. */
  | "accepted-bad"
  /** An event that fails verification answered 5xx, or not at all: it should get a 4xx. */
  | "failed-bad";

export function judgeHandler(
  outcome: DeliveryOutcome,
  verdict: ContractVerdict,
  signature: SignatureState,
): HandlerJudgement {
  return judgeAnswer(outcome.kind === "response" ? outcome.status : undefined, verdict.accepted, signature);
}

/** judgeHandler from what a record keeps of the answer: its status (none: no answer) and whether OpenMail would accept it. */
export function judgeAnswer(
  status: number | undefined,
  accepted: boolean,
  signature: SignatureState,
): HandlerJudgement {
  if (signature !== "invalid") return accepted ? "accepted" : "rejected-valid";
  if (status !== undefined && status >= 200 && status < 300) return "accepted-bad";
  if (status !== undefined && status >= 400 && status < 500) return "rejected-as-expected";
  return "failed-bad";
}

/** Is the judgement one that needs the developer's attention? */
export function judgementIsWrong(judgement: HandlerJudgement): boolean {
  return judgement !== "accepted" && judgement !== "rejected-as-expected";
}

function networkHint(kind: NetworkErrorKind): string {
  switch (kind) {
    case "refused":
      return "nothing is listening there: is your server running, and on this port?";
    case "dns":
      return "the host name does not resolve: check the URL";
    case "tls":
      return "the TLS handshake failed: check https versus http, and the certificate";
    case "connect-timeout":
      return "the connection could not be opened in time: check the host and any firewall";
    case "reset":
      return "the connection was closed before an answer: the server may have crashed or refused the request";
    default:
      // Also what an answer that is not readable HTTP gives (too many headers, not HTTP at all): the
      // request itself may well have reached the handler.
      return "no valid HTTP answer came back (the reason is above); the handler may still have received the request";
  }
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function formatDelay(seconds: number): string {
  return seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}

/** One delivery ready to send: the request plus what it is, for the report. */
export interface PreparedDelivery {
  /** Where it came from: "message.received", a scenario step, a file name. */
  label: string;
  eventType?: string;
  eventId?: string;
  /** The `attempt` it represents, for the retry schedule. */
  attempt: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Things to say before the result (for example: the captured signature did not verify). */
  notes?: string[];
  /** Where the request was saved as a capture, if it was. */
  capturePath?: string;
  /** What a correct handler answers: 2xx (default), or 4xx for a request it must reject. */
  expect?: "2xx" | "4xx";
}

/** A delivery and what came of it. */
export interface DeliveryRecord {
  index: number;
  url: string;
  delivery: PreparedDelivery;
  outcome: DeliveryOutcome;
  verdict: ContractVerdict;
  /** Did the answer meet the delivery's expectation? */
  passed: boolean;
  hint?: string;
  capturePath?: string;
}

/** A 2xx in time when a delivery should be accepted; a 4xx when it should be rejected. */
export function meetsExpectation(
  delivery: PreparedDelivery,
  outcome: DeliveryOutcome,
  verdict: ContractVerdict,
): boolean {
  if ((delivery.expect ?? "2xx") === "2xx") return verdict.accepted;
  return outcome.kind === "response" && outcome.status >= 400 && outcome.status < 500;
}

/** Connection failures that mean the endpoint is not there at all: a usage problem, not a failed check. */
export function isFatalNetworkError(outcome: DeliveryOutcome): boolean {
  return outcome.kind === "network-error" && ["refused", "dns", "tls"].includes(outcome.error);
}
