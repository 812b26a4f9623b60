/**
 * Settings from the environment and a .env file. Variables already set in the environment win over
 * the file (dotenv's rule); the file is parsed, never injected into process.env.
 */
import { resolve } from "node:path";
import { parse } from "dotenv";
import { CliError, errorMessage, usageError } from "../errors.js";
import { readRegularFile } from "../io/request-input.js";

/** A .env file holds a few settings: anything larger is not one (and /dev/zero never ends). */
const ENV_FILE_LIMIT = 1024 * 1024;

export interface Setting {
  value: string;
  /** Where it came from, for banners: "environment (NAME)" or ".env file (path)". */
  source: string;
}

export interface Environment {
  get(name: string): Setting | undefined;
}

export interface EnvironmentOptions {
  cwd?: string;
  /** An explicit file (--dotenv); it must exist. Without it, `.env` in cwd is read if present. */
  envFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Told when ./.env exists but cannot be read (a folder, a device, too large): its settings are ignored. */
  onUnreadable?: (message: string) => void;
}

export function loadEnvironment(options: EnvironmentOptions = {}): Environment {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, options.envFile ?? ".env");
  const fileValues = readEnvFile(path, options.envFile !== undefined, options.onUnreadable);
  const label = options.envFile ?? ".env";
  return {
    get(name) {
      const fromEnv = env[name];
      if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv, source: `environment (${name})` };
      const fromFile = fileValues[name];
      if (fromFile !== undefined && fromFile !== "") return { value: fromFile, source: `${label} file (${name})` };
      return undefined;
    },
  };
}

function readEnvFile(
  path: string,
  required: boolean,
  onUnreadable: ((message: string) => void) | undefined,
): Record<string, string> {
  let text: Buffer;
  try {
    text = readRegularFile(path, ENV_FILE_LIMIT);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!required) {
      // Silently ignored, a .env that is there made "no webhook secret: … or put it in .env" untrue.
      if (code !== "ENOENT")
        onUnreadable?.(`.env was not read (${errorMessage(error)}): the settings in it are ignored`);
      return {};
    }
    throw usageError(
      code === "ENOENT"
        ? `env file not found: ${path}; check the --dotenv path`
        : `cannot read env file ${path}: ${errorMessage(error)}`,
    );
  }
  return parse(text);
}

export const SECRET_VARIABLE = "OPENMAIL_WEBHOOK_SECRET";

export interface ResolvedSecret {
  secret: string;
  source: string;
}

/** The webhook secret: --secret, else OPENMAIL_WEBHOOK_SECRET in the environment, else in the env file. */
export function resolveSecret(flag: string | undefined, environment: Environment): ResolvedSecret | undefined {
  if (flag !== undefined) return { secret: flag, source: "--secret flag" };
  const setting = environment.get(SECRET_VARIABLE);
  return setting && { secret: setting.value, source: setting.source };
}

export function requireSecret(flag: string | undefined, environment: Environment): ResolvedSecret {
  const resolved = resolveSecret(flag, environment);
  if (resolved) return resolved;
  throw new CliError(
    `no webhook secret: pass --secret <secret>, set ${SECRET_VARIABLE} in the environment, or put ${SECRET_VARIABLE}=... in .env (or the file given with --dotenv)`,
    { code: "no_secret" },
  );
}

/** A form safe to print: never more than the last 4 characters, and none of a short secret. */
export function maskSecret(secret: string): string {
  const visible = secret.length >= 16 ? secret.slice(-4) : "";
  return `${"*".repeat(8)}${visible} (${secret.length} ${secret.length === 1 ? "char" : "chars"})`;
}

export const API_KEY_VARIABLE = "OPENMAIL_API_KEY";
export const API_BASE_VARIABLE = "OPENMAIL_API_BASE";

export interface ResolvedApiKey {
  key: string;
  source: string;
}

/** The OpenMail API key: --api-key, else OPENMAIL_API_KEY in the environment, else in the env file. */
export function resolveApiKey(flag: string | undefined, environment: Environment): ResolvedApiKey | undefined {
  if (flag !== undefined && flag.trim() !== "") return { key: flag.trim(), source: "--api-key flag" };
  const setting = environment.get(API_KEY_VARIABLE);
  return setting && { key: setting.value.trim(), source: setting.source };
}

export function requireApiKey(flag: string | undefined, environment: Environment, needFor: string): ResolvedApiKey {
  const resolved = resolveApiKey(flag, environment);
  if (resolved) return resolved;
  throw new CliError(
    `${needFor} needs an OpenMail API key: pass --api-key <key>, set ${API_KEY_VARIABLE} in the environment, or put ${API_KEY_VARIABLE}=om_... in .env (keys: https://console.openmail.sh/settings/api)`,
    { code: "usage_error" },
  );
}

/** The API base URL: --api-base, else OPENMAIL_API_BASE, else OpenMail's. */
export function resolveApiBase(flag: string | undefined, environment: Environment): string | undefined {
  return flag ?? environment.get(API_BASE_VARIABLE)?.value;
}
