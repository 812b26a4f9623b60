/**
 * listen --inbox, inboxes, restore and send-mail against the local fake OpenMail API, with the
 * fake tunnel giving public-looking https:// URLs, so the whole chain runs: OpenMail → tunnel →
 * listen → verification → handler.
 */

import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { BIN, cleanEnv, collect, runCli, startCli, tempDir } from "./helpers/cli.js";
import { FAKE_TUNNEL_DOMAIN, type FakeOpenMail, startFakeOpenMail } from "./helpers/fake-openmail.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen, startListenForHumans } from "./helpers/listen.js";
import { startInPty } from "./helpers/pty.js";
import { closedPort, openMailHandler, startServer } from "./helpers/servers.js";

const ACCOUNT_KEY = "om_live_account_key_0123456789abcdef";
const POD_KEY = "om_live_pod_key_0123456789abcdef";
const INBOX_KEY = "om_live_inbox_key_0123456789abcdef";
const PROD_URL = "https://api.acme.example/webhooks/openmail";

let fake: FakeOpenMail;
const cleanups = cleanupAfterEach();

beforeEach(async () => {
  fake = await startFakeOpenMail({
    [ACCOUNT_KEY]: { kind: "account" },
    [POD_KEY]: { kind: "pod", podId: "pod_main" },
    [INBOX_KEY]: { kind: "inbox", inboxId: "inb_dev" },
  });
  fake.addInbox({ id: "inb_dev", address: "dev@acme.openmail.sh" });
  fake.addInbox(
    { id: "inb_prod", address: "support@acme.openmail.sh", webhookUrl: PROD_URL },
    "prod_secret_value_1234",
  );
  cleanups.push(() => fake.close());
});

const apiEnv = (extra: Record<string, string | undefined> = {}) => ({
  OPENMAIL_API_KEY: ACCOUNT_KEY,
  OPENMAIL_API_BASE: fake.url,
  OPENMAIL_HOOKS_TUNNEL: "fake",
  OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN: FAKE_TUNNEL_DOMAIN,
  NGROK_AUTHTOKEN: "2AbCdEfGhIjKlMnOpQrStUvWxYz_fake_token",
  ...extra,
});

async function listenInbox(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const lp = await startListen(["--tunnel", ...args], { cwd: options.cwd, env: apiEnv(options.env) });
  cleanups.push(() => lp.stop("SIGKILL"));
  return lp;
}

const inboxRecord = (lp: ListenProcess, action: string) =>
  lp.waitFor((r) => r.type === "inbox" && r.action === action, 20_000);
const patches = () => fake.calls.filter((call) => call.method === "PATCH");
const everything = (lp: ListenProcess) => lp.stdout() + lp.stderr();

/**
 * inb_prod taken over by a first listen, then by a second (another capture folder), and the first
 * stopped: the second holds it, and the first's folder keeps the entry for the inbox's own URL.
 */
async function heldByASecondListen() {
  const firstCwd = tempDir();
  const first = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: firstCwd });
  const firstTunnel = String(first.ready.publicUrl);
  const second = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: tempDir() });
  const secondTunnel = String(second.ready.publicUrl);
  expect(await first.stop("SIGINT")).toBe(0);
  return { firstCwd, firstTunnel, second, secondTunnel };
}

/** The second listen stops (back to the first's tunnel), then `restore` in the first's folder puts back PROD_URL. */
async function stopSecondThenRestore(
  second: Awaited<ReturnType<typeof listenInbox>>,
  firstCwd: string,
  firstTunnel: string,
) {
  expect(await second.stop("SIGINT")).toBe(0);
  expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(firstTunnel);
  const restored = await runCli(["restore"], { cwd: firstCwd, env: apiEnv() });
  expect(restored.stdout).toBe(`restored inbox inb_prod (support@acme.openmail.sh) to ${PROD_URL}\n`);
  expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);
}

