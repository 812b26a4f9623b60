/**
 * A local fake of OpenMail's REST API (../../../shared/openmail-api-inboxes.md), written from the
 * documentation, independently of the client under test: bearer auth, the {error, message} body,
 * key scopes (403 for pod- and inbox-scoped keys changing a webhook), 422 invalid_webhook_url for
 * non-HTTPS or private URLs, a secret returned only when generated (first URL, rotation), 429 with
 * Retry-After for sends, Idempotency-Key, and a webhook/test that really signs and POSTs an event
 * to the registered URL. Fake tunnel names (https://<port>.tunnel.test) are dialled on 127.0.0.1,
 * the way a tunnel's edge would carry them.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FAKE_TUNNEL_DOMAIN = "tunnel.test";

export type KeyScope = { kind: "account" } | { kind: "pod"; podId: string } | { kind: "inbox"; inboxId: string };

export interface FakeInbox {
  id: string;
  podId: string;
  address: string;
  displayName: string | null;
  webhookUrl: string | null;
  createdAt: string;
}

export interface ApiCall {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface Delivery {
  inboxId: string;
  url: string;
  status: number | null;
  error?: string;
}

export interface FakeOpenMail {
  url: string;
  inboxes: Map<string, FakeInbox>;
  /** The current signing secret of each inbox's own webhook. */
  secrets: Map<string, string>;
  calls: ApiCall[];
  deliveries: Delivery[];
  addInbox(inbox: Partial<FakeInbox> & { id: string }, secret?: string): FakeInbox;
  /** Answer the next matching request with this instead (for errors the happy path never shows). */
  failNext(match: { method?: string; path?: RegExp }, reply: FakeReply): void;
  /**
   * Handle the next matching request as usual (a send goes out, its key is remembered), then lose
   * the answer: never write it ("hang"), or destroy the connection ("reset").
   */
  loseNextAnswer(match: { method?: string; path?: RegExp }, how: "hang" | "reset"): void;
  /** Handle the next matching request as usual (the change is made at once), and answer it only after delayMs. */
  answerNextLate(match: { method?: string; path?: RegExp }, delayMs: number): void;
  /** Sends allowed per inbox before 429 (the documented 10 a minute). */
  sendLimit: number;
  retryAfterSeconds: number;
  sends: Array<{ inboxId: string; body: Record<string, unknown>; idempotencyKey: string }>;
  close(): Promise<void>;
}

export interface FakeReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Hold the answer this long (for client timeouts). */
  delayMs?: number;
}

