/**
 * The command line: global options, the command table, and the one place that turns errors into
 * exit codes. Commands are imported only when they run, so `--help` and `--version` stay fast.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import {
  attachmentNameOption,
  byteSizeOption,
  collect,
  domainOption,
  durationOption,
  eventIdOption,
  eventListOption,
  headerOption,
  hostPortOption,
  httpsUrlOption,
  identity,
  integerOption,
  openMailIdOption,
  pathOption,
  routeOption,
  unixTimeOption,
  urlOption,
} from "./cli-options.js";
import { CliError, EXIT, type ExitCode, isStackOverflow, isWasmOutOfMemory, wasmMemoryError } from "./errors.js";
import { droppedLines, OUTPUT_PATIENCE_MS, OUTPUT_QUEUE_BOUND, queuedBytes, whenOutputTaken } from "./output-drain.js";
import { emitOutputLostStop, outputLost } from "./output-lost.js";

// The bundled CLI (scripts/bundle.mjs) has the version compiled in; the plain tsc build reads it.
declare const __OPENMAIL_HOOKS_VERSION__: string | undefined;
const version =
  typeof __OPENMAIL_HOOKS_VERSION__ === "string"
    ? __OPENMAIL_HOOKS_VERSION__
    : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

// Listed here rather than imported, so `--help` does not load the core modules.
const EVENT_TYPE_CHOICES = [
  "message.received",
  "inbox.suspended",
  "inbox.reactivated",
  "pod.suspended",
  "pod.reactivated",
] as const;
const SUSPENSION_REASON_LIST = "high_bounce_rate, high_complaint_rate, abuse, pod_degraded, manual_review, other";
const SCENARIO_LIST =
  "valid, bad-signature, wrong-secret, stale-timestamp, future-timestamp, missing-headers, tampered-body, raw-body, retry, unknown-event, lifecycle";

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  a check failed (signature invalid, endpoint answered wrongly, delivery failed)
  2  usage or input error (bad option, unreadable file, nothing listening)`;

/** --api-key, --api-base, --api-timeout: every command that talks to OpenMail's API. */
function addApiOptions(command: Command): Command {
  return command
    .option("--api-key <key>", "OpenMail API key (default: $OPENMAIL_API_KEY or .env); never printed")
    .option(
      "--api-base <url>",
      "OpenMail API base URL (default: $OPENMAIL_API_BASE or https://api.openmail.sh)",
      urlOption,
    )
    .addOption(
      new Option("--api-timeout <duration>", "deadline for each API request")
        .default(15_000, "15s")
        .argParser(durationOption),
    );
}

/** The settings file given with --dotenv (or the --env-file alias), if any. */
function envFileOf(command: Command): string | undefined {
  const { dotenv, envFile } = command.optsWithGlobals() as { dotenv?: string; envFile?: string };
  return dotenv ?? envFile;
}

