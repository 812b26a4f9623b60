/** Raw HTTP requests for tests, with exact bytes and headers (node:http, no client niceties). */
import { request } from "node:http";
import { connect } from "node:net";
import { sign } from "../../src/core/signature.js";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function post(
  url: string,
  headers: Record<string, string>,
  body: Buffer | string,
  method = "POST",
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A body and OpenMail's headers, signed with `secret` at `timestamp` (default now). */
export function signedEvent(
  secret: string,
  event: Record<string, unknown>,
  options: { timestamp?: number; body?: Buffer } = {},
): { headers: Record<string, string>; body: Buffer } {
  const body = options.body ?? Buffer.from(JSON.stringify(event));
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      "X-Timestamp": timestamp,
      "X-Signature": sign(secret, timestamp, body),
      "X-Event-Id": String(event.event_id ?? ""),
    },
  };
}

export function messageEvent(overrides: Record<string, unknown> = {}, message: Record<string, unknown> = {}) {
  return {
    event: "message.received",
    event_id: `evt_${Math.random().toString(16).slice(2, 14)}`,
    occurred_at: "2026-11-26T10:05:00.000Z",
    delivered_at: "2026-11-26T10:05:01.000Z",
    attempt: 1,
    inbox_id: "inb_main",
    thread_id: "thr_1",
    message: {
      id: "msg_1",
      rfc_message_id: "<a@b>",
      from: "ana@example.com",
      to: "support@acme.openmail.sh",
      cc: [],
      subject: "Hello",
      body_text: "Hi there",
      attachments: [],
      received_at: "2026-11-26T10:05:00.000Z",
      ...message,
    },
    ...overrides,
  };
}

/** Everything a raw socket receives until the server closes it (or `timeoutMs`). */
export function rawExchange(
  port: number,
  writes: Array<{ afterMs: number; data: string | Buffer }>,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
    for (const { afterMs, data } of writes) setTimeout(() => socket.writable && socket.write(data), afterMs);
    setTimeout(() => socket.destroy(), timeoutMs).unref();
  });
}
