/**
 * Handlers that answer in ways an HTTP client cannot use (notes-t3 F14): the line says what the
 * handler did, not "closed the connection without an answer".
 */

import type { AddressInfo } from "node:net";
import { createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli } from "./helpers/cli.js";

const SECRET = "whsec_cut_short_0123456789ab";
const cleanups = cleanupAfterEach();

/** A raw TCP handler: reads one request (headers and Content-Length body), then `answer` acts on the socket. */
async function rawHandler(answer: (socket: Socket) => void): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let received = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.subarray(0, end).toString("latin1"))?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      received = Buffer.alloc(0);
      requests += 1;
      answer(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests: () => requests };
}

const sendTest = (url: string) => runCli(["send-test", "--url", url, "--secret", SECRET, "--timeout", "10s"]);

describe("answers cut short or never finished", () => {
  it("a 100 Continue and then silence: says so, not that the connection was closed", async () => {
    const handler = await rawHandler((socket) => socket.write("HTTP/1.1 100 Continue\r\n\r\n"));
    const result = await sendTest(handler.url);
    expect(handler.requests()).toBe(1);
    expect(result.stdout).toMatch(
      /sent "100 Continue" \(not asked for\) or other bytes that are not an answer, and no final status/,
    );
    expect(result.stdout).not.toMatch(/closed the connection without an answer/);
    expect(result.code).toBe(1);
  });

  it("a 200 whose body is cut short by a reset: answered 200, then reset, with the bytes that came", async () => {
    const handler = await rawHandler((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nok");
      setTimeout(() => socket.resetAndDestroy(), 50);
    });
    const result = await sendTest(handler.url);
    expect(handler.requests()).toBe(1);
    expect(result.stdout).toMatch(
      /answered 200, then the connection was reset before the body ended \(2 bytes of it arrived\)/,
    );
    expect(result.stdout).not.toMatch(/without an answer/);
    expect(result.code).toBe(1);
  });

  it("a 200 whose body is cut short by a close: answered 200, then closed", async () => {
    const handler = await rawHandler((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a bit"),
    );
    const result = await sendTest(handler.url);
    expect(result.stdout).toMatch(
      /answered 200, then the connection closed before the body ended \(10 bytes of it arrived\)/,
    );
  });

  it("a connection closed before any answer is still called that", async () => {
    const handler = await rawHandler((socket) => socket.end());
    const result = await sendTest(handler.url);
    expect(result.stdout).toMatch(/closed the connection without an answer/);
  });
});