function buildProgram(setExitCode: (code: ExitCode) => void): Command {
  const program = new Command("openmail-hooks")
    .description("Receive, verify, forward, replay and test OpenMail inbound-email webhooks.")
    .version(version, "-v, --version")
    // Not --env-file: Node 20 takes that flag for itself even after the script name (and exits 9
    // when the file is missing). The hidden alias works where Node leaves it to us.
    .option("--dotenv <path>", "read settings from this .env file instead of ./.env")
    .addOption(new Option("--env-file <path>").hideHelp())
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride()
    // Commander's errors quote the argument as given: its control characters are shown escaped (a
    // colour code would have passed the terminal sanitiser as one of our own), without loading it.
    .configureOutput({ outputError: (text, write) => write(escapeControls(text)) });

  // Loaded on use, so --help and --version load neither dotenv nor chalk.
  const context = async (command: Command) =>
    (await import("./command-context.js")).createContext({ envFile: envFileOf(command) });

  addApiOptions(program.command("listen"))
    .description("receive webhooks locally and through an ngrok tunnel; verify, print, save and forward each")
    .addOption(
      new Option("--port <port>", "local port (0 picks a free one)").default(4811).argParser(integerOption(0, 65535)),
    )
    .option("--host <host>", "local interface to listen on", "127.0.0.1")
    .addOption(new Option("--path <path>", "the webhook path").default("/webhooks").argParser(pathOption))
    .option(
      "--secret <secret>",
      "webhook secret (default: $OPENMAIL_WEBHOOK_SECRET or .env); without one, events are shown unverified",
    )
    .addOption(new Option("--tolerance <seconds>", "allowed timestamp age").default(300).argParser(integerOption(0)))
    .option("--forward-to <url>", "forward every event to your handler", urlOption)
    .option("--route <inbox=url>", "forward this inbox_id's events to this URL (repeatable)", collect(routeOption))
    .addOption(
      new Option("--forward-timeout <duration>", "how long to wait for your handler")
        .default(30_000, "30s")
        .argParser(durationOption),
    )
    .option("--status <code>", "always answer with this status (to watch OpenMail retry)", integerOption(200, 599))
    .option("--save-dir <dir>", "where captures are saved", ".openmail-hooks/events")
    .option("--no-save", "do not save captures")
    .addOption(
      new Option("--max-body-size <size>", "largest body accepted")
        .default(10 * 1024 * 1024, "10mb")
        .argParser(byteSizeOption),
    )
    .option("--no-tunnel", "stay local: no ngrok tunnel")
    .option("--authtoken <token>", "ngrok authtoken (default: $NGROK_AUTHTOKEN, .env, or the ngrok agent's ngrok.yml)")
    .option("--domain <domain>", "your reserved or dev ngrok domain, so the URL stays the same", domainOption)
    .addOption(
      new Option("--tunnel-timeout <duration>", "give up connecting to ngrok after")
        .default(15_000, "15s")
        .argParser(durationOption),
    )
    .addOption(new Option("--ngrok-server-addr <host:port>").argParser(hostPortOption).hideHelp())
    .addOption(new Option("--tunnel-grace <duration>").default(20_000).argParser(durationOption).hideHelp())
    .addOption(
      new Option(
        "--inspect-port <port>",
        "port of the inspector web page (default: --port + 1; 0 picks a free one)",
      ).argParser(integerOption(0, 65535)),
    )
    .option("--no-inspect", "do not serve the inspector web page")
    .option(
      "--events <types>",
      "forward only these event types (comma-separated); others are answered 200 and shown dimmed",
      eventListOption([...EVENT_TYPE_CHOICES]),
    )
    .option("--verbose", "show each email (inbox, from, subject, attachments, body) and its capture path")
    .option(
      "--json",
      "NDJSON records on stdout (ready, arrival, event, rejected, ignored, warning, tunnel, error, summary); logs on stderr",
    )
    .option(
      "--inbox <id>",
      "point this OpenMail inbox's webhook here while listening, put it back on exit (repeatable)",
      collect(openMailIdOption),
    )
    .option("--take-over", "with --inbox: also divert an inbox whose webhook URL points somewhere else")
    .option(
      "--rotate-secret",
      "with --inbox: rotate the inbox's webhook secret to learn it (the old one stops working)",
    )
    .option("--write-env", "with --inbox: save a newly learned secret as OPENMAIL_WEBHOOK_SECRET in .env")
    .option("--test", "with --inbox: have OpenMail send its signed test event and report the round trip")
    .addOption(
      new Option("--test-timeout <duration>", "how long --test waits for the test event")
        .default(30_000, "30s")
        .argParser(durationOption),
    )
    .option(
      "--public-url <url>",
      "with --inbox --no-tunnel: the https:// URL where your own tunnel or proxy reaches this listener",
      httpsUrlOption,
    )
    .option("--once", "exit after the first verified event (answered, and forwarded if forwarding)")
    .option(
      "--expect <type>",
      "wait for a verified event of this type, then exit 0 (repeatable; implies --once)",
      eventListOption([...EVENT_TYPE_CHOICES]),
    )
    .option("--expect-inbox <inbox>", "only count events for this inbox_id or inbox address")
    .option(
      "--expect-subject <text|/regex/>",
      "only count messages whose subject contains this text or matches /regex/",
    )
    .option("--count <n>", "wait for this many matching events (default 1)", integerOption(1))
    .option("--timeout <duration>", "with --once/--expect: give up after this long and exit 1", durationOption)
    .option("--redact", "replace personal data in captures before they are written (re-signed; see `redact`)")
    .addHelpText(
      "after",
      `
Examples:
  openmail-hooks listen --no-tunnel
  openmail-hooks listen --forward-to http://127.0.0.1:3000/webhooks
  openmail-hooks listen --route inb_support=http://127.0.0.1:3000/support --forward-to http://127.0.0.1:3000/webhooks
  openmail-hooks listen --forward-to localhost:3000/webhooks --events message.received
  openmail-hooks listen --no-tunnel --json | jq .
  openmail-hooks listen --inbox inb_92ma... --write-env --test      # no Dashboard at all
  openmail-hooks listen --expect message.received --expect-subject "/order \\d+/" --timeout 120s

Without a forward target, listen answers 200 to a verified event and 400 to one that fails verification
(what a correct handler does); with one, it relays your handler's answer. Ctrl-C prints a summary.`,
    )
    .action(async (options, command) => {
      const { runListen } = await import("./commands/listen.js");
      setExitCode(await runListen({ ...options, envFile: envFileOf(command) }, await context(command)));
    });

  program
    .command("replay")
    .description("send saved events again, to any endpoint, freshly signed")
    .argument(
      "[inputs...]",
      "capture files, folders of them, NDJSON files, event bodies, raw HTTP requests, - for stdin, or an event id (evt_…) to find in ./.openmail-hooks/events; none: that folder",
    )
    .option("--url <endpoint>", "where to send them", urlOption)
    .option("--to <endpoint>", "the same as --url", urlOption)
    .option("--secret <secret>", "webhook secret to sign with (default: $OPENMAIL_WEBHOOK_SECRET or .env)")
    .option(
      "--filter <filter>",
      "event=<type>, inbox=<inbox_id>, id=<event_id>, or a bare value (repeatable)",
      collect(identity),
    )
    .option("--last <n>", "only the newest N", integerOption(1))
    .addOption(
      new Option("--sort <order>", "received: files as given, folders by arrival; occurred_at: by event time")
        .choices(["received", "occurred_at"])
        .default("received"),
    )
    .option("--keep-signature", "send the captured headers untouched (a correct handler rejects stale ones)")
    .option(
      "--resign-unverified",
      "re-sign captures whose captured signature is missing or does not verify with the secret (refused by default)",
    )
    .option("--new-event-id", "give each event a fresh event_id, so it is not a duplicate")
    .option("--attempt <n>", "set attempt in the body (1-5)", integerOption(1, 5))
    .option("--header <header>", 'add a header, "Name: value" (repeatable)', collect(headerOption))
    .addOption(
      new Option("--timeout <duration>", "per-request deadline").default(15_000, "15s").argParser(durationOption),
    )
    .addOption(new Option("--concurrency <n>", "requests in flight").default(1).argParser(integerOption(1, 1000)))
    .option("--json", "one JSON object per delivery, then a summary")
    .option("--dry-run", "print what would be sent, without sending")
    .addOption(maxInputSizeOption())
    .addHelpText(
      "after",
      `
Examples:
  openmail-hooks replay .openmail-hooks/events/2026-11-26T10-05-00-123Z_evt_abc.json --url http://127.0.0.1:3000/webhooks
  openmail-hooks replay .openmail-hooks/events --last 5 --url http://127.0.0.1:3000/webhooks
  openmail-hooks replay --last 1 --url http://127.0.0.1:3000/webhooks           # the newest capture
  openmail-hooks replay evt_746c26eb7576f7f0 --url http://127.0.0.1:3000/webhooks # that event's capture
  openmail-hooks replay .openmail-hooks/events --filter event=message.received --filter inbox=inb_1 --url ...
  openmail-hooks replay capture.json --keep-signature --url ...    # a correct handler rejects a stale capture
  openmail-hooks replay body.json --new-event-id --attempt 2 --url ...

Exit codes: 0 all delivered as expected, 1 a delivery failed, 2 usage error, an unreadable input, or
nothing reachable at the URL.`,
    )
    .action(async (files, options, command) => {
      const { runReplay } = await import("./commands/replay.js");
      setExitCode(await runReplay(files, options, await context(command)));
    });

  program
    .command("send-test")
    .description("sign realistic fake events and send them to any endpoint; --scenario checks your handler")
    .option("--url <endpoint>", "where to POST, e.g. http://127.0.0.1:3000/webhooks", urlOption)
    .option("--secret <secret>", "webhook secret (default: $OPENMAIL_WEBHOOK_SECRET or .env)")
    .addOption(new Option("--event <type>", "event type").choices([...EVENT_TYPE_CHOICES]).default("message.received"))
    .option("--event-id <id>", "use this event_id (default: a fresh evt_... per event)", eventIdOption)
    .option("--inbox-id <id>", "inbox_id (default: a fresh inb_...)")
    .option("--from <address>", "message.from")
    .option("--to <address>", "message.to (or inbox_address for inbox.* events)")
    .option("--subject <text>", "message.subject")
    .option("--text <body>", "message.body_text")
    .option(
      "--attachment <filename>",
      "add an attachment (repeatable); type and size follow the extension",
      collect(attachmentNameOption),
    )
    .option("--reason <code>", `suspension reason (${SUSPENSION_REASON_LIST})`)
    .option("--data <file|json>", "JSON deep-merged over the generated event (a file, - for stdin, or inline {...})")
    .option("--attempt <n>", "the attempt number in the body (1-5)", integerOption(1, 5))
    .option("--header <header>", 'add a header, "Name: value" (repeatable)', collect(headerOption))
    .addOption(
      new Option("--timeout <duration>", "per-request deadline").default(15_000, "15s").argParser(durationOption),
    )
    .option("--print", "print the exact request (raw HTTP) instead of sending it")
    .option("--save <dir>", "also save each request as a capture file in this folder")
    .option("--json", "one JSON object per delivery, then a summary")
    .option("--scenario <name>", `run a conformance case (repeatable): all, ${SCENARIO_LIST}`, collect(identity))
    .addOption(
      new Option("--count <n>", "number of events (with --eml/--fixture: times each)")
        .default(1)
        .argParser(integerOption(1, 10_000_000)),
    )
    .option(
      "--eml <file>",
      "build the event from a real email: an .eml file, a folder of them, or - (repeatable)",
      collect(identity),
    )
    .option("--fixture <name|path>", "send a fixture, with a fresh event_id and times (repeatable)", collect(identity))
    .option("--keep-ids", "send fixtures with the event_id and times they were saved with")
    .option(
      "--save-fixture <name>",
      "save the event built from the other options as .openmail-hooks/fixtures/<name>.json",
    )
    .option("--list-fixtures", "list the built-in and saved fixtures")
    .addOption(new Option("--concurrency <n>", "requests in flight").default(10).argParser(integerOption(1, 1000)))
    .addHelpText(
      "after",
      `
Examples:
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --scenario all
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --event inbox.suspended --reason abuse
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --subject "Invoice" --attachment invoice.pdf
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --count 10000 --concurrency 50
  openmail-hooks send-test --print > request.http && openmail-hooks verify request.http
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --eml broken-invoice.eml
  openmail-hooks send-test --eml broken-invoice.eml --save-fixture invoice
  openmail-hooks send-test --url http://127.0.0.1:3000/webhooks --fixture invoice --fixture many-attachments

Exit codes: 0 every delivery accepted (or every scenario passed), 1 a delivery or scenario failed,
2 usage error or nothing reachable at the URL.`,
    )
    .action(async (options, command) => {
      const { runSendTest } = await import("./commands/send-test.js");
      setExitCode(await runSendTest(options, await context(command)));
    });

  program
    .command("redact")
    .description("write copies of captures with personal data replaced, re-signed so they still verify")
    .argument("<captures...>", "capture files or folders of them")
    .option(
      "--secret <secret>",
      "webhook secret: keys the placeholders and re-signs (default: $OPENMAIL_WEBHOOK_SECRET or .env)",
    )
    .option("--out-dir <dir>", "where the redacted copies go", ".openmail-hooks/redacted")
    .option("--json", "one JSON object per capture")
    .addHelpText(
      "after",
      `
Addresses and names become person-<tag>@example.com and Person <tag> (the same address always gets
the same tag), subject, body and extracted text keep their shape with every letter x and digit 0,
attachment names become file-<tag>.<ext>. Copies are marked "redacted": true; originals are untouched.

Examples:
  openmail-hooks redact .openmail-hooks/events --out-dir bug-report
  openmail-hooks listen --redact        # redact before anything is written

Exit codes: 0 all written, 2 an input could not be read or no secret.`,
    )
    .action(async (captures, options, command) => {
      const { runRedact } = await import("./commands/redact.js");
      setExitCode(await runRedact(captures, options, await context(command)));
    });

  program
    .command("verify")
    .description("check a captured request's signature offline and explain why it fails")
    .argument(
      "[file]",
      "capture file or raw HTTP request, or a folder of captures (each checked); - reads standard input",
    )
    .option("--secret <secret>", "webhook secret (default: $OPENMAIL_WEBHOOK_SECRET or .env)")
    .option("--body <text>", "the raw body, with --timestamp and --signature")
    .option("--body-file <path>", "a file holding the raw body (- for standard input)")
    .option("--timestamp <value>", "the X-Timestamp header value")
    .option("--signature <value>", "the X-Signature header value")
    .addOption(new Option("--tolerance <seconds>", "allowed timestamp age").default(300).argParser(integerOption(0)))
    .option("--now <time>", "judge the timestamp at this time (unix seconds or ISO-8601)", unixTimeOption)
    .option("--json", "print the verdict as one JSON object")
    .addOption(maxInputSizeOption())
    .addHelpText(
      "after",
      `
Examples:
  openmail-hooks verify .openmail-hooks/events/2026-11-26T10-00-00Z_evt_123.json
  nc -l 9000 > req.http; openmail-hooks verify req.http
  openmail-hooks verify --body-file body.json --timestamp 1711015501 --signature 61d2...
  openmail-hooks verify .openmail-hooks/events        # each capture, one line each, then a count

Exit codes: 0 valid, 1 invalid (in a folder: any), 2 unreadable input or usage error.`,
    )
    .action(async (file, options, command) => {
      const { runVerify } = await import("./commands/verify.js");
      setExitCode(await runVerify(file, options, await context(command)));
    });

  addApiOptions(
    program
      .command("inboxes")
      .description("list the OpenMail account's inboxes: id, address, pod, webhook URL")
      .option("--pod <id>", "only this pod's inboxes", openMailIdOption)
      .option("--json", "one JSON object per inbox"),
  ).action(async (options, command) => {
    const { runInboxes } = await import("./commands/inboxes.js");
    setExitCode(await runInboxes(options, await context(command)));
  });

  addApiOptions(
    program
      .command("restore")
      .description("put back inbox webhook URLs that a listen which did not stop cleanly left pointing at its tunnel")
      .option("--save-dir <dir>", "the capture folder that listen used", ".openmail-hooks/events")
      .option("--json", "one JSON object per inbox"),
  ).action(async (options, command) => {
    const { runRestore } = await import("./commands/restore.js");
    setExitCode(await runRestore(options, await context(command)));
  });

  addApiOptions(
    program
      .command("send-mail")
      .description("send a real email from an OpenMail inbox (e.g. to itself, to make a real message.received)")
      .requiredOption("--inbox <id>", "the inbox to send from", openMailIdOption)
      .requiredOption("--to <address>", "recipient address")
      .requiredOption("--subject <text>", "subject")
      .requiredOption("--text <body>", "plain-text body")
      .option("--idempotency-key <key>", "Idempotency-Key header (default: a fresh one; kept across retries)")
      .addOption(
        new Option("--max-wait <duration>", "wait at most this long for OpenMail's rate limit (429 Retry-After)")
          .default(60_000, "60s")
          .argParser(durationOption),
      )
      .option("--json", "print the result as one JSON object")
      .addHelpText(
        "after",
        `
Examples:
  openmail-hooks send-mail --inbox inb_92ma... --to support@acme.openmail.sh --subject "CI check" --text "hello"

Exit codes: 0 sent, 2 usage error or OpenMail refused (the message says why and what to do).`,
      ),
  ).action(async (options, command) => {
    const { runSendMail } = await import("./commands/send-mail.js");
    setExitCode(await runSendMail(options, await context(command)));
  });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error, wantsJson(argv));
  }
}

