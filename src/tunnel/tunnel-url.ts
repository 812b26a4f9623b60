/**
 * Is a webhook URL a tunnel's (ngrok's own domains), rather than an app's? An inbox that delivers to
 * one is most likely another `openmail-hooks listen` (with another capture folder) or someone's
 * `ngrok http`: a URL that lives only as long as that process, which changes what `listen --inbox`
 * says about it and how it is put back (src/openmail/registrar.ts). A custom --domain cannot be told
 * from an app's own URL and is not recognised.
 */

/** ngrok's shared domains: assigned URLs and dev domains (free and paid), current and legacy. */
const NGROK_DOMAINS = [
  "ngrok-free.app",
  "ngrok-free.dev",
  "ngrok-free.pizza",
  "ngrok.app",
  "ngrok.dev",
  "ngrok.io",
  "ngrok.pizza",
  "ngrok.pro",
];

export function isTunnelUrl(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  // The local stand-in for ngrok (OPENMAIL_HOOKS_TUNNEL=fake, src/tunnel/fake.ts) gives its own domain's URLs.
  const fake = env.OPENMAIL_HOOKS_TUNNEL === "fake" ? env.OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN?.toLowerCase() : undefined;
  return [...NGROK_DOMAINS, ...(fake ? [fake] : [])].some((domain) => host.endsWith(`.${domain}`));
}
