/**
 * HTML to the text a reader sees: what `body_text` holds for an HTML-only message. Block elements
 * become line breaks, list items bullets, links keep their address, and head, style and script
 * vanish. One pass over the input (no backtracking regular expressions), so a hostile message
 * cannot make it slow. Pure.
 */

const BLOCK_TAGS = new Set([
  "p",
  "div",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "table",
  "tr",
  "ul",
  "ol",
  "blockquote",
  "section",
  "article",
  "header",
  "footer",
  "pre",
]);
/** Elements whose content is never shown. */
const HIDDEN_TAGS = new Set(["head", "style", "script", "title", "template", "noscript"]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  euro: "€",
  pound: "£",
  yen: "¥",
  middot: "·",
  bull: "•",
  times: "×",
  deg: "°",
};

export function htmlToText(html: string): string {
  const out: string[] = [];
  let hiddenUntil: string | undefined;
  let pendingHref: string | undefined;
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    const textEnd = lt < 0 ? html.length : lt;
    if (textEnd > i && hiddenUntil === undefined) out.push(collapseSpace(html.slice(i, textEnd)));
    if (lt < 0) break;
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = tagEnd(html, lt + 1);
    if (gt < 0) break;
    const tag = parseTag(html.slice(lt + 1, gt));
    i = gt + 1;
    if (!tag) continue;
    if (hiddenUntil !== undefined) {
      if (tag.closing && tag.name === hiddenUntil) hiddenUntil = undefined;
      continue;
    }
    if (HIDDEN_TAGS.has(tag.name) && !tag.closing && !tag.selfClosing) {
      hiddenUntil = tag.name;
      continue;
    }
    if (tag.name === "br") out.push("\n");
    else if (tag.name === "hr") out.push("\n-------------\n");
    else if (tag.name === "li" && !tag.closing) out.push("\n* ");
    else if (tag.name === "td" || tag.name === "th") out.push(tag.closing ? "" : " ");
    else if (BLOCK_TAGS.has(tag.name)) out.push("\n\n");
    else if (tag.name === "a") {
      if (!tag.closing) pendingHref = tag.href;
      else if (pendingHref) {
        out.push(` (${pendingHref})`);
        pendingHref = undefined;
      }
    } else if (tag.name === "img" && tag.alt) out.push(tag.alt);
  }
  return tidyLines(decodeEntities(out.join("")));
}

interface Tag {
  name: string;
  closing: boolean;
  selfClosing: boolean;
  href?: string;
  alt?: string;
}

function parseTag(inside: string): Tag | undefined {
  const closing = inside.startsWith("/");
  const match = /^\/?\s*([A-Za-z][A-Za-z0-9]*)/.exec(inside);
  if (!match?.[1]) return undefined;
  const name = match[1].toLowerCase();
  const tag: Tag = { name, closing, selfClosing: inside.endsWith("/") };
  if (name === "a" && !closing) {
    const href = attribute(inside, "href");
    // mailto: and http(s) links are what a reader can follow; javascript: and cid: are not.
    if (href && /^(https?:|mailto:)/i.test(href)) tag.href = href;
  }
  if (name === "img") tag.alt = attribute(inside, "alt");
  return tag;
}

function attribute(inside: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(inside);
  const value = match?.[1] ?? match?.[2] ?? match?.[3];
  return value === undefined ? undefined : decodeEntities(value).trim();
}

/** Where a tag that starts at `from` ends: the first `>` outside a quoted attribute value, or -1. */
function tagEnd(html: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < html.length; i += 1) {
    const ch = html[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      // Only after `=` is a quote an attribute value's (a bare quote elsewhere is text of the tag).
      if (/=\s*$/.test(html.slice(Math.max(from, i - 8), i))) quote = ch;
    } else if (ch === ">") {
      return i;
    }
  }
  return -1;
}

function collapseSpace(text: string): string {
  return text.replace(/[ \t\r\n\f]+/g, " ");
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, entity: string) => {
    if (entity[0] === "#") {
      const code =
        entity[1] === "x" || entity[1] === "X"
          ? Number.parseInt(entity.slice(2), 16)
          : Number.parseInt(entity.slice(1), 10);
      // HTML's rule: zero, surrogates and anything past U+10FFFF become U+FFFD (a lone surrogate is
      // not text, and strict JSON decoders reject or alter it).
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\uFFFD";
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/** Trim each line, keep at most one blank line in a row, no leading or trailing blank lines. */
function tidyLines(text: string): string {
  const lines = text.split("\n").map((line) => line.trim());
  const kept: string[] = [];
  for (const line of lines) {
    if (line === "" && (kept.length === 0 || kept[kept.length - 1] === "")) continue;
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  return kept.join("\n");
}