/** verify and replay read files and standard input up to this size (devices and FIFOs never). */
function maxInputSizeOption(): Option {
  return new Option("--max-input-size <size>", "largest input file or standard input read")
    .default(64 * 1024 * 1024, "64mb")
    .argParser(byteSizeOption);
}

/** Was --json given (before a `--`)? Then every failure is also an `error` record on stdout. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

async function reportError(error: unknown, json: boolean): Promise<ExitCode> {
  // --help and --version end here too; Commander has printed what they print.
  if (error instanceof CommanderError && error.exitCode === 0) return EXIT.OK;
  // Loaded only on failure, so --help and --version stay light.
  const { sanitizeLine, terminalSafe } = await import("./output/sanitize.js");
  const { recordLine } = await import("./output/records.js");
  const record = (code: string, message: string) => {
    if (json) process.stdout.write(`${recordLine({ type: "error", code, message })}\n`);
  };
  if (isWasmOutOfMemory(error)) {
    const failure = error instanceof CliError ? error : wasmMemoryError(error);
    record(failure.code, failure.message);
    process.stderr.write(`openmail-hooks: ${failure.message}\n`);
    return failure.exitCode;
  }
  if (error instanceof CommanderError) {
    // Commander has already printed its one-line usage error.
    record("usage_error", error.message.replace(/^error: /, ""));
    return EXIT.USAGE;
  }
  if (error instanceof CliError) {
    record(error.code, error.message);
    // One line, with nothing of the input's kept: a message can quote input (JSON.parse's does), and
    // terminalSafe keeps colour codes, which are ours elsewhere but never in an error.
    process.stderr.write(`openmail-hooks: ${sanitizeLine(error.message)}\n`);
    return error.exitCode;
  }
  if (isStackOverflow(error)) {
    // Only input nests this deeply (JSON thousands of levels deep): an input error, not a bug to report.
    const message =
      "the input nests too deeply to handle (JSON nested thousands of levels deep): check it is the file you meant";
    record("input_error", message);
    process.stderr.write(`openmail-hooks: ${message}\n`);
    return EXIT.USAGE;
  }
  const detail =
    error instanceof Error ? (process.env.OPENMAIL_HOOKS_DEBUG ? error.stack : error.message) : String(error);
  record("unexpected_error", error instanceof Error ? error.message : String(error));
  process.stderr.write(
    `openmail-hooks: unexpected error: ${terminalSafe(String(detail))}\n(set OPENMAIL_HOOKS_DEBUG=1 for a stack trace, and please report it)\n`,
  );
  return EXIT.CHECK_FAILED;
}

/**
 * Standard output or error that can no longer be written stops the run the way SIGTERM does, so listen
 * still points its inboxes back and answers what is in flight, and send-test/replay stop sending:
 * - a reader that went away (`openmail-hooks ... | head -1`, a jq that died): exit 141 (128 + SIGPIPE,
 *   what a shell reports for it);
 * - a write that failed (a log file on a full disk: ENOSPC, EIO): exit 1.
 * A failure of standard output is said on standard error, except a reader that went away from a command
 * that only prints (help, send-test --print, verify, ...): that ends quietly, as `git log | head` does.
 * Never 0 (the run did not finish); a check that failed (1) or an input error (2) keeps its own code.
 */
