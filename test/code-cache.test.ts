/**
 * The bundled CLI's V8 code cache (bin/code-cache.js, made by `npm run build` in dist/bin/code-cache.bin):
 * a chunk runs from its cache only when the cache was made from exactly that chunk's source and is
 * whole; with no cache, a stale, truncated or corrupt one, or one V8 rejects, the chunk is compiled
 * from source and the command still does what it should. Each test runs its own copy of the built
 * package (bin/ and dist/bin/), since it damages the cache.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { cleanEnv, collect, tempDir } from "./helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "..");
const PRELOAD = resolve(import.meta.dirname, "helpers/code-cache-log.cjs");
const SECRET = "whsec_code_cache_test";
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

type Compiled = Record<string, { given: boolean; rejected: boolean | undefined }>;

/** A copy of the built package: bin/, dist/bin/ (with its code cache), package.json, node_modules. */
function packageCopy(): string {
  const root = tempDir("omh-code-cache-");
  cpSync(join(ROOT, "bin"), join(root, "bin"), { recursive: true });
  cpSync(join(ROOT, "dist", "bin"), join(root, "dist", "bin"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(root, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return root;
}

/** Run the copy's CLI with the preload that notes how each chunk was compiled. */
async function run(root: string, args: string[], nodeFlags: string[] = []) {
  const log = join(tempDir(), "compiled.json");
  const child = spawn(
    process.execPath,
    [...nodeFlags, "--require", PRELOAD, join(root, "bin", "openmail-hooks.js"), ...args],
    {
      cwd: tempDir(),
      env: cleanEnv({ OMH_CODE_CACHE_LOG: log, OPENMAIL_WEBHOOK_SECRET: SECRET }),
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const result = await collect(child);
  return { ...result, compiled: JSON.parse(readFileSync(log, "utf8")) as Compiled };
}

function captureFile(): string {
  const body = Buffer.from('{"event":"message.received","event_id":"evt_code_cache"}');
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body) };
  const file = join(tempDir(), "capture.json");
  writeFileSync(
    file,
    serializeCapture({ receivedAt: new Date().toISOString(), method: "POST", path: "/webhooks", headers, body }),
  );
  return file;
}

const cacheFile = (root: string) => join(root, "dist", "bin", "code-cache.bin");

/** The cache file's index, and where its bytecode starts in the file (bin/code-cache.js reads it). */
function cacheIndex(root: string): { index: Record<string, [string, string, number, number]>; bytecodeAt: number } {
  const { readCacheFile } = createRequire(import.meta.url)("../bin/code-cache.js");
  const cache = readCacheFile(cacheFile(root));
  return { index: cache.index, bytecodeAt: readFileSync(cacheFile(root)).length - cache.bytecode.length };
}

const verifyChunk = (root: string) => {
  const names = readdirSync(join(root, "dist", "bin")).filter((name) => /^verify-.*\.js$/.test(name));
  expect(names).toHaveLength(1);
  return names[0] as string;
};

describe("the CLI's V8 code cache", () => {
  it("is made by the build for the chunks a command runs, and V8 takes it", async () => {
    const root = packageCopy();
    const result = await run(root, ["verify", captureFile()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    const chunks = Object.keys(result.compiled);
    expect(chunks).toContain("cli.js");
    expect(chunks).toContain(verifyChunk(root));
    expect(chunks.length).toBeGreaterThan(3);
    const { index } = cacheIndex(root);
    for (const chunk of chunks) {
      expect(Object.keys(index), chunk).toContain(chunk);
      expect(result.compiled[chunk], chunk).toEqual({ given: true, rejected: false });
    }
  });

  it("missing: the chunks are compiled from source", async () => {
    const root = packageCopy();
    rmSync(cacheFile(root));
    const result = await run(root, ["verify", captureFile()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    expect(Object.values(result.compiled).every((chunk) => !chunk.given)).toBe(true);
    expect(Object.keys(result.compiled)).toContain("cli.js");
  });

  it("truncated inside a chunk's bytecode: that chunk (and what followed it) is compiled from source", async () => {
    const root = packageCopy();
    const command = verifyChunk(root);
    const { index, bytecodeAt } = cacheIndex(root);
    const [, , offset, length] = index[command] as [string, string, number, number];
    writeFileSync(cacheFile(root), readFileSync(cacheFile(root)).subarray(0, bytecodeAt + offset + length - 1));
    const result = await run(root, ["verify", captureFile()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    expect(result.compiled[command]?.given).toBe(false);
    for (const [chunk, how] of Object.entries(result.compiled)) {
      const entry = index[chunk];
      if (entry && entry[2] + entry[3] < offset + length) expect(how, chunk).toEqual({ given: true, rejected: false });
    }
  });

  it("one byte of a chunk's bytecode changed: not given to V8 (which would run it)", async () => {
    const root = packageCopy();
    const command = verifyChunk(root);
    const { index, bytecodeAt } = cacheIndex(root);
    const [, , offset, length] = index[command] as [string, string, number, number];
    const data = readFileSync(cacheFile(root));
    const at = bytecodeAt + offset + (length >> 1);
    data.writeUInt8(data.readUInt8(at) ^ 0x55, at);
    writeFileSync(cacheFile(root), data);
    const result = await run(root, ["verify", captureFile()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    expect(result.compiled[command]?.given).toBe(false);
    expect(result.compiled["cli.js"]).toEqual({ given: true, rejected: false });
  });

  it("stale: a chunk changed after its cache was made (same length) runs its new source", async () => {
    const root = packageCopy();
    const file = join(root, "dist", "bin", "cli.js");
    const source = readFileSync(file, "utf8");
    const changed = `9${VERSION.slice(1)}`;
    expect(source.split(`"${VERSION}"`)).toHaveLength(2);
    writeFileSync(file, source.replace(`"${VERSION}"`, `"${changed}"`));
    const result = await run(root, ["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(changed);
    expect(result.compiled["cli.js"]?.given).toBe(false);
  });

  it("made by another V8 (here: other V8 flags): V8 rejects it, and the chunks are compiled from source", async () => {
    const root = packageCopy();
    const result = await run(root, ["verify", captureFile()], ["--no-opt"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    expect(result.compiled["cli.js"]).toEqual({ given: true, rejected: true });
  });

  it("from another Node (the file says which): not given to V8", async () => {
    const root = packageCopy();
    const data = readFileSync(cacheFile(root));
    const at = data.indexOf(`${process.version} ${process.arch} `);
    expect(at).toBeGreaterThan(0);
    // The same length: only the Node version differs.
    data.write(
      process.version.replace(/\d/, (digit) => String((Number(digit) + 1) % 10)),
      at,
    );
    writeFileSync(cacheFile(root), data);
    const result = await run(root, ["--version"]);
    expect(result.stdout.trim()).toBe(VERSION);
    expect(result.compiled["cli.js"]?.given).toBe(false);
  });

  it("made by a run that cannot write it (OMH_CODE_CACHE_WRITE, the build's switch): the run is unchanged", async () => {
    const root = packageCopy();
    rmSync(cacheFile(root));
    mkdirSync(cacheFile(root));
    const log = join(tempDir(), "compiled.json");
    const child = spawn(process.execPath, ["--require", PRELOAD, join(root, "bin", "openmail-hooks.js"), "--version"], {
      cwd: tempDir(),
      env: cleanEnv({ OMH_CODE_CACHE_LOG: log, OMH_CODE_CACHE_WRITE: "1" }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const result = await collect(child);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(VERSION);
    expect(result.stderr.trim()).toMatch(/^openmail-hooks: code cache not written \(E[A-Z]+\)$/);
    expect(readdirSync(join(root, "dist", "bin")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});
