/**
 * Parsers for option values, used by commander in src/cli.ts. Each throws commander's
 * InvalidArgumentError, which the CLI reports as a usage error (exit 2), or a usage error of our own
 * when commander's message, which repeats the value, must not (a URL's password).
 */
import { InvalidArgumentError } from "commander";
import { isHeaderName, isHeaderValue } from "./core/header-value.js";
import { urlCredentialsRefusal } from "./core/url-credentials.js";
import { usageError } from "./errors.js";

export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
    const number = Number(value);
    if (number < min || number > max) {
      throw new InvalidArgumentError(
        max >= Number.MAX_SAFE_INTEGER
          ? `expected a number of at least ${min}.`
          : `expected a number from ${min} to ${max}.`,
      );
    }
    return number;
  };
}

/** Unix seconds, or an ISO-8601 date, as unix seconds. */
export function unixTimeOption(value: string): number {
  const trimmed = value.trim();
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed);
  // Only what looks like ISO-8601: Date.parse also takes "-1" (the year -1) and other guesses.
  const parsed = /^\d{4}-\d{2}-\d{2}([T ]|$)/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(parsed) || parsed < 0)
    throw new InvalidArgumentError(`expected unix seconds or an ISO-8601 time, got "${value}".`);
  return Math.floor(parsed / 1000);
}

/**
 * The longest duration accepted: Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer
 * one fires at once (with a warning), so "--timeout 1000h" would end a wait immediately.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** A duration: "15", "15s", "500ms", "2m" → milliseconds, at most MAX_DURATION_MS. */
export function durationOption(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 15s, 500ms, 2m or 1h, got "${value}".`);
  const amount = Number(match[1]);
  const unit = match[2] ?? "s";
  const ms =
    unit === "ms" ? amount : unit === "m" ? amount * 60_000 : unit === "h" ? amount * 3_600_000 : amount * 1000;
  if (ms <= 0) throw new InvalidArgumentError("expected a duration above zero.");
  if (Math.round(ms) > MAX_DURATION_MS) {
    throw new InvalidArgumentError(
      `expected a duration of at most ${MAX_DURATION_MS}ms (about 596h or 24.8 days, the longest a timer can wait).`,
    );
  }
  return Math.round(ms);
}

/** A byte size: "10mb", "512k", "1048576" → bytes. */
export function byteSizeOption(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb?|kib|mb?|mib|gb?|gib)?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected a size like 10mb, 512kb or 1048576, got "${value}".`);
  const unit = (match[2] ?? "b").toLowerCase()[0];
  const factor = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1;
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes <= 0) throw new InvalidArgumentError("expected a size above zero.");
  return bytes;
}

/**
 * An http(s) URL. Like Stripe's --forward-to, a bare port ("3000") means http://127.0.0.1:3000 and
 * a host without a scheme ("localhost:3000/webhooks") means http://.
 */
export function urlOption(value: string): string {
  const trimmed = value.trim();
  let text = trimmed;
  if (/^:?\d+(\/.*)?$/.test(trimmed)) text = `http://127.0.0.1:${trimmed.replace(/^:/, "")}`;
  else if (!trimmed.includes("://")) text = `http://${trimmed}`;
  const port = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)/i.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65535) {
    throw new InvalidArgumentError(`"${value}": port ${port} is out of range; a port is 1 to 65535.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; use the full form, e.g. http://127.0.0.1:3000/webhooks.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`"${value}" is not an http:// or https:// URL.`);
  }
  // A URL with a user name or password: refused as a usage error of our own, not commander's, whose
  // message repeats the value as given. The rule and its words are the inspector's too.
  const credentials = urlCredentialsRefusal(url);
  if (credentials) {
    throw usageError(
      `${credentials} (send-test and replay take the credentials as --header "Authorization: Basic <base64 of user:password>")`,
    );
  }
  return url.toString();
}

/** Collect a repeatable option into an array. */
export function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

export function identity(value: string): string {
  return value;
}

/** "Name: value" → [name, value], for --header. */
/**
 * Headers undici refuses to take from the caller (it frames the request itself): given with --header,
 * nothing could be sent, and the run would count it as a failed delivery.
 */
const HEADERS_THE_CLIENT_OWNS = new Set(["content-length", "transfer-encoding", "keep-alive", "upgrade", "expect"]);

