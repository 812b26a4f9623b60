import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanEnv, tempDir } from "./helpers/cli.js";

const TERMINAL = resolve(import.meta.dirname, "../dist/output/terminal.js");

/** Run `body` (with `output` from createOutput) in a child whose stdout and stderr share one pipe. */
function run(body: string): string {
  const script = join(tempDir(), "script.mjs");
  writeFileSync(
    script,
    `import { createOutput } from ${JSON.stringify(TERMINAL)};\nconst output = createOutput({ NO_COLOR: "1" });\n${body}\n`,
  );
  const result = spawnSync("sh", ["-c", `"${process.execPath}" "${script}" 2>&1`], {
    env: cleanEnv({ NO_COLOR: "1" }),
    encoding: "utf8",
  });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe("stdout written once per turn", () => {
  it("keeps the order of stdout and stderr lines", () => {
    expect(
      run(`
output.out("one");
output.out("two");
output.err("three (stderr)");
output.record({ type: "four" });
output.write("five raw\\n");
output.out("six");
setImmediate(() => { output.out("seven"); output.err("eight (stderr)"); });`),
    ).toBe('one\ntwo\nthree (stderr)\n{"type":"four","schemaVersion":1}\nfive raw\nsix\nseven\neight (stderr)\n');
  });

  it("writes what is pending when the process exits at once", () => {
    expect(run(`output.out("before exit"); output.record({ type: "last" }); process.exit(0);`)).toBe(
      'before exit\n{"type":"last","schemaVersion":1}\n',
    );
  });

  it("writes many lines of one turn in order, none lost", () => {
    const lines = run(`for (let i = 0; i < 5000; i++) output.out("line " + i);`).trimEnd().split("\n");
    expect(lines).toHaveLength(5000);
    expect(lines[0]).toBe("line 0");
    expect(lines[4999]).toBe("line 4999");
  });
});
