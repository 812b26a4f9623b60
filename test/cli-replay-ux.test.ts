/** replay as a developer uses it (issue 10 items 8 and 10): no warning dropped, Stripe-style shortcuts. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent } from "./helpers/http.js";
import { startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_replay_ux_7e6d5c4b3a29";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function target(): Promise<TestServer> {
  const server = await startServer();
  cleanups.push(() => server.close());
  return server;
}

/** A capture in `dir`, named as listen names them; signed with `secret`, or without X-Signature. */
function capture(dir: string, index: number, options: { secret?: string; unsigned?: boolean } = {}) {
  const event = messageEvent({ event_id: `evt_ux${String(index).padStart(4, "0")}` });
  const body = Buffer.from(JSON.stringify(event));
  const timestamp = String(Math.floor(Date.now() / 1000) - 3600 + index);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-timestamp": timestamp,
    "x-event-id": String(event.event_id),
  };
  if (!options.unsigned) headers["x-signature"] = sign(options.secret ?? SECRET, timestamp, body);
  const receivedAt = new Date(Number(timestamp) * 1000).toISOString();
  const name = `${receivedAt.replace(/:/g, "-").replace(".", "-")}_${event.event_id}.json`;
  writeFileSync(join(dir, name), serializeCapture({ receivedAt, method: "POST", path: "/webhooks", headers, body }));
  return { name, eventId: String(event.event_id) };
}

describe("replay: warnings are never dropped", () => {
  it("a folder of 27 with 7 tampered captures summarises the 7 warnings, with the files named", async () => {
    const dir = tempDir();
    const tampered: string[] = [];
    for (let i = 0; i < 27; i++) {
      const made = capture(dir, i, { secret: i % 4 === 0 ? "whsec_someone_else" : SECRET });
      if (i % 4 === 0) tampered.push(made.name);
    }
    const server = await target();
    // Without --resign-unverified they are refused, each named (issue 14 item 3).
    const refused = await runCli(["replay", dir, "--url", server.url], { env });
    expect(refused.code).toBe(2);
    for (const name of tampered) expect(refused.stderr).toContain(name);
    expect(server.requests).toHaveLength(20);
    const result = await runCli(["replay", dir, "--resign-unverified", "--url", server.url], { env });
    expect(result.code).toBe(0);
    expect(tampered).toHaveLength(7);
    expect(result.stdout).toMatch(
      /! 7 × the captured signature does not verify with this secret; re-signing with it anyway/,
    );
    for (const name of tampered.slice(0, 5)) expect(result.stdout).toContain(name);
    expect(result.stdout).toContain("and 2 more");
  });

  it("a capture missing X-Signature warns like one missing X-Timestamp", async () => {
    const dir = tempDir();
    const { name } = capture(dir, 1, { unsigned: true });
    const server = await target();
    const result = await runCli(["replay", join(dir, name), "--resign-unverified", "--url", server.url], { env });
    expect(result.stdout).toMatch(
      /! .*: the captured signature does not verify with this secret \(missing X-Signature/,
    );
  });
});

describe("replay: shortcuts Stripe's users reach for", () => {
  it("replay evt_… and replay --last 1 look in ./.openmail-hooks/events", async () => {
    const cwd = tempDir();
    const dir = join(cwd, ".openmail-hooks", "events");
    mkdirSync(dir, { recursive: true });
    const made = [1, 2, 3].map((i) => capture(dir, i));
    const server = await target();

    const byId = await runCli(["replay", made[0]?.eventId ?? "", "--url", server.url], { env, cwd });
    expect(byId.code).toBe(0);
    expect(server.requests.map((r) => r.headers["x-event-id"])).toEqual([made[0]?.eventId]);

    const newest = await runCli(["replay", "--last", "1", "--url", server.url], { env, cwd });
    expect(newest.code).toBe(0);
    expect(server.requests.map((r) => r.headers["x-event-id"])).toEqual([made[0]?.eventId, made[2]?.eventId]);
  });

  it("without a capture folder, says where it looked; --last 0 says what it wants", async () => {
    const result = await runCli(["replay", "--last", "1", "--url", "http://127.0.0.1:9/"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\.openmail-hooks\/events does not exist here/);
    const zero = await runCli(["replay", "--last", "0", "--url", "http://127.0.0.1:9/"], { env });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/expected a number of at least 1/);
    expect(zero.stderr).not.toContain("9007199254740991");
  });
});