const EXIT_OUTPUT_CLOSED = 141;
let outputGone = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    // Writes after the first failure fail too (ERR_STREAM_DESTROYED): the same event, already handled.
    if (outputGone || error.code === "ERR_STREAM_DESTROYED") return;
    outputGone = true;
    const closed = error.code === "EPIPE";
    // Work that the lost output stops (listen, sending, redact writing copies) listens for "stop";
    // a command that only prints has nothing to stop, and a reader that closed it (`| head -3`) wanted
    // no more of it: it ends quietly, as `git log | head -3` does (still 141).
    const stopsWork = outputLost.listenerCount("stop") > 0;
    // Said on standard error only: standard output may be a --json stream a program reads. What is
    // still to be written (the summary, an inbox that could not be put back) goes there too.
    if (stream === process.stdout && process.stderr.writable && (stopsWork || !closed)) {
      const why = closed ? "was closed by its reader" : `could not be written (${error.code ?? error.message})`;
      process.stderr.write(`openmail-hooks: standard output ${why}${stopsWork ? ": stopping as on Ctrl-C" : ""}\n`);
      if (stopsWork) outputLost.emit("stdout");
    }
    const lostCode = closed ? EXIT_OUTPUT_CLOSED : EXIT.CHECK_FAILED;
    process.on("exit", (code) => {
      if (code === 0 || code === 130 || code === 143) process.exitCode = lostCode;
    });
    // Commands that stop cleanly listen for this (now or once they start to); the others end by themselves.
    emitOutputLostStop();
  });
}

