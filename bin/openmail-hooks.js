#!/usr/bin/env node
// Thin shim: the CLI is dist/bin/cli.js, bundled from src/cli.ts by `npm run build`.
import("../dist/bin/cli.js").catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist")) {
    process.stderr.write(
      "openmail-hooks: the CLI is not built yet; run `npm install` (or `npm run build`) in the package folder.\n",
    );
    process.exit(2);
  }
  throw error;
});
