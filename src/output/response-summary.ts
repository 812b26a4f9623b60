/** How a handler's answer body is shown in one line, by listen (forwards) and by the senders alike. */
import { clipToLine, sanitizeText } from "./sanitize.js";

/**
 * A handler's answer body in one line: an HTML error page's <title> (or its first line of
 * text), otherwise the first non-empty line.
 */
export function responseSummary(body: string, contentType: string | undefined, columns?: number): string {
  const html = /html/i.test(contentType ?? "") || /^\s*<(!doctype|html|head|body)/i.test(body);
  let text = body;
  if (html) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1];
    text = title?.trim()
      ? title
      : body
          .replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")
          .replace(/<[^>]*>/g, "\n")
          .replace(/&nbsp;/g, " ");
    text = text
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&");
  }
  const lines = sanitizeText(text)
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const first = lines[0] ?? "";
  const more = lines.length > 1 ? " …" : "";
  // On a terminal, cut to what is left after "   response: " (13 columns).
  return `${clipToLine(first, 200, columns, 13)}${html ? " (HTML page)" : more}`;
}
