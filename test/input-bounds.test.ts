/**
 * Every input read has a bound (issue 14 items 6 and 7): devices and FIFOs are refused with one
 * line, files and standard input are read up to a limit, invalid base64 is an input error, and a
 * file of garbage is one error line, not one per line of it.
 */
import { execFileSync, spawn } from "node:child_process";
import { openSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnvironment } from "../src/config/environment.js";
import { serializeCapture } from "../src/core/capture.js";
import { BIN, type CliResult, cleanEnv, collect, runCli, tempDir } from "./helpers/cli.js";
import { randomBytes, seededRandom } from "./helpers/random.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_inputs_0011223344" };

/** One line on stderr, exit 2, no stack trace. */
function expectOneLineInputError(result: CliResult, pattern: RegExp) {
  expect(result.code).toBe(2);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

function withStdinFrom(path: string, args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tempDir(),
    env: cleanEnv(env),
    stdio: [openSync(path, "r"), "pipe", "pipe"],
  });
  return collect(child);
}

describe("inputs: devices, FIFOs and endless streams", () => {
  it("refuses devices for verify, --body-file, --env-file and replay, at once and in one line", async () => {
    const notRegular = /\/dev\/zero: not a regular file/;
    expectOneLineInputError(await runCli(["verify", "/dev/zero"], { env }), notRegular);
    expectOneLineInputError(
      await runCli(["verify", "--body-file", "/dev/zero", "--timestamp", "1", "--signature", "x"], { env }),
      notRegular,
    );
    // In process: Node 20 itself reads a --env-file flag found after the script name (issue 10 item 11).
    expect(() => loadEnvironment({ envFile: "/dev/zero", env: {} })).toThrow(
      /env file \/dev\/zero: .*not a regular file/,
    );
    const replay = await runCli(["replay", "/dev/zero", "--url", "http://127.0.0.1:9/webhooks"], { env });
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(notRegular);
  }, 30_000);

  it("refuses a FIFO with no writer instead of waiting forever", async () => {
    const fifo = join(tempDir(), "pipe");
    execFileSync("mkfifo", [fifo]);
    expectOneLineInputError(await runCli(["verify", fifo], { env }), /pipe: not a regular file/);
  });

  it("reads standard input up to --max-input-size, then stops with one line", async () => {
    expectOneLineInputError(
      await withStdinFrom("/dev/zero", ["verify", "-", "--max-input-size", "2mb"]),
      /standard input: goes on, over the input limit of 2\.0 MB; raise it with --max-input-size/,
    );
  });

  it("refuses a file over --max-input-size before reading it", async () => {
    const path = join(tempDir(), "big.json");
    writeFileSync(path, Buffer.alloc(3 * 1024 * 1024, 0x20));
    expectOneLineInputError(
      await runCli(["verify", path, "--max-input-size", "1mb"], { env }),
      /big\.json: is 3\.0 MB, over the input limit of 1\.0 MB/,
    );
  });
});

describe("inputs over a fixed limit name no option the command lacks", () => {
  it("redact and send-test --data (no --max-input-size) say the limit is fixed; verify names the option", async () => {
    const dir = tempDir();
    const big = join(dir, "big.json");
    writeFileSync(big, "");
    truncateSync(big, 70 * 1024 * 1024); // sparse: refused by its size before anything is read
    const redacted = await runCli(["redact", big, "--out-dir", join(dir, "out")], { env });
    expectOneLineInputError(redacted, /big\.json: is 70\.0 MB, over the input limit of 64\.0 MB; the limit is fixed/);
    expect(redacted.stderr).not.toContain("--max-input-size");
    const data = await withStdinFrom("/dev/zero", ["send-test", "--data", "-", "--print"]);
    expectOneLineInputError(data, /standard input: goes on, over the input limit of 64\.0 MB; the limit is fixed/);
    expect(data.stderr).not.toContain("--max-input-size");
    expectOneLineInputError(
      await runCli(["verify", big], { env }),
      /big\.json: is 70\.0 MB, over the input limit of 64\.0 MB; raise it with --max-input-size/,
    );
  });
});

describe("inputs: malformed content", () => {
  it("invalid bodyBase64 is an input error (exit 2), not a wrong secret", async () => {
    const path = join(tempDir(), "bad64.json");
    const valid = JSON.parse(
      serializeCapture({
        receivedAt: "2026-11-26T10:00:00.000Z",
        method: "POST",
        path: "/webhooks",
        headers: { "x-timestamp": "1", "x-signature": "0".repeat(64) },
        body: Buffer.from([0xff, 0xfe]),
      }),
    );
    writeFileSync(path, JSON.stringify({ ...valid, bodyBase64: "!!!not base64***" }));
    expectOneLineInputError(
      await runCli(["verify", path], { env }),
      /bad64\.json: capture "bodyBase64" is not valid base64/,
    );
    const replay = await runCli(["replay", path, "--url", "http://127.0.0.1:9/webhooks"], { env });
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/not valid base64/);
  });

  it("a file of random bytes is one error line, however many lines it has", async () => {
    const path = join(tempDir(), "random.ndjson");
    const bytes = randomBytes(seededRandom(14), 2 * 1024 * 1024);
    // Plenty of newlines, so it looks like many NDJSON lines.
    for (let i = 0; i < bytes.length; i += 97) bytes[i] = 0x0a;
    writeFileSync(path, bytes);
    const result = await runCli(["replay", path, "--url", "http://127.0.0.1:9/webhooks"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr.match(/random\.ndjson/g)).toHaveLength(1);
    expect(result.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
  });
});

describe("inputs: regular files read whole", () => {
  it("every size reads back byte for byte, owned or in the reused buffer, whatever was read before", async () => {
    const { readRegularFile, readRegularFileReusing } = await import("../src/io/request-input.js");
    const dir = tempDir();
    const random = seededRandom(16);
    // Around the reused buffer's first size (64 KiB) and the 1 MiB step of a file that outgrows it.
    const sizes = [0, 1, 2, 4095, 65_535, 65_536, 65_537, 200_000, 1_048_577, 3, 70_000, 10];
    for (const [i, size] of sizes.entries()) {
      const bytes = randomBytes(random, size);
      const path = join(dir, `f${i}`);
      writeFileSync(path, bytes);
      expect(readRegularFile(path, 4 * 1024 * 1024).equals(bytes)).toBe(true);
      expect(readRegularFileReusing(path, 4 * 1024 * 1024).equals(bytes)).toBe(true);
    }
  });
});
