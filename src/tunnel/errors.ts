/**
 * Turn an error from the ngrok SDK into one clear line with the next step. Pure. The SDK's message
 * looks like "failed to connect session: <server text> error_code: ERR_NGROK_107", and for a bad
 * token the server text echoes the token, so it is redacted before anything is shown.
 */
import { TunnelError } from "./types.js";

const TOKEN_URL = "https://dashboard.ngrok.com/get-started/your-authtoken";
const DOMAINS_URL = "https://dashboard.ngrok.com/domains";

/** Remove the token wherever it appears, and anything ngrok labels as one. */
export function redact(text: string, token?: string): string {
  let out = text;
  if (token && token.length >= 4) out = out.split(token).join("[redacted]");
  return out.replace(/(authtoken:?\s*)[A-Za-z0-9_-]{8,}/gi, "$1[redacted]");
}

export function ngrokErrorCode(error: unknown): string | undefined {
  const record = (typeof error === "object" && error !== null ? error : {}) as {
    errorCode?: unknown;
    message?: unknown;
  };
  if (typeof record.errorCode === "string" && record.errorCode) return record.errorCode;
  const message = typeof record.message === "string" ? record.message : String(error);
  return /\b(ERR_NGROK_\d+)\b/.exec(message)?.[1];
}

export function classifyNgrokError(error: unknown, options: { token?: string; domain?: string } = {}): TunnelError {
  if (error instanceof TunnelError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const detail = redact(raw, options.token);
  const code = ngrokErrorCode(error);
  const withCode = (text: string) => (code ? `${text} (${code})` : text);
  const domain = options.domain ? `the domain ${options.domain}` : "the domain";

  switch (code) {
    case "ERR_NGROK_4018":
      return new TunnelError(
        "no-auth",
        withCode(noAuthtokenMessage("ngrok refused the session: it has no authtoken")),
        code,
      );
    case "ERR_NGROK_105":
      return new TunnelError(
        "auth",
        withCode(`the ngrok authtoken is malformed: copy it again from ${TOKEN_URL}, or run with --no-tunnel`),
        code,
      );
    case "ERR_NGROK_106":
    case "ERR_NGROK_107":
      return new TunnelError(
        "auth",
        withCode(
          `the ngrok authtoken is invalid or was revoked: get a current one at ${TOKEN_URL}, or run with --no-tunnel`,
        ),
        code,
      );
    case "ERR_NGROK_108":
      return new TunnelError(
        "limit",
        withCode(
          "too many ngrok sessions for your plan: is another `openmail-hooks listen` or ngrok agent running? Stop it, or run with --no-tunnel",
        ),
        code,
      );
    case "ERR_NGROK_334":
      return new TunnelError(
        "conflict",
        withCode(
          `${domain === "the domain" ? "this endpoint" : domain} is already online elsewhere: another \`openmail-hooks listen\` or ngrok agent is using it. Stop it, pick another --domain, or run with --no-tunnel`,
        ),
        code,
      );
    case "ERR_NGROK_324":
      return new TunnelError(
        "limit",
        withCode("too many ngrok endpoints for your plan: close other tunnels, or run with --no-tunnel"),
        code,
      );
    case "ERR_NGROK_313":
    case "ERR_NGROK_319":
    case "ERR_NGROK_320":
    case "ERR_NGROK_15002":
      return new TunnelError(
        "domain",
        withCode(
          `${domain} cannot be used by your ngrok account (not reserved, owned by another account, or not on your plan): reserve it at ${DOMAINS_URL}, or drop --domain to use your free dev domain`,
        ),
        code,
      );
    case "ERR_NGROK_326":
      return new TunnelError("domain", withCode(`${domain} is not a valid domain name: check --domain`), code);
    case "ERR_NGROK_120":
      return new TunnelError(
        "outdated",
        withCode("ngrok no longer supports this SDK version: update openmail-hooks"),
        code,
      );
    case "ERR_NGROK_725":
    case "ERR_NGROK_727":
      return new TunnelError(
        "quota",
        withCode(
          "your ngrok account is over its monthly quota: see https://dashboard.ngrok.com, or run with --no-tunnel",
        ),
        code,
      );
    default:
      break;
  }
  if (/failed to establish tcp connection|tls handshake|dns|resolve|network/i.test(raw)) {
    return new TunnelError(
      "network",
      `cannot reach ngrok (${detail.replace(/^failed to connect session:\s*/i, "")}): check your network connection, or run with --no-tunnel`,
    );
  }
  return new TunnelError("unknown", withCode(`the ngrok tunnel failed: ${detail}; run with --no-tunnel to stay local`));
}

export function noAuthtokenMessage(prefix = "no ngrok authtoken"): string {
  return `${prefix}: get one at ${TOKEN_URL}, then set NGROK_AUTHTOKEN (environment or .env) or pass --authtoken; or run with --no-tunnel`;
}

export function timeoutError(timeoutMs: number): TunnelError {
  return new TunnelError(
    "timeout",
    `ngrok did not connect within ${Math.round(timeoutMs / 1000)} s: check your network (or raise --tunnel-timeout), or run with --no-tunnel`,
  );
}

export function sdkNotInstalledError(): TunnelError {
  return new TunnelError(
    "not-installed",
    "the ngrok SDK (@ngrok/ngrok, an optional dependency) is not installed: run `npm install @ngrok/ngrok` where openmail-hooks is installed (add -g for a global install), or run with --no-tunnel",
  );
}

export function unsupportedPlatformError(error: unknown): TunnelError {
  const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new TunnelError(
    "unsupported-platform",
    `the ngrok SDK cannot load on this platform (${process.platform}-${process.arch}: ${reason}); run with --no-tunnel and expose the port another way`,
  );
}
