/**
 * The --json records' envelope: every record names its type and the schema version first. Pure.
 */
import { jsonLine } from "./sanitize.js";

/**
 * The version of the --json records' shape, in every record right after its type. It changes
 * only when a field is removed or changes type; new fields and record types keep it.
 */
export const JSON_SCHEMA_VERSION = 1;

/** One NDJSON line: `{"type":…,"schemaVersion":1,…}`, with the characters JSON leaves raw escaped. */
export function recordLine(record: unknown): string {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return jsonLine(record);
  const { type, ...rest } = record as Record<string, unknown>;
  return jsonLine(
    type === undefined
      ? { schemaVersion: JSON_SCHEMA_VERSION, ...rest }
      : { type, schemaVersion: JSON_SCHEMA_VERSION, ...rest },
  );
}
