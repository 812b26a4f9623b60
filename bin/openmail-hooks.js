#!/usr/bin/env node
// Thin shim: everything lives in dist/cli.js, built from src/cli.ts by `npm run build`.
import("../dist/cli.js").catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist")) {
    process.stderr.write(
      "openmail-hooks: the CLI is not built yet; run `npm install` (or `npm run build`) in the package folder.\n",
    );
    process.exit(2);
  }
  throw error;
});
