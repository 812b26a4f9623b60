import { spawn, spawnSync } from "node:child_process";
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

  it("writes lines longer than its buffer, and any text (multi-byte, lone surrogates) exactly as Node would", () => {
    const text = run(`
output.out("a".repeat(200000));
output.out("é→✓ 😀 \\ud800 end");
for (let i = 0; i < 3000; i++) output.out(String(i).padStart(40, "→"));
output.out("b".repeat(70000));`);
    const lines = text.split("\n");
    expect(lines[0]).toBe("a".repeat(200000));
    // A lone surrogate is written as U+FFFD, as Node writes it.
    expect(lines[1]).toBe("é→✓ 😀 \ufffd end");
    for (let i = 0; i < 3000; i++) expect(lines[2 + i]).toBe(String(i).padStart(40, "→"));
    expect(lines[3002]).toBe("b".repeat(70000));
    expect(lines).toHaveLength(3004);
  });

  it("loses or mixes up nothing when the reader falls behind (writes queue up)", async () => {
    const script = join(tempDir(), "script.mjs");
    writeFileSync(
      script,
      `import { createOutput } from ${JSON.stringify(TERMINAL)};
const output = createOutput({ NO_COLOR: "1" });
let turn = 0;
const next = () => {
  for (let i = 0; i < 300; i++) output.out(\`\${turn}:\${i}:\${"x".repeat((turn * 7 + i) % 300)}\`);
  if (++turn < 60) setImmediate(next);
};
next();`,
    );
    const child = spawn(process.execPath, [script], {
      env: cleanEnv({ NO_COLOR: "1" }),
      stdio: ["ignore", "pipe", "inherit"],
    });
    // Not read for a while: the pipe fills (64 KiB) and the child's writes are queued.
    child.stdout.pause();
    await new Promise((resolveWait) => setTimeout(resolveWait, 400));
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const code = await new Promise((resolveExit) => child.on("close", resolveExit));
    expect(code).toBe(0);
    const lines = Buffer.concat(chunks).toString("utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(60 * 300);
    let index = 0;
    for (let turn = 0; turn < 60; turn++) {
      for (let i = 0; i < 300; i++) {
        expect(lines[index++]).toBe(`${turn}:${i}:${"x".repeat((turn * 7 + i) % 300)}`);
      }
    }
  });
});

describe("stdout's line buffer while the reader is behind", () => {
  /** Lines of recognisable text: any byte out of place breaks the comparison. */
  const lines = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `{"seq":${from + i},"text":"${"abcdefghij".repeat(9)}"}`);

  it("never reuses a buffer a queued write still holds (a pipe that took one write, then filled)", async () => {
    const { createLineWriter } = await import("../src/output/terminal.js");
    // Modelled on a non-blocking pipe: a write that fits is copied at once (its callback on the next
    // tick, as Node calls it); one that does not is queued by reference and read when the pipe drains.
    const received: Buffer[] = [];
    const queued: Array<{ bytes: Buffer; done?: () => void }> = [];
    let room = 64 * 1024;
    const pipe = {
      get writableLength() {
        return queued.reduce((sum, write) => sum + write.bytes.length, 0);
      },
      write(data: Uint8Array | string, done?: () => void) {
        const bytes = Buffer.from(data as Uint8Array);
        if (queued.length === 0 && bytes.length <= room) {
          room -= bytes.length;
          received.push(Buffer.from(bytes));
          process.nextTick(() => done?.());
        } else {
          queued.push({
            bytes: typeof data === "string" ? bytes : Buffer.from(data.buffer, data.byteOffset, data.length),
            done,
          });
        }
        return true;
      },
    };
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const writer = createLineWriter(() => pipe);
    // About 165 KB in one turn: the first 64 KiB are taken at once (their callback comes on the next
    // tick), the same buffer's next 64 KiB are queued, and the rest waits in a second buffer.
    const first = lines(0, 1500);
    for (const line of first) writer.writeLine(line);
    await turn();
    await turn();
    const second = lines(1000, 300);
    for (const line of second) writer.writeLine(line);
    await turn();
    await turn();
    // The reader catches up.
    for (const write of queued.splice(0)) {
      received.push(Buffer.from(write.bytes));
      write.done?.();
    }
    expect(Buffer.concat(received).toString("utf8")).toBe(`${[...first, ...second].join("\n")}\n`);
  });
});

