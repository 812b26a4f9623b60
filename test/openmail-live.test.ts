/**
 * Against OpenMail's real API, only when asked: OPENMAIL_API_KEY and OPENMAIL_HOOKS_LIVE_TESTS=1.
 * The listing tests are read-only, safe against any account; the whole path (listen --inbox --test
 * through ngrok) runs only with OPENMAIL_HOOKS_LIVE_INBOX (an inbox for development) and
 * NGROK_AUTHTOKEN too. Every write path is covered against the local fake in cli-inbox.test.ts.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";

const key = process.env.OPENMAIL_API_KEY;
const live = Boolean(key) && process.env.OPENMAIL_HOOKS_LIVE_TESTS === "1";

describe.skipIf(!live)("live OpenMail API (OPENMAIL_HOOKS_LIVE_TESTS=1)", () => {
  it("lists the account's inboxes with the real key, and never prints it", async () => {
    const result = await runCli(["inboxes", "--json"], {
      env: { OPENMAIL_API_KEY: key, OPENMAIL_API_BASE: process.env.OPENMAIL_API_BASE },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    for (const line of result.stdout.split("\n").filter(Boolean)) {
      expect(JSON.parse(line)).toMatchObject({ type: "inbox", id: expect.stringMatching(/^inb_/) });
    }
    expect(result.stdout).not.toContain(key);
  });

  it("a wrong key is refused with OpenMail's 401, explained", async () => {
    const result = await runCli(["inboxes"], { env: { OPENMAIL_API_KEY: "om_live_not_a_real_key_000000" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/OpenMail rejected the API key from environment \(OPENMAIL_API_KEY\) \(401/);
  });
});

// The whole real path, only with an inbox named for it (never --take-over: an inbox that delivers
// elsewhere is refused, so this cannot divert production) and a real ngrok authtoken.
const liveInbox = process.env.OPENMAIL_HOOKS_LIVE_INBOX;
const livePath = live && Boolean(liveInbox) && Boolean(process.env.NGROK_AUTHTOKEN);

describe.skipIf(!livePath)("live: listen --inbox --test through ngrok (OPENMAIL_HOOKS_LIVE_INBOX)", () => {
  it("registers, passes OpenMail's test round trip, and puts the inbox back", async () => {
    const { startListen } = await import("./helpers/listen.js");
    const lp = await startListen(["--tunnel", "--inbox", String(liveInbox), "--test"], {
      env: {
        OPENMAIL_API_KEY: key,
        OPENMAIL_API_BASE: process.env.OPENMAIL_API_BASE,
        NGROK_AUTHTOKEN: process.env.NGROK_AUTHTOKEN,
        OPENMAIL_WEBHOOK_SECRET: process.env.OPENMAIL_WEBHOOK_SECRET,
      },
    });
    try {
      const result = await lp.waitFor(
        (r) => r.type === "inbox" && (r.action === "test-passed" || r.action === "test-failed"),
        60_000,
      );
      expect(result).toMatchObject({ action: "test-passed" });
    } finally {
      expect(await lp.stop("SIGINT")).toBe(0);
    }
    expect(lp.records.some((r) => r.action === "restored")).toBe(true);
    expect(lp.stdout() + lp.stderr()).not.toContain(String(key));
  }, 90_000);
});
