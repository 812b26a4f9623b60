/**
 * The framework examples in examples/, each served on 127.0.0.1 and checked the way an app author
 * would check theirs: `send-test --scenario all` against it must pass every scenario. Express,
 * Fastify, Hono and the Next.js-style route handler run here on Node (the last two through a minimal
 * fetch adapter); the Cloudflare-Workers-style handler is bundled with the `worker` condition and
 * runs in edge-runtime's VM, a Web-standard runtime without node:crypto.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { EdgeRuntime, runServer } from "edge-runtime";
import { build } from "esbuild";
import { afterEach, describe, expect, it } from "vitest";
import { createApp as createExpressApp } from "../examples/express/app.js";
import { createApp as createFastifyApp } from "../examples/fastify/app.js";
import { createApp as createHonoApp } from "../examples/hono/app.js";
import { POST } from "../examples/nextjs/app/api/openmail/route.js";
import { serveFetch } from "../examples/shared/serve-fetch.js";
import { runCli } from "./helpers/cli.js";

const SECRET = "whsec_examples_0123456789";
const PATH = "/webhooks/openmail";
const closers: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  closers.push(() => new Promise((done) => server.close(done)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
}

async function expectEveryScenarioPasses(url: string, secret = SECRET) {
  const result = await runCli(["send-test", "--url", url, "--secret", secret, "--scenario", "all"]);
  expect(result.stderr + result.stdout).not.toMatch(/fail/i);
  expect(result.code).toBe(0);
  // All eleven scenarios ran (their names appear in the table).
  for (const name of ["valid", "missing-headers", "raw-body", "retry", "unknown-event", "lifecycle"]) {
    expect(result.stdout).toContain(name);
  }
}

describe("examples pass send-test --scenario all", () => {
  it("Express with express.raw()", async () => {
    await expectEveryScenarioPasses(await listenOn(createServer(createExpressApp(["whsec_new_not_yet_used", SECRET]))));
  });

  it("Fastify with a raw-body content parser", async () => {
    const app = createFastifyApp(SECRET);
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    await expectEveryScenarioPasses(`${address}${PATH}`);
  });

  it("Hono with c.req.text()", async () => {
    const app = createHonoApp(() => SECRET);
    await expectEveryScenarioPasses(await listenOn(serveFetch((request) => app.fetch(request))));
  });

  it("a Next.js-style route handler (Web Request), during a secret rotation", async () => {
    process.env.OPENMAIL_WEBHOOK_SECRET = "whsec_after_rotation";
    process.env.OPENMAIL_WEBHOOK_SECRET_PREVIOUS = SECRET;
    try {
      await expectEveryScenarioPasses(await listenOn(serveFetch(POST)));
    } finally {
      delete process.env.OPENMAIL_WEBHOOK_SECRET;
      delete process.env.OPENMAIL_WEBHOOK_SECRET_PREVIOUS;
    }
  });

  it("a Cloudflare-Workers-style fetch handler, in edge-runtime's VM", async () => {
    const bundle = await build({
      entryPoints: [resolve(import.meta.dirname, "../examples/cloudflare-worker/worker.ts")],
      bundle: true,
      write: false,
      format: "iife",
      globalName: "worker",
      platform: "browser",
      conditions: ["worker"],
      // Without the repository's tsconfig paths, "openmail-hooks" resolves as a package self-reference
      // through the exports map, under the worker condition: to dist/lib/web.js, as an app's bundle would.
      tsconfigRaw: {},
      metafile: true,
      logLevel: "silent",
    });
    expect(Object.keys(bundle.metafile.inputs)).toContain("dist/lib/web.js");
    const env = JSON.stringify({ OPENMAIL_WEBHOOK_SECRET: SECRET });
    const runtime = new EdgeRuntime({
      initialCode: `${bundle.outputFiles[0]?.text}
        addEventListener("fetch", (event) => event.respondWith(worker.default.fetch(event.request, ${env})));`,
    });
    const server = await runServer({ runtime, port: 0, host: "127.0.0.1" });
    closers.push(() => server.close());
    expect(String(await runtime.evaluate("typeof Buffer"))).toBe("undefined");
    await expectEveryScenarioPasses(`${server.url.replace(/\/$/, "")}${PATH}`);
  });
});