describe("stdout's line buffer under a steady stream of lines", () => {
  it("writes a line after a quiet moment in its own turn, and lines within the gap after it, in order", async () => {
    const { createLineWriter } = await import("../src/output/terminal.js");
    const { pipe, writes } = recordingPipe();
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    // Timers fire in the order they expire: one set for longer than the gap after the writer's comes after it.
    const pastTheGap = () => new Promise((resolve) => setTimeout(resolve, 200));
    const writer = createLineWriter(() => pipe, 100);
    writer.writeLine("first");
    await turn();
    expect(writes).toEqual(["first\n"]);
    // Within the gap: held, however many turns pass, and gathered into one write.
    writer.writeLine("second");
    await turn();
    writer.writeLine("third");
    await turn();
    await turn();
    expect(writes).toEqual(["first\n"]);
    await pastTheGap();
    expect(writes).toEqual(["first\n", "second\nthird\n"]);
    // After a quiet moment longer than the gap: at once again.
    await pastTheGap();
    writer.writeLine("fourth");
    await turn();
    expect(writes).toEqual(["first\n", "second\nthird\n", "fourth\n"]);
    // flush() (before stderr is written, and at exit) writes what waits without waiting for the gap.
    writer.writeLine("fifth");
    writer.flush();
    expect(writes).toEqual(["first\n", "second\nthird\n", "fourth\n", "fifth\n"]);
    await pastTheGap();
    expect(writes).toHaveLength(4);
  });
});

describe("stdout's line writer with a reader past the bound (listen, which cannot make OpenMail wait)", () => {
  it("drops and counts lines while the queue is at the bound, says when it falls behind and when it caught up", async () => {
    const { createLineWriter } = await import("../src/output/terminal.js");
    const { pipe, writes: received } = recordingPipe();
    const said: string[] = [];
    let dropped = 0;
    const writer = createLineWriter(() => pipe, 0, {
      bytes: 1000,
      fellBehind: () => said.push("behind"),
      dropped: (lines) => {
        dropped += lines;
      },
      caughtUp: () => said.push(`caught up after ${dropped}`),
    });
    writer.writeLine("a");
    writer.flush();
    // The reader is 1000 bytes behind: nothing more is written, every line is counted.
    pipe.writableLength = 1000;
    for (let i = 0; i < 5; i++) writer.writeLine(`lost ${i}`);
    writer.flush();
    writer.writeLine("lost 5");
    writer.writeLine("x".repeat(70_000)); // longer than the writer's buffer: the same rule
    writer.flush();
    expect(received).toEqual(["a\n"]);
    expect(dropped).toBe(7);
    expect(said).toEqual(["behind"]);
    // Still above half the bound: still dropping.
    pipe.writableLength = 501;
    writer.writeLine("lost 7");
    writer.flush();
    expect(dropped).toBe(8);
    // Half of it taken: written again, and said once.
    pipe.writableLength = 500;
    writer.writeLine("b");
    writer.flush();
    expect(received).toEqual(["a\n", "b\n"]);
    expect(said).toEqual(["behind", "caught up after 8"]);
  });
});

/** A pipe that takes every write at once (its callback on the next tick, as Node calls it), and keeps each as text. */
function recordingPipe(): {
  pipe: { writableLength: number; write(data: Uint8Array | string, done?: () => void): boolean };
  writes: string[];
} {
  const writes: string[] = [];
  const pipe = {
    writableLength: 0,
    write(data: Uint8Array | string, done?: () => void) {
      writes.push(Buffer.from(data as Uint8Array).toString("utf8"));
      process.nextTick(() => done?.());
      return true;
    },
  };
  return { pipe, writes };
}