// Node's own copy of undici (behind fetch and Headers; the CLI never uses it) is loaded when ours
// touches such a global, and starts loading its WebAssembly parser in a promise nobody awaits: under
// `ulimit -v` that rejects and would end a run that is going fine with a stack trace. That copy's
// failure is ignored (ours reports its own: see isWasmOutOfMemory's callers); any other unhandled
// rejection still crashes as Node would (a bug to report).
process.on("unhandledRejection", (reason) => {
  if (isWasmOutOfMemory(reason) && String((reason as Error).stack).includes("node:internal/deps/undici")) return;
  throw reason;
});

// Not a top-level await: the bundled CLI is CommonJS (scripts/bundle.mjs).
void main().then(async (exitCode) => {
  process.exitCode = exitCode;
  // The command is over (its own Ctrl-C handling with it): a Ctrl-C or SIGTERM now only means "do not
  // wait for the reader". Unhandled, the signal would kill the process and lose the run's exit code.
  const leaveNow = () => {
    endOfOutput(exitCode, queuedBytes(), "the run was interrupted while standard output's reader was behind");
    process.exit(process.exitCode);
  };
  process.once("SIGINT", leaveNow);
  process.once("SIGTERM", leaveNow);
  // What a reader that is behind has not taken yet is queued in this process, and exiting throws it
  // away (the last records, the summary): wait for it, as long as the reader keeps taking some.
  const untaken = await whenOutputTaken();
  endOfOutput(exitCode, untaken, `standard output's reader took nothing for ${OUTPUT_PATIENCE_MS / 1000} s`);
  // Normally the process ends here by itself. If a native handle outlives the command (the ngrok SDK
  // keeps a connect that timed out running in the background), leave anyway now that output is out.
  setTimeout(() => process.exit(process.exitCode), 500).unref();
});

/** Say what of the run's output its reader never got, and make such a run's clean exit a failed one. */
function endOfOutput(exitCode: ExitCode, untaken: number, why: string): void {
  const stderrFree = !process.stderr.destroyed && process.stderr.writableLength === 0;
  if (droppedLines.unsaid > 0 && stderrFree)
    process.stderr.write(
      `openmail-hooks: ${droppedLines.unsaid} ${droppedLines.unsaid === 1 ? "line" : "lines"} of standard output were dropped: its reader was ${OUTPUT_QUEUE_BOUND / 1024 / 1024} MiB behind\n`,
    );
  droppedLines.unsaid = 0;
  if (untaken > 0 && stderrFree)
    process.stderr.write(`openmail-hooks: ${why}: the last ${untaken} bytes of output were not written\n`);
  // Output the reader never got is a run whose report is incomplete: not a clean exit.
  if ((untaken > 0 || droppedLines.total > 0) && exitCode === EXIT.OK) process.exitCode = EXIT.CHECK_FAILED;
}

/** Control characters other than newline and tab as visible \xNN escapes (for Commander's error lines). */
function escapeControls(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
