/**
 * The first request a process makes through undici pays for compiling its HTTP parser and warming
 * its code (tens of ms on a busy machine). send-test reports each request's latency as the
 * handler's, so it sends one throwaway request to a loopback server of its own first; nothing
 * reaches the user's endpoint.
 */
import type { AddressInfo } from "node:net";
import { createHttpClient } from "./http-client.js";

/** Bounded: gives up silently after `deadlineMs`; warming is an optimisation, never a failure. */
export async function warmUpHttp(deadlineMs = 2_000): Promise<void> {
  // node:http is loaded here, not with the module: send-test imports this module, and
  // `send-test --print` sends nothing.
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  const client = createHttpClient({ timeoutMs: deadlineMs, connections: 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    await client.post(`http://127.0.0.1:${port}/`, { "content-type": "application/json" }, Buffer.from("{}"));
  } catch {
    // Only the first latency shown would be higher.
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
