/**
 * The ngrok provider: the only module that imports @ngrok/ngrok, and only when a tunnel is opened
 * (the SDK's native loader is slow to start and may not exist on this platform). Pitfalls handled,
 * from ../shared/ngrok-sdk-notes.md: an object config with one token option; force_new_session so a
 * stale singleton session is never reused; our own connect timeout (the SDK has none); disconnect
 * on every failure so no half-open session counts against the plan; callbacks that never throw.
 */
import type { Config } from "@ngrok/ngrok";
import { classifyNgrokError, sdkNotInstalledError, timeoutError, unsupportedPlatformError } from "./errors.js";
import type { Tunnel, TunnelOptions, TunnelProvider } from "./types.js";

type NgrokModule = typeof import("@ngrok/ngrok");

/** How long closing may take before we stop waiting (the process is about to exit anyway). */
const CLOSE_TIMEOUT_MS = 3_000;
/** After a failed start there is usually nothing to release; wait less. */
const CLEANUP_TIMEOUT_MS = 1_000;

async function loadSdk(): Promise<NgrokModule> {
  try {
    return await import("@ngrok/ngrok");
  } catch (error) {
    // An optional dependency: `npm install --omit=optional` (a library-only install) leaves it out.
    const code = (error as { code?: unknown } | null)?.code;
    // ERR_MODULE_NOT_FOUND from import(); MODULE_NOT_FOUND where the bundled CLI (CommonJS) requires it.
    const notFound = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
    if (notFound && /['"]@ngrok\/ngrok['"]/.test(String((error as Error).message))) {
      throw sdkNotInstalledError();
    }
    throw unsupportedPlatformError(error);
  }
}

export const ngrokProvider: TunnelProvider = {
  name: "ngrok",
  needsAuthtoken: true,
  async open(options: TunnelOptions): Promise<Tunnel> {
    const ngrok = await loadSdk();
    const config: Config = {
      addr: options.upstream,
      force_new_session: true,
      session_metadata: "openmail-hooks",
      onStatusChange: (status: string) => {
        try {
          if (status === "connected" || status === "closed") options.onStatus?.(status);
        } catch {
          // A throwing callback would cancel the SDK's reconnects.
        }
      },
    };
    if (options.authtoken) config.authtoken = options.authtoken;
    if (options.domain) config.domain = options.domain;
    if (options.serverAddr) config.server_addr = options.serverAddr;

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(options.connectTimeoutMs)), options.connectTimeoutMs);
    });
    try {
      const listener = await Promise.race([ngrok.forward(config), timedOut]);
      const url = listener.url();
      if (!url) throw new Error("ngrok returned no URL for the tunnel");
      return { url, close: once(() => disconnect(ngrok, CLOSE_TIMEOUT_MS)) };
    } catch (error) {
      // The connect may still finish in the background; disconnect releases whatever it opened.
      await disconnect(ngrok, CLEANUP_TIMEOUT_MS);
      throw classifyNgrokError(error, { token: options.authtoken, domain: options.domain });
    } finally {
      clearTimeout(timer);
    }
  },
};

async function disconnect(ngrok: NgrokModule, timeoutMs: number): Promise<void> {
  await Promise.race([
    ngrok.disconnect().catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn();
    return running;
  };
}
