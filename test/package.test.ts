/**
 * The package as users get it: one `npm pack` tarball, installed once (without optional
 * dependencies, as a library-only install) into a temp folder beside the consumer projects in
 * test/consumers/, which are compiled the way their kind of project compiles and then run:
 * ESM TypeScript (nodenext), CommonJS TypeScript (nodenext and node10), TypeScript with bundler
 * resolution, plain CommonJS require(), a Web-standard runtime (edge-runtime's VM, no Buffer) and
 * Node with node:crypto hidden. Also: attw and publint on the tarball, what the tarball holds, and
 * `listen` without the optional ngrok SDK.
 */
import { execFile } from "node:child_process";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { EdgeRuntime } from "edge-runtime";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, tempDir } from "./helpers/cli.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const VECTOR_SIGNATURE = "61d26078e3833b332cf65512d1144d1cb32c8fbd0e7d0dc8d2e267b54730df60";

let work: string;
let consumer: string;
let tarball: string;

async function node(args: string[], cwd = consumer) {
  return run(process.execPath, args, { cwd, env: cleanEnv(), timeout: 60_000 });
}

async function tsc(project: string) {
  await node([TSC, "-p", project]);
}

/** The last stdout line of a consumer program, parsed. */
function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "{}");
}

beforeAll(async () => {
  work = tempDir("omh-pack-");
  // The build is current (npm test builds first); packing must not build again.
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: ROOT,
    timeout: 60_000,
  });
  tarball = join(work, JSON.parse(packed.stdout)[0].filename);
  consumer = join(work, "consumer");
  cpSync(join(ROOT, "test", "consumers"), consumer, { recursive: true });
  writeFileSync(join(consumer, "package.json"), '{ "name": "consumer", "private": true }\n');
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--omit=optional", tarball], {
    cwd: consumer,
    timeout: 120_000,
  });
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("passes @arethetypeswrong/cli and publint", async () => {
    const attw = await run(process.execPath, [join(ROOT, "node_modules", ".bin", "attw"), tarball], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(attw.stdout).toContain("No problems found");
    const publint = await run(process.execPath, [join(ROOT, "node_modules", ".bin", "publint"), "--strict"], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(publint.stdout).toContain("All good");
  });

  it("holds the CLI bundle, the library builds, LICENSE and CHANGELOG, and no unbundled build or source maps", async () => {
    const listing = await run("tar", ["tzf", tarball]);
    const files = listing.stdout.trim().split("\n");
    expect(files).toEqual(
      expect.arrayContaining([
        "package/LICENSE",
        "package/CHANGELOG.md",
        "package/bin/openmail-hooks.js",
        "package/bin/code-cache.js",
        "package/dist/bin/cli.js",
        "package/dist/bin/code-cache.bin",
        "package/dist/lib/index.js",
        "package/dist/lib/index.cjs",
        "package/dist/lib/index.d.cts",
        "package/dist/lib/web.js",
      ]),
    );
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
    expect(files.filter((file) => /^package\/dist\/(?!bin\/|lib\/)/.test(file))).toEqual([]);
  });

  it("installs for a library user with only what runs: no CLI-only packages, no ngrok with --omit=optional", () => {
    const installed = readdirSync(join(consumer, "node_modules")).filter((name) => !name.startsWith("."));
    expect(installed.sort()).toEqual(["openmail-hooks", "undici"]);
  });

  it("runs the CLI, and `listen` says in one line how to add the missing ngrok SDK (exit 2)", async () => {
    const bin = join(consumer, "node_modules", "openmail-hooks", "bin", "openmail-hooks.js");
    const help = await node([bin, "--help"]);
    expect(help.stdout).toContain("listen");
    const listen = await run(process.execPath, [bin, "listen", "--secret", "s", "--port", "0"], {
      cwd: consumer,
      env: cleanEnv({ NGROK_AUTHTOKEN: "2abcdefghijklmnopqrstuvwxyz_0123456789ABCDEFGHIJ" }),
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(listen.code).toBe(2);
    const line = listen.stderr.split("\n").find((text) => text.includes("@ngrok/ngrok"));
    expect(line).toMatch(/not installed: run `npm install @ngrok\/ngrok`.*or run with --no-tunnel/);
    expect(listen.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the installed CLI's V8 code cache", () => {
  it("is what the build made (shipped in the tarball): the installed CLI's chunks run from it", async () => {
    const bin = join(consumer, "node_modules", "openmail-hooks", "bin", "openmail-hooks.js");
    const log = join(work, "compiled.json");
    const preload = join(ROOT, "test", "helpers", "code-cache-log.cjs");
    const help = await run(process.execPath, ["--require", preload, bin, "--help"], {
      cwd: consumer,
      env: cleanEnv({ OMH_CODE_CACHE_LOG: log }),
      timeout: 60_000,
    });
    expect(help.stdout).toContain("listen");
    const compiled = JSON.parse(readFileSync(log, "utf8"));
    expect(compiled["cli.js"]).toEqual({ given: true, rejected: false });
  });
});

describe("real mail and fixtures from the installed package", () => {
  it("finds the built-in fixtures, and parses .eml with the MIME parser bundled into the CLI", async () => {
    const installed = join(consumer, "node_modules", "openmail-hooks");
    const bin = join(installed, "bin", "openmail-hooks.js");
    const listed = await node([bin, "send-test", "--list-fixtures", "--json"]);
    const builtIn = listed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; origin: string })
      .filter((f) => f.type === "fixture" && f.origin === "built-in");
    expect(builtIn).toHaveLength(10);
    const fixture = await node([bin, "send-test", "--fixture", "non-ascii", "--print", "--secret", "s"]);
    expect(fixture.stdout).toContain("【至急】請求書の再発行について");
    // postal-mime is a devDependency: the installed package has no node_modules/postal-mime to load.
    const eml = await node([
      bin,
      "send-test",
      "--eml",
      join(installed, "fixtures", "eml", "html-only.eml"),
      "--print",
      "--secret",
      "s",
    ]);
    expect(eml.stdout).toContain("Everything in Outdoor is 30 % off until 8 November.");
  });
});

describe("consumer projects built from the tarball", () => {
  it("ESM TypeScript (nodenext) compiles against the types and verifies the known-answer vector", async () => {
    await tsc("esm-nodenext");
    const { stdout } = await node(["esm-nodenext/out/main.js"]);
    expect(lastJson(stdout)).toEqual({
      signature: VECTOR_SIGNATURE,
      valid: true,
      subject: "Hello",
      reason: "body_not_raw",
      asyncValid: true,
      secretIndex: 1,
      podId: null,
      oddPayload: { event: "inbox.suspended", event_id: "evt_3" },
      millis: "TypeError",
    });
  });

  it.each([
    ["nodenext", "cjs-ts", "out"],
    ["node10", "cjs-ts/tsconfig.node10.json", "out-node10"],
  ])("CommonJS TypeScript (%s) compiles to require() and runs", async (_label, project, outDir) => {
    await tsc(project);
    const compiled = readFileSync(join(consumer, "cjs-ts", outDir, "main.js"), "utf8");
    expect(compiled).toContain('require("openmail-hooks")');
    const { stdout, stderr } = await node([`cjs-ts/${outDir}/main.js`]);
    expect(lastJson(stdout)).toEqual({ signature: VECTOR_SIGNATURE, valid: true, reason: "timestamp_too_old" });
    expect(stderr).toBe("");
  });

  it("plain CommonJS require() works, and each malformed input returns its documented reason", async () => {
    const { stdout, stderr } = await node(["cjs-plain/main.js"]);
    expect(lastJson(stdout)).toEqual({
      signature: VECTOR_SIGNATURE,
      valid: true,
      reasons: {
        parsedBody: "body_not_raw",
        undefinedBody: "body_not_raw",
        unsetSecret: "secret_missing",
        undefinedHeaders: "headers_missing",
        arrayBuffer: true,
      },
      thrown: "body_not_raw",
      crossBuild: true,
    });
    expect(stderr).toBe("");
  });

  it("TypeScript with bundler resolution type-checks, bundles and runs a Web route handler", async () => {
    await tsc("bundler");
    await build({
      entryPoints: [join(consumer, "bundler", "main.ts")],
      outfile: join(consumer, "bundler", "out.mjs"),
      bundle: true,
      format: "esm",
      platform: "node",
      logLevel: "silent",
    });
    const { stdout } = await node(["bundler/out.mjs"]);
    expect(lastJson(stdout)).toEqual({ signature: VECTOR_SIGNATURE, valid: true, routed: "pod.suspended" });
  });
});

const WEB_EXPECTED = {
  valid: true,
  bytes: true,
  arrayBuffer: true,
  rotated: 2,
  parsedBody: "body_not_raw",
  unsetSecret: "secret_missing",
  noHeaders: "headers_missing",
  mismatch: "signature_mismatch",
  stale: "timestamp_too_old",
  blobBody: "the body is a Blob",
  podId: null,
  millis: "TypeError",
  thrown: "signature_mismatch",
  syncVerify: expect.stringMatching(/verify\(\) needs node:crypto.*use await verifyAsync/),
  hasBuffer: false,
};

describe("the Web Crypto entry", () => {
  it("is what a worker bundle gets, without node:crypto, and runs in edge-runtime's VM", async () => {
    const bundle = await build({
      entryPoints: [join(consumer, "web", "check.mjs")],
      bundle: true,
      write: false,
      format: "iife",
      globalName: "consumerCheck",
      platform: "browser",
      conditions: ["worker"],
      logLevel: "silent",
    });
    const code = bundle.outputFiles[0]?.text ?? "";
    expect(code).not.toMatch(/node:crypto["']\)|require\(["'](node:)?crypto/);
    const runtime = new EdgeRuntime();
    runtime.evaluate(code);
    const result = await runtime.evaluate<Promise<unknown>>("consumerCheck.check()");
    expect(result).toEqual(WEB_EXPECTED);
  });

  it("runs on Node with node:crypto hidden under the worker condition", async () => {
    const { stdout } = await node(["--conditions=worker", "--import", "./web/hide-node.mjs", "web/node-main.mjs"]);
    expect(lastJson(stdout)).toEqual({ ...WEB_EXPECTED, hasBuffer: true });
    // The hiding is real: the Node entry, which needs node:crypto, fails to load under it.
    await expect(node(["--import", "./web/hide-node.mjs", "web/node-main.mjs"])).rejects.toMatchObject({
      stderr: expect.stringContaining("node:crypto is hidden"),
    });
  });
});
