/** Other spellings of this listener's own address in --forward-to: each event would loop back to it. */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { closedPort } from "./helpers/servers.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_self_forward_0123456789" };

describe("listen --forward-to this listener, spelled another way", () => {
  it("refuses the IPv4-mapped IPv6 address and localhost with its trailing dot, exit 2", async () => {
    const port = await closedPort();
    for (const host of ["[::ffff:127.0.0.1]", "localhost."]) {
      const result = await runCli(
        [
          "listen",
          "--no-tunnel",
          "--no-inspect",
          "--port",
          String(port),
          "--forward-to",
          `http://${host}:${port}/webhooks`,
        ],
        { env },
      );
      expect(result.code, host).toBe(2);
      expect(result.stderr).toMatch(/is this listener itself: each event would be forwarded back to it in a loop/);
    }
  });
});

describe("listen --inspect-port equal to --port", () => {
  it("is a usage error naming the clash, not 'already in use'", async () => {
    const port = await closedPort();
    const result = await runCli(["listen", "--no-tunnel", "--port", String(port), "--inspect-port", String(port)], {
      env,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `openmail-hooks: --inspect-port ${port} is the webhook's own --port: choose another (0 for any free one), or --no-inspect\n`,
    );
  });
});
