/**
 * README: "Every record of every command names its `type` and then `schemaVersion`". Each --json
 * line of listen --inbox --expect (inbox, matched, expect), inboxes, restore, send-mail, redact and
 * send-test --list-fixtures, checked as written: type first, schemaVersion second.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeCaptures } from "./helpers/captures.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { FAKE_TUNNEL_DOMAIN, startFakeOpenMail } from "./helpers/fake-openmail.js";
import { startListen } from "./helpers/listen.js";

const KEY = "om_live_account_key_records_0123456789";
const SECRET = "whsec_records_0123456789abcdef";
const cleanups = cleanupAfterEach();

/** Every line of `stdout` as a record, after checking it starts with its type and then schemaVersion 1. */
function records(stdout: string): Array<Record<string, unknown>> {
  const lines = stdout.split("\n").filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(/^\{"type":"[a-z-]+","schemaVersion":1[,}]/);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function fakeApi() {
  const fake = await startFakeOpenMail({ [KEY]: { kind: "account" } });
  cleanups.push(() => fake.close());
  fake.addInbox({ id: "inb_rec", address: "rec@acme.openmail.sh" });
  const env = {
    OPENMAIL_API_KEY: KEY,
    OPENMAIL_API_BASE: fake.url,
    OPENMAIL_HOOKS_TUNNEL: "fake",
    OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN: FAKE_TUNNEL_DOMAIN,
    NGROK_AUTHTOKEN: "2AbCdEfGhIjKlMnOpQrStUvWxYz_fake_token",
  };
  return { fake, env };
}

describe("every --json record names its type and then schemaVersion", () => {
  it("listen --inbox --expect: inbox, matched and expect records; send-mail's sent record", async () => {
    const { fake, env } = await fakeApi();
    const lp = await startListen(
      ["--tunnel", "--no-inspect", "--inbox", "inb_rec", "--expect", "message.received", "--timeout", "60s"],
      { env },
    );
    cleanups.push(() => lp.stop("SIGKILL"));
    const exit = new Promise<number | null>((resolve) => lp.child.on("close", resolve));
    const sent = await runCli(
      ["send-mail", "--json", "--inbox", "inb_rec", "--to", "rec@acme.openmail.sh", "--subject", "s", "--text", "t"],
      { env },
    );
    expect(sent.code).toBe(0);
    expect(records(sent.stdout)).toEqual([expect.objectContaining({ type: "sent", inboxId: "inb_rec" })]);
    expect(await exit).toBe(0);
    const written = records(lp.stdout());
    const types = new Set(written.map((record) => record.type));
    for (const type of ["ready", "inbox", "arrival", "event", "matched", "summary", "expect"]) {
      expect(types).toContain(type);
    }
    const actions = written.filter((record) => record.type === "inbox").map((record) => record.action);
    expect(actions).toEqual(expect.arrayContaining(["registered", "restored"]));
    expect(fake.inboxes.get("inb_rec")?.webhookUrl).toBeNull();
  });

  it("inboxes --json and restore --json", async () => {
    const { env } = await fakeApi();
    const listed = await runCli(["inboxes", "--json"], { env });
    expect(listed.code).toBe(0);
    expect(records(listed.stdout)).toEqual([
      expect.objectContaining({ type: "inbox", id: "inb_rec", address: "rec@acme.openmail.sh" }),
    ]);
    const restored = await runCli(["restore", "--json"], { env });
    expect(restored.code).toBe(0);
    expect(records(restored.stdout)).toEqual([expect.objectContaining({ type: "inbox", action: "nothing" })]);
  });

  it("redact --json", async () => {
    const cwd = tempDir();
    writeCaptures(join(cwd, "events"), 2, SECRET);
    const result = await runCli(["redact", "events", "--out-dir", "out", "--json"], {
      cwd,
      env: { OPENMAIL_WEBHOOK_SECRET: SECRET },
    });
    expect(result.code).toBe(0);
    const written = records(result.stdout);
    expect(written).toHaveLength(2);
    for (const record of written) expect(record).toMatchObject({ type: "redacted", kind: "written" });
  });

  it("send-test --list-fixtures --json: one fixture record per fixture", async () => {
    const result = await runCli(["send-test", "--list-fixtures", "--json"]);
    expect(result.code).toBe(0);
    const fixtures = records(result.stdout);
    expect(fixtures).toHaveLength(10);
    for (const fixture of fixtures) {
      expect(Object.keys(fixture)).toEqual(["type", "schemaVersion", "name", "origin", "description", "path"]);
      expect(fixture).toMatchObject({ type: "fixture", origin: "built-in" });
    }
  });
});
