import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The examples import the package by name, as an app would: give them the built library (dist/lib).
  resolve: { alias: { "openmail-hooks": fileURLToPath(new URL("./dist/lib/index.js", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
