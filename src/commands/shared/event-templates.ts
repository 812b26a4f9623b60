/**
 * send-test's events from real mail (--eml) and fixtures (--fixture): each input read and parsed
 * once, then built afresh for every send, with the flags given (--event-id, --inbox-id, --to,
 * --from, --subject, --text, --attempt) taking precedence over what the input says.
 */
import { relative } from "node:path";
import type { CommandContext } from "../../command-context.js";
import { buildEmlEvent } from "../../core/eml-event.js";
import { judgePayload } from "../../core/events.js";
import { deepMerge } from "../../core/fake-events.js";
import { restampEvent } from "../../core/fixtures.js";
import { parseEml, readEmlSources } from "../../io/eml-input.js";
import { loadFixture } from "../../io/fixtures.js";
import { randomHex } from "../../io/random.js";
import { sanitizeLine } from "../../output/sanitize.js";
import type { SendTestOptions } from "../send-test.js";

export interface EventTemplate {
  /** The file or fixture it came from. */
  label: string;
  build(now: Date): Record<string, unknown>;
  /** What was said about the input on standard error (a fixture lacking fields): also each delivery's notes in --json. */
  notes: string[];
}

/** The send-test options that shape events from .eml files and fixtures. */
export type TemplateOptions = Pick<
  SendTestOptions,
  "eml" | "fixture" | "keepIds" | "eventId" | "inboxId" | "from" | "to" | "subject" | "text" | "attempt"
>;

export async function loadTemplates(options: TemplateOptions, ctx: CommandContext): Promise<EventTemplate[]> {
  const templates: EventTemplate[] = [];
  if (options.eml?.length) {
    for (const source of await readEmlSources(options.eml, ctx.readStdin)) {
      const mail = await parseEml(source);
      const build = (now: Date) =>
        buildEmlEvent(mail, {
          now,
          randomHex,
          eventId: options.eventId,
          inboxId: options.inboxId,
          inboxAddress: options.to,
          attempt: options.attempt,
        });
      const withoutText = build(new Date(ctx.now())).withoutText;
      const notes: string[] = [];
      if (withoutText.length > 0) {
        const list = withoutText.map((item) => `${item.filename} (${item.method})`).join(", ");
        notes.push(
          `${sanitizeLine(source.name)}: no parsedText for ${sanitizeLine(list)}: OpenMail extracts that text, send-test cannot; to test with it, --save-fixture and add parsedText there`,
        );
        ctx.output.err(ctx.output.errColor.dim(`note: ${notes[0]}`));
      }
      templates.push({ label: source.name, notes, build: (now) => withMessageFlags(build(now).event, options) });
    }
  }
  for (const name of options.fixture ?? []) {
    const fixture = await loadFixture(name, ctx.cwd);
    const { event } = fixture;
    const notes = fixture.builtin ? [] : noteUntrustedFixture(ctx, name, fixture);
    templates.push({
      label: name,
      notes,
      build: (now) => {
        const fresh = restampEvent(event, {
          now,
          randomHex,
          keepEventId: options.keepIds,
          keepTimes: options.keepIds,
        });
        const flags: Record<string, unknown> = {};
        if (options.eventId !== undefined) flags.event_id = options.eventId;
        if (options.inboxId !== undefined && "inbox_id" in fresh) flags.inbox_id = options.inboxId;
        if (options.attempt !== undefined) flags.attempt = options.attempt;
        return withMessageFlags(deepMerge(fresh, flags) as Record<string, unknown>, options);
      },
    });
  }
  return templates;
}

/**
 * A saved fixture is a file anyone can put in the folder (a cloned repository ships one): when it takes
 * a built-in's name, or lacks fields the contract requires, it is said before it is signed and sent
 * (and the notes returned, for the --json records).
 */
function noteUntrustedFixture(
  ctx: CommandContext,
  name: string,
  { path, event, replacesBuiltin }: { path: string; event: Record<string, unknown>; replacesBuiltin: boolean },
): string[] {
  const notes: string[] = [];
  const note = (text: string) => {
    notes.push(text);
    ctx.output.err(ctx.output.errColor.yellow(`note: ${text}`));
  };
  const shown = sanitizeLine(name);
  if (replacesBuiltin) {
    note(
      `fixture ${shown} is the saved one (${sanitizeLine(relative(ctx.cwd, path))}), used instead of the built-in one`,
    );
  }
  const { known, problems } = judgePayload(event);
  if (!known) {
    note(`fixture ${shown} is a "${sanitizeLine(String(event.event))}" event, a type OpenMail does not send`);
  } else if (problems.length > 0) {
    note(
      `fixture ${shown} lacks what OpenMail always sends (${sanitizeLine(problems.slice(0, 4).join(", "))}); sent as it is`,
    );
  }
  return notes;
}

/** --from, --subject and --text over a message event's fields (--to is the inbox address, set above). */
function withMessageFlags(event: Record<string, unknown>, options: TemplateOptions): Record<string, unknown> {
  if (typeof event.message !== "object" || event.message === null) return event;
  const message: Record<string, unknown> = {};
  if (options.from !== undefined) message.from = options.from;
  if (options.subject !== undefined) message.subject = options.subject;
  if (options.text !== undefined) message.body_text = options.text;
  return Object.keys(message).length > 0 ? (deepMerge(event, { message }) as Record<string, unknown>) : event;
}
