/** send-test as a developer sees it (issue 10 items 6, 7, 9): secret shown, right hints, progress, Ctrl-C. */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, startCli } from "./helpers/cli.js";
import { startInPty } from "./helpers/pty.js";
import { openMailHandler, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_sendtest_ux_5f1e2d3c4b5a";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function server(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const started = await startServer(...args);
  cleanups.push(() => started.close());
  return started;
}

/**
 * A handler that answers 200 after 2.5 s: the once-a-second check sees the second request quiet for
 * over 1 s with a second to spare either side (at 1.5 s it could land with the tick, and no line was drawn).
 */
function slowServer(): Promise<TestServer> {
  return server(async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    return { status: 200, body: "ok" };
  });
}

describe("send-test: which secret, and the likelier cause first", () => {
  it("says which secret it signed with (masked, with its source) and blames a different secret first", async () => {
    const handler = await server(openMailHandler("whsec_the_handlers_own_secret"));
    const result = await runCli(["send-test", "--url", handler.url], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `signing with secret ********4b5a (${SECRET.length} chars) from environment (OPENMAIL_WEBHOOK_SECRET)`,
    );
    expect(result.stderr + result.stdout).not.toContain(SECRET);
    expect(result.stdout).toMatch(
      /hint: the signature verifies with this secret \(the one from environment \(OPENMAIL_WEBHOOK_SECRET\)\), so the handler most likely uses a different secret/,
    );
  });

  it("a 5xx to the valid case gets the reason for a 5xx, not the one for bad headers; statuses are numbers", async () => {
    const handler = await server(() => ({ status: 503, body: "maintenance" }));
    const result = await runCli(["send-test", "--url", handler.url, "--scenario", "valid", "--json"], { env });
    expect(result.code).toBe(1);
    const [row] = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(row).toMatchObject({ type: "scenario", schemaVersion: 1, status: 503, got: "503 Service Unavailable" });
    expect(row.note).toMatch(/unavailable/);
    expect(row.note).not.toMatch(/bad or missing header|crash/);
  });
});

/** Run the CLI, read its first chunk of standard output, close the pipe as `head` does. */
async function cutShort(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = startCli(args, { env });
  cleanups.push(async () => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  await once(child.stdout as NonNullable<typeof child.stdout>, "data");
  child.stdout?.destroy();
  const [code] = await once(child, "exit");
  return { code: code as number, stderr };
}

describe("send-test: a reader that goes away", () => {
  it("`--json | head -1`: sending stops, it is said on standard error, and the exit code is 141, not 0", async () => {
    const handler = await server(() => ({ status: 200, body: "ok" }));
    // Read the first record, then close the pipe as `head -1` does.
    const { code, stderr } = await cutShort([
      "send-test",
      "--url",
      handler.url,
      "--count",
      "5000",
      "--concurrency",
      "2",
      "--json",
    ]);
    expect(stderr).toContain("standard output was closed by its reader: stopping as on Ctrl-C");
    expect(code).toBe(141);
    expect(handler.requests.length).toBeLessThan(5000);
  });
});

describe("a one-shot printer whose reader goes away (`| head -3`)", () => {
  it("`send-test --print` stops quietly (nothing to stop, nothing said), exit 141 as documented", async () => {
    // 2,000 printed requests are ~2 MB: far more than a pipe holds, so the reader is gone mid-way.
    for (const args of [
      ["send-test", "--print", "--count", "2000"],
      ["send-test", "--print", "--count", "2000", "--json"],
    ]) {
      const { code, stderr } = await cutShort(args);
      expect(code).toBe(141);
      expect(stderr).toBe("");
    }
  });

  it("standard output on a full disk is still said (it is an error, not a reader that had enough), exit 1", async () => {
    const result = await runCli(["send-test", "--print"], { env, via: ["sh", "-c", 'exec "$0" "$@" >/dev/full'] });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("openmail-hooks: standard output could not be written (ENOSPC)\n");
  });
});

describe("send-test: long runs are never silent", () => {
  it("shows which case it waits on, and Ctrl-C prints the cases that finished", async () => {
    const slow = await server(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return openMailHandler(SECRET)(request);
    });
    const pty = startInPty(["send-test", "--url", slow.url, "--scenario", "valid", "--scenario", "retry"], {
      columns: 100,
      env,
    });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    await pty.waitForText(/retry: [^\n]*\(2\/3\) · waiting \d/);
    pty.child.stdin?.write("\u0003");
    expect(await pty.exited).toBe(130);
    const shown = pty.output();
    expect(shown).toMatch(/interrupted \(Ctrl-C\): 1 of 3 checks finished/);
    expect(shown).toMatch(/valid: signed event\s+2xx within 15 s\s+200 OK\s+✓ pass/);
  });

  it("TERM=dumb: the progress line is overwritten with spaces, never with escape codes the terminal cannot run", async () => {
    const slow = await slowServer();
    const pty = startInPty(["send-test", "--url", slow.url, "--count", "2", "--concurrency", "1"], {
      columns: 100,
      env: { ...env, TERM: "dumb" },
    });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    await pty.waitForText(/1\/2 answered · waiting \d/);
    expect(await pty.exited).toBe(0);
    expect(pty.output()).not.toContain("\u001b");
    expect(pty.output()).toMatch(/\r {10,}\r/);
  });

  it("--count on a slow handler: a waiting line, and Ctrl-C prints the summary so far", async () => {
    const slow = await slowServer();
    const pty = startInPty(["send-test", "--url", slow.url, "--count", "3", "--concurrency", "1"], {
      columns: 100,
      env,
    });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    await pty.waitForText(/✓ 200 OK/);
    await pty.waitForText(/1\/3 answered · waiting \d/);
    pty.child.stdin?.write("\u0003");
    expect(await pty.exited).toBe(130);
    // On a loaded machine the second answer may land before the Ctrl-C does: read how many finished.
    const answered = Number(/interrupted \(Ctrl-C\): (\d) of 3 answered, 1 in flight/.exec(pty.output())?.[1]);
    expect(answered).toBeGreaterThanOrEqual(1);
    // The answered ones and the one in flight when Ctrl-C came (counted as interrupted).
    expect(pty.output()).toContain(`Sent ${answered + 1} to `);
    expect(pty.output()).toContain(`passed ${answered} · failed 0 · interrupted 1`);
  });
});

describe("a handler's answer is shown as listen shows it", () => {
  it("an HTML error page by its title, not the whole page; the --json record keeps the body's start", async () => {
    const page =
      "<!DOCTYPE html><html><head><title>Internal Error</title><style>p{}</style></head><body><p>trace</p></body></html>";
    const handler = await server(() => ({ status: 500, body: page, headers: { "content-type": "text/html" } }));
    const shown = await runCli(["send-test", "--url", handler.url], { env });
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(/^ {4}response: Internal Error \(HTML page\)$/m);
    expect(shown.stdout).not.toContain("<!DOCTYPE");
    const json = await runCli(["send-test", "--url", handler.url, "--json"], { env });
    const delivery = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .find((record) => record.type === "delivery");
    expect(delivery.response.preview).toBe(page);
  });
});
