/**
 * Against OpenMail's real API, only when asked: OPENMAIL_API_KEY and OPENMAIL_HOOKS_LIVE_TESTS=1.
 * Read-only (it lists inboxes), so it is safe against any account; the write paths are covered
 * against the local fake in cli-inbox.test.ts.
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
