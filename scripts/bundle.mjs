#!/usr/bin/env node
/**
 * Bundle the CLI into dist/bin/ with esbuild, so starting it reads a handful of files instead of
 * dozens of modules (about 20 ms of a ~130 ms start on the machines measured; see BENCHMARKS.md).
 * Commands stay separate chunks, loaded only when they run. The ngrok SDK (native) and undici
 * stay external: they are loaded lazily by the commands that need them.
 *
 * The library is bundled too, into dist/lib/: the Node entry (src/index.ts) and the Web Crypto entry
 * (src/web.ts), each as ESM (.js) and CommonJS (.cjs), with tsc's declarations copied beside them as
 * .d.ts and, with relative imports renamed, .d.cts. The package ships dist/bin and dist/lib only, so the
 * inspector's page files are copied into dist/bin/inspector-page/.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
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

// Chunk names carry content hashes: clear the old ones so they are not shipped with the new.
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
  define: {
    __OPENMAIL_HOOKS_VERSION__: JSON.stringify(version),
    // The inspector's page files, beside the chunks in dist/bin/.
    __OPENMAIL_HOOKS_INSPECTOR_PAGE__: JSON.stringify("./inspector-page/"),
  },
  // CommonJS dependencies (commander, dotenv) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __omhCreateRequire } from 'node:module'; const require = __omhCreateRequire(import.meta.url);",
  },
  plugins: [lazyChildProcess],
  logLevel: "warning",
});

// The inspector's page (plain HTML, CSS and JS, no build step) ships beside the bundled CLI.
cpSync("src/inspector/page", "dist/bin/inspector-page", { recursive: true });

const LIB = "dist/lib";
rmSync(LIB, { recursive: true, force: true });
const library = { bundle: true, target: "es2022", logLevel: "warning", legalComments: "none" };
await Promise.all(
  [
    { name: "index", platform: "node" },
    { name: "web", platform: "neutral" },
  ].flatMap(({ name, platform }) =>
    [
      ["esm", ".js"],
      ["cjs", ".cjs"],
    ].map(([format, extension]) =>
      build({
        ...library,
        entryPoints: [`src/${name}.ts`],
        outfile: `${LIB}/${name}${extension}`,
        platform,
        format,
      }),
    ),
  ),
);

/** Copy the declarations the two entries reach (tsc wrote them to dist/) into dist/lib, as .d.ts and .d.cts. */
function copyDeclarations(entries) {
  const seen = new Set();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join("dist", file), "utf8");
    for (const [, specifier] of text.matchAll(/(?:from |import\()"(\.{1,2}\/[^"]+)\.js"/g)) {
      queue.push(relative(".", join(dirname(file), `${specifier}.d.ts`)));
    }
    const target = join(LIB, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join("dist", file), target);
    writeFileSync(
      target.replace(/\.d\.ts$/, ".d.cts"),
      text.replace(/((?:from |import\()"\.{1,2}\/[^"]+)\.js"/g, '$1.cjs"'),
    );
  }
}
copyDeclarations(["index.d.ts", "web.d.ts"]);
