import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient, loadUndici } from "../src/io/http-client.js";
import { runCli, tempDir } from "./helpers/cli.js";

let server: Server;
let base = "";
/** Paths in the order their requests arrived, and the most requests one connection had open at once. */
const arrived: string[] = [];
let mostOnOneConnection = 0;
const openOn = new WeakMap<object, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    arrived.push(req.url ?? "");
    const open = (openOn.get(req.socket) ?? 0) + 1;
    openOn.set(req.socket, open);
    mostOnOneConnection = Math.max(mostOnOneConnection, open);
    res.on("close", () => openOn.set(req.socket, (openOn.get(req.socket) ?? 1) - 1));
    req.resume();
    if (req.url?.startsWith("/slow")) {
      req.on("end", () => setTimeout(() => res.end("slow"), 150));
      return;
    }
    if (req.url === "/hang") return; // never answers: only the client's deadline ends it
    req.on("end", () => {
      if (req.url === "/early-hints") {
        // A 103 first, then the real answer: only the final status and its headers count.
        res.writeEarlyHints({ link: "</style.css>; rel=preload" });
        res.setHeader("X-Repeated", ["one", "two"]);
        res.setHeader("X-Mixed-Case", "kept");
        res.writeHead(503).end("x".repeat(5000));
      } else if (req.url === "/moved") {
        res.writeHead(302, { location: "https://example.test/webhooks/" });
        res.end("moved");
      } else res.writeHead(200, { "x-answer": "yes" }).end("fine");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("http client", () => {
  it("in a load run a success is counted only, while a redirect keeps its body and its Location", async () => {
    const client = createHttpClient({ timeoutMs: 5_000, connections: 2 });
    try {
      const ok = await client.post(`${base}/ok`, {}, Buffer.from("{}"));
      expect(ok).toMatchObject({ kind: "response", status: 200, bodyPreview: "", bodyBytes: 4 });
      const moved = await client.post(`${base}/moved`, {}, Buffer.from("{}"));
      expect(moved).toMatchObject({ kind: "response", status: 302, bodyPreview: "moved" });
      expect(moved.kind === "response" && moved.headers.location).toBe("https://example.test/webhooks/");
    } finally {
      await client.close();
    }
  });

  it("a failure after an informational answer keeps its own status, headers (names in lower case, repeats joined) and the first part of its body", async () => {
    const client = createHttpClient({ timeoutMs: 5_000, previewBytes: 100 });
    try {
      const outcome = await client.post(`${base}/early-hints`, {}, Buffer.from("{}"));
      expect(outcome).toMatchObject({ kind: "response", status: 503, bodyPreview: "x".repeat(100) });
      const headers = (outcome as { headers: Record<string, string> }).headers;
      expect(headers["x-repeated"]).toBe("one, two");
      expect(headers["x-mixed-case"]).toBe("kept");
      expect(headers.link).toBeUndefined();
      // The connection is still usable after the body was cut short.
      expect(await client.post(`${base}/ok`, {}, Buffer.from("{}"))).toMatchObject({ kind: "response", status: 200 });
    } finally {
      await client.close();
    }
  });

  it("keeping successes (listen relays them) keeps their body and headers; send() hands the same outcome to a callback", async () => {
    const client = createHttpClient({ timeoutMs: 5_000, keepSuccessBodies: true });
    try {
      const outcome = await new Promise((resolve) => client.send(`${base}/ok`, {}, Buffer.from("{}"), resolve));
      expect(outcome).toMatchObject({ kind: "response", status: 200, bodyPreview: "fine" });
      expect((outcome as { headers: Record<string, string> }).headers["x-answer"]).toBe("yes");
    } finally {
      await client.close();
    }
  });

  it("a clean answer says its connection is free, and a request sent from inside that callback goes out on it; a timeout does not say so", async () => {
    const client = createHttpClient({ timeoutMs: 300, connections: 1 });
    arrived.length = 0;
    mostOnOneConnection = 0;
    try {
      const first = await new Promise<[unknown, boolean | undefined, unknown]>((resolve) => {
        client.send(`${base}/ok?a`, {}, Buffer.from("{}"), (outcome, connectionFree) => {
          // Sent while undici is still finishing the first answer, on the one connection there is.
          client.send(`${base}/ok?b`, {}, Buffer.from("{}"), (second) => resolve([outcome, connectionFree, second]));
        });
      });
      expect(first[0]).toMatchObject({ kind: "response", status: 200 });
      expect(first[1]).toBe(true);
      expect(first[2]).toMatchObject({ kind: "response", status: 200 });
      expect(arrived).toEqual(["/ok?a", "/ok?b"]);
      expect(mostOnOneConnection).toBe(1);
      const [timeout, free] = await new Promise<[unknown, boolean | undefined]>((resolve) =>
        client.send(`${base}/hang`, {}, Buffer.from("{}"), (outcome, connectionFree) =>
          resolve([outcome, connectionFree]),
        ),
      );
      expect(timeout).toMatchObject({ kind: "timeout" });
      expect(free).toBe(false);
    } finally {
      await client.close();
    }
  });

  it("more requests than connections wait their turn in order, one at a time on each connection", async () => {
    const client = createHttpClient({ timeoutMs: 5_000, connections: 2 });
    arrived.length = 0;
    mostOnOneConnection = 0;
    try {
      const paths = ["/slow?1", "/slow?2", "/ok?3", "/ok?4", "/slow?5", "/ok?6"];
      const outcomes = await Promise.all(paths.map((path) => client.post(`${base}${path}`, {}, Buffer.from("{}"))));
      expect(outcomes.map((outcome) => outcome.kind === "response" && outcome.status)).toEqual(paths.map(() => 200));
      // The first two take both connections; the others are sent as those free up, in order.
      expect(arrived.slice(0, 2).sort()).toEqual(["/slow?1", "/slow?2"]);
      expect(arrived.slice(2)).toEqual(["/ok?3", "/ok?4", "/slow?5", "/ok?6"]);
      expect(mostOnOneConnection).toBe(1);
    } finally {
      await client.close();
    }
  });

  it("a request whose deadline passes while it waits for a connection is a timeout, and is never sent", async () => {
    const client = createHttpClient({ timeoutMs: 300, connections: 1 });
    arrived.length = 0;
    try {
      const [hung, waited] = await Promise.all([
        client.post(`${base}/hang`, {}, Buffer.from("{}")),
        client.post(`${base}/ok?never`, {}, Buffer.from("{}")),
      ]);
      expect([hung.kind, waited.kind]).toEqual(["timeout", "timeout"]);
      // The connection is free again afterwards.
      expect(await client.post(`${base}/ok?after`, {}, Buffer.from("{}"))).toMatchObject({ status: 200 });
      expect(arrived).toEqual(["/hang", "/ok?after"]);
    } finally {
      await client.close();
    }
  });

  it("cuts every hung exchange at its deadline while quick ones come and go (the sweep reuses their places)", async () => {
    const client = createHttpClient({ timeoutMs: 400, connections: 8 });
    try {
      const started = performance.now();
      const firstHung = client.post(`${base}/hang`, {}, Buffer.from("{}"));
      const quick = [];
      for (let i = 0; i < 30; i++) quick.push(await client.post(`${base}/ok`, {}, Buffer.from("{}")));
      const secondHung = client.post(`${base}/hang`, {}, Buffer.from("{}"));
      quick.push(await client.post(`${base}/ok`, {}, Buffer.from("{}")));
      const hung = await Promise.all([firstHung, secondHung]);
      expect(quick.every((outcome) => outcome.kind === "response" && outcome.status === 200)).toBe(true);
      expect(hung.map((outcome) => outcome.kind)).toEqual(["timeout", "timeout"]);
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await client.close();
    }
  });
});

describe("loading undici", () => {
  it("takes undici's own Client and header parser from their modules, or from its entry when they are not there", async () => {
    const undici = await import("undici");
    const direct = await loadUndici();
    expect(direct.Client).toBe(undici.Client);
    expect(direct.parseHeaders).toBe(undici.util.parseHeaders);
    const moved = await loadUndici({ client: "undici/lib/no-such-client.js", util: "undici/lib/core/util.js" });
    expect(moved.Client).toBe(undici.Client);
    const raw = [Buffer.from("Location"), Buffer.from("/next")];
    expect(moved.parseHeaders(raw)).toEqual(undici.util.parseHeaders(raw));
  });

  it("a sending command loads the Client without undici's index (fetch, WebSocket, ...)", async () => {
    const dir = tempDir();
    const hook = join(dir, "modules.cjs");
    writeFileSync(
      hook,
      `process.on("exit", () => { const loaded = Object.keys(require.cache).filter((k) => k.includes("undici")); require("fs").writeSync(2, "undici modules " + loaded.length + ", index " + loaded.some((k) => /undici[\\/]index\\.js$/.test(k)) + "\\n"); });`,
    );
    const result = await runCli(["send-test", "--count", "2", "--url", `${base}/ok`], {
      env: { OPENMAIL_WEBHOOK_SECRET: "whsec_load_test", NODE_OPTIONS: `--require ${hook}` },
    });
    expect(result.stdout).toMatch(/passed 2/);
    expect(result.stderr).toMatch(/undici modules [1-9]\d*, index false/);
  });
});
