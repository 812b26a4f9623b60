/**
 * `openmail-hooks inboxes`: the account's inboxes, so users can find the id for `listen --inbox`.
 */
import type { CommandContext } from "../command-context.js";
import { EXIT, type ExitCode } from "../errors.js";
import type { Inbox } from "../openmail/api.js";
import { type ApiFlags, openApi } from "../openmail/connect.js";
import { sanitizeLine } from "../output/sanitize.js";

export interface InboxesOptions extends ApiFlags {
  pod?: string;
  json?: boolean;
}

/** OpenMail clamps a page to 100; this many pages is far beyond any account (and bounds the loop). */
const PAGE_SIZE = 100;
const MAX_PAGES = 1000;

export async function runInboxes(options: InboxesOptions, ctx: CommandContext): Promise<ExitCode> {
  const api = openApi(options, ctx.environment, "`inboxes`");
  const inboxes: Inbox[] = [];
  let total = 0;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await api.listInboxes({ limit: PAGE_SIZE, offset: page * PAGE_SIZE, podId: options.pod });
      inboxes.push(...answer.data);
      total = answer.total;
      if (answer.data.length === 0 || inboxes.length >= total) break;
    }
  } finally {
    await api.close();
  }
  if (options.json) {
    for (const inbox of inboxes) {
      ctx.output.record({
        type: "inbox",
        id: inbox.id,
        address: inbox.address ?? null,
        podId: inbox.podId ?? null,
        displayName: inbox.displayName ?? null,
        webhookUrl: inbox.webhookUrl,
      });
    }
    return EXIT.OK;
  }
  if (inboxes.length === 0) {
    ctx.output.out(options.pod ? `no inboxes in pod ${sanitizeLine(options.pod)}` : "no inboxes in this account");
    return EXIT.OK;
  }
  const c = ctx.output.color;
  const rows = inboxes.map((inbox) => [
    sanitizeLine(inbox.id),
    sanitizeLine(inbox.address ?? ""),
    sanitizeLine(inbox.podId ?? ""),
    inbox.webhookUrl ? sanitizeLine(inbox.webhookUrl) : c.dim("account webhook"),
  ]);
  const header = ["ID", "ADDRESS", "POD", "WEBHOOK"];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => visibleLength(row[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join("  ");
  ctx.output.out(c.bold(line(header)));
  for (const row of rows) ctx.output.out(line(row));
  if (total > inboxes.length) ctx.output.out(c.dim(`(${inboxes.length} of ${total} shown)`));
  return EXIT.OK;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are measured out
const visibleLength = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "").length;
