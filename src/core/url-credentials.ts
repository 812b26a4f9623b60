/**
 * One rule for a URL carrying a user name or password (`https://user:pass@host/…`), for every place
 * that takes a URL to send to: the CLI's options (src/cli-options.ts) and the inspector's "another
 * URL…" replay (src/inspector/replay-action.ts). The HTTP client does not send them (the endpoint
 * answers 401, and the hint blames the webhook secret), and every line, record and list entry that
 * names the URL would show the password. Pure: a URL in, the refusal's words (or nothing) out; the
 * words never repeat the user name or password.
 */
export function urlCredentialsRefusal(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const shown = `${url.protocol}//${url.username ? "…" : ""}${url.password ? ":…" : ""}@${url.host}${url.pathname}`;
  return `${shown}: a URL with a user name or password is refused: they would not be sent, and would be printed and saved; give the URL without them`;
}