describe("listen --inbox", () => {
  it("registers, passes the --test round trip through tunnel, listen and handler, and Ctrl-C restores", async () => {
    const handler = await startServer((request) => openMailHandler(fake.secrets.get("inb_dev") ?? "none")(request));
    cleanups.push(() => handler.close());
    const lp = await listenInbox(["--inbox", "inb_dev", "--test", "--forward-to", `${handler.url}/hooks`]);

    expect(lp.ready.publicUrl).toMatch(/^https:\/\/\d+\.tunnel\.test\/webhooks$/);
    expect(lp.ready).toMatchObject({ inboxes: [{ id: "inb_dev", previousUrl: null }] });
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(lp.ready.publicUrl);
    const registered = await inboxRecord(lp, "registered");
    expect(registered).toMatchObject({ inboxId: "inb_dev", previousUrl: null, secret: "generated" });

    const passed = await inboxRecord(lp, "test-passed");
    expect(passed.hops).toEqual([
      "arrived through the tunnel",
      "signature valid with inb_dev's secret",
      expect.stringMatching(/^forwarded to http:\/\/127\.0\.0\.1:\d+\/hooks: 200 in /),
      "answered 200",
      expect.stringMatching(/^OpenMail: delivered/),
    ]);
    const event = await lp.waitFor((r) => r.type === "event");
    expect(event.verification).toMatchObject({ valid: true });
    expect(handler.requests).toHaveLength(1);

    expect(await lp.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    expect(lp.records.find((r) => r.action === "restored")).toMatchObject({ inboxId: "inb_dev", outcome: "restored" });
    // The secret and the key never appear.
    expect(everything(lp)).not.toContain(fake.secrets.get("inb_dev"));
    expect(everything(lp)).not.toContain(ACCOUNT_KEY);
    const state = JSON.parse(readFileSync(join(lp.cwd, ".openmail-hooks/events/.inbox-registrations.json"), "utf8"));
    expect(state.pending).toEqual([]);
    expect(JSON.stringify(state)).not.toContain(fake.secrets.get("inb_dev"));
  });

  it("Ctrl-C with the API hanging: exits within 6 s, says the inbox was not restored, exits 2; `restore` fixes it later", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev"]);
    await inboxRecord(lp, "registered");
    // The restore's first call (reading the inbox) is held far past the shutdown's 6 s.
    fake.failNext({ method: "GET", path: /\/inboxes\/inb_dev$/ }, { status: 200, body: {}, delayMs: 60_000 });
    const started = performance.now();
    const code = await lp.stop("SIGINT");
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(code).toBe(2);
    expect(everything(lp)).toMatch(/could not restore the inboxes: .*run `openmail-hooks restore`/);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(lp.ready.publicUrl);

    const result = await runCli(["restore"], { cwd: lp.cwd, env: apiEnv() });
    expect(result.code).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  }, 30_000);

  it("a reader that closes listen's standard output (| head -1) stops it as Ctrl-C does: the inbox is restored, it is said, exit 141", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev"]);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(lp.ready.publicUrl);
    lp.child.stdout?.destroy();
    // The next record listen writes (this event's) meets the closed pipe.
    const { headers, body } = signedEvent(fake.secrets.get("inb_dev") ?? "none", messageEvent());
    await post(lp.url, headers, body).catch(() => undefined);
    const code = lp.child.exitCode ?? (await once(lp.child, "exit"))[0];
    expect(lp.stderr()).toContain("standard output was closed by its reader: stopping as on Ctrl-C");
    expect(code).toBe(141);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    // The end of the run is still seen: what would have gone to standard output went to standard error.
    expect(lp.stderr()).toMatch(/"action":"restored"/);
    expect(lp.stderr()).toMatch(/"type":"summary"/);
    expect(lp.stderr()).not.toContain("Ctrl-C again");
  });

  it("Ctrl-C while listen is still pointing the inbox here: it is put back, not left on a tunnel about to close", async () => {
    // OpenMail sets the URL at once but answers late: Ctrl-C lands in the middle of the claim.
    fake.answerNextLate({ method: "PATCH", path: /\/inboxes\/inb_dev/ }, 1_500);
    const child = startCli(["listen", "--json", "--port", "0", "--no-inspect", "--inbox", "inb_dev"], {
      env: apiEnv(),
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    const ended = collect(child);
    const deadline = Date.now() + 15_000;
    while (!fake.inboxes.get("inb_dev")?.webhookUrl && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toMatch(/^https:\/\//);
    child.kill("SIGINT");
    const running = { code: "running", stdout: "", stderr: "" };
    const { code, stdout, stderr } = await Promise.race([
      ended,
      new Promise<typeof running>((resolve) => setTimeout(resolve, 20_000, running)),
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain("stopping: the inboxes will be put back as soon as listen has pointed them here");
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    expect(stdout).toMatch(/"action":"restored"/);
    // It never said it was ready to receive.
    expect(stdout).not.toMatch(/"type":"ready"/);
  }, 40_000);

  it("a closed terminal (SIGHUP) stops listen cleanly: the inbox is restored", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev"]);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(lp.ready.publicUrl);
    expect(await lp.stop("SIGHUP")).toBe(0);
    expect(lp.records.find((r) => r.action === "restored")).toMatchObject({ inboxId: "inb_dev", outcome: "restored" });
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("closing the terminal window (the pty goes away: SIGHUP, then every write fails) still restores the inbox", async () => {
    const pty = startInPty(["listen", "--port", "0", "--inbox", "inb_dev"], { columns: 100, env: apiEnv() });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    await pty.waitForText(/delivers here/);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toMatch(/^https:\/\//);
    // What closing the window does: the terminal's master side goes away with its process.
    pty.child.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while (fake.inboxes.get("inb_dev")?.webhookUrl && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("standard output on a full disk (/dev/full) stops listen as Ctrl-C does: inbox restored, said on stderr, exit 1", async () => {
    const full = openSync("/dev/full", "w");
    cleanups.push(async () => closeSync(full));
    const child = spawn(process.execPath, [BIN, "listen", "--json", "--port", "0", "--inbox", "inb_dev"], {
      cwd: tempDir(),
      env: cleanEnv(apiEnv()),
      stdio: ["ignore", full, "pipe"],
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const [code] = await once(child, "exit");
    expect(stderr).toContain("standard output could not be written (ENOSPC): stopping as on Ctrl-C");
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
    expect(patches().length).toBeGreaterThan(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("shows the inbox in the human banner instead of the Dashboard instruction, and restores on SIGTERM", async () => {
    const human = await startListenForHumans(["--port", "0", "--inbox", "inb_dev"], { env: apiEnv() });
    cleanups.push(async () => human.child.kill("SIGKILL"));
    const { child, exited } = human;
    let stdout = await human.until("OpenMail shows a new secret only once");
    expect(stdout).toMatch(
      /Inbox\s+inb_dev \(dev@acme\.openmail\.sh\) delivers here \(put back to the account webhook on exit\)/,
    );
    expect(stdout).not.toContain("paste it into the OpenMail Dashboard");
    expect(stdout).toMatch(/Secret\s+\*{8}\w{4} \(\d+ chars\) from OpenMail \(new for inb_dev\)/);
    expect(stdout).toContain("OpenMail shows a new secret only once: add --write-env");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    stdout = human.stdout();
    expect(stdout).toContain("restored inbox inb_dev (dev@acme.openmail.sh) to the account webhook");
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("re-points every registered inbox when the tunnel comes back with a new URL", async () => {
    fake.addInbox({ id: "inb_two", address: "two@acme.openmail.sh" });
    const lp = await listenInbox(["--inbox", "inb_dev", "--inbox", "inb_two", "--tunnel-grace", "200ms"]);
    lp.child.kill("SIGUSR1");
    const changed = await lp.waitFor((r) => r.type === "inbox" && r.action === "repointed" && r.inboxId === "inb_two");
    const newUrl = String(changed.webhookUrl);
    expect(newUrl).not.toBe(lp.ready.publicUrl);
    expect(newUrl).toMatch(/^https:\/\/\d+\.tunnel\.test\/webhooks$/);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(newUrl);
    expect(fake.inboxes.get("inb_two")?.webhookUrl).toBe(newUrl);
    // Re-pointed, so no "update the Dashboard" warning.
    expect(lp.records.some((r) => r.type === "tunnel" && r.state === "url-changed")).toBe(false);
    // Events signed with either inbox's own secret verify.
    const test = await fetch(`${fake.url}/v1/inboxes/inb_two/webhook/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${ACCOUNT_KEY}` },
    });
    expect(test.status).toBe(200);
    const event = await lp.waitFor((r) => r.type === "event");
    expect(event.verification).toMatchObject({ valid: true });
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    expect(fake.inboxes.get("inb_two")?.webhookUrl).toBeNull();
  });

  it("falls back to the exact-URL warning when re-pointing fails", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev", "--tunnel-grace", "200ms"]);
    fake.failNext({ method: "PATCH" }, { status: 500, body: { error: "internal", message: "boom" } });
    lp.child.kill("SIGUSR1");
    const failed = await inboxRecord(lp, "repoint-failed");
    expect(failed.message).toMatch(
      /could not point inbox inb_dev at https:\/\/\d+\.tunnel\.test\/webhooks: OpenMail answered 500 internal: boom/,
    );
    await lp.waitFor((r) => r.type === "tunnel" && r.state === "url-changed");
  });

  it("after kill -9, the next listen puts the old URL back and says so", async () => {
    const cwd = tempDir();
    const first = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd });
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(first.ready.publicUrl);
    await first.stop("SIGKILL");
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(first.ready.publicUrl);

    const next = await startListen([], { cwd, env: apiEnv() });
    cleanups.push(() => next.stop("SIGKILL"));
    const restored = next.records.find((r) => r.type === "inbox" && r.action === "restored");
    expect(restored?.message).toBe(
      `restored inbox inb_prod (support@acme.openmail.sh) to ${PROD_URL} (left by an earlier listen that did not stop cleanly)`,
    );
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);
  });

  it("after kill -9, `restore` puts the old URL back; without a key, listen says what to run", async () => {
    const cwd = tempDir();
    const first = await listenInbox(["--inbox", "inb_dev"], { cwd });
    await first.stop("SIGKILL");

    const keyless = await startListen([], { cwd, env: { OPENMAIL_API_BASE: fake.url } });
    cleanups.push(() => keyless.stop("SIGKILL"));
    const needs = keyless.records.find((r) => r.action === "needs-restore");
    expect(needs?.message).toMatch(
      /an earlier listen left inb_dev pointing at its tunnel: set OPENMAIL_API_KEY .* run `openmail-hooks restore`/,
    );
    await keyless.stop("SIGINT");

    const apiOnly = { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url };
    const result = await runCli(["restore"], { cwd, env: apiOnly });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("restored inbox inb_dev (dev@acme.openmail.sh) to the account webhook\n");
    expect(result.code).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    const again = await runCli(["restore"], { cwd, env: apiOnly });
    expect(again.stdout).toMatch(/^nothing to restore/);
  });

  it("a registration file naming another API base (a cloned repository can ship one) never gets the key sent there", async () => {
    const attacker = await startServer(() => ({ status: 200, body: "{}" }));
    cleanups.push(() => attacker.close());
    const cwd = tempDir();
    mkdirSync(join(cwd, ".openmail-hooks/events"), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(cwd, ".openmail-hooks/events/.inbox-registrations.json"),
      JSON.stringify({
        version: 1,
        pid: 999_999,
        apiBase: attacker.url,
        pending: [
          { inboxId: "inb_dev", previousUrl: null, setUrls: ["https://1.tunnel.test/webhooks"], rotated: false },
        ],
        ownUrls: [],
      }),
    );
    const env = { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url };
    const plain = await startListen([], { cwd, env });
    cleanups.push(() => plain.stop("SIGKILL"));
    const warning = plain.records.find((r) => r.action === "needs-restore");
    expect(warning?.message).toContain(`through another API (${attacker.url}), so your key was not sent there`);
    expect(await plain.stop("SIGINT")).toBe(0);

    const restore = await runCli(["restore"], { cwd, env });
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain(`made through the API at ${attacker.url}, not ${fake.url}`);
    expect(attacker.requests).toHaveLength(0);
    expect(JSON.stringify(fake.calls)).not.toContain("inb_dev");
  });

  it("restore leaves an inbox alone when someone else changed its URL meanwhile", async () => {
    const cwd = tempDir();
    const first = await listenInbox(["--inbox", "inb_dev"], { cwd });
    await first.stop("SIGKILL");
    (fake.inboxes.get("inb_dev") as { webhookUrl: string | null }).webhookUrl = "https://colleague.example/hooks";
    const result = await runCli(["restore"], {
      cwd,
      env: { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url },
    });
    expect(result.stdout).toContain(
      "left inbox inb_dev (dev@acme.openmail.sh) alone: it now points at https://colleague.example/hooks, set by someone else",
    );
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe("https://colleague.example/hooks");
  });

  it("a second listen (another capture folder) on the same inbox: the first's tunnel is called a tunnel, and with --take-over the inbox's own URL comes back however the two stop (a7 L19)", async () => {
    const firstCwd = tempDir();
    const first = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: firstCwd });
    const firstTunnel = String(first.ready.publicUrl);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(firstTunnel);

    // Without --take-over: refused, and said to be a tunnel, not "a production or staging endpoint".
    const refused = await runCli(["listen", "--port", "0", "--inbox", "inb_prod"], { env: apiEnv(), cwd: tempDir() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `openmail-hooks: inbox inb_prod (support@acme.openmail.sh) already delivers to ${firstTunnel}, an ngrok tunnel: probably another openmail-hooks listen (with another capture folder) or your own ngrok. Stop that one first, or pass --take-over to take the inbox over while this run lasts (it is then pointed back at that tunnel)\n`,
    );

    const second = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: tempDir() });
    const secondTunnel = String(second.ready.publicUrl);
    expect(secondTunnel).not.toBe(firstTunnel);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(secondTunnel);

    // The first stops while the second holds the inbox: left alone, and its restore is kept.
    expect(await first.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(secondTunnel);
    const held = first.records.find((r) => r.type === "inbox" && r.action === "held-elsewhere");
    expect(held?.message).toBe(
      `left inbox inb_prod (support@acme.openmail.sh) with ${secondTunnel}, another tunnel that took it over (another listen with --take-over?): when that one stops it points the inbox back at this run's tunnel URL; then run \`openmail-hooks restore\` with this capture folder (or start listen here again) to put back ${PROD_URL}`,
    );

    // The second puts back what it found (the first's tunnel, closed now), and says what that means.
    expect(await second.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(firstTunnel);
    const notes = second.records.filter((r) => r.type === "inbox" && r.action === "restored").map((r) => r.message);
    expect(notes).toEqual([
      `restored inbox inb_prod (support@acme.openmail.sh) to ${firstTunnel}`,
      expect.stringContaining("that is a tunnel's URL, as before --take-over"),
    ]);

    // `restore` in the first's folder puts back the inbox's own URL.
    const restored = await runCli(["restore"], { cwd: firstCwd, env: apiEnv() });
    expect(restored.code).toBe(0);
    expect(restored.stdout).toBe(`restored inbox inb_prod (support@acme.openmail.sh) to ${PROD_URL}\n`);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);
  });

  it("an inbox another listen holds stays with it while a new listen in the first's folder runs, re-points and stops; restore then puts it back", async () => {
    const { firstCwd, firstTunnel, second, secondTunnel } = await heldByASecondListen();

    // A new listen in the first's folder, for another inbox: not refused by the kept entry, and its
    // tunnel's new URL is not given to the inbox the second listen holds.
    const again = await listenInbox(["--inbox", "inb_dev", "--tunnel-grace", "200ms"], { cwd: firstCwd });
    expect(again.records.find((r) => r.action === "held-elsewhere")?.inboxId).toBe("inb_prod");
    again.child.kill("SIGUSR1");
    const repointed = await again.waitFor((r) => r.type === "inbox" && r.action === "repointed");
    expect(repointed.inboxId).toBe("inb_dev");
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(repointed.webhookUrl);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(secondTunnel);
    expect(again.records.filter((r) => r.action === "repointed").map((r) => r.inboxId)).toEqual(["inb_dev"]);
    expect(await again.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(secondTunnel);

    await stopSecondThenRestore(second, firstCwd, firstTunnel);
  });

  it("a new listen in the first's folder taking the held inbox back: it returns it to the holder, and the kept entry still restores it later", async () => {
    const { firstCwd, firstTunnel, second, secondTunnel } = await heldByASecondListen();

    const again = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: firstCwd });
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(again.ready.publicUrl);
    expect(await again.stop("SIGINT")).toBe(0);
    // Its own entry first: back to the listen that still holds it; the older entry keeps waiting.
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(secondTunnel);
    expect(again.records.filter((r) => r.type === "inbox" && r.action === "restored")[0]?.message).toBe(
      `restored inbox inb_prod (support@acme.openmail.sh) to ${secondTunnel}`,
    );
    // …and names the listen that holds the inbox, not this run's own (closed) tunnel.
    const held = again.records.filter((r) => r.action === "held-elsewhere").map((r) => String(r.message));
    expect(held.length).toBeGreaterThan(0);
    for (const message of held) {
      expect(message).toContain(`with ${secondTunnel}, another tunnel`);
      expect(message).not.toContain(String(again.ready.publicUrl));
    }

    await stopSecondThenRestore(second, firstCwd, firstTunnel);
  });

  it("two listens on one inbox stopped in the order they started: each puts back what it found, ending at the inbox's own URL", async () => {
    const first = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: tempDir() });
    const firstTunnel = String(first.ready.publicUrl);
    const second = await listenInbox(["--inbox", "inb_prod", "--take-over"], { cwd: tempDir() });
    expect(await second.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(firstTunnel);
    expect(await first.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);
    expect(first.records.find((r) => r.action === "restored")?.message).toBe(
      `restored inbox inb_prod (support@acme.openmail.sh) to ${PROD_URL}`,
    );
  });

  it("refuses to divert an inbox with another webhook URL unless --take-over", async () => {
    const result = await runCli(["listen", "--port", "0", "--inbox", "inb_prod"], { env: apiEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `openmail-hooks: inbox inb_prod (support@acme.openmail.sh) already delivers to ${PROD_URL}, probably a production or staging endpoint: listen would divert its mail here until it stops. Pass --take-over to do it anyway (the URL is put back on exit), or use an inbox of its own for development\n`,
    );
    expect(patches()).toHaveLength(0);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);
    // Refused before any tunnel was opened: nothing about one, opened or closed.
    expect(result.stdout).not.toMatch(/tunnel/i);
  });

  it("an own-URL list in the capture folder's state file counts only with this key's tags (a cloned repo could plant one)", async () => {
    const cwd = tempDir();
    const stateFile = join(cwd, ".openmail-hooks/events/.inbox-registrations.json");
    mkdirSync(join(cwd, ".openmail-hooks/events"), { recursive: true, mode: 0o700 });
    // Planted: the production URL as an old plain entry, and with a tag made without the key.
    writeFileSync(
      stateFile,
      JSON.stringify({ version: 1, pending: [], ownUrls: [PROD_URL, { url: PROD_URL, tag: "0".repeat(32) }] }),
    );
    const planted = await runCli(["listen", "--port", "0", "--inbox", "inb_prod"], { cwd, env: apiEnv() });
    expect(planted.stderr).toContain(`inbox inb_prod (support@acme.openmail.sh) already delivers to ${PROD_URL}`);
    expect(planted.code).toBe(2);
    expect(patches()).toHaveLength(0);

    // A URL this tool really set (an earlier run's tunnel, left behind) still counts as its own.
    const first = await listenInbox(["--inbox", "inb_dev"], { cwd });
    const ownUrl = first.ready.publicUrl;
    expect(await first.stop("SIGINT")).toBe(0);
    (fake.inboxes.get("inb_dev") as { webhookUrl: string | null }).webhookUrl = ownUrl;
    const second = await listenInbox(["--inbox", "inb_dev"], { cwd });
    expect(await inboxRecord(second, "registered")).toMatchObject({ inboxId: "inb_dev", previousUrl: ownUrl });
    expect(await second.stop("SIGINT")).toBe(0);
    const state = JSON.parse(readFileSync(stateFile, "utf8"));
    expect(state.ownUrls).toContainEqual({ url: ownUrl, tag: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(JSON.stringify(state)).not.toContain(ACCOUNT_KEY);
  });

  it("refuses everything when one inbox of several is refused: nothing is changed", async () => {
    const result = await runCli(["listen", "--port", "0", "--inbox", "inb_dev", "--inbox", "inb_prod"], {
      env: apiEnv(),
    });
    expect(result.code).toBe(2);
    expect(patches()).toHaveLength(0);
  });

  it("with --take-over and no secret known, --test names the hop that failed; --rotate-secret fixes it and warns", async () => {
    const lp = await listenInbox(["--inbox", "inb_prod", "--take-over", "--test"]);
    const noSecret = await inboxRecord(lp, "secret");
    expect(noSecret.message).toMatch(/no secret for inb_prod: OpenMail shows it only once .* pass --rotate-secret/);
    const failed = await inboxRecord(lp, "test-failed");
    expect(failed.problem).toMatch(/^the test event arrived unverified: no secret is known for inb_prod/);
    expect(await lp.stop("SIGINT")).toBe(1);
    expect(fake.inboxes.get("inb_prod")?.webhookUrl).toBe(PROD_URL);

    const rotated = await listenInbox(["--inbox", "inb_prod", "--take-over", "--rotate-secret", "--test"]);
    const warning = await inboxRecord(rotated, "secret-rotated");
    expect(warning.message).toMatch(/rotated inb_prod's webhook secret .* the old secret now fails/);
    expect(fake.secrets.get("inb_prod")).not.toBe("prod_secret_value_1234");
    await inboxRecord(rotated, "test-passed");
    expect(await rotated.stop("SIGINT")).toBe(0);
    const restored = rotated.records.filter((r) => r.action === "restored").map((r) => r.message);
    expect(restored[1]).toMatch(/its secret was rotated during that run/);
  });

  it("a signature mismatch in the round trip is named as such", async () => {
    fake.secrets.set("inb_prod", "prod_secret_value_1234");
    const lp = await listenInbox([
      "--inbox",
      "inb_prod",
      "--take-over",
      "--test",
      "--secret",
      "not_the_inbox_secret_42",
    ]);
    const failed = await inboxRecord(lp, "test-failed");
    expect(failed.problem).toMatch(/^signature mismatch: the secret used here is not inb_prod's current one/);
    expect(failed.hops).toContain("answered 400");
  });

  it("--write-env replaces only OPENMAIL_WEBHOOK_SECRET and keeps the rest of .env byte for byte", async () => {
    const cwd = tempDir();
    const before = [
      "# my app's settings\r\n",
      "export DATABASE_URL='postgres://x'\r\n",
      "OPENMAIL_WEBHOOK_SECRET=old_secret_from_the_dashboard\r\n",
      "\r\n",
      "  # indented comment, odd spacing =  \r\n",
      'MULTI="line one\r\nline two"\r\n',
      "LAST=no-newline-at-end",
    ].join("");
    writeFileSync(join(cwd, ".env"), before, { mode: 0o640 });
    const lp = await listenInbox(["--inbox", "inb_dev", "--write-env"], { cwd });
    const wrote = await inboxRecord(lp, "secret");
    expect(wrote.message).toMatch(/wrote OPENMAIL_WEBHOOK_SECRET to \.env \(every other line kept as it was\)/);
    const secret = fake.secrets.get("inb_dev") as string;
    expect(readFileSync(join(cwd, ".env"), "utf8")).toBe(before.replace("old_secret_from_the_dashboard", secret));
    expect(statSync(join(cwd, ".env")).mode & 0o777).toBe(0o640);
    expect(everything(lp)).not.toContain(secret);
    await lp.stop("SIGINT");
  });

  it("--write-env creates .env with mode 0600 when there is none, and the next run verifies with it", async () => {
    const cwd = tempDir();
    const first = await listenInbox(["--inbox", "inb_dev", "--write-env"], { cwd });
    await inboxRecord(first, "secret");
    await first.stop("SIGINT");
    const secret = fake.secrets.get("inb_dev") as string;
    expect(readFileSync(join(cwd, ".env"), "utf8")).toBe(`OPENMAIL_WEBHOOK_SECRET=${secret}\n`);
    expect(statSync(join(cwd, ".env")).mode & 0o777).toBe(0o600);

    // Second run: OpenMail returns no secret now; the one in .env verifies the test event.
    const second = await listenInbox(["--inbox", "inb_dev", "--write-env", "--test"], { cwd });
    const nothing = await inboxRecord(second, "secret");
    expect(nothing.message).toMatch(/nothing written to \.env: OpenMail sent no new secret/);
    await inboxRecord(second, "test-passed");
    expect(await second.stop("SIGINT")).toBe(0);
  });

  it("explains that a scoped key cannot change a webhook (403), and changes nothing", async () => {
    for (const key of [POD_KEY, INBOX_KEY]) {
      const result = await runCli(["listen", "--port", "0", "--inbox", "inb_dev"], {
        env: apiEnv({ OPENMAIL_API_KEY: key }),
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        "openmail-hooks: the API key from environment (OPENMAIL_API_KEY) may not change inbox inb_dev's webhook (403 forbidden: This API key cannot modify inbox webhook configuration (account-wide key required)): that needs an account-wide key (pod- and inbox-scoped keys cannot); create one at https://console.openmail.sh/settings/api\n",
      );
      expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    }
  });

  it("inbox options that cannot work are refused before anything is created: no capture folder left behind", async () => {
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [["--inbox", "inb_dev"], apiEnv({ OPENMAIL_API_KEY: undefined }), /--inbox needs an OpenMail API key/],
      [["--no-tunnel", "--inbox", "inb_dev"], apiEnv(), /--inbox with --no-tunnel: OpenMail cannot reach/],
      [["--test"], apiEnv(), /--test works with --inbox <id>/],
      [["--inbox", "inb_dev", "--api-base", "http://api.example"], apiEnv(), /is not https:\/\//],
    ];
    for (const [args, env, said] of cases) {
      const cwd = tempDir();
      const result = await runCli(["listen", "--port", "0", ...args], { cwd, env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(said);
      expect(readdirSync(cwd)).toEqual([]);
    }
    expect(fake.calls).toEqual([]);
  });

  it("refuses --inbox with --no-tunnel unless --public-url says where traffic arrives; 422 for a private URL", async () => {
    const noTunnel = await runCli(["listen", "--port", "0", "--no-tunnel", "--inbox", "inb_dev"], { env: apiEnv() });
    expect(noTunnel.code).toBe(2);
    expect(noTunnel.stderr).toMatch(
      /^openmail-hooks: --inbox with --no-tunnel: OpenMail cannot reach 127\.0\.0\.1; drop --no-tunnel, or pass --public-url https:\/\//,
    );

    const plain = await runCli(["listen", "--no-tunnel", "--inbox", "inb_dev", "--public-url", "http://x.example"], {
      env: apiEnv(),
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("is not https://");

    const privateUrl = await runCli(
      ["listen", "--port", "0", "--no-tunnel", "--inbox", "inb_dev", "--public-url", "https://192.168.1.20"],
      { env: apiEnv() },
    );
    expect(privateUrl.code).toBe(2);
    expect(privateUrl.stderr).toBe(
      "openmail-hooks: OpenMail refused the webhook URL https://192.168.1.20/webhooks (422 invalid_webhook_url: Webhook URL must be a public HTTPS URL): it accepts public https:// URLs only; with --no-tunnel, pass --public-url https://… where your traffic really arrives\n",
    );
    // Nothing left to restore.
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("the --inbox options without --inbox are a usage error, not silently ignored", async () => {
    const result = await runCli(["listen", "--port", "0", "--no-tunnel", "--test", "--write-env"], { env: apiEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "openmail-hooks: --write-env, --test work with --inbox <id>: name the OpenMail inbox to point here (find ids with `openmail-hooks inboxes`)\n",
    );
  });

  it("with --public-url, registers that URL and restores it on exit", async () => {
    const lp = await startListen(["--inbox", "inb_dev", "--public-url", "https://hooks.example.dev"], {
      env: apiEnv(),
    });
    cleanups.push(() => lp.stop("SIGKILL"));
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe("https://hooks.example.dev/webhooks");
    // The ready record says where OpenMail now sends (it said publicUrl null, webhookUrl the local one).
    expect(lp.ready).toMatchObject({
      publicUrl: "https://hooks.example.dev/webhooks",
      webhookUrl: "https://hooks.example.dev/webhooks",
    });
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();

    // The banner too: not "(local only)", and the inbox that delivers there.
    const human = await startListenForHumans(
      ["--port", "0", "--no-tunnel", "--inbox", "inb_dev", "--public-url", "https://hooks.example.dev"],
      { env: apiEnv() },
    );
    cleanups.push(async () => human.child.kill("SIGKILL"));
    const stdout = await human.until("Local");
    expect(stdout).toMatch(/Webhook URL\s+https:\/\/hooks\.example\.dev\/webhooks/);
    expect(stdout).toMatch(/Inbox\s+inb_dev \(dev@acme\.openmail\.sh\) delivers here/);
    expect(stdout).not.toContain("local only");
    human.child.kill("SIGINT");
    expect(await human.exited).toBe(0);
  });
});

describe("API errors: one line, the next step, exit 2, never the key", () => {
  const inboxes = (env: Record<string, string | undefined> = {}, args: string[] = []) =>
    runCli(["inboxes", ...args], { env: { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url, ...env } });

  it("401: bad key", async () => {
    const result = await inboxes({ OPENMAIL_API_KEY: "om_live_wrong_key_999999" });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "openmail-hooks: OpenMail rejected the API key from environment (OPENMAIL_API_KEY) (401 unauthorized: Missing, invalid or expired API key): it is missing, invalid or expired; create one at https://console.openmail.sh/settings/api\n",
    );
  });

  it("no key at all", async () => {
    const result = await inboxes({ OPENMAIL_API_KEY: undefined });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^openmail-hooks: `inboxes` needs an OpenMail API key: pass --api-key <key>, set OPENMAIL_API_KEY/,
    );
  });

  it("404: unknown inbox", async () => {
    const result = await runCli(["listen", "--port", "0", "--inbox", "inb_nope"], { env: apiEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "openmail-hooks: no inbox inb_nope in this OpenMail account (404 not_found: Inbox not found): run `openmail-hooks inboxes` to see the ids\n",
    );
  });

  it("a server message that echoes the key is redacted", async () => {
    fake.failNext({}, { status: 500, body: { error: "internal", message: `bad key ${ACCOUNT_KEY} here` } });
    const result = await inboxes();
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(ACCOUNT_KEY);
    expect(result.stderr).toBe(
      "openmail-hooks: OpenMail answered 500 internal: bad key [redacted] here while listing inboxes: its side failed; try again in a moment\n",
    );
  });

  it("network failure and timeout", async () => {
    const port = await closedPort();
    const refused = await inboxes({ OPENMAIL_API_BASE: `http://127.0.0.1:${port}` });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `openmail-hooks: cannot reach the OpenMail API while listing inboxes: connection refused at http://127.0.0.1:${port}; check your network connection, or --api-base / OPENMAIL_API_BASE\n`,
    );
    fake.failNext({}, { status: 200, body: { data: [], total: 0 }, delayMs: 3000 });
    const slow = await inboxes({}, ["--api-timeout", "300ms"]);
    expect(slow.code).toBe(2);
    expect(slow.stderr).toBe(
      `openmail-hooks: the OpenMail API (${fake.url}) did not answer within 300 ms while listing inboxes: try again, or raise --api-timeout\n`,
    );
  });

  it("an http:// API base other than this machine is refused before the key is sent", async () => {
    const result = await inboxes({ OPENMAIL_API_BASE: "http://api.example.com" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^openmail-hooks: the API base http:\/\/api\.example\.com is not https:\/\/: the API key would travel unencrypted/,
    );
  });
});

describe("inboxes", () => {
  it("lists id, address, pod and webhook URL, or 'account webhook'", async () => {
    const result = await runCli(["inboxes", "--api-base", fake.url], { env: { OPENMAIL_API_KEY: ACCOUNT_KEY } });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ADDRESS\s+POD\s+WEBHOOK$/);
    expect(lines[1]).toMatch(/^inb_dev\s+dev@acme\.openmail\.sh\s+pod_main\s+account webhook$/);
    expect(lines[2]).toMatch(new RegExp(`^inb_prod\\s+support@acme\\.openmail\\.sh\\s+pod_main\\s+${PROD_URL}$`));
  });

  it("--json: one object per inbox, across pages", async () => {
    for (let i = 0; i < 150; i++) fake.addInbox({ id: `inb_bulk${i}` });
    const result = await runCli(["inboxes", "--json"], {
      env: { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url },
    });
    const records = result.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(152);
    expect(records[1]).toEqual({
      type: "inbox",
      schemaVersion: 1,
      id: "inb_prod",
      address: "support@acme.openmail.sh",
      podId: "pod_main",
      displayName: null,
      webhookUrl: PROD_URL,
    });
  });
});

describe("send-mail", () => {
  const send = (args: string[] = [], env: Record<string, string | undefined> = {}) =>
    runCli(
      [
        "send-mail",
        "--inbox",
        "inb_dev",
        "--to",
        "dev@acme.openmail.sh",
        "--subject",
        "CI check",
        "--text",
        "hello",
        ...args,
      ],
      { env: { OPENMAIL_API_KEY: ACCOUNT_KEY, OPENMAIL_API_BASE: fake.url, ...env } },
    );

  it("sends with an Idempotency-Key and says so", async () => {
    const result = await send();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^sent from inb_dev to dev@acme\.openmail\.sh: message msg_\w+ \(Idempotency-Key openmail-hooks-[0-9a-f-]{36}\)\n$/,
    );
    expect(fake.sends).toHaveLength(1);
    expect(fake.sends[0]?.body).toEqual({ to: "dev@acme.openmail.sh", subject: "CI check", body: "hello" });
  });

  it("honours 429 Retry-After, explains the wait, and retries with the same Idempotency-Key", async () => {
    fake.failNext(
      { method: "POST", path: /\/send$/ },
      {
        status: 429,
        headers: { "retry-after": "1" },
        body: { error: "rate_limit_exceeded", message: "Send limit reached" },
      },
    );
    const result = await send(["--idempotency-key", "ci-run-42"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "OpenMail's send limit answered 429 (10 a minute and 200 a day per inbox): waiting 1 s as its Retry-After asks, then trying again with the same Idempotency-Key\n",
    );
    const sendCalls = fake.calls.filter((call) => call.path.endsWith("/send"));
    expect(sendCalls.map((call) => call.headers["idempotency-key"])).toEqual(["ci-run-42", "ci-run-42"]);
    expect(fake.sends).toHaveLength(1);
  });

  it("a Retry-After longer than --max-wait is an error that says when to retry", async () => {
    fake.sendLimit = 0;
    fake.retryAfterSeconds = 120;
    const result = await send(["--max-wait", "5s"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "openmail-hooks: OpenMail's rate limit stopped sending from inbox inb_dev (429 rate_limit_exceeded: Send limit reached (10 per minute)): it asks to wait 120 s (Retry-After); try again later (sending is limited to 10 a minute and 200 a day per inbox), or raise --max-wait\n",
    );
  });

  it.each([
    ["accepts the mail and never answers", "hang", /did not answer within 1\.00 s while sending from inbox inb_dev/],
    [
      "accepts the mail, then resets the connection",
      "reset",
      /the connection to the OpenMail API broke without an answer/,
    ],
  ] as const)(
    "an API that %s: outcome unknown, the exact --idempotency-key to retry with, which sends once",
    async (_what, how, said) => {
      fake.loseNextAnswer({ method: "POST", path: /\/send$/ }, how);
      const first = await send(["--api-timeout", "1s", "--json"]);
      expect(first.code).toBe(2);
      const key = fake.calls.find((call) => call.path.endsWith("/send"))?.headers["idempotency-key"];
      expect(key).toMatch(/^openmail-hooks-[0-9a-f-]{36}$/);
      expect(fake.sends).toHaveLength(1);
      const line = first.stderr.trimEnd();
      expect(line.split("\n")).toHaveLength(1);
      expect(line).toMatch(said);
      expect(line).toContain("the mail may or may not have been sent");
      expect(line).toContain(`run it again with --idempotency-key ${key} (without it, a new key is drawn`);
      expect(line).not.toMatch(/try again, or raise/);
      expect(JSON.parse(first.stdout)).toMatchObject({
        type: "error",
        code: "api_error",
        message: expect.stringContaining(`--idempotency-key ${key}`),
      });
      expect(first.stdout + first.stderr).not.toContain(ACCOUNT_KEY);
      // The retry it prints goes out with the same key: OpenMail recognises it and sends nothing twice.
      const retry = await send(["--idempotency-key", String(key)]);
      expect(retry.code).toBe(0);
      expect(fake.sends).toHaveLength(1);
    },
  );

  it("a key given with --idempotency-key is the one printed, shell-quoted; a refused connection sent nothing", async () => {
    fake.loseNextAnswer({ method: "POST", path: /\/send$/ }, "reset");
    const result = await send(["--idempotency-key", "ci run 42"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("run it again with --idempotency-key 'ci run 42' (");
    // Nothing listening at --api-base: nothing was sent, so no talk of an unknown outcome.
    const port = await closedPort();
    const refused = await send([], { OPENMAIL_API_BASE: `http://127.0.0.1:${port}` });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /cannot reach the OpenMail API while sending from inbox inb_dev: connection refused/,
    );
    expect(refused.stderr).not.toMatch(/may or may not|idempotency-key/);
  });

  it("the CI recipe: listen --inbox --expect exits 0 on the real mail send-mail sent, and puts the inbox back", async () => {
    const lp = await listenInbox([
      "--inbox",
      "inb_dev",
      "--expect",
      "message.received",
      "--expect-subject",
      "ci-run-7",
      "--timeout",
      "20s",
    ]);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBe(lp.ready.publicUrl);
    const result = await send(["--subject", "ci-run-7"]);
    expect(result.code).toBe(0);
    expect(await lp.waitFor((r) => r.type === "expect")).toMatchObject({ result: "matched" });
    // listen leaves by itself; stop() sends no signal once it has exited, and waits for its output.
    while (lp.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await lp.stop()).toBe(0);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
    expect(lp.records.find((r) => r.action === "restored")).toMatchObject({ inboxId: "inb_dev" });
  });

  it("OpenMail's --test event does not count as the real mail --expect waits for", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev", "--test", "--expect", "message.received", "--timeout", "3s"]);
    await inboxRecord(lp, "test-passed");
    expect(await lp.waitFor((r) => r.type === "expect")).toMatchObject({ result: "timeout" });
    while (lp.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await lp.stop()).toBe(1);
    expect(fake.inboxes.get("inb_dev")?.webhookUrl).toBeNull();
  });

  it("mail to a listening inbox's own address arrives as a verified message.received", async () => {
    const lp = await listenInbox(["--inbox", "inb_dev"]);
    const result = await send(["--subject", "round trip"]);
    expect(result.code).toBe(0);
    const event = await lp.waitFor((r) => r.type === "event");
    expect(event).toMatchObject({ eventType: "message.received", inboxId: "inb_dev", verification: { valid: true } });
  });
});
