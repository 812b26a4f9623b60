/**
 * Fixtures on disk: the built-in ones shipped in the package (fixtures/*.json, generated from the
 * .eml files beside them by scripts/build-fixtures.mjs) and the user's own, saved by
 * `send-test --save-fixture` in ./.openmail-hooks/fixtures/<name>.json.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILTIN_FIXTURES, isFixtureName } from "../core/fixtures.js";
import { inputError, usageError } from "../errors.js";
import { sanitizeLine } from "../output/sanitize.js";
import { describeReadError, InputTooLargeError, readRegularFileAsync } from "./request-input.js";

/** The package's fixtures folder: two levels up from dist/io, dist/bin and src/io alike. */
export const BUILTIN_FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/", import.meta.url));
export const SAVED_FIXTURES_DIR = ".openmail-hooks/fixtures";
/** A fixture is one event body; anything bigger than this is not one. */
const FIXTURE_SIZE_LIMIT = 16 * 1024 * 1024;

export interface FixtureListing {
  name: string;
  origin: "built-in" | "saved";
  description: string;
  path: string;
}

export function savedFixturesDir(cwd: string): string {
  return join(cwd, SAVED_FIXTURES_DIR);
}

/** Built-in fixtures and saved ones; a saved fixture with a built-in's name is listed as replacing it. */
export async function listFixtures(cwd: string): Promise<FixtureListing[]> {
  const saved: FixtureListing[] = [];
  const dir = savedFixturesDir(cwd);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const file of names.filter((name) => name.endsWith(".json")).sort()) {
    const name = file.slice(0, -".json".length);
    const eventType = await readEventType(join(dir, file));
    const shadows = BUILTIN_FIXTURES.some((fixture) => fixture.name === name);
    saved.push({
      name,
      origin: "saved",
      description: `${eventType ?? "not an event"}${shadows ? " (used instead of the built-in one)" : ""}`,
      path: join(dir, file),
    });
  }
  const builtin = BUILTIN_FIXTURES.map((fixture) => ({
    name: fixture.name,
    origin: "built-in" as const,
    description: fixture.description,
    path: join(BUILTIN_FIXTURES_DIR, `${fixture.name}.json`),
  }));
  return [...builtin, ...saved];
}

async function readEventType(path: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse((await readRegularFileAsync(path, FIXTURE_SIZE_LIMIT)).toString("utf8")) as {
      event?: unknown;
    };
    return typeof parsed.event === "string" ? parsed.event : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A fixture by name (saved first, then built-in) or by path (anything with a slash or ending in
 * .json). Returns the file it came from, its event body, whether it is a built-in one, and whether it
 * is a saved fixture used in place of the built-in one of the same name.
 */
export async function loadFixture(
  value: string,
  cwd: string,
): Promise<{ path: string; event: Record<string, unknown>; builtin: boolean; replacesBuiltin: boolean }> {
  const { path, builtin, replacesBuiltin } = locateFixture(value, cwd);
  const shown = sanitizeLine(value);
  const bytes = await readRegularFileAsync(path, FIXTURE_SIZE_LIMIT).catch((error: unknown) => {
    if (error instanceof InputTooLargeError) {
      throw inputError(`fixture ${shown}: larger than 16 MB, so not an event body`, error);
    }
    throw inputError(describeReadError(path, error), error);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw inputError(`fixture ${shown}: not valid JSON (${(error as Error).message})`, error);
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Array.isArray(parsed) ||
    typeof (parsed as { event?: unknown }).event !== "string"
  ) {
    throw inputError(`fixture ${shown}: not an event body (a JSON object with an "event" field)`);
  }
  return { path, event: parsed as Record<string, unknown>, builtin, replacesBuiltin };
}

/**
 * Where a fixture is, decided once: a path as given, else the saved fixture of that name (which may
 * take a built-in's name), else the built-in one.
 */
function locateFixture(value: string, cwd: string): { path: string; builtin: boolean; replacesBuiltin: boolean } {
  if (value.includes("/") || value.includes("\\") || value.endsWith(".json")) {
    return { path: resolve(cwd, value), builtin: false, replacesBuiltin: false };
  }
  if (!isFixtureName(value))
    throw usageError(`"${sanitizeLine(value)}" is not a fixture name; see send-test --list-fixtures`);
  const isBuiltinName = BUILTIN_FIXTURES.some((fixture) => fixture.name === value);
  const saved = join(savedFixturesDir(cwd), `${value}.json`);
  if (existsSync(saved)) return { path: saved, builtin: false, replacesBuiltin: isBuiltinName };
  if (isBuiltinName)
    return { path: join(BUILTIN_FIXTURES_DIR, `${value}.json`), builtin: true, replacesBuiltin: false };
  throw usageError(
    `no fixture named "${value}": see send-test --list-fixtures, or save one with --save-fixture ${value}`,
  );
}

/** Write a fixture atomically (temporary file, then rename); returns its path. */
export async function saveFixture(name: string, event: Record<string, unknown>, cwd: string): Promise<string> {
  if (!isFixtureName(name)) {
    throw usageError(`--save-fixture "${sanitizeLine(name)}": use letters, digits, ".", "_" and "-" only (no path)`);
  }
  const dir = savedFixturesDir(cwd);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${name}.json`);
  const temporary = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(event, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return path;
}
