/**
 * `openmail-hooks send-mail`: send a real email from an inbox through OpenMail's API, e.g. to the
 * inbox's own address so a real message.received arrives (the CI recipe). One Idempotency-Key for
 * the whole run, so a retry after a 429 or a timeout can never send twice; OpenMail's Retry-After
 * is honoured up to --max-wait, and said.
 */
import { randomUUID } from "node:crypto";
import type { CommandContext } from "../command-context.js";
import { EXIT, type ExitCode } from "../errors.js";
import { type ApiFlags, openApi } from "../openmail/connect.js";
import { OpenMailApiError } from "../openmail/errors.js";
import { sanitizeLine } from "../output/sanitize.js";

export interface SendMailOptions extends ApiFlags {
  inbox: string;
  to: string;
  subject: string;
  text: string;
  idempotencyKey?: string;
  maxWait: number;
  json?: boolean;
}

/** A 429 is retried at most this many times (each wait bounded by --max-wait in total). */
const MAX_RATE_LIMIT_RETRIES = 3;

export async function runSendMail(
  options: SendMailOptions,
  ctx: CommandContext,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<ExitCode> {
  const api = openApi(options, ctx.environment, "`send-mail`");
  const idempotencyKey = options.idempotencyKey ?? `openmail-hooks-${randomUUID()}`;
  let waitedMs = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await api.send(
          options.inbox,
          { to: options.to, subject: options.subject, body: options.text },
          idempotencyKey,
        );
        report(ctx, options, answer, idempotencyKey);
        return EXIT.OK;
      } catch (error) {
        const wait = rateLimitWait(error);
        if (wait === undefined || attempt >= MAX_RATE_LIMIT_RETRIES || waitedMs + wait * 1000 > options.maxWait) {
          throw error;
        }
        ctx.output.err(
          `OpenMail's send limit answered 429 (10 a minute and 200 a day per inbox): waiting ${wait} s as its Retry-After asks, then trying again with the same Idempotency-Key`,
        );
        await sleep(wait * 1000);
        waitedMs += wait * 1000;
      }
    }
  } finally {
    await api.close();
  }
}

/** Seconds to wait for a 429 (no Retry-After: a minute, the documented window). */
function rateLimitWait(error: unknown): number | undefined {
  if (!(error instanceof OpenMailApiError) || error.failure.kind !== "http" || error.failure.status !== 429) {
    return undefined;
  }
  return error.failure.retryAfterSeconds ?? 60;
}

function report(
  ctx: CommandContext,
  options: SendMailOptions,
  answer: Record<string, unknown>,
  idempotencyKey: string,
): void {
  const id = [answer.id, answer.messageId].find((value): value is string => typeof value === "string");
  if (options.json) {
    ctx.output.record({ type: "sent", inboxId: options.inbox, to: options.to, id: id ?? null, idempotencyKey });
    return;
  }
  ctx.output.out(
    `sent from ${sanitizeLine(options.inbox)} to ${sanitizeLine(options.to)}${id ? `: message ${sanitizeLine(id)}` : ""} (Idempotency-Key ${sanitizeLine(idempotencyKey)})`,
  );
}
