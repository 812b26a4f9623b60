#!/usr/bin/env node
// Thin shim: the CLI is dist/bin/cli.js, bundled from src/cli.ts by `npm run build`. Both are
// CommonJS (bin/package.json, dist/bin/package.json): Node's CommonJS loader starts them faster
// than its ESM loader would (see scripts/bundle.mjs). The chunks are compiled through the V8 code
// cache the build made (./code-cache.js), except under a Node policy, which checks what it loads itself.
try {
  const options = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
  if (!options.includes("--experimental-policy")) {
    require("./code-cache.js").install(require("node:path").join(__dirname, "..", "dist", "bin"), {
      write: Boolean(process.env.OMH_CODE_CACHE_WRITE),
    });
  }
  require("../dist/bin/cli.js");
} catch (error) {
  if (error && error.code === "MODULE_NOT_FOUND" && String(error.message).includes("'../dist/bin/cli.js'")) {
    process.stderr.write(
      "openmail-hooks: the CLI is not built yet; run `npm install` (or `npm run build`) in the package folder.\n",
    );
    process.exit(2);
  }
  throw error;
}
