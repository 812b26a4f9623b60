/**
 * Make the V8 code cache of the bundled CLI (dist/bin/code-cache.bin, read by bin/code-cache.js): run the
 * commands whose start-up is measured, as a user would, each with OMH_CODE_CACHE_WRITE set so that it
 * writes, at exit, the bytecode of every chunk it ran. A later command reads the caches the earlier ones
 * wrote and adds what it compiled itself, so a chunk several commands share holds what each needs.
 *
 * The cache is only for the Node that runs the build (a user's other Node rejects it and compiles the
 * chunks from source, as without it): if a command fails here, the build says so and goes on without
 * that command's part of the cache.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SECRET = "whsec_code_cache_build";
const URL_PATTERN = /http:\/\/127\.0\.0\.1:\d+\/webhooks/;

/** Run the CLI once; `stopAt` ends it with SIGINT (as Ctrl-C) when its output matches. Never throws. */
function run(bin, args, { cwd, env, stopAt }) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stopAt?.test(stdout)) child.kill("SIGINT");
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", (error) => {
      clearTimeout(deadline);
      done(`could not start: ${error.message}`);
    });
    child.on("close", (code, signal) => {
      clearTimeout(deadline);
      const expected = stopAt ? code === 130 : code === 0;
      done(expected ? null : `exited ${signal ?? code}: ${stderr.trim().split("\n")[0] ?? ""}`);
    });
  });
}

/**
 * Write a capture of one signed message.received event, as `listen` saves it, to `file` (the start-up
 * bench's `verify` and `replay --dry-run` read one too). `root` has dist/core (tsc's output).
 */
export async function writeSignedCapture(root, file, secret, body) {
  const { serializeCapture } = await import(resolve(root, "dist", "core", "capture.js"));
  const { sign } = await import(resolve(root, "dist", "core", "signature.js"));
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    "content-type": "application/json",
    "x-timestamp": timestamp,
    "x-signature": sign(secret, timestamp, body),
  };
  const receivedAt = new Date().toISOString();
  writeFileSync(file, serializeCapture({ receivedAt, method: "POST", path: "/webhooks", headers, body }));
}

/** `root` is the package folder, with dist/bin bundled and dist/core (tsc's output) beside it. */
export async function makeCodeCache(root) {
  const bin = resolve(root, "bin", "openmail-hooks.js");
  const { buildFakeEvent } = await import(resolve(root, "dist", "core", "fake-events.js"));
  const work = mkdtempSync(join(tmpdir(), "omh-code-cache-"));
  try {
    let counter = 0;
    const randomHex = (length) => (counter++).toString(16).padStart(length, "0").slice(-length);
    const body = Buffer.from(JSON.stringify(buildFakeEvent({ type: "message.received", now: new Date(), randomHex })));
    const capture = join(work, "capture.json");
    await writeSignedCapture(root, capture, SECRET, body);
    // No preload or V8 flag (V8 rejects bytecode made under other flags), no settings of the builder's.
    const env = { ...process.env, OPENMAIL_WEBHOOK_SECRET: SECRET, OMH_CODE_CACHE_WRITE: "1" };
    for (const key of ["NODE_OPTIONS", "FORCE_COLOR", "NGROK_AUTHTOKEN", "OPENMAIL_API_KEY", "OPENMAIL_API_BASE"]) {
      delete env[key];
    }
    const commands = [
      ["--help"],
      ["verify", capture],
      ["send-test", "--print"],
      ["replay", "--dry-run", capture],
      ["listen", "--no-tunnel", "--port", "0", "--save-dir", join(work, "events")],
    ];
    for (const args of commands) {
      const stopAt = args[0] === "listen" ? URL_PATTERN : undefined;
      const failure = await run(bin, args, { cwd: work, env, stopAt });
      if (failure) console.warn(`code cache: \`${args[0]}\` ${failure}; the cache goes without its part`);
    }
    if (!existsSync(resolve(root, "dist", "bin", "code-cache.bin"))) {
      console.warn("code cache: none was written; the CLI runs without it (compiling its chunks from source)");
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
