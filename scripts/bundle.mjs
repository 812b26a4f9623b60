#!/usr/bin/env node
/**
 * Bundle the CLI into dist/bin/ with esbuild, so starting it reads a handful of files instead of
 * dozens of modules (about 20 ms of a ~130 ms start on the machines measured; see BENCHMARKS.md).
 * Commands stay separate chunks, loaded only when they run. The ngrok SDK (native) and undici
 * stay external: they are loaded lazily by the commands that need them.
 */
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * Commander requires node:child_process at load time (about 5 ms here) but only uses it for
 * stand-alone executable subcommands, which this CLI has none of. Hand it a proxy that loads the
 * real module on first use instead.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes("node_modules/commander/") ? { path: "lazy-child-process", namespace: "omh" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "omh" }, () => ({
      contents:
        "let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:child_process'))[key] });",
      loader: "js",
    }));
  },
};

// Chunk names carry content hashes: clear the old ones so dist/bin holds only what the CLI loads.
rmSync("dist/bin", { recursive: true, force: true });

await build({
  entryPoints: ["src/cli.ts"],
  outdir: "dist/bin",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["@ngrok/ngrok", "undici"],
  define: { __OPENMAIL_HOOKS_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies (commander, dotenv) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __omhCreateRequire } from 'node:module'; const require = __omhCreateRequire(import.meta.url);",
  },
  plugins: [lazyChildProcess],
  logLevel: "warning",
});
