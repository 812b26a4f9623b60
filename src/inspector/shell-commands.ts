/**
 * The page's "copy as curl" and "copy as replay command": POSIX shell command lines built from a
 * request. Every value is single-quoted, so nothing from a payload can end the quoting. Pure.
 */

/** Quote for a POSIX shell: bare when it is plainly safe, otherwise '...' with ' written as '\''. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function curlCommand(url: string, headers: Record<string, string>, body: Uint8Array): string {
  // One option per line, continued with a backslash.
  const lines = [`curl -sS -X POST ${shellQuote(url)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  const text = Buffer.from(body).toString("utf8");
  if (Buffer.from(text, "utf8").equals(Buffer.from(body))) {
    lines.push(`--data-binary ${shellQuote(text)}`);
    return lines.join(" \\\n  ");
  }
  // Not UTF-8: decode base64 on the way in so the exact bytes go out.
  lines.push("--data-binary @-");
  return `printf %s ${shellQuote(Buffer.from(body).toString("base64"))} | base64 -d | ${lines.join(" \\\n  ")}`;
}

export function replayCommand(capturePath: string, url: string, options: { verbatim?: boolean } = {}): string {
  return ["npx openmail-hooks replay", shellQuote(capturePath), "--url", shellQuote(url)]
    .concat(options.verbatim ? ["--keep-signature"] : [])
    .join(" ");
}
