/** Which webhook URLs are a tunnel's (listen --inbox names them so, and keeps a taken-over inbox's restore). */
import { describe, expect, it } from "vitest";
import { isTunnelUrl } from "../src/tunnel/tunnel-url.js";

describe("isTunnelUrl", () => {
  it("knows ngrok's shared domains, and nothing that only contains their names", () => {
    for (const url of [
      "https://9490551445c1.ngrok.app/webhooks",
      "https://abc123xyz.ngrok-free.dev/webhooks",
      "https://a1b2-203-0-113-7.ngrok-free.app/webhooks",
      "https://old.ngrok.io/x",
      "https://MIXED.Ngrok-Free.App/webhooks",
    ]) {
      expect(isTunnelUrl(url, {}), url).toBe(true);
    }
    for (const url of [
      "https://api.acme.example/webhooks/openmail",
      "https://ngrok.app.evil.example/webhooks",
      "https://evil.example/abc.ngrok.app",
      "https://ngrok-free.app.example/",
      "https://myngrok.app/",
      "not a url",
    ]) {
      expect(isTunnelUrl(url, {}), url).toBe(false);
    }
  });

  it("knows the local stand-in's domain only when the stand-in is the tunnel in use", () => {
    const url = "https://4242.tunnel.test/webhooks";
    expect(isTunnelUrl(url, { OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN: "tunnel.test" })).toBe(false);
    expect(isTunnelUrl(url, { OPENMAIL_HOOKS_TUNNEL: "fake", OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN: "tunnel.test" })).toBe(
      true,
    );
  });
});