export async function startFakeOpenMail(keys: Record<string, KeyScope>): Promise<FakeOpenMail> {
  const inboxes = new Map<string, FakeInbox>();
  const secrets = new Map<string, string>();
  const calls: ApiCall[] = [];
  const deliveries: Delivery[] = [];
  const overrides: Array<{ match: { method?: string; path?: RegExp }; reply: FakeReply }> = [];
  const lostAnswers: Array<{ match: { method?: string; path?: RegExp }; how: "hang" | "reset" }> = [];
  const lateAnswers: Array<{ match: { method?: string; path?: RegExp }; delayMs: number }> = [];
  const matches = (match: { method?: string; path?: RegExp }, method: string, path: string) =>
    (!match.method || match.method === method) && (!match.path || match.path.test(path));
  const sends: FakeOpenMail["sends"] = [];
  const sendCount = new Map<string, number>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const state = { sendLimit: 10, retryAfterSeconds: 7 };

  const error = (status: number, code: string, message: string): FakeReply => ({
    status,
    body: { error: code, message },
  });
  const newSecret = () => `whsec_${randomBytes(18).toString("hex")}`;

  const handle = async (
    method: string,
    path: string,
    key: string | undefined,
    raw: string,
    headers: IncomingMessage["headers"],
  ): Promise<FakeReply> => {
    const scope = key === undefined ? undefined : keys[key];
    if (!scope) return error(401, "unauthorized", "Missing, invalid or expired API key");
    const url = new URL(path, "http://fake");
    const canSee = (inbox: FakeInbox) =>
      scope.kind === "account" ||
      (scope.kind === "pod" && scope.podId === inbox.podId) ||
      (scope.kind === "inbox" && scope.inboxId === inbox.id);

    if (method === "GET" && url.pathname === "/v1/inboxes") {
      const limit = Math.min(100, Number(url.searchParams.get("limit") ?? 50));
      const offset = Number(url.searchParams.get("offset") ?? 0);
      const podId = url.searchParams.get("podId");
      const visible = [...inboxes.values()].filter((inbox) => canSee(inbox) && (!podId || inbox.podId === podId));
      return { status: 200, body: { data: visible.slice(offset, offset + limit), total: visible.length } };
    }
    const match = /^\/v1\/inboxes\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) return error(404, "not_found", "Not found");
    const inbox = inboxes.get(decodeURIComponent(match[1] as string));
    if (!inbox || !canSee(inbox)) return error(404, "not_found", "Inbox not found");
    const rest = match[2] ?? "";
    const scopedOut = () =>
      error(403, "forbidden", "This API key cannot modify inbox webhook configuration (account-wide key required)");

    if (method === "GET" && rest === "") return { status: 200, body: inbox };
    if (method === "PATCH" && rest === "") {
      if (scope.kind !== "account") return scopedOut();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return error(400, "invalid_request", "Body must be JSON");
      }
      const extra = Object.keys(body).filter((name) => name !== "webhookUrl" && name !== "displayName");
      if (extra.length > 0) return error(400, "invalid_request", `Unknown properties: ${extra.join(", ")}`);
      let generated: string | undefined;
      if ("webhookUrl" in body) {
        const webhookUrl = body.webhookUrl;
        if (webhookUrl !== null) {
          if (typeof webhookUrl !== "string" || !publicHttpsUrl(webhookUrl)) {
            return error(422, "invalid_webhook_url", "Webhook URL must be a public HTTPS URL");
          }
          if (!secrets.has(inbox.id)) {
            generated = newSecret();
            secrets.set(inbox.id, generated);
          }
        }
        inbox.webhookUrl = webhookUrl as string | null;
      }
      if (typeof body.displayName === "string" || body.displayName === null) inbox.displayName = body.displayName;
      return { status: 200, body: generated ? { ...inbox, webhookSecret: generated } : inbox };
    }
    if (method === "POST" && rest === "/webhook/rotate-secret") {
      if (scope.kind !== "account") return scopedOut();
      if (!inbox.webhookUrl) return error(400, "no_webhook_url", "Inbox has no webhook URL");
      const secret = newSecret();
      secrets.set(inbox.id, secret);
      return { status: 200, body: { webhookSecret: secret } };
    }
    if (method === "POST" && rest === "/webhook/test") {
      if (!inbox.webhookUrl) return error(400, "no_webhook_url", "Inbox has no webhook URL");
      const status = await deliver(inbox, testEvent(inbox));
      if (status !== null && status >= 200 && status < 300) {
        return { status: 200, body: { ok: true, message: `Test event delivered (${status})` } };
      }
      return error(
        502,
        "webhook_failed",
        status === null ? "Webhook endpoint could not be reached" : `Webhook endpoint returned ${status}`,
      );
    }
    if (method === "POST" && rest === "/send") {
      const idempotencyKey = headers["idempotency-key"];
      if (typeof idempotencyKey !== "string" || !idempotencyKey) {
        return error(400, "missing_idempotency_key", "Idempotency-Key header is required");
      }
      const remembered = idempotent.get(idempotencyKey);
      if (remembered) return remembered;
      const count = sendCount.get(inbox.id) ?? 0;
      if (count >= state.sendLimit) {
        return {
          ...error(429, "rate_limit_exceeded", "Send limit reached (10 per minute)"),
          headers: { "retry-after": String(state.retryAfterSeconds) },
        };
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return error(400, "invalid_request", "Body must be JSON");
      }
      if (typeof body.to !== "string" || typeof body.subject !== "string" || typeof body.body !== "string") {
        return error(422, "validation_error", "to, subject and body are required");
      }
      sendCount.set(inbox.id, count + 1);
      sends.push({ inboxId: inbox.id, body, idempotencyKey });
      const reply = { status: 200, body: { id: `msg_${randomBytes(6).toString("hex")}`, threadId: "thr_fake" } };
      idempotent.set(idempotencyKey, reply);
      // Mail to an inbox's own address comes back in as a real message.received.
      const recipient = [...inboxes.values()].find((candidate) => candidate.address === body.to);
      if (recipient?.webhookUrl) void deliver(recipient, receivedEvent(recipient, inbox, body));
      return reply;
    }
    return error(404, "not_found", "Not found");
  };

  /** POST a signed event to the inbox's webhook URL; its status, or null when unreachable. */
  const deliver = (inbox: FakeInbox, event: Record<string, unknown>): Promise<number | null> => {
    const url = inbox.webhookUrl as string;
    const secret = secrets.get(inbox.id) as string;
    const body = JSON.stringify(event);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
    const target = dialable(url);
    return new Promise((resolve) => {
      const done = (status: number | null, message?: string) => {
        deliveries.push({ inboxId: inbox.id, url, status, error: message });
        resolve(status);
      };
      if (!target) {
        done(null, "not dialable from the fake");
        return;
      }
      const req = request(
        target,
        {
          method: "POST",
          agent: false,
          timeout: 15_000,
          headers: {
            "content-type": "application/json",
            "x-timestamp": timestamp,
            "x-signature": signature,
            "x-event-id": String(event.event_id),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode ?? null));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err) => done(null, err.message));
      req.end(body);
    });
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const method = req.method ?? "";
      const path = req.url ?? "";
      calls.push({ method, path, headers: req.headers, body: raw });
      const auth = req.headers.authorization;
      const key = auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
      const overrideIndex = overrides.findIndex((o) => matches(o.match, method, path));
      const override = overrideIndex >= 0 ? overrides.splice(overrideIndex, 1)[0]?.reply : undefined;
      const reply = override ?? (await handle(method, path, key, raw, req.headers));
      const lostIndex = lostAnswers.findIndex((lost) => matches(lost.match, method, path));
      if (lostIndex >= 0) {
        const [lost] = lostAnswers.splice(lostIndex, 1);
        if (lost?.how === "reset") req.socket.destroy();
        return;
      }
      const lateIndex = lateAnswers.findIndex((late) => matches(late.match, method, path));
      if (lateIndex >= 0) {
        const [late] = lateAnswers.splice(lateIndex, 1);
        await new Promise((resolve) => setTimeout(resolve, late?.delayMs));
      }
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      if (res.destroyed) return;
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    inboxes,
    secrets,
    calls,
    deliveries,
    sends,
    get sendLimit() {
      return state.sendLimit;
    },
    set sendLimit(value) {
      state.sendLimit = value;
    },
    get retryAfterSeconds() {
      return state.retryAfterSeconds;
    },
    set retryAfterSeconds(value) {
      state.retryAfterSeconds = value;
    },
    addInbox(partial, secret) {
      const inbox: FakeInbox = {
        podId: "pod_main",
        address: `${partial.id}@acme.openmail.sh`,
        displayName: null,
        webhookUrl: null,
        createdAt: "2026-11-01T00:00:00.000Z",
        ...partial,
      };
      inboxes.set(inbox.id, inbox);
      if (secret) secrets.set(inbox.id, secret);
      return inbox;
    },
    failNext(match, reply) {
      overrides.push({ match, reply });
    },
    loseNextAnswer(match, how) {
      lostAnswers.push({ match, how });
    },
    answerNextLate(match, delayMs) {
      lateAnswers.push({ match, delayMs });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** OpenMail's validation as documented: HTTPS, and not a private or local address. */
function publicHttpsUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== "https:") return false;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return false;
  }
  if (/^(127\.|10\.|192\.168\.|169\.254\.|0\.)/.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host)) return false;
  if (host === "::1" || /^f[cd]/i.test(host) || /^fe80:/i.test(host)) return false;
  return host.includes(".");
}

