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
 * inspector's page files are copied into dist/bin/inspector-page/. Last, the CLI's V8 code cache is made
 * (dist/bin/code-cache.bin, see scripts/code-cache.mjs and bin/code-cache.js).
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { build, transform } from "esbuild";
import { makeCodeCache } from "./code-cache.mjs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/**
 * Modules replaced, in the bundled CLI only, by small stand-ins that load the real one on first use:
 *
 * - Commander requires node:child_process at load time (about 5 ms here) but only uses it for
 *   stand-alone executable subcommands, which this CLI has none of.
 * - string-width builds an Intl.Segmenter and a \p{RGI_Emoji} regular expression when it is loaded
 *   (about 25 ms together here, a fifth of a command's start-up). src/output/fit.ts answers
 *   printable ASCII itself and calls it only for wider text; a module that esbuild bundles for a
 *   require() is evaluated on the first require, not at start-up.
 */
const LAZY_MODULES = {
  "lazy-child-process": {
    contents:
      "let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:child_process'))[key] });",
  },
  "lazy-string-width": {
    contents: "let real; export default (...args) => (real ??= require('string-width').default)(...args);",
  },
};
const lazyModules = {
  name: "lazy-modules",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes("node_modules/commander/") ? { path: "lazy-child-process", namespace: "omh" } : undefined,
    );
    build.onResolve({ filter: /^string-width$/ }, (args) =>
      args.namespace === "file" && args.importer.includes("/src/")
        ? { path: "lazy-string-width", namespace: "omh" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "omh" }, (args) => ({
      contents: LAZY_MODULES[args.path].contents,
      loader: "js",
      resolveDir: process.cwd(),
    }));
  },
};

/**
 * The CLI is split with esbuild's ESM code splitting (each command, and what only it uses, in chunks
 * of their own, loaded when the command runs), then every chunk is turned into CommonJS, imports
 * into require() and dynamic import() into a require() when it runs. Node's CommonJS loader reads a
 * file synchronously and compiles it in one step; its ESM loader takes several event-loop turns per
 * module and first loads a dozen internal modules of its own. Measured on the commands' start-up:
 * about 12 ms of CPU less per command, a fifth of bare Node's own start (see BENCHMARKS.md).
 * dist/bin/package.json makes the .js files there CommonJS.
 */
const CLI = "dist/bin";
const split = await build({
  entryPoints: ["src/cli.ts"],
  outdir: CLI,
  write: false,
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
  plugins: [lazyModules],
  logLevel: "warning",
});
// Chunk names carry content hashes: clear the old ones so they are not shipped with the new.
rmSync(CLI, { recursive: true, force: true });
mkdirSync(CLI, { recursive: true });
writeFileSync(join(CLI, "package.json"), '{ "type": "commonjs" }\n');
for (const chunk of split.outputFiles) {
  const { code } = await transform(chunk.text, {
    format: "cjs",
    platform: "node",
    target: "node20",
    supported: { "dynamic-import": false },
    // Modules that find files beside themselves (fixtures, the inspector's page) use import.meta.url.
    define: { "import.meta.url": "__omhModuleUrl" },
    banner: chunk.text.includes("import.meta.url")
      ? 'const __omhModuleUrl = require("node:url").pathToFileURL(__filename).href;'
      : "",
    sourcefile: chunk.path,
    logLevel: "warning",
  });
  writeFileSync(chunk.path, code);
}

// The inspector's page (plain HTML, CSS and JS, no build step) ships beside the bundled CLI.
cpSync("src/inspector/page", join(CLI, "inspector-page"), { recursive: true });

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

// Last: the chunks and the inspector's page are in place, and dist/core (tsc) for the capture it needs.
await makeCodeCache(".");
