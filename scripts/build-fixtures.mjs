#!/usr/bin/env node
/**
 * Write the built-in fixtures (fixtures/<name>.json) from their sources, with the code that
 * `send-test --eml` runs (from dist/, so run `npm run build` first), and the generated .eml files
 * small enough to ship. test/fixtures.test.ts fails when the shipped files no longer match.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUILTIN_FIXTURES } from "../dist/core/fixtures.js";
import { generateBuiltinFixture, generatedEml } from "../dist/io/builtin-fixtures.js";

const dir = new URL("../fixtures/", import.meta.url).pathname;
for (const fixture of BUILTIN_FIXTURES) {
  if (fixture.source.kind === "generated-eml" && fixture.source.file) {
    writeFileSync(join(dir, "eml", fixture.source.file), generatedEml(fixture.name));
  }
  const event = await generateBuiltinFixture(fixture, dir);
  writeFileSync(join(dir, `${fixture.name}.json`), `${JSON.stringify(event, null, 2)}\n`);
  console.log(`fixtures/${fixture.name}.json`);
}
