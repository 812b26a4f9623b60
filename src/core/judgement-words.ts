/**
 * The words the terminal (listen's renderer) and the inspector page share for a handler's judgement
 * and for what became of listen's answer: one wording, so the two never say it differently. Here in
 * core, not in either's presentation, so that neither depends on the other. Pure.
 */
import type { HandlerJudgement } from "./contract.js";

/**
 * What became of an answer: written to the sender; never delivered because the sender hung up
 * first; replaced by a refusal with that status (503 when the grace period of a shutdown ended
 * first); or dropped (the connection closed at the end of the grace period with no answer).
 * The listener (io/listener.ts) reports it; here because the words below are made from it.
 */
export type AnswerFate =
  | { kind: "written" }
  | { kind: "sender-gone" }
  | { kind: "refused"; status: number }
  | { kind: "dropped" };

/**
 * What became of an answer that was not simply written (the sender hung up first, listen was stopping,
 * the connection was closed), in the words the terminal and the inspector page share; else undefined.
 */
export function undeliveredAnswerText(answer: AnswerFate, status: number): string | undefined {
  if (answer.kind === "sender-gone") return `the sender hung up before the answer: ${status} not delivered`;
  if (answer.kind === "refused") return `answered ${answer.status} instead: listen was stopping`;
  if (answer.kind === "dropped") return "NOT answered: the connection was closed at the end of the grace period";
  return undefined;
}

/**
 * Is the status's hint worth showing (responseHint's: it reads the status alone)? For a valid event
 * (a handler's mistake for a rejected one, a slow 2xx); not for one that fails verification, where the
 * judgement's own words say what is right or wrong.
 */
export function judgementShowsHint(judgement: HandlerJudgement): boolean {
  return judgement === "accepted" || judgement === "rejected-valid";
}

/** The words for a handler that answered an event that fails verification as a correct handler answers it. */
export const REJECTED_AS_EXPECTED = "✓ rejected as expected";

/**
 * What is wrong with a handler's answer to an event that fails verification (judgement accepted-bad
 * or failed-bad; `status` null: no answer), in the words the terminal and the inspector page share.
 * The verdict's message can quote a header as it came: `safe` is the caller's sanitiser for it.
 */
export function judgementProblem(
  judgement: HandlerJudgement,
  status: number | null,
  verdict: { reason?: string | null; message: string } | null | undefined,
  safe: (text: string) => string,
): string | undefined {
  if (judgement === "accepted-bad") return acceptedBadText(verdict, safe);
  if (judgement !== "failed-bad") return undefined;
  return `an event that fails verification must get a 4xx; ${status !== null ? `a ${status}` : "no answer"} makes OpenMail retry it`;
}

/** The loudest line: a handler said 2xx to an event that fails verification, and what that shows. */
function acceptedBadText(
  verdict: { reason?: string | null; message: string } | null | undefined,
  safe: (text: string) => string,
): string {
  const why = verdict ? safe(verdict.message) : "";
  switch (verdict?.reason) {
    case "timestamp_too_old":
    case "timestamp_in_future":
      return `your handler accepted a stale event (${why}): it does not check the timestamp, so old requests can be replayed`;
    case "missing_signature":
    case "missing_timestamp":
      return `your handler accepted an event without its signature headers (${why}): it does not verify`;
    default:
      return `your handler accepted an event with a bad signature: it does not verify (${why})`;
  }
}

/** A size in the words both show (a large capture in the inspector's list, a body on the terminal). */
export function formatBytes(bytes: number): string {
  // An attachment's sizeBytes is whatever the payload says: "-5 B" would be a claim of a size.
  if (!Number.isSafeInteger(bytes) || bytes < 0) return `invalid size (${bytes})`;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
