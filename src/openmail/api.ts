/**
 * The OpenMail REST API, the parts that touch an inbox's webhook and sending
 * (../shared/openmail-api-inboxes.md). Behind a small interface so commands can be tested against
 * a local fake; undici is loaded on first use; every request has a deadline and a bounded answer;
 * every failure is an OpenMailApiError whose message never contains the key.
 */
import { createHmac } from "node:crypto";
import type { Dispatcher } from "undici";
import { errorMessage, isWasmOutOfMemory, wasmMemoryError } from "../errors.js";
import { describeNetworkError } from "../io/http-client.js";
import { type ApiFailure, type ApiOperation, describeApiFailure, OpenMailApiError } from "./errors.js";

export const DEFAULT_API_BASE = "https://api.openmail.sh";
/** No documented answer is anywhere near this; a bigger one is not an OpenMail answer. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface Inbox {
  id: string;
  podId?: string;
  address?: string;
  displayName?: string | null;
  webhookUrl: string | null;
  /** Present only in the answer that generated it: first URL set, or rotation. */
  webhookSecret?: string | null;
  createdAt?: string;
}

export interface InboxPage {
  data: Inbox[];
  total: number;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  body: string;
}

export interface OpenMailApi {
  readonly apiBase: string;
  listInboxes(page: { limit: number; offset: number; podId?: string }): Promise<InboxPage>;
  getInbox(inboxId: string): Promise<Inbox>;
  setWebhookUrl(inboxId: string, url: string | null): Promise<Inbox>;
  rotateWebhookSecret(inboxId: string): Promise<string>;
  testWebhook(inboxId: string): Promise<{ ok: boolean; message: string }>;
  send(inboxId: string, mail: OutgoingMail, idempotencyKey: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
  /**
   * A tag for a webhook URL this tool set, keyed with the API key (an HMAC; the key never leaves
   * here): the inbox state file records it, and only a URL whose tag matches counts as this tool's own.
   */
  ownUrlTag(url: string): string;
}

export interface ApiClientOptions {
  apiKey: string;
  /** For messages: where the key came from ("environment (OPENMAIL_API_KEY)"). */
  keySource: string;
  apiBase?: string;
  /** Deadline for each whole request (connect, answer, body). */
  timeoutMs: number;
}

export function createOpenMailApi(options: ApiClientOptions): OpenMailApi {
  const apiBase = (options.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, "");
  let dispatcher: Promise<{ agent: Dispatcher; request: typeof import("undici").request }> | undefined;
  const undici = () => {
    dispatcher ??= import("undici").then(({ Agent, request }) => ({
      agent: new Agent({
        connections: 4,
        connect: { timeout: Math.min(options.timeoutMs, 10_000) },
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      }),
      request,
    }));
    return dispatcher;
  };

  const call = async (
    operation: ApiOperation,
    method: "GET" | "PATCH" | "POST",
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<unknown> => {
    const fail = (failure: ApiFailure): never => {
      throw new OpenMailApiError(
        describeApiFailure(failure, operation, { keySource: options.keySource, apiBase, key: options.apiKey }),
        failure,
        operation,
      );
    };
    const { agent, request } = await undici();
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: "application/json",
      "user-agent": "openmail-hooks",
      ...extraHeaders,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let status = 0;
    let answer: { retryAfter?: string; text: string };
    try {
      const response = await request(`${apiBase}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: agent,
        // The whole exchange, including a slowly trickling body, has one deadline.
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.statusCode;
      const retryAfter = response.headers["retry-after"];
      answer = {
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        text: await readBounded(response.body),
      };
    } catch (error) {
      if (isTimeout(error)) {
        const connecting = (error as { code?: unknown }).code === "UND_ERR_CONNECT_TIMEOUT";
        return fail({ kind: "timeout", timeoutMs: options.timeoutMs, connecting });
      }
      // Not the network: the HTTP client cannot run here (ulimit -v), which no retry or --api-base mends.
      if (isWasmOutOfMemory(error)) throw wasmMemoryError(error);
      if ((error as { code?: unknown }).code === "TOO_LARGE") {
        return fail({ kind: "http", status, message: `${errorMessage(error)}; is --api-base the OpenMail API?` });
      }
      const network = describeNetworkError(error, apiBase);
      // A reset or an unknown failure may come after the request went out; refused, DNS, TLS and
      // connect timeouts come before.
      return fail({
        kind: "network",
        message: network.message,
        afterConnect: network.error === "reset" || network.error === "other",
      });
    }
    const parsed = parseJson(answer.text);
    if (status >= 200 && status < 300) {
      if (parsed === undefined) {
        return fail({ kind: "http", status, message: "the answer was not JSON; is --api-base the OpenMail API?" });
      }
      return parsed;
    }
    const errorBody = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
    return fail({
      kind: "http",
      status,
      code: typeof errorBody.error === "string" ? errorBody.error : undefined,
      message: typeof errorBody.message === "string" ? errorBody.message : undefined,
      retryAfterSeconds: parseRetryAfter(answer.retryAfter, Date.now()),
    });
  };

  const inboxPath = (inboxId: string) => `/v1/inboxes/${encodeURIComponent(inboxId)}`;

  return {
    apiBase,
    async listInboxes({ limit, offset, podId }) {
      const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
      if (podId) query.set("podId", podId);
      const answer = (await call({ kind: "list-inboxes" }, "GET", `/v1/inboxes?${query}`)) as Partial<InboxPage>;
      const data = Array.isArray(answer.data) ? answer.data.filter(isInbox) : [];
      return { data, total: typeof answer.total === "number" ? answer.total : data.length };
    },
    async getInbox(inboxId) {
      return asInbox(await call({ kind: "get-inbox", inboxId }, "GET", inboxPath(inboxId)), inboxId);
    },
    async setWebhookUrl(inboxId, url) {
      const answer = await call({ kind: "set-webhook", inboxId, url }, "PATCH", inboxPath(inboxId), {
        webhookUrl: url,
      });
      return asInbox(answer, inboxId);
    },
    async rotateWebhookSecret(inboxId) {
      const answer = (await call(
        { kind: "rotate-secret", inboxId },
        "POST",
        `${inboxPath(inboxId)}/webhook/rotate-secret`,
      )) as { webhookSecret?: unknown };
      if (typeof answer.webhookSecret !== "string" || answer.webhookSecret === "") {
        throw new OpenMailApiError(
          `OpenMail rotated inbox ${inboxId}'s webhook secret but sent no new secret back: rotate again later, or set it from the Dashboard`,
          { kind: "http", status: 200 },
          { kind: "rotate-secret", inboxId },
        );
      }
      return answer.webhookSecret;
    },
    async testWebhook(inboxId) {
      const answer = (await call(
        { kind: "test-webhook", inboxId },
        "POST",
        `${inboxPath(inboxId)}/webhook/test`,
      )) as Record<string, unknown>;
      return { ok: answer.ok === true, message: typeof answer.message === "string" ? answer.message : "" };
    },
    async send(inboxId, mail, idempotencyKey) {
      const answer = await call({ kind: "send", inboxId, idempotencyKey }, "POST", `${inboxPath(inboxId)}/send`, mail, {
        "idempotency-key": idempotencyKey,
      });
      return (typeof answer === "object" && answer !== null ? answer : {}) as Record<string, unknown>;
    },
    async close() {
      if (dispatcher) await (await dispatcher).agent.close();
    },
    ownUrlTag(url) {
      return createHmac("sha256", options.apiKey)
        .update(`openmail-hooks own webhook URL\0${url}`)
        .digest("hex")
        .slice(0, 32);
    },
  };
}

/** Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3), as whole seconds from now. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy?(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > MAX_ANSWER_BYTES) {
      body.destroy?.();
      throw Object.assign(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`), { code: "TOO_LARGE" });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isTimeout(error: unknown): boolean {
  const record = error as { name?: unknown; code?: unknown } | null;
  return (
    record?.name === "TimeoutError" ||
    record?.code === "UND_ERR_HEADERS_TIMEOUT" ||
    record?.code === "UND_ERR_BODY_TIMEOUT" ||
    record?.code === "UND_ERR_CONNECT_TIMEOUT"
  );
}

function isInbox(value: unknown): value is Inbox {
  return typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string";
}

function asInbox(value: unknown, inboxId: string): Inbox {
  if (!isInbox(value)) {
    throw new OpenMailApiError(
      `OpenMail's answer about inbox ${inboxId} is not an inbox: is --api-base the OpenMail API?`,
      { kind: "http", status: 200 },
      { kind: "get-inbox", inboxId },
    );
  }
  const webhookUrl = typeof value.webhookUrl === "string" && value.webhookUrl !== "" ? value.webhookUrl : null;
  return { ...value, webhookUrl };
}
