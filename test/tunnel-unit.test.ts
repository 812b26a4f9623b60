import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { Environment } from "../src/config/environment.js";
import { ngrokConfigPaths, resolveAuthtoken, tokenFromNgrokConfig } from "../src/tunnel/authtoken.js";
import { classifyNgrokError, redact, timeoutError, unsupportedPlatformError } from "../src/tunnel/errors.js";
import { openSupervisedTunnel, type TunnelNotice } from "../src/tunnel/supervisor.js";
import type { Tunnel, TunnelOptions, TunnelProvider } from "../src/tunnel/types.js";

const TOKEN = "2Xyz0123456789abcdefGHIJ_klmnopqrstuv";

function environment(values: Record<string, { value: string; source: string }> = {}): Environment {
  return { get: (name) => values[name] };
}

describe("authtoken resolution", () => {
  const files = (map: Record<string, string>) => async (path: string) => map[path];
  const base = { environment: environment(), env: {}, platform: "linux" as NodeJS.Platform, homedir: "/home/ana" };

  it("prefers the flag, then NGROK_AUTHTOKEN, then ngrok.yml", async () => {
    const readFile = files({ "/home/ana/.config/ngrok/ngrok.yml": "version: 3\nagent:\n  authtoken: from-file\n" });
    const env = environment({ NGROK_AUTHTOKEN: { value: "from-env", source: "environment (NGROK_AUTHTOKEN)" } });
    expect((await resolveAuthtoken({ ...base, environment: env, flag: "from-flag", readFile })).found).toEqual({
      token: "from-flag",
      source: "--authtoken flag",
    });
    expect((await resolveAuthtoken({ ...base, environment: env, readFile })).found?.source).toBe(
      "environment (NGROK_AUTHTOKEN)",
    );
    const dotenv = environment({ NGROK_AUTHTOKEN: { value: "from-dotenv", source: ".env file (NGROK_AUTHTOKEN)" } });
    expect((await resolveAuthtoken({ ...base, environment: dotenv, readFile })).found?.token).toBe("from-dotenv");
    expect((await resolveAuthtoken({ ...base, readFile })).found).toEqual({
      token: "from-file",
      source: "ngrok config (/home/ana/.config/ngrok/ngrok.yml)",
    });
  });

  it.each<[string, NodeJS.Platform, NodeJS.ProcessEnv, string]>([
    ["Linux default", "linux", {}, "/home/ana/.config/ngrok/ngrok.yml"],
    ["Linux XDG_CONFIG_HOME", "linux", { XDG_CONFIG_HOME: "/xdg" }, "/xdg/ngrok/ngrok.yml"],
    ["macOS", "darwin", {}, "/home/ana/Library/Application Support/ngrok/ngrok.yml"],
    [
      "Windows LOCALAPPDATA",
      "win32",
      { LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local" },
      "C:\\Users\\ana\\AppData\\Local\\ngrok\\ngrok.yml",
    ],
    ["legacy v2 agent", "linux", {}, "/home/ana/.ngrok2/ngrok.yml"],
    ["NGROK_CONFIG", "linux", { NGROK_CONFIG: "/etc/ngrok.yml" }, "/etc/ngrok.yml"],
  ])("reads ngrok.yml at the %s path", async (_label, platform, env, path) => {
    for (const content of [
      "version: 3\nagent:\n  authtoken: tok\n",
      'version: "2"\nauthtoken: tok\n',
      "authtoken: tok\n",
    ]) {
      const result = await resolveAuthtoken({ ...base, platform, env, readFile: files({ [path]: content }) });
      expect(result.found).toEqual({ token: "tok", source: `ngrok config (${path})` });
    }
  });

  it("reports nothing found, and says why a config file was unusable", async () => {
    expect(await resolveAuthtoken({ ...base, readFile: files({}) })).toEqual({ problems: [] });
    const broken = await resolveAuthtoken({
      ...base,
      readFile: files({ "/home/ana/.config/ngrok/ngrok.yml": "version: 3\nagent: [unclosed\n" }),
    });
    expect(broken.found).toBeUndefined();
    expect(broken.problems[0]).toMatch(/ngrok\.yml: not valid YAML/);
    expect(tokenFromNgrokConfig("version: 3\nagent: {}\n", parseYaml)).toEqual({ problem: "no authtoken in it" });
  });

  it("lists the platform paths in order", () => {
    expect(ngrokConfigPaths({ env: {}, platform: "linux", homedir: "/h" })).toEqual([
      "/h/.config/ngrok/ngrok.yml",
      "/h/.ngrok2/ngrok.yml",
    ]);
  });
});

describe("ngrok error classification", () => {
  const sdkError = (message: string, withCode = true) =>
    Object.assign(new Error(message), {
      code: "GenericFailure",
      errorCode: withCode ? /ERR_NGROK_\d+/.exec(message)?.[0] : undefined,
    });

  it.each([
    ["ERR_NGROK_4018", "no-auth", /no authtoken.*dashboard\.ngrok\.com.*NGROK_AUTHTOKEN.*--no-tunnel/],
    ["ERR_NGROK_105", "auth", /malformed/],
    ["ERR_NGROK_107", "auth", /invalid or was revoked/],
    ["ERR_NGROK_108", "limit", /another `openmail-hooks listen` or ngrok agent running/],
    ["ERR_NGROK_334", "conflict", /already online/],
    ["ERR_NGROK_319", "domain", /reserve it at/],
    ["ERR_NGROK_313", "domain", /not on your plan/],
    ["ERR_NGROK_326", "domain", /not a valid domain/],
    ["ERR_NGROK_120", "outdated", /update openmail-hooks/],
  ])("classifies %s", (code, kind, message) => {
    const error = sdkError(`failed to connect session: Your authtoken: ${TOKEN} is bad. error_code: ${code}`);
    const classified = classifyNgrokError(error, { token: TOKEN, domain: "me.ngrok.app" });
    expect(classified.kind).toBe(kind);
    expect(classified.ngrokCode).toBe(code);
    expect(classified.message).toMatch(message);
    expect(classified.message).not.toContain(TOKEN);
    expect(classified.exitCode).toBe(2);
  });

  it("reads the code from the message when errorCode is missing (listenAndForward)", () => {
    const error = sdkError("failed to start listener: endpoint already online error_code: ERR_NGROK_334", false);
    expect(classifyNgrokError(error).kind).toBe("conflict");
  });

  it("classifies a network failure and an unknown one", () => {
    expect(classifyNgrokError(sdkError("failed to connect session: failed to establish tcp connection")).kind).toBe(
      "network",
    );
    expect(classifyNgrokError(sdkError("failed to connect session: tls handshake error")).kind).toBe("network");
    const unknown = classifyNgrokError(new Error(`weird ${TOKEN}`), { token: TOKEN });
    expect(unknown.kind).toBe("unknown");
    expect(unknown.message).not.toContain(TOKEN);
  });

  it("says when the native SDK cannot load, and when the connect times out, with --no-tunnel as the way out", () => {
    const missing = unsupportedPlatformError(
      new Error("Cannot find module '@ngrok/ngrok-linux-arm-gnueabihf'\nRequire stack: ..."),
    );
    expect(missing.kind).toBe("unsupported-platform");
    expect(missing.message).toMatch(/cannot load on this platform .*Cannot find module.*; run with --no-tunnel/);
    expect(missing.message).not.toContain("Require stack");
    expect(timeoutError(15_000).message).toMatch(/within 15 s.*--tunnel-timeout.*--no-tunnel/);
  });

  it("redacts labelled tokens even when the token itself is unknown", () => {
    expect(redact(`Your authtoken: ${TOKEN}`)).toBe("Your authtoken: [redacted]");
  });
});

describe("tunnel supervisor", () => {
  /** A provider whose tunnels report status on demand and get a new URL per session. */
  function scriptedProvider(failOn: number[] = []) {
    const sessions: Array<{ options: TunnelOptions; closed: boolean }> = [];
    const provider: TunnelProvider = {
      name: "scripted",
      needsAuthtoken: false,
      async open(options) {
        const n = sessions.length;
        if (failOn.includes(n)) {
          sessions.push({ options, closed: true });
          throw new Error(`session ${n} refused`);
        }
        const session = { options, closed: false };
        sessions.push(session);
        const tunnel: Tunnel = {
          url: `https://session-${n}.example`,
          async close() {
            session.closed = true;
          },
        };
        return tunnel;
      },
    };
    return { provider, sessions };
  }

  const waitUntil = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(check()).toBe(true);
  };

  it("reports a drop and a restore within the grace period", async () => {
    const { provider, sessions } = scriptedProvider();
    const notices: TunnelNotice[] = [];
    const tunnel = await openSupervisedTunnel({
      provider,
      tunnel: { upstream: "http://127.0.0.1:1", connectTimeoutMs: 1000 },
      graceMs: 10_000,
      path: "/webhooks",
      onNotice: (n) => notices.push(n),
    });
    sessions[0]?.options.onStatus?.("closed");
    sessions[0]?.options.onStatus?.("closed"); // the SDK repeats it after each failed retry
    sessions[0]?.options.onStatus?.("connected");
    expect(notices.map((n) => n.state)).toEqual(["down", "restored"]);
    await tunnel.close();
    expect(sessions[0]?.closed).toBe(true);
    expect(notices.at(-1)).toEqual({ state: "closed", url: "https://session-0.example" });
  });

  it("opens a fresh session after the grace period and warns when the URL changed", async () => {
    const { provider, sessions } = scriptedProvider([1]);
    const notices: TunnelNotice[] = [];
    const tunnel = await openSupervisedTunnel({
      provider,
      tunnel: { upstream: "http://127.0.0.1:1", connectTimeoutMs: 1000 },
      graceMs: 20,
      path: "/webhooks",
      onNotice: (n) => notices.push(n),
    });
    sessions[0]?.options.onStatus?.("closed");
    await waitUntil(() => notices.some((n) => n.state === "url-changed"));
    expect(notices.map((n) => n.state)).toEqual([
      "down",
      "reconnecting",
      "reopen-failed",
      "reconnecting",
      "url-changed",
    ]);
    expect(notices.at(-1)).toMatchObject({ from: "https://session-0.example", to: "https://session-2.example" });
    expect(tunnel.url).toBe("https://session-2.example");
    expect(sessions[0]?.closed).toBe(true);
    // Late news from a replaced session is ignored.
    sessions[0]?.options.onStatus?.("closed");
    expect(notices.at(-1)?.state).toBe("url-changed");
    await tunnel.close();
  });
});
