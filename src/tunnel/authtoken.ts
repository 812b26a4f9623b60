/**
 * Where the ngrok authtoken comes from, first found wins: --authtoken, NGROK_AUTHTOKEN (environment
 * or .env), then the installed ngrok agent's config file. The SDK itself never reads ngrok.yml.
 * File access and the platform are parameters, so every path can be tested.
 */

import { join, win32 } from "node:path";
import type { Environment } from "../config/environment.js";

export interface AuthtokenSource {
  token: string;
  /** For the banner: "--authtoken flag", "environment (NGROK_AUTHTOKEN)", "ngrok config (~/.config/ngrok/ngrok.yml)". */
  source: string;
}

export interface AuthtokenLookup {
  flag?: string;
  environment: Environment;
  /** Raw process environment, for XDG_CONFIG_HOME, LOCALAPPDATA, NGROK_CONFIG. */
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  homedir: string;
  readFile(path: string): Promise<string | undefined>;
}

export interface AuthtokenResult {
  found?: AuthtokenSource;
  /** Config files that exist but could not be used, with why. */
  problems: string[];
}

export async function resolveAuthtoken(lookup: AuthtokenLookup): Promise<AuthtokenResult> {
  if (lookup.flag !== undefined && lookup.flag.trim() !== "") {
    return { found: { token: lookup.flag.trim(), source: "--authtoken flag" }, problems: [] };
  }
  const setting = lookup.environment.get("NGROK_AUTHTOKEN");
  if (setting) return { found: { token: setting.value.trim(), source: setting.source }, problems: [] };

  const problems: string[] = [];
  for (const path of ngrokConfigPaths(lookup)) {
    const text = await lookup.readFile(path);
    if (text === undefined) continue;
    // The YAML parser is about 270 KB of JavaScript: loaded only when an ngrok config file exists,
    // so `listen --no-tunnel` and a token from the environment start without it.
    const read = tokenFromNgrokConfig(text, await loadYamlParser());
    if (read.token) return { found: { token: read.token, source: `ngrok config (${path})` }, problems };
    problems.push(`${path}: ${read.problem}`);
  }
  return { problems };
}

/** The agent's config file locations for this platform, most specific first. */
export function ngrokConfigPaths(lookup: Pick<AuthtokenLookup, "env" | "platform" | "homedir">): string[] {
  const { env, platform, homedir } = lookup;
  const paths: string[] = [];
  if (env.NGROK_CONFIG) paths.push(...env.NGROK_CONFIG.split(platform === "win32" ? ";" : ":").filter(Boolean));
  if (platform === "win32") {
    const localAppData = env.LOCALAPPDATA ?? win32.join(homedir, "AppData", "Local");
    paths.push(win32.join(localAppData, "ngrok", "ngrok.yml"), win32.join(homedir, ".ngrok2", "ngrok.yml"));
    return paths;
  }
  if (env.XDG_CONFIG_HOME) paths.push(join(env.XDG_CONFIG_HOME, "ngrok", "ngrok.yml"));
  if (platform === "darwin") paths.push(join(homedir, "Library", "Application Support", "ngrok", "ngrok.yml"));
  else if (!env.XDG_CONFIG_HOME) paths.push(join(homedir, ".config", "ngrok", "ngrok.yml"));
  paths.push(join(homedir, ".ngrok2", "ngrok.yml"));
  return paths;
}

/** yaml's parse(); bundled, the package is CommonJS, so its exports may sit under `default`. */
async function loadYamlParser(): Promise<(text: string) => unknown> {
  const yaml = (await import("yaml")) as typeof import("yaml") & { default?: typeof import("yaml") };
  return yaml.parse ?? (yaml.default as typeof import("yaml")).parse;
}

/** version 3: agent.authtoken; version 2 or none: top-level authtoken. */
export function tokenFromNgrokConfig(
  text: string,
  parseYaml: (text: string) => unknown,
): { token?: string; problem?: string } {
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    return { problem: `not valid YAML (${(error as Error).message.split("\n")[0]})` };
  }
  if (typeof config !== "object" || config === null) return { problem: "empty or not a mapping" };
  const record = config as Record<string, unknown>;
  const version = String(record.version ?? "");
  const agent = (typeof record.agent === "object" && record.agent !== null ? record.agent : {}) as Record<
    string,
    unknown
  >;
  const candidates = version === "3" ? [agent.authtoken, record.authtoken] : [record.authtoken, agent.authtoken];
  const token = candidates.find((value): value is string => typeof value === "string" && value.trim() !== "");
  return token ? { token: token.trim() } : { problem: "no authtoken in it" };
}
