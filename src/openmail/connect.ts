/**
 * One way for every command to reach the API: the key (--api-key, OPENMAIL_API_KEY in the
 * environment or .env) and the base URL (--api-base, OPENMAIL_API_BASE), checked before use.
 */
import { type Environment, requireApiKey, resolveApiBase, resolveApiKey } from "../config/environment.js";
import { usageError } from "../errors.js";
import { createOpenMailApi, DEFAULT_API_BASE, type OpenMailApi } from "./api.js";

export interface ApiFlags {
  apiKey?: string;
  apiBase?: string;
  apiTimeout: number;
}

/** The key travels in a header: only over https, or plain http to this machine (a local fake). */
export function checkApiBase(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw usageError(`the API base "${base}" is not a URL; use e.g. ${DEFAULT_API_BASE}`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw usageError(
      `the API base ${url.origin} is not https://: the API key would travel unencrypted; use https (plain http only for 127.0.0.1)`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** The API base this run is configured for: --api-base, OPENMAIL_API_BASE, or OpenMail's own. */
export function configuredApiBase(flags: ApiFlags, environment: Environment): string {
  return checkApiBase(resolveApiBase(flags.apiBase, environment) ?? DEFAULT_API_BASE);
}

export function openApi(flags: ApiFlags, environment: Environment, needFor: string): OpenMailApi {
  const key = requireApiKey(flags.apiKey, environment, needFor);
  const base = checkApiBase(resolveApiBase(flags.apiBase, environment) ?? DEFAULT_API_BASE);
  return createOpenMailApi({ apiKey: key.key, keySource: key.source, apiBase: base, timeoutMs: flags.apiTimeout });
}

/** The same, or undefined when no key is set (callers that can do without). */
export function openApiIfKey(flags: ApiFlags, environment: Environment, apiBase?: string): OpenMailApi | undefined {
  const key = resolveApiKey(flags.apiKey, environment);
  if (!key) return undefined;
  const base = checkApiBase(apiBase ?? resolveApiBase(flags.apiBase, environment) ?? DEFAULT_API_BASE);
  return createOpenMailApi({ apiKey: key.key, keySource: key.source, apiBase: base, timeoutMs: flags.apiTimeout });
}