/** Where the fake can really send: fake tunnel names go to their port on 127.0.0.1. */
function dialable(value: string): string | undefined {
  const url = new URL(value);
  const tunnel = new RegExp(`^(\\d+)\\.${FAKE_TUNNEL_DOMAIN.replace(".", "\\.")}$`).exec(url.hostname);
  if (!tunnel) return undefined;
  return `http://127.0.0.1:${tunnel[1]}${url.pathname}${url.search}`;
}

function testEvent(inbox: FakeInbox): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    event: "message.received",
    event_id: `evt_test_${randomBytes(6).toString("hex")}`,
    occurred_at: now,
    delivered_at: now,
    attempt: 1,
    inbox_id: inbox.id,
    thread_id: "thr_test",
    message: {
      id: `msg_test_${randomBytes(4).toString("hex")}`,
      rfc_message_id: "<test@openmail.sh>",
      from: "test@openmail.sh",
      to: inbox.address,
      cc: [],
      subject: "OpenMail webhook test",
      body_text: "This is a test event.",
      attachments: [],
      received_at: now,
    },
  };
}

function receivedEvent(to: FakeInbox, from: FakeInbox, mail: Record<string, unknown>): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    ...testEvent(to),
    event_id: `evt_${randomBytes(8).toString("hex")}`,
    message: {
      id: `msg_${randomBytes(6).toString("hex")}`,
      rfc_message_id: `<${randomBytes(6).toString("hex")}@openmail.sh>`,
      from: from.address,
      to: to.address,
      cc: [],
      subject: mail.subject,
      body_text: mail.body,
      attachments: [],
      received_at: now,
    },
  };
}
