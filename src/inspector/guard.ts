/**
 * Who may talk to the inspector: only the page it served, in the browser of the person who started
 * listen. The Host header must name the inspector's own address (so a DNS-rebound name cannot reach
 * it), an Origin, when sent, must be its own (so another site open in the same browser cannot drive
 * it), requests that change something must carry one, and the API needs the per-run token from the
 * printed URL. Pure: headers in, a refusal or nothing out.
 */
import { timingSafeEqual } from "node:crypto";

/** Sent with every response: the page runs only its own script, and nothing from a payload loads. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

export interface GuardInput {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** Token from the query string, given only for the routes that cannot send a header (the server's tokenMayBeInQuery). */
  queryToken: string | null;
  /** Does this path need the token (the API), or is it the page's static files? */
  needsToken: boolean;
}

export interface Refusal {
  status: number;
  message: string;
}

export function createGuard(port: number, token: string) {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const expected = Buffer.from(token);
  const tokenMatches = (given: string | undefined | null) => {
    if (!given) return false;
    const bytes = Buffer.from(given);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  };
  return (input: GuardInput): Refusal | undefined => {
    const header = (name: string) => {
      const value = input.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const host = header("host")?.toLowerCase();
    if (!host || !hosts.has(host)) {
      return { status: 421, message: `the inspector answers only at http://127.0.0.1:${port}` };
    }
    const origin = header("origin");
    const changes = input.method !== "GET" && input.method !== "HEAD";
    if (origin !== undefined && !origins.has(origin)) {
      return { status: 403, message: "cross-origin requests are refused" };
    }
    if (changes && origin === undefined) return { status: 403, message: "a request that acts needs an Origin header" };
    const site = header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      return { status: 403, message: "cross-site requests are refused" };
    }
    // Only reads may carry the token in the URL (EventSource and download links); actions send the header.
    const given = header("x-inspector-token") ?? (changes ? undefined : input.queryToken);
    if (input.needsToken && !tokenMatches(given)) {
      return { status: 401, message: "missing or wrong token: open the inspector URL that listen printed" };
    }
    if (changes && !/^application\/json\b/i.test(header("content-type") ?? "")) {
      return { status: 415, message: "send JSON (Content-Type: application/json)" };
    }
    return undefined;
  };
}
