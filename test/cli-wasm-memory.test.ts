/**
 * Under a virtual-memory limit (`ulimit -v`) V8 cannot reserve WebAssembly memory, and undici's HTTP
 * parser is WebAssembly (notes-t3 F17): a one-line error saying what to do, never a stack trace.
 */
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { runCli } from "./helpers/cli.js";

const cleanups = cleanupAfterEach();
const server = serverStarter(cleanups);
// 4 GB of address space: Node runs, but a WebAssembly memory (about 10 GB reserved) does not fit.
const LIMITED = ["sh", "-c", 'ulimit -v 4000000; exec "$0" "$@"'];
const noStackTrace = (text: string) => {
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toContain("node:internal");
  expect(text).not.toMatch(/Node\.js v\d/);
};

describe("WebAssembly without memory (ulimit -v)", () => {
  it("inboxes: one line naming the limit, exit 2, environment_error in --json", async () => {
    const api = await server(() => ({
      status: 200,
      body: '{"data":[]}',
      headers: { "content-type": "application/json" },
    }));
    const env = { OPENMAIL_API_KEY: "om_live_test_key_0123456789" };
    const plain = await runCli(["inboxes", "--api-base", api.url], { env, via: LIMITED });
    noStackTrace(plain.stderr);
    expect(plain.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^openmail-hooks: the HTTP client could not load: .*`ulimit -v unlimited`/),
    ]);
    expect(plain.code).toBe(2);
    const json = await runCli(["inboxes", "--json", "--api-base", api.url], { env, via: LIMITED });
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ type: "error", code: "environment_error" });
    expect(json.code).toBe(2);
    // The same command without the limit works: the failure above is the limit's.
    const free = await runCli(["inboxes", "--api-base", api.url], { env });
    expect(free.code).toBe(0);
  });

  it("send-test: the delivery says it was not sent and what to do; no stack trace", async () => {
    const handler = await server();
    const result = await runCli(["send-test", "--url", handler.url, "--secret", "whsec_wasm_0123456789abcdef"], {
      via: LIMITED,
    });
    noStackTrace(result.stdout + result.stderr);
    expect(result.stdout).toMatch(/not sent: the HTTP client could not load: .*ulimit -v/);
    expect(result.stdout).not.toMatch(/may still have received the request/);
    expect(handler.requests).toHaveLength(0);
    expect(result.code).toBe(1);
  });
});