export function headerOption(value: string): [string, string] {
  const colon = value.indexOf(":");
  const name = colon > 0 ? value.slice(0, colon).trim() : "";
  if (!isHeaderName(name)) {
    throw new InvalidArgumentError(`expected "Name: value", got ${JSON.stringify(value)}.`);
  }
  const headerValue = value.slice(colon + 1).trim();
  if (HEADERS_THE_CLIENT_OWNS.has(name.toLowerCase())) {
    throw new InvalidArgumentError(
      `${name} is the HTTP client's own header (it frames the request itself, and refuses ${name} from the caller); leave it out.`,
    );
  }
  if (!isHeaderValue(headerValue)) {
    throw new InvalidArgumentError(
      `the value of ${name} cannot be sent in a header (control characters, or characters beyond Latin-1), got ${JSON.stringify(headerValue)}.`,
    );
  }
  return [name, headerValue];
}

/** An event id for X-Event-Id: it must be sendable as a header (undici refused it at send time, counted as a failed delivery). */
export function eventIdOption(value: string): string {
  if (value === "" || !isHeaderValue(value)) {
    throw new InvalidArgumentError(
      `expected an event id like evt_123 that can be sent in the X-Event-Id header, got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

/**
 * An attachment's file name for send-test: anything a sender might use (a handler should cope with
 * odd ones), but not empty: an attachment with no name at all was sent as given (a7 L8).
 */
export function attachmentNameOption(value: string): string {
  if (value.trim() === "") {
    throw new InvalidArgumentError(`expected a file name like invoice.pdf, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** One of a fixed set of choices. */
export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(", ")}, got "${value}".`);
    }
    return value as T;
  };
}

/** "inb_123=http://127.0.0.1:3000/hooks" → [inbox id, URL], for --route. */
export function routeOption(value: string): [string, string] {
  const equals = value.indexOf("=");
  const inbox = equals > 0 ? value.slice(0, equals).trim() : "";
  if (!inbox) throw new InvalidArgumentError(`expected <inbox_id>=<url>, got "${value}".`);
  return [inbox, urlOption(value.slice(equals + 1).trim())];
}

/** A URL path starting with "/". */
export function pathOption(value: string): string {
  // Printable ASCII only (a URL path's other characters are %-escaped): a control character here was
  // printed in the banner as given, colour codes and all.
  if (!/^\/[\x21-\x7e]*$/.test(value) || /[?#]/.test(value)) {
    // JSON's quoting shows a control character as \u001b, without loading the sanitiser at start-up.
    throw new InvalidArgumentError(`expected a path like /webhooks, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** An ngrok domain name, checked before it reaches the SDK. */
export function domainOption(value: string): string {
  const domain = value.trim().toLowerCase();
  if (/^[a-z]+:\/\//.test(domain)) {
    throw new InvalidArgumentError(`give the domain without a scheme, e.g. my-app.ngrok-free.app (not "${value}").`);
  }
  if (!/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain)) {
    throw new InvalidArgumentError(`"${value}" is not a domain name like my-app.ngrok-free.app.`);
  }
  return domain;
}

/** host:port, for the hidden --ngrok-server-addr. */
export function hostPortOption(value: string): string {
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(value.trim()))
    throw new InvalidArgumentError(`expected host:port, got "${value}".`);
  return value.trim();
}

/** A public https:// URL (for --public-url: where OpenMail's traffic really arrives). */
export function httpsUrlOption(value: string): string {
  const url = urlOption(value);
  if (!url.startsWith("https://")) {
    throw new InvalidArgumentError(`"${value}" is not https://; OpenMail delivers to public https:// URLs only.`);
  }
  return url;
}

/** An OpenMail id such as inb_… (it goes into a URL path, so nothing else is allowed). */
export function openMailIdOption(value: string): string {
  const id = value.trim();
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) {
    throw new InvalidArgumentError(`"${value}" is not an OpenMail id like inb_92ma…; run \`openmail-hooks inboxes\`.`);
  }
  return id;
}

/** "message.received,inbox.suspended" → the listed event types, each one of `known`. */
export function eventListOption(known: readonly string[]) {
  return (value: string, previous: string[] | undefined): string[] => {
    const types = value
      .split(",")
      .map((type) => type.trim())
      .filter(Boolean);
    const unknown = types.filter((type) => !known.includes(type));
    if (types.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(
        `${unknown.length > 0 ? `unknown event type ${unknown.map((type) => `"${type}"`).join(", ")}` : "no event type given"}; use any of ${known.join(", ")}.`,
      );
    }
    return [...new Set([...(previous ?? []), ...types])];
  };
}
