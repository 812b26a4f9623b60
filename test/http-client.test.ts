import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient } from "../src/io/http-client.js";

let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/moved") {
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
});
