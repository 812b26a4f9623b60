/**
 * A start-up look at a forward target: does anything accept a connection at its host and port?
 * Only a TCP connect, so the handler sees no request; the answer is a warning at most, since people
 * often start their app after `listen`.
 */
import { connect } from "node:net";

export type ProbeResult = { reachable: true } | { reachable: false; reason: string };

const PROBE_DEADLINE_MS = 2_000;

export function probeTarget(url: string, deadlineMs = PROBE_DEADLINE_MS): Promise<ProbeResult> {
  const target = new URL(url);
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ reachable: false, reason: `no connection within ${deadlineMs / 1000} s` }),
      deadlineMs,
    );
    socket.once("connect", () => finish({ reachable: true }));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      finish({
        reachable: false,
        reason:
          error.code === "ECONNREFUSED"
            ? "nothing is listening there"
            : error.code === "ENOTFOUND" || error.code === "EAI_AGAIN"
              ? "the host name does not resolve"
              : (error.code ?? error.message),
      }),
    );
  });
}
