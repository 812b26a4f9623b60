/**
 * The command line: global options, the command table, and the one place that turns errors into
 * exit codes. Commands are imported only when they run, so `--help` and `--version` stay fast.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { createContext } from "./commands/context.js";
import { integerOption, unixTimeOption } from "./commands/options.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  a check failed (signature invalid, endpoint answered wrongly, delivery failed)
  2  usage or input error (bad option, unreadable file, nothing listening)`;

function buildProgram(setExitCode: (code: ExitCode) => void): Command {
  const program = new Command("openmail-hooks")
    .description("Receive, verify, forward, replay and test OpenMail inbound-email webhooks.")
    .version(version, "-v, --version")
    .option("--env-file <path>", "read settings from this file instead of ./.env")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  const context = (command: Command) => createContext(command.optsWithGlobals() as { envFile?: string });

  program
    .command("verify")
    .description("check a captured request's signature offline and explain why it fails")
    .argument("[file]", "capture file or raw HTTP request; - reads standard input")
    .option("--secret <secret>", "webhook secret (default: $OPENMAIL_WEBHOOK_SECRET or .env)")
    .option("--body <text>", "the raw body, with --timestamp and --signature")
    .option("--body-file <path>", "a file holding the raw body (- for standard input)")
    .option("--timestamp <value>", "the X-Timestamp header value")
    .option("--signature <value>", "the X-Signature header value")
    .addOption(new Option("--tolerance <seconds>", "allowed timestamp age").default(300).argParser(integerOption(0)))
    .option("--now <time>", "judge the timestamp at this time (unix seconds or ISO-8601)", unixTimeOption)
    .option("--json", "print the verdict as one JSON object")
    .addHelpText(
      "after",
      `
Examples:
  openmail-hooks verify .openmail-hooks/events/2026-11-26T10-00-00Z_evt_123.json
  nc -l 9000 > req.http; openmail-hooks verify req.http
  openmail-hooks verify --body-file body.json --timestamp 1711015501 --signature 61d2...

Exit codes: 0 valid, 1 invalid, 2 unreadable input or usage error.`,
    )
    .action(async (file, options, command) => {
      const { runVerify } = await import("./commands/verify.js");
      setExitCode(await runVerify(file, options, context(command)));
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
    return reportError(error);
  }
}

function reportError(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // Commander has already printed help, the version, or its one-line usage error.
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof CliError) {
    process.stderr.write(`openmail-hooks: ${error.message}\n`);
    return error.exitCode;
  }
  const detail =
    error instanceof Error ? (process.env.OPENMAIL_HOOKS_DEBUG ? error.stack : error.message) : String(error);
  process.stderr.write(
    `openmail-hooks: unexpected error: ${detail}\n(set OPENMAIL_HOOKS_DEBUG=1 for a stack trace, and please report it)\n`,
  );
  return EXIT.CHECK_FAILED;
}

process.exitCode = await main();
