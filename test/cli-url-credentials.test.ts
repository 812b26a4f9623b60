/**
 * A URL with a user name and password (`http://alice:pw@host/hook`, how many services take basic
 * auth): the HTTP client never sent them, so the endpoint answered 401 and the hint blamed the webhook
 * secret, while the banner, the summary, every --json record and listen's captures showed the password.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";

const SECRET = "whsec_url_credentials_0123456";
const PASSWORD = "s3cr3tPW";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();
const target = serverStarter(cleanups);

describe("a URL carrying a user name and password", () => {
  it("is a usage error for every URL option, in one line that does not repeat the password; nothing is sent", async () => {
    const handler = await target(() => ({ status: 200, body: "ok" }));
    const withCredentials = handler.url.replace("http://", `http://alice:${PASSWORD}@`);
    const cwd = tempDir();
    for (const args of [
      ["send-test", "--url", withCredentials],
      ["send-test", "--url", withCredentials, "--json"],
      ["replay", "--url", withCredentials, "--last", "1"],
      ["listen", "--no-tunnel", "--port", "0", "--no-inspect", "--forward-to", withCredentials],
      ["listen", "--no-tunnel", "--port", "0", "--no-inspect", "--route", `inb_a=${withCredentials}`],
    ]) {
      const result = await runCli(args, { env, cwd });
      expect(result.code, args.join(" ")).toBe(2);
      const said = args.includes("--json") ? JSON.parse(result.stdout).message : result.stderr.trim();
      expect(said).toContain("a URL with a user name or password is refused");
      expect(said).toContain('--header "Authorization: Basic');
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
      expect(`${result.stdout}${result.stderr}`).not.toContain("alice");
      if (!args.includes("--json")) expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(handler.requests).toHaveLength(0);
    // listen stopped before it saved anything: no capture holds the password.
    const events = join(cwd, ".openmail-hooks", "events");
    let files: string[] = [];
    try {
      files = readdirSync(events);
    } catch {}
    for (const file of files) expect(readFileSync(join(events, file), "utf8")).not.toContain(PASSWORD);
  });
});
