/**
 * A stand-in for ngrok, for tests and offline demos (OPENMAIL_HOOKS_TUNNEL=fake): a small reverse
 * proxy on 127.0.0.1 that forwards to the listener, so the "public" URL really works end to end.
 * Scripted from outside the process: SIGUSR1 reports the session closed, SIGUSR2 connected again;
 * OPENMAIL_HOOKS_FAKE_TUNNEL_ERROR makes open() fail the way the SDK does with that message.
 * Each open() gets a new port, so a reopened tunnel has a new URL. With
 * OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN=tunnel.test the URL looks public, https://<port>.tunnel.test,
 * as OpenMail requires of a webhook URL; the tests' fake OpenMail maps that name back to the port.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { classifyNgrokError } from "./errors.js";
import type { Tunnel, TunnelOptions, TunnelProvider } from "./types.js";

export function createFakeProvider(env: NodeJS.ProcessEnv = process.env): TunnelProvider {
  return {
    name: "fake",
    // Like ngrok, so the authtoken lookup runs end to end in tests.
    needsAuthtoken: true,
    async open(options: TunnelOptions): Promise<Tunnel> {
      const failure = env.OPENMAIL_HOOKS_FAKE_TUNNEL_ERROR;
      if (failure) {
        const code = /ERR_NGROK_\d+/.exec(failure)?.[0];
        const error = Object.assign(new Error(failure), { code: "GenericFailure", errorCode: code });
        throw classifyNgrokError(error, { token: options.authtoken, domain: options.domain });
      }
      const upstream = new URL(options.upstream);
      const proxy = createServer((req, res) => {
        const forwarded = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forwarded.on("error", () => {
          res.writeHead(502);
          res.end("fake tunnel: failed to dial backend\n");
        });
        req.pipe(forwarded);
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      const port = (proxy.address() as AddressInfo).port;
      const onClosed = () => options.onStatus?.("closed");
      const onConnected = () => options.onStatus?.("connected");
      process.on("SIGUSR1", onClosed);
      process.on("SIGUSR2", onConnected);
      let closed: Promise<void> | undefined;
      return {
        url: env.OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN
          ? `https://${port}.${env.OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN}`
          : `http://127.0.0.1:${port}`,
        close() {
          closed ??= new Promise<void>((resolve) => {
            process.off("SIGUSR1", onClosed);
            process.off("SIGUSR2", onConnected);
            proxy.closeAllConnections();
            proxy.close(() => resolve());
          });
          return closed;
        },
      };
    },
  };
}
