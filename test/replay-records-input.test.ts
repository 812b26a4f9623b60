/**
 * `replay listen.ndjson`: the file the README's CI example writes is NDJSON, of listen's --json records,
 * not of captures. It was called "not JSON, NDJSON or a raw HTTP request".
 */
import { describe, expect, it } from "vitest";
import { type InputProblem, parseDocument } from "../src/io/replay-input.js";

function problemsOf(text: string): InputProblem[] {
  const problems: InputProblem[] = [];
  try {
    parseDocument(Buffer.from(text), "listen.ndjson", problems);
  } catch (error) {
    problems.push({ origin: "listen.ndjson", message: (error as Error).message });
  }
  return problems;
}

describe("replay given the output of a --json run", () => {
  it("says these are records naming captures, and where the captures are", () => {
    const records = [
      { type: "ready", schemaVersion: 1, localUrl: "http://127.0.0.1:4811/webhooks" },
      { type: "event", schemaVersion: 1, seq: 1, eventId: "evt_1", capturePath: "/tmp/x/evt_1.json" },
      { type: "summary", schemaVersion: 1, received: 1 },
    ];
    const [problem] = problemsOf(records.map((record) => JSON.stringify(record)).join("\n"));
    expect(problem?.message).toContain("openmail-hooks --json records");
    expect(problem?.message).toContain('replay the capture files they name ("capturePath"), or their folder');
  });

  it("still calls other text what it is", () => {
    const [problem] = problemsOf("x\ny\n");
    expect(problem?.message).toContain("not JSON, NDJSON or a raw HTTP request");
  });
});
