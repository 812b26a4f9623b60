/** --json: every failure is also one `error` record on stdout (issue 10 item 9). */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { closedPort } from "./helpers/servers.js";

const env = { OPENMAIL_WEBHOOK_SECRET: "whsec_json_errors_1234567890" };

function onlyRecord(stdout: string) {
  const lines = stdout.trim().split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? "{}");
}

describe("--json failures", () => {
  it("listen without an ngrok authtoken", async () => {
    const result = await runCli(["listen", "--json", "--port", "0"], {
      env: { ...env, XDG_CONFIG_HOME: "/nonexistent", HOME: "/nonexistent", NGROK_CONFIG: "/nonexistent/ngrok.yml" },
    });
    expect(result.code).toBe(2);
    expect(onlyRecord(result.stdout)).toMatchObject({ type: "error", schemaVersion: 1, code: "tunnel_failed" });
  });

  it("listen on a port in use", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = String((blocker.address() as { port: number }).port);
    try {
      const result = await runCli(["listen", "--json", "--no-tunnel", "--port", port], { env });
      expect(result.code).toBe(2);
      const record = onlyRecord(result.stdout);
      expect(record).toMatchObject({ type: "error", code: "port_in_use" });
      expect(record.message).toMatch(/already in use/);
    } finally {
      blocker.close();
    }
  });

  it("send-test with nothing at the URL, and a bad option value", async () => {
    const port = await closedPort();
    const refused = await runCli(["send-test", "--json", "--url", `http://127.0.0.1:${port}/webhooks`], { env });
    expect(refused.code).toBe(2);
    expect(onlyRecord(refused.stdout)).toMatchObject({ type: "error", code: "connection_failed" });
    const bad = await runCli(["listen", "--json", "--port", "abc"], { env });
    expect(bad.code).toBe(2);
    expect(onlyRecord(bad.stdout)).toMatchObject({ type: "error", code: "usage_error" });
  });

  it("listen --help names every record type", async () => {
    const help = await runCli(["listen", "--help"]);
    for (const type of ["ready", "arrival", "event", "rejected", "ignored", "warning", "error", "summary"]) {
      expect(help.stdout).toContain(type);
    }
  });
});
