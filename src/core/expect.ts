/**
 * `listen --once/--expect`: which received events count, when the wait is over, and the summary of
 * what did arrive when it is not. Only verified events count. Pure.
 */
import type { EventSummary } from "./inspect.js";

export interface Expectation {
  /** Event types to wait for; empty means any type. */
  types: string[];
  /** inbox_id or inbox address (message.to / inbox_address). */
  inbox?: string;
  subject?: SubjectMatcher;
  /** How many distinct matching events to wait for. */
  count: number;
  /** Give up after this long (ms); undefined waits until Ctrl-C. */
  timeoutMs?: number;
}

export type SubjectMatcher = { kind: "text"; text: string } | { kind: "regex"; regex: RegExp };

/** "/invoice \d+/i" → a regular expression; anything else → case-insensitive text to look for. */
export function parseSubjectMatcher(value: string): SubjectMatcher {
  const match = /^\/(.+)\/([dgimsuvy]*)$/s.exec(value);
  if (!match?.[1]) return { kind: "text", text: value };
  try {
    return { kind: "regex", regex: new RegExp(match[1], (match[2] ?? "").replace(/[gy]/g, "")) };
  } catch (error) {
    throw new Error(`--expect-subject ${value}: not a valid regular expression (${(error as Error).message})`);
  }
}

export function describeExpectation(expectation: Expectation): string {
  const what = expectation.types.length > 0 ? expectation.types.join(" or ") : "any event";
  const parts = [expectation.count > 1 ? `${expectation.count} × ${what}` : what];
  if (expectation.inbox) parts.push(`for inbox ${expectation.inbox}`);
  if (expectation.subject) {
    parts.push(
      expectation.subject.kind === "text"
        ? `with subject containing "${expectation.subject.text}"`
        : `with subject matching ${expectation.subject.regex}`,
    );
  }
  return parts.join(" ");
}

/** What the watcher needs to know about one received event. */
export interface ArrivedEvent {
  eventId?: string;
  summary: EventSummary;
  /** true verified, false failed verification, undefined no secret. */
  verified: boolean | undefined;
  verificationReason?: string;
  /** With --forward-to: why the forward target did not accept it ("500 Internal Server Error"), if it did not. */
  forwardRefused?: string;
}

export type Judgement = { matches: true } | { matches: false; why: string };

export function judgeEvent(expectation: Expectation, event: ArrivedEvent): Judgement {
  const { summary } = event;
  const type = summary.eventType ?? "(no event type)";
  if (expectation.types.length > 0 && !expectation.types.includes(type)) {
    return { matches: false, why: `${type}: not an expected type` };
  }
  if (event.verified !== true) {
    const reason = event.verified === undefined ? "unverified" : `failed verification (${event.verificationReason})`;
    return { matches: false, why: `${type}: ${reason}` };
  }
  if (expectation.inbox && !inboxMatches(expectation.inbox, summary)) {
    return { matches: false, why: `${type}: for another inbox (${summary.inboxId ?? summary.to ?? "none"})` };
  }
  if (expectation.subject && !subjectMatches(expectation.subject, summary.subject)) {
    return { matches: false, why: `${type}: subject does not match` };
  }
  return { matches: true };
}

function inboxMatches(wanted: string, summary: EventSummary): boolean {
  const lower = wanted.toLowerCase();
  const candidates = [summary.inboxId, summary.inboxAddress, summary.to];
  return candidates.some((candidate) => typeof candidate === "string" && candidate.toLowerCase() === lower);
}

function subjectMatches(matcher: SubjectMatcher, subject: string | undefined): boolean {
  if (subject === undefined) return false;
  if (matcher.kind === "regex") return matcher.regex.test(subject);
  return subject.toLowerCase().includes(matcher.text.toLowerCase());
}

/** Tracks arrivals against an expectation: distinct matching event ids, and why the rest did not count. */
export interface ExpectWatcher {
  /**
   * Offer an event: "match" when it is a new match, "forward-refused" when it would be one but the
   * forward target did not accept it (not counted as matched: the wait has failed), else "no-match".
   */
  offer(event: ArrivedEvent): "match" | "no-match" | "forward-refused";
  /** An event that arrived but cannot count, and why ("message.received: the sender hung up first"). */
  miss(why: string): void;
  satisfied(): boolean;
  matched(): number;
  /** "received 3 events: 2 × inbox.suspended: not an expected type; 1 × message.received: failed …" */
  summary(): string;
}

export function createExpectWatcher(expectation: Expectation): ExpectWatcher {
  const matchedIds = new Set<string>();
  let anonymousMatches = 0;
  let received = 0;
  const misses = new Map<string, number>();
  return {
    offer(event) {
      received += 1;
      const judgement = judgeEvent(expectation, event);
      const miss = (why: string) => misses.set(why, (misses.get(why) ?? 0) + 1);
      if (!judgement.matches) {
        miss(judgement.why);
        return "no-match";
      }
      // A redelivery of an event already matched is the same event: it does not count twice.
      if (event.eventId !== undefined && matchedIds.has(event.eventId)) {
        miss("redelivery of an event already matched");
        return "no-match";
      }
      if (event.forwardRefused !== undefined) {
        miss(
          `${event.summary.eventType ?? "(no event type)"}: matched, but the forward target did not accept it (${event.forwardRefused})`,
        );
        return "forward-refused";
      }
      if (event.eventId === undefined) anonymousMatches += 1;
      else matchedIds.add(event.eventId);
      return "match";
    },
    miss(why) {
      received += 1;
      misses.set(why, (misses.get(why) ?? 0) + 1);
    },
    satisfied: () => matchedIds.size + anonymousMatches >= expectation.count,
    matched: () => matchedIds.size + anonymousMatches,
    summary() {
      if (received === 0) return "no events arrived";
      const lines = [...misses].map(([why, count]) => `${count} × ${why}`);
      const matched = matchedIds.size + anonymousMatches;
      if (matched > 0) lines.unshift(`${matched} × matched`);
      return `received ${received} event${received === 1 ? "" : "s"}: ${lines.join("; ")}`;
    },
  };
}
