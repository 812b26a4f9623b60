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
  // Built in this shape already (listen's per-event records are): written as it is, not copied twice.
  if (isEnveloped(record as Record<string, unknown>)) return jsonLine(record);
  const { type, ...rest } = record as Record<string, unknown>;
  return jsonLine(
    type === undefined
      ? { schemaVersion: JSON_SCHEMA_VERSION, ...rest }
      : { type, schemaVersion: JSON_SCHEMA_VERSION, ...rest },
  );
}

/** Starts with `type` then `schemaVersion` (the current one), as recordLine would write it. */
function isEnveloped(record: Record<string, unknown>): boolean {
  if (record.schemaVersion !== JSON_SCHEMA_VERSION || record.type === undefined) return false;
  let index = 0;
  for (const key in record) {
    if (index === 0 && key !== "type") return false;
    if (index === 1) return key === "schemaVersion";
    index += 1;
  }
  return false;
}
