/**
 * `--print`: the exact request as raw HTTP (which `verify` reads back), or as JSON. On a terminal
 * the body is sanitised; piped, it is written byte for byte.
 */
import type { PreparedDelivery } from "../core/contract.js";
import { sanitizeText } from "./sanitize.js";
import type { Output } from "./terminal.js";

export function renderRawRequest(
  output: Output,
  target: URL,
  delivery: PreparedDelivery,
  options: { json: boolean; capturePath?: string },
): void {
  if (options.json) {
    output.record({
      type: "request",
      method: "POST",
      url: target.toString(),
      headers: delivery.headers,
      body: delivery.body.toString("utf8"),
      capturePath: options.capturePath ?? null,
    });
    return;
  }
  const lines = [`POST ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  for (const [name, value] of Object.entries(delivery.headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${delivery.body.length}`, "");
  const head = lines.join("\r\n");
  const body = delivery.body.toString("utf8");
  if (output.stdoutIsTTY) {
    output.out(sanitizeText(`${head}\n${body}`));
    if (options.capturePath) output.err(output.errColor.dim(`saved: ${options.capturePath}`));
    return;
  }
  // Piped: exact bytes, CRLF head, no trailing newline after the body, so `verify` reads the same request.
  output.write(`${head}\r\n`);
  output.write(delivery.body);
  if (options.capturePath) output.err(`saved: ${options.capturePath}`);
}
