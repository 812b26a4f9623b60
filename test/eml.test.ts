/**
 * Real mail → message.received: every MIME case from an .eml file in test/fixtures/eml, checked
 * field by field against what the message contains.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEmlEvent, capText, threadIdOf } from "../src/core/eml-event.js";
import { htmlToText } from "../src/core/html-text.js";
import { parseEml } from "../src/io/eml-input.js";

const DIR = join(import.meta.dirname, "fixtures/eml");
const NOW = new Date("2026-11-28T10:00:00.000Z");
let counter = 0;
const randomHex = (length: number) => (counter++).toString(16).padStart(length, "0").slice(-length);

async function eventFrom(file: string, options: { inboxAddress?: string } = {}) {
  const mail = await parseEml({ name: file, bytes: readFileSync(join(DIR, file)) });
  const built = buildEmlEvent(mail, { now: NOW, randomHex, ...options });
  const event = built.event as Record<string, unknown> & { message: Record<string, unknown> };
  return { mail, event, message: event.message, withoutText: built.withoutText };
}

describe("eml → message.received", () => {
  it("decodes RFC 2047 encoded words (Q and B, UTF-8 and ISO-8859-1, folded) in From, Cc and Subject", async () => {
    const { event, message } = await eventFrom("encoded-words.eml");
    expect(event.event).toBe("message.received");
    expect(message.from).toBe("José García <jose.garcia@example.org>");
    expect(message.to).toBe("support@acme.openmail.sh");
    expect(message.cc).toEqual(["zoe@example.net", "taro@example.jp"]);
    expect(message.subject).toBe("Re: Résumé du projet ✓ à valider");
    expect(message.body_text).toBe("Bonjour André,\n\nVoici le résumé.\n");
    expect(message.rfc_message_id).toBe("<encoded-words-1@example.org>");
    expect(message.attachments).toEqual([]);
    expect(message.received_at).toBe(event.occurred_at);
    expect(event.delivered_at).toBe(NOW.toISOString());
  });

  it("reads a Latin-1 body and raw 8-bit Latin-1 headers", async () => {
    const { message } = await eventFrom("latin1.eml");
    expect(message.from).toBe('"Müller, Jürgen" <juergen@example.de>');
    expect(message.subject).toBe("Grüße aus Köln");
    expect(message.body_text).toBe(
      "Sehr geehrte Damen und Herren,\n\ndie Lieferung für Köln kostet 12,50 EUR (½ Preis).\n\nMit freundlichen Grüßen\n",
    );
  });

  it("reads ISO-2022-JP (headers and body) and KOI8-R", async () => {
    const jp = await eventFrom("iso-2022-jp.eml");
    expect(jp.message.from).toBe("山田花子 <hanako@example.jp>");
    expect(jp.message.subject).toBe("請求書の件");
    expect(jp.message.body_text).toBe("田中様\n\n請求書を添付しました。ご確認ください。\n\n山田");
    const ru = await eventFrom("koi8-r.eml");
    expect(ru.message.from).toBe("ivan@example.ru");
    expect(ru.message.subject).toBe("Счёт");
    expect(ru.message.body_text).toBe("Привет! Счёт во вложении.");
  });

  it("reads text attachments in their own charset, and undeclared legacy text as windows-1252", async () => {
    const { message } = await eventFrom("attachment-charsets.eml");
    const texts = (message.attachments as Array<{ filename: string; parsedText?: string }>).map((a) => [
      a.filename,
      a.parsedText,
    ]);
    expect(texts).toEqual([
      ["prix.csv", "produit;prix\ncafé;2\n"],
      ["memo.txt", "日本語のメモ"],
      ["legacy.txt", "Grüße, 5 €"],
    ]);
  });

  it("reads a windows-1252 body's €, “ and ” (Node's one-shot windows-1252 decoder gives C1 controls)", async () => {
    const { message } = await eventFrom("windows-1252-body.eml");
    expect(message.body_text).toBe("Prix: 5 € “ok” \u0081.\n");
  });

  it("takes the text part of multipart/alternative, not the HTML one", async () => {
    const { message } = await eventFrom("alternative.eml");
    expect(message.from).toBe("Priya Raman <priya@northwind.io>");
    expect(message.subject).toBe("Shipping update for order 10482");
    expect(message.body_text).toBe("Your order 10482 shipped today.\nTracking: 1Z999AA10123456784\n");
    expect(message.body_text).not.toContain("HTML part");
    expect(message.attachments).toEqual([]);
  });

  it("derives body_text from an HTML-only message as a reader sees it", async () => {
    const { message } = await eventFrom("html-only.eml");
    expect(message.subject).toBe("Winter sale: 30% off");
    expect(message.body_text).toBe(
      "Winter sale\n\nEverything is 30% off until Sunday.\n\nCafé & more: shop now (https://shop.example/sale)",
    );
    expect(message.body_text).not.toMatch(/color|<|Sale\b/);
  });

  it("keeps an attached message/rfc822 as one attachment of its real size", async () => {
    const { mail, message } = await eventFrom("nested-rfc822.eml");
    expect(message.subject).toBe("Fwd: Original complaint");
    expect(message.body_text).toBe("See the forwarded message below.\n");
    const raw = readFileSync(join(DIR, "nested-rfc822.eml"), "latin1");
    const inner = raw.slice(raw.indexOf("From: Customer"), raw.lastIndexOf("\n--outer--"));
    const content = Buffer.from(mail.attachments[0]?.content ?? []);
    // The parser keeps the line end before the closing boundary; the message itself is intact.
    expect(content.toString("latin1").trimEnd()).toBe(inner.trimEnd());
    expect(message.attachments).toEqual([
      {
        filename: "original.eml",
        contentType: "message/rfc822",
        sizeBytes: content.length,
        url: `https://api.openmail.sh/v1/attachments/${message.id}/original.eml`,
        extractionMethod: "unsupported",
      },
    ]);
  });

  it("shows an inline message/rfc822 in the body, with its headers, as a mail client does", async () => {
    const { message } = await eventFrom("nested-inline.eml");
    expect(message.body_text).toContain("Forwarding inline.");
    expect(message.body_text).toContain("From:    Customer <customer@example.com>");
    expect(message.body_text).toContain("Subject: Inner subject line");
    expect(message.body_text).toContain("Inner body text.");
    expect(message.attachments).toEqual([]);
  });

  it("lists inline images as attachments with real sizes and OCR extraction, naming an unnamed one", async () => {
    const { message, withoutText } = await eventFrom("inline-image.eml");
    expect(message.body_text).toBe("The error is in the screenshot.\n");
    const png = Buffer.from(
      readFileSync(join(DIR, "inline-image.eml"), "latin1")
        .split("Content-Transfer-Encoding: base64")[1]
        ?.split("--rel")[0]
        ?.trim() ?? "",
      "base64",
    );
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(message.attachments).toEqual([
      {
        filename: "screenshot.png",
        contentType: "image/png",
        sizeBytes: png.length,
        url: `https://api.openmail.sh/v1/attachments/${message.id}/screenshot.png`,
        extractionMethod: "ocr",
      },
      {
        filename: "attachment-2.png",
        contentType: "image/png",
        sizeBytes: png.length,
        url: `https://api.openmail.sh/v1/attachments/${message.id}/attachment-2.png`,
        extractionMethod: "ocr",
      },
    ]);
    expect(withoutText).toEqual([
      { filename: "screenshot.png", method: "ocr" },
      { filename: "attachment-2.png", method: "ocr" },
    ]);
  });

  it("gives a message without Subject an empty subject", async () => {
    const { message } = await eventFrom("no-subject.eml");
    expect(message.subject).toBe("");
    expect(message.from).toBe("jordan.lee@example.com");
    expect(message.body_text).toBe("A message without a subject line.\n");
  });

  it("uses the inbox address given instead of the To address", async () => {
    const { message } = await eventFrom("alternative.eml", { inboxAddress: "ops@acme.openmail.sh" });
    expect(message.to).toBe("ops@acme.openmail.sh");
  });

  it.each([
    ["broken-not-mime.eml", /broken-not-mime\.eml: not a usable email: the first line is not a header/],
    ["broken-no-boundary.eml", /broken-no-boundary\.eml: .*multipart\/mixed has no boundary parameter/],
    ["broken-unterminated.eml", /broken-unterminated\.eml: .*boundary "expected-boundary" never appears/],
  ])("refuses %s with one line naming the file", async (file, message) => {
    const error = await parseEml({ name: file, bytes: readFileSync(join(DIR, file)) }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
    expect((error as { exitCode?: number }).exitCode).toBe(2);
  });

  it("puts replies in the thread of the first message of the References chain", () => {
    const first = threadIdOf({ references: [], messageId: "<a@x>" });
    const reply = threadIdOf({ references: ["<a@x>"], inReplyTo: "<a@x>", messageId: "<b@x>" });
    const replyToReply = threadIdOf({ references: ["<a@x>", "<b@x>"], inReplyTo: "<b@x>", messageId: "<c@x>" });
    expect(first).toMatch(/^thr_[0-9a-f]{16}$/);
    expect(reply).toBe(first);
    expect(replyToReply).toBe(first);
    expect(threadIdOf({ references: [], messageId: "<other@x>" })).not.toBe(first);
  });

  it("extracts text attachments itself, caps them, and skips extraction above 10 MB", () => {
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    const { event } = buildEmlEvent(
      {
        to: [],
        cc: [],
        references: [],
        text: "see attached",
        attachments: [
          { filename: "rates.csv", contentType: "text/csv", content: Buffer.from("a,b\r\n1,2\r\n") },
          { filename: "notes.txt", contentType: "text/plain", content: Buffer.from("x".repeat(60_000)) },
          { filename: "scan.pdf", contentType: "application/pdf", content: big },
          { filename: "movie.mp4", contentType: "video/mp4", content: Buffer.from("0000") },
          { filename: "rates.csv", contentType: "text/csv", content: Buffer.from("c") },
        ],
      },
      { now: NOW, randomHex },
    );
    const attachments = (event.message as { attachments: Array<Record<string, unknown>> }).attachments;
    expect(attachments[0]).toMatchObject({ parsedText: "a,b\n1,2\n", extractionMethod: "csv", sizeBytes: 10 });
    expect(attachments[1]).toMatchObject({ extractionMethod: "text", sizeBytes: 60_000 });
    expect(String(attachments[1]?.parsedText)).toHaveLength(50_000);
    expect(attachments[2]).toMatchObject({ extractionMethod: "skipped_too_large", sizeBytes: big.length });
    expect(attachments[2]).not.toHaveProperty("parsedText");
    expect(attachments[3]).toMatchObject({ extractionMethod: "unsupported" });
    expect(attachments[4]?.filename).toBe("rates-2.csv");
    expect((event.message as { from: string }).from).toBe("");
  });
});

describe("capText", () => {
  it("cuts at the limit, one unit earlier when the cut would split a surrogate pair", () => {
    expect(capText("abcdef", 4)).toBe("abcd");
    expect(capText("abc", 4)).toBe("abc");
    const text = `${"a".repeat(3)}😀b`;
    expect(capText(text, 4)).toBe("aaa");
    expect(capText(text, 5)).toBe("aaa😀");
  });
});

describe("htmlToText", () => {
  it("ends a tag at a > outside quoted attribute values, and turns numeric references to no character into U+FFFD", () => {
    expect(
      htmlToText('<p>Price: <img alt="a > b" src=x> and <a title=\'y > z\' href="https://ok.example/">link</a></p>'),
    ).toBe("Price: a > b and link (https://ok.example/)");
    expect(htmlToText("<p>&#xD800; &#0; &#1114112; &#x1F600;</p>")).toBe("\uFFFD \uFFFD \uFFFD 😀");
  });

  it("drops hidden elements and comments, breaks blocks, bullets lists, decodes entities", () => {
    const html =
      "<html><head><title>T</title><style>.x{}</style></head><body><!-- hidden --><h2>Hi&nbsp;there</h2>" +
      "<ul><li>one</li><li>two &amp; three</li></ul><script>alert(1)</script><p>a<br>b &#8364; &#x1F600;</p></body></html>";
    expect(htmlToText(html)).toBe("Hi there\n\n* one\n* two & three\n\na\nb € 😀");
  });
});
