#!/usr/bin/env node
// Thin shim: the CLI is dist/bin/cli.js, bundled from src/cli.ts by `npm run build`. Both are
// CommonJS (bin/package.json, dist/bin/package.json): Node's CommonJS loader starts them faster
// than its ESM loader would (see scripts/bundle.mjs). The chunks are compiled through the V8 code
// cache the build made (./code-cache.js), except under a Node policy, which checks what it loads itself.
const { dirname, join } = require("node:path");
const options = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
// Node runs a bin reached through a link (node_modules/.bin/openmail-hooks) from its real file, except
// under --preserve-symlinks-main: then __dirname is the link's folder, and the package is found from
// the real file's.
const bin = options.includes("--preserve-symlinks-main")
  ? dirname(require("node:fs").realpathSync(__filename))
  : __dirname;
const cli = join(bin, "..", "dist", "bin", "cli.js");
try {
  if (!options.includes("--experimental-policy")) {
    require(join(bin, "code-cache.js")).install(dirname(cli), { write: Boolean(process.env.OMH_CODE_CACHE_WRITE) });
  }
  require(cli);
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes(`'${cli}'`)) {
    process.stderr.write(
      "openmail-hooks: the CLI is not built yet; run `npm install` (or `npm run build`) in the package folder.\n",
    );
    process.exit(2);
  }
  throw error;
}
