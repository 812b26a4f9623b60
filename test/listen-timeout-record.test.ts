/**
 * The 408 a request stalled mid-body gets at listen's 60 s deadline, as listen reports it: the
 * listener's notice (test/listener-deadline.test.ts, with a short deadline) becomes this --json
 * record and this line. Tested here at the renderer, since the CLI's deadline is 60 s.
 */
import { Chalk } from "chalk";
import { describe, expect, it } from "vitest";
import type { ListenerNotice } from "../src/io/listener.js";
import { createListenRenderer } from "../src/output/listen-report.js";
import { recordLine } from "../src/output/records.js";
import type { Output } from "../src/output/terminal.js";

function capturingOutput(): { output: Output; stdout: string[] } {
  const stdout: string[] = [];
  const plain = new Chalk({ level: 0 });
  const output: Output = {
    out: (line) => stdout.push(line),
    record: (record) => stdout.push(recordLine(record)),
    write: () => {},
    err: () => {},
    progress: () => {},
    endProgress: () => {},
    roomForOutput: () => undefined,
    color: plain,
    errColor: plain,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: undefined,
  };
  return { output, stdout };
}

const timedOut: ListenerNotice = { type: "timed-out", method: "POST", path: "/webhooks", status: 408, limitMs: 60_000 };

describe("a request that did not all arrive by the deadline (408)", () => {
  it("--json: a rejected record with reason request-timeout, the status, the request line and the limit", () => {
    const { output, stdout } = capturingOutput();
    createListenRenderer(output, { json: true, cwd: "/" }).notice(timedOut);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toBe(
      '{"type":"rejected","schemaVersion":1,"reason":"request-timeout","status":408,"method":"POST","path":"/webhooks","limitMs":60000}',
    );
  });

  it("on the terminal: one line saying it was closed and not processed", () => {
    const { output, stdout } = capturingOutput();
    createListenRenderer(output, { json: false, cwd: "/" }).notice(timedOut);
    expect(stdout).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d POST \/webhooks → 408: the whole request did not arrive within 60\.0 s; closed, not processed$/,
      ),
    ]);
  });
});
