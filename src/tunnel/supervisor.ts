/**
 * Keeps the tunnel up while `listen` runs. The SDK reconnects by itself, but with a back-off that
 * can stall for hours after a long outage; so a drop that outlasts a short grace period is met by
 * opening a fresh session here. Every change is reported as a TunnelNotice, never printed.
 */
import type { Tunnel, TunnelOptions, TunnelProvider } from "./types.js";

export type TunnelNotice =
  | { state: "down"; url: string }
  | { state: "restored"; url: string }
  | { state: "reconnecting"; url: string; downForMs: number }
  | { state: "url-changed"; from: string; to: string; path: string }
  | { state: "reopen-failed"; url: string; message: string }
  | { state: "closed"; url: string };

export interface SupervisedTunnel {
  /** The current public base URL. */
  readonly url: string;
  close(): Promise<void>;
}

export interface SupervisorOptions {
  provider: TunnelProvider;
  tunnel: Omit<TunnelOptions, "onStatus">;
  /** How long a drop may last before a fresh session is opened. */
  graceMs: number;
  /** The webhook path, for the "update the dashboard" message. */
  path: string;
  onNotice(notice: TunnelNotice): void;
  now?(): number;
}

export async function openSupervisedTunnel(options: SupervisorOptions): Promise<SupervisedTunnel> {
  const now = options.now ?? Date.now;
  let generation = 0;
  let current: Tunnel;
  let downSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const open = (gen: number) =>
    options.provider.open({ ...options.tunnel, onStatus: (status) => onStatus(gen, status) });

  const onStatus = (gen: number, status: "connected" | "closed") => {
    if (gen !== generation || closed) return; // a replaced session's late news
    if (status === "closed" && downSince === undefined) {
      downSince = now();
      options.onNotice({ state: "down", url: current.url });
      schedule();
    } else if (status === "connected" && downSince !== undefined) {
      downSince = undefined;
      clearTimeout(timer);
      options.onNotice({ state: "restored", url: current.url });
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reopen(), options.graceMs);
  };

  const reopen = async () => {
    if (closed || downSince === undefined) return;
    const previous = current;
    options.onNotice({ state: "reconnecting", url: previous.url, downForMs: now() - downSince });
    generation += 1;
    await previous.close().catch(() => {});
    try {
      current = await open(generation);
    } catch (error) {
      options.onNotice({ state: "reopen-failed", url: previous.url, message: (error as Error).message });
      current = previous;
      schedule();
      return;
    }
    if (closed) {
      await current.close();
      return;
    }
    downSince = undefined;
    if (current.url !== previous.url) {
      options.onNotice({ state: "url-changed", from: previous.url, to: current.url, path: options.path });
    } else {
      options.onNotice({ state: "restored", url: current.url });
    }
  };

  current = await open(generation);
  return {
    get url() {
      return current.url;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      await current.close();
      options.onNotice({ state: "closed", url: current.url });
    },
  };
}
