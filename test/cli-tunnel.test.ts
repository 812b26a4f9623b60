import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen, startListenForHumans } from "./helpers/listen.js";
import { closedPort } from "./helpers/servers.js";

const SECRET = "whsec_tunnel_test_secret_42";
const TOKEN = "2AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789fake";
const fakeEnv = { OPENMAIL_WEBHOOK_SECRET: SECRET, OPENMAIL_HOOKS_TUNNEL: "fake", NGROK_AUTHTOKEN: TOKEN };
const cleanups = cleanupAfterEach();

/** listen --json with the fake tunnel provider. */
async function listenWithFakeTunnel(args: string[] = [], env: Record<string, string | undefined> = fakeEnv) {
  const lp = await startListen(["--tunnel", ...args], { env });
  cleanups.push(() => lp.stop("SIGKILL"));
  return lp;
}

const tunnelRecords = (lp: ListenProcess) => lp.records.filter((r) => r.type === "tunnel");

describe("listen with a tunnel (fake provider)", () => {
  it("announces the full public webhook URL, which really forwards to the listener", async () => {
    const lp = await listenWithFakeTunnel();
    expect(lp.ready.publicUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/webhooks$/);
    expect(lp.ready.publicUrl).not.toBe(lp.ready.localUrl);
    expect(lp.ready.webhookUrl).toBe(lp.ready.publicUrl);
    const request = signedEvent(SECRET, messageEvent());
    const answer = await post(String(lp.ready.publicUrl), request.headers, request.body);
    expect(answer.status).toBe(200);
    await lp.waitFor((r) => r.type === "event");
    expect(lp.stdout() + lp.stderr()).not.toContain(TOKEN);
  });

  it("shows the banner with the URL, the dashboard instruction and the token's source, never the token", async () => {
    const cwd = tempDir();
    const xdg = join(cwd, "xdg");
    mkdirSync(join(xdg, "ngrok"), { recursive: true });
    writeFileSync(join(xdg, "ngrok", "ngrok.yml"), `version: "3"\nagent:\n  authtoken: ${TOKEN}\n`);
    const human = await startListenForHumans(["--port", "0"], {
      cwd,
      env: { ...fakeEnv, NGROK_AUTHTOKEN: undefined, XDG_CONFIG_HOME: xdg },
    });
    cleanups.push(async () => human.child.kill("SIGKILL"));
    let stdout = human.stdout();
    expect(stdout).toMatch(/Webhook URL\s+http:\/\/127\.0\.0\.1:\d+\/webhooks/);
    expect(stdout).toMatch(/paste it into the OpenMail Dashboard → Settings → Webhook URL/);
    expect(stdout).toContain(`authtoken from ngrok config (${join(xdg, "ngrok", "ngrok.yml")})`);
    human.child.kill("SIGINT");
    expect(await human.exited).toBe(0);
    stdout = human.stdout();
    expect(stdout).toMatch(/tunnel closed/);
    expect(stdout).not.toContain(TOKEN);
  });

  it("shows a drop and a restore", async () => {
    const lp = await listenWithFakeTunnel();
    lp.child.kill("SIGUSR1");
    await lp.waitFor((r) => r.type === "tunnel" && r.state === "down");
    lp.child.kill("SIGUSR2");
    await lp.waitFor((r) => r.type === "tunnel" && r.state === "restored");
    expect(tunnelRecords(lp).map((r) => r.state)).toEqual(["down", "restored"]);
  });

  it("opens a fresh session when the drop outlasts the grace period, and warns that the URL changed", async () => {
    const lp = await listenWithFakeTunnel(["--tunnel-grace", "200ms"]);
    lp.child.kill("SIGUSR1");
    const changed = await lp.waitFor((r) => r.type === "tunnel" && r.state === "url-changed");
    expect(changed.from).toBe(String(lp.ready.publicUrl).replace(/\/webhooks$/, ""));
    expect(changed.to).not.toBe(changed.from);
    expect(changed.path).toBe("/webhooks");
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(`${changed.to}/webhooks`, request.headers, request.body)).status).toBe(200);
  });

  it("closes the tunnel on Ctrl-C, then prints the summary and exits 0", async () => {
    const lp = await listenWithFakeTunnel();
    expect(await lp.stop("SIGINT")).toBe(0);
    const states = lp.records.filter((r) => r.type === "tunnel" || r.type === "summary").map((r) => r.state ?? r.type);
    expect(states).toEqual(["closed", "summary"]);
  });

  it.each([
    ["ERR_NGROK_108", /another `openmail-hooks listen` or ngrok agent running/],
    ["ERR_NGROK_334", /already online/],
    ["ERR_NGROK_107", /invalid or was revoked/],
  ])("fails with one clear line for %s, closing the listener", async (code, message) => {
    const result = await runCli(["listen", "--port", "0"], {
      env: {
        ...fakeEnv,
        OPENMAIL_HOOKS_FAKE_TUNNEL_ERROR: `failed to connect session: Your authtoken: ${TOKEN} error_code: ${code}`,
      },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr + result.stdout).not.toContain(TOKEN);
  });
});

describe("listen with the real ngrok SDK, offline", () => {
  it("says where to get an authtoken when there is none", async () => {
    const result = await runCli(["listen", "--port", "0"], { env: { HOME: tempDir(), XDG_CONFIG_HOME: tempDir() } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /no ngrok authtoken: get one at https:\/\/dashboard\.ngrok\.com.*NGROK_AUTHTOKEN.*--no-tunnel/,
    );
  });

  it("fails fast with the network message when ngrok's ingress is unreachable", async () => {
    const port = await closedPort();
    const started = Date.now();
    const result = await runCli(["listen", "--port", "0", "--ngrok-server-addr", `127.0.0.1:${port}`], {
      env: { NGROK_AUTHTOKEN: TOKEN },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot reach ngrok \(failed to establish tcp connection\).*--no-tunnel/);
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("gives up after --tunnel-timeout when ngrok's ingress never answers", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket)); // accepts, never speaks TLS
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as { port: number }).port;
    const result = await runCli(
      ["listen", "--port", "0", "--ngrok-server-addr", `127.0.0.1:${port}`, "--tunnel-timeout", "1s"],
      { env: { NGROK_AUTHTOKEN: TOKEN } },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ngrok did not connect within 1 s.*--tunnel-timeout.*--no-tunnel/);
  });

  it("rejects a malformed --domain before it reaches the SDK", async () => {
    const result = await runCli(["listen", "--domain", "https://me.ngrok.app"], { env: { NGROK_AUTHTOKEN: TOKEN } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/without a scheme/);
  });
});

// Live: only with a real token (and network), never in CI here.
describe.runIf(Boolean(process.env.NGROK_AUTHTOKEN) && process.env.OPENMAIL_HOOKS_LIVE_TESTS === "1")(
  "live ngrok",
  () => {
    it("opens a real tunnel that delivers a signed event", async () => {
      const lp = await startListen(["--tunnel"], {
        env: { OPENMAIL_WEBHOOK_SECRET: SECRET, NGROK_AUTHTOKEN: process.env.NGROK_AUTHTOKEN },
      });
      cleanups.push(() => lp.stop("SIGKILL"));
      expect(lp.ready.publicUrl).toMatch(/^https:\/\//);
      const request = signedEvent(SECRET, messageEvent());
      const answer = await fetch(String(lp.ready.publicUrl), {
        method: "POST",
        headers: { ...request.headers, "ngrok-skip-browser-warning": "1" },
        body: request.body,
      });
      expect(answer.status).toBe(200);
      expect(await lp.stop("SIGINT")).toBe(0);
    });
  },
);
