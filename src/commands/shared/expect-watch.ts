/**
 * `listen --once/--expect`: watch the events the pipeline reports, say when one matches, and decide
 * how listen ends (0 matched, 1 timed out, stopped, or the forward target did not accept a match).
 */
import type { CommandContext } from "../../command-context.js";
import { formatMs } from "../../core/contract.js";
import { createExpectWatcher, describeExpectation, type Expectation } from "../../core/expect.js";
import { EXIT, type ExitCode } from "../../errors.js";
import type { ReceivedEvent } from "../../io/webhook-pipeline.js";
import { type ExpectResult, renderExpectMatch, renderExpectResult } from "../../output/expect-report.js";

export type WatchEnding = "matched" | "timeout" | "forward-failed";

export interface ExpectWatch {
  /** Start the clock (once listen is ready). */
  start(): void;
  offer(event: ReceivedEvent): void;
  /** Resolves when the wait is over, for better or worse. */
  done: Promise<WatchEnding>;
  /** Render the result and give the exit code. */
  finish(ending: WatchEnding | "stopped"): ExitCode;
}

const UNDELIVERED = {
  "sender-gone": "the sender hung up before the answer",
  refused: "refused with 503 as listen stopped",
  dropped: "no answer could be written",
} as const;

export function watchExpectation(expectation: Expectation, ctx: CommandContext, json: boolean): ExpectWatch {
  const watcher = createExpectWatcher(expectation);
  const matched: ReceivedEvent[] = [];
  let forwardProblem: string | undefined;
  let end: (ending: WatchEnding) => void = () => {};
  const done = new Promise<WatchEnding>((resolve) => {
    end = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      const limit = expectation.timeoutMs !== undefined ? `, for up to ${formatMs(expectation.timeoutMs)}` : "";
      ctx.output.err(ctx.output.errColor.dim(`waiting for ${describeExpectation(expectation)}${limit}`));
      if (expectation.timeoutMs !== undefined) timer = setTimeout(() => end("timeout"), expectation.timeoutMs);
    },
    offer(event) {
      // An answer that never reached the sender does not count: OpenMail will send the event again.
      // It did arrive, though, and the result says so (it said "no events arrived").
      if (event.answer.kind !== "written") {
        const type = event.inspection.summary.eventType ?? "an event";
        watcher.miss(`${type}: ${UNDELIVERED[event.answer.kind]}, so not counted (OpenMail sends it again)`);
        return;
      }
      const verdict = event.inspection.verification;
      const refused = event.forward && !event.forward.verdict.accepted ? event.forward : undefined;
      const offered = watcher.offer({
        eventId: event.inspection.eventId,
        summary: event.inspection.summary,
        verified: verdict?.valid,
        verificationReason: verdict?.reason,
        forwardRefused: refused?.verdict.summary,
      });
      // The ✓ is printed only once the match is known to pass: a forward target that refused it fails
      // the wait, and it is not counted (nor listed) as matched.
      if (offered === "forward-refused" && refused) {
        forwardProblem = `${refused.url} did not accept it (${refused.verdict.summary})`;
        end("forward-failed");
        return;
      }
      if (offered !== "match") return;
      matched.push(event);
      renderExpectMatch(ctx.output, json, event, watcher.matched(), expectation.count);
      if (watcher.satisfied()) end("matched");
    },
    done,
    finish(ending) {
      clearTimeout(timer);
      const result: ExpectResult = {
        result: ending,
        expected: describeExpectation(expectation),
        matched,
        count: expectation.count,
        arrived: watcher.summary(),
        waited: expectation.timeoutMs !== undefined ? formatMs(expectation.timeoutMs) : undefined,
        forwardProblem,
      };
      renderExpectResult(ctx.output, json, result);
      return ending === "matched" ? EXIT.OK : EXIT.CHECK_FAILED;
    },
  };
}
