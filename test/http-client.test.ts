import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient } from "../src/io/http-client.js";

let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
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
