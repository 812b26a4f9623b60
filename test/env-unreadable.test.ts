/**
 * A ./.env that is there but cannot be read (a folder, a FIFO, a link to a device, over 1 MB) was
 * ignored without a word: "no webhook secret: … or put OPENMAIL_WEBHOOK_SECRET=... in .env" then told
 * the user to do what they had done, and listen ran unverified.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./helpers/cli.js";

describe("a .env that cannot be read", () => {
  it("is named in a warning saying its settings are ignored (a folder; a file over the 1 MB limit)", async () => {
    const folder = tempDir();
    mkdirSync(join(folder, ".env"));
    const asFolder = await runCli(["send-test", "--print"], { cwd: folder });
    expect(asFolder.code).toBe(2);
    expect(asFolder.stderr).toContain("warning: .env was not read (is a folder): the settings in it are ignored\n");
    expect(asFolder.stderr).toContain("no webhook secret");

    const large = tempDir();
    writeFileSync(join(large, ".env"), `OPENMAIL_WEBHOOK_SECRET=whsec_in_a_large_env_file\n${"#".repeat(1_100_000)}\n`);
    const tooLarge = await runCli(["send-test", "--print"], { cwd: large });
    expect(tooLarge.stderr).toMatch(/warning: \.env was not read \(is 1\.\d MB, over the input limit of 1\.0 MB\)/);
    expect(tooLarge.stderr).not.toContain("whsec_in_a_large_env_file");
  });

  it("says nothing when there is no .env, and a readable one is used as before", async () => {
    const none = await runCli(["send-test", "--print"], { cwd: tempDir() });
    expect(none.stderr).not.toContain("warning");
    const readable = tempDir();
    writeFileSync(join(readable, ".env"), "OPENMAIL_WEBHOOK_SECRET=whsec_readable_env_0123456\n");
    const used = await runCli(["send-test", "--print"], { cwd: readable });
    expect(used.code).toBe(0);
    expect(used.stderr).not.toContain("warning");
    expect(used.stdout).toMatch(/^X-Signature: [0-9a-f]{64}\r$/m);
  });
});
