/** `send-test --list-fixtures`: built-in and saved fixtures, one per line (or one `fixture` record each). */

import type { ExitCode } from "../errors.js";
import type { FixtureListing } from "../io/fixtures.js";
import { sanitizeLine } from "./sanitize.js";
import type { Output } from "./terminal.js";

export function renderFixtureList(fixtures: FixtureListing[], output: Output, json: boolean): ExitCode {
  if (json) {
    for (const { name, origin, description, path } of fixtures) {
      output.record({ type: "fixture", name, origin, description, path });
    }
    return 0;
  }
  const width = Math.max(...fixtures.map((fixture) => fixture.name.length));
  for (const origin of ["built-in", "saved"] as const) {
    const group = fixtures.filter((fixture) => fixture.origin === origin);
    if (group.length === 0) continue;
    output.out(
      output.color.bold(origin === "built-in" ? "Built-in fixtures" : "Saved fixtures (.openmail-hooks/fixtures)"),
    );
    for (const fixture of group) {
      output.out(
        `  ${sanitizeLine(fixture.name).padEnd(width)}  ${output.color.dim(sanitizeLine(fixture.description))}`,
      );
    }
  }
  output.out(output.color.dim("Send one with: openmail-hooks send-test --fixture <name> --url <endpoint>"));
  return 0;
}
