/**
 * Rendering of `listen --once/--expect`: a line per matched event, and the result (met, timed out
 * with what did arrive, stopped, or the forward target refused a match). With --json, one
 * "matched" record per match and one "expect" record at the end, holding the matched events.
 */
import type { ReceivedEvent } from "../io/webhook-pipeline.js";
import { sanitizeLine } from "./sanitize.js";
import type { Output } from "./terminal.js";

export interface ExpectResult {
  result: "matched" | "timeout" | "stopped" | "forward-failed";
  expected: string;
  matched: ReceivedEvent[];
  count: number;
  /** What arrived, e.g. "received 2 events: 1 × matched; 1 × inbox.suspended: not an expected type". */
  arrived: string;
  /** The --timeout, as text. */
  waited?: string;
  forwardProblem?: string;
}

export function renderExpectMatch(output: Output, json: boolean, event: ReceivedEvent, n: number, count: number): void {
  const { summary, eventId } = event.inspection;
  if (json) {
    output.record({
      type: "matched",
      n,
      count,
      eventId: eventId ?? null,
      eventType: summary.eventType ?? null,
      capturePath: event.capturePath ?? null,
    });
    return;
  }
  const subject = summary.subject !== undefined ? ` "${sanitizeLine(summary.subject)}"` : "";
  output.out(
    output.color.green(
      `✓ expected event ${n} of ${count}: ${sanitizeLine(summary.eventType ?? "?")} ${sanitizeLine(eventId ?? "")}${subject}`,
    ),
  );
}

export function renderExpectResult(output: Output, json: boolean, result: ExpectResult): void {
  if (json) {
    output.record({
      type: "expect",
      result: result.result,
      expected: result.expected,
      matched: result.matched.length,
      count: result.count,
      arrived: result.arrived,
      forwardProblem: result.forwardProblem ?? null,
      events: result.matched.map((event) => parsedBody(event)),
    });
    return;
  }
  const c = output.color;
  const got = `${result.matched.length} of ${result.count}`;
  switch (result.result) {
    case "matched":
      output.out(c.green.bold(`expectation met: ${result.expected} (${got}), answered and exiting 0`));
      return;
    case "timeout":
      output.out(
        c.red.bold(
          `✗ timed out after ${result.waited} waiting for ${result.expected} (${got} matched); ${result.arrived}`,
        ),
      );
      return;
    case "stopped":
      output.out(c.red.bold(`✗ stopped before ${result.expected} arrived (${got} matched); ${result.arrived}`));
      return;
    case "forward-failed":
      output.out(c.red.bold(`✗ ${result.expected} arrived, but ${sanitizeLine(result.forwardProblem ?? "")}`));
      return;
  }
}

/** The event body as JSON when it parses, else its text. */
function parsedBody(event: ReceivedEvent): unknown {
  const text = Buffer.from(event.request.body).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
