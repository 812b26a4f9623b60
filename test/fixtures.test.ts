/**
 * The built-in fixtures: each shipped JSON is exactly what its source gives through the .eml code
 * path (so they cannot drift from it), and each covers the case its name promises.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { judgePayload } from "../src/core/events.js";
import { BUILTIN_FIXTURES, isFixtureName, restampEvent } from "../src/core/fixtures.js";
import { generateBuiltinFixture, generatedEml } from "../src/io/builtin-fixtures.js";
import { BUILTIN_FIXTURES_DIR } from "../src/io/fixtures.js";

const shipped = (name: string) => JSON.parse(readFileSync(join(BUILTIN_FIXTURES_DIR, `${name}.json`), "utf8"));

describe("built-in fixtures", () => {
  it.each(BUILTIN_FIXTURES.map((fixture) => [fixture.name, fixture] as const))(
    "%s matches its source (regenerate with node scripts/build-fixtures.mjs)",
    async (name, fixture) => {
      const event = shipped(name);
      expect(await generateBuiltinFixture(fixture)).toEqual(event);
      expect(judgePayload(event)).toMatchObject({ known: true, problems: [] });
    },
  );

  it("ships the generated many-attachments.eml as generated", () => {
    expect(
      readFileSync(join(BUILTIN_FIXTURES_DIR, "eml/many-attachments.eml")).equals(generatedEml("many-attachments")),
    ).toBe(true);
  });

  it("cover what breaks handlers", () => {
    expect(shipped("no-attachments").message.attachments).toEqual([]);
    const many = shipped("many-attachments").message.attachments as Array<Record<string, unknown>>;
    expect(many).toHaveLength(14);
    expect(new Set(many.map((a) => a.extractionMethod))).toEqual(
      new Set(["pdf", "office", "csv", "text", "ocr", "unsupported"]),
    );
    expect(many.find((a) => a.filename === "rates.csv")?.parsedText).toBe(
      "region,revenue\nEMEA,120000\nAPAC,98000\nAMER,143500\n",
    );
    const [large] = shipped("large-attachment").message.attachments;
    expect(large.sizeBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(large).toMatchObject({ extractionMethod: "skipped_too_large" });
    expect(large).not.toHaveProperty("parsedText");
    const nonAscii = shipped("non-ascii").message;
    expect(nonAscii.subject).toBe("【至急】請求書の再発行について");
    expect(nonAscii.from).toBe("佐藤 美咲 <misaki.sato@example.jp>");
    expect(nonAscii.attachments[0]).toMatchObject({
      filename: "Grüße.txt",
      parsedText: "Schöne Grüße aus Köln — 📨\n",
    });
    const html = shipped("html-only").message.body_text as string;
    expect(html).toContain("Everything in Outdoor is 30 % off until 8 November.");
    expect(html).not.toMatch(/<|font-family|tracking/);
    const reply = shipped("reply-in-thread");
    expect(reply.message.subject).toBe("Re: Re: Invoice #2847 for March");
    expect(reply.message.body_text).toContain("\n> Hi Priya");
    for (const type of ["inbox.suspended", "inbox.reactivated", "pod.suspended", "pod.reactivated"]) {
      expect(shipped(type.replace(".", "-")).event).toBe(type);
    }
  });

  it("the reply shares the thread of the message it answers", async () => {
    const { parseEml } = await import("../src/io/eml-input.js");
    const { buildEmlEvent } = await import("../src/core/eml-event.js");
    const original = Buffer.from(
      "From: Priya Raman <priya@northwind.io>\nTo: support@yourcompany.openmail.sh\nSubject: Invoice #2847 for March\nMessage-ID: <CAK7f2a3b4c-1@mail.northwind.io>\n\nThe amount looks wrong.\n",
    );
    const mail = await parseEml({ name: "original.eml", bytes: original });
    const event = buildEmlEvent(mail, { now: new Date(), randomHex: (n) => "0".repeat(n) }).event;
    expect(event.thread_id).toBe(shipped("reply-in-thread").thread_id);
  });
});

describe("fixture names and restamping", () => {
  it("accepts plain names only", () => {
    for (const good of ["invoice", "bug-1234", "a.b_c"]) expect(isFixtureName(good)).toBe(true);
    for (const bad of ["", "../x", "a/b", ".hidden", "x".repeat(65), "a..b"]) expect(isFixtureName(bad)).toBe(false);
  });

  it("moves every time field by the same amount and keeps what it is told to", () => {
    const event = {
      event: "message.received",
      event_id: "evt_old",
      occurred_at: "2026-01-01T10:00:00.000Z",
      delivered_at: "2026-01-01T10:00:02.000Z",
      message: { received_at: "2026-01-01T10:00:00.000Z" },
    };
    const now = new Date("2026-11-28T12:00:00.000Z");
    const fresh = restampEvent(event, { now, randomHex: (n) => "a".repeat(n) });
    expect(fresh).toEqual({
      event: "message.received",
      event_id: "evt_aaaaaaaaaaaaaaaa",
      occurred_at: "2026-11-28T11:59:58.000Z",
      delivered_at: "2026-11-28T12:00:00.000Z",
      message: { received_at: "2026-11-28T11:59:58.000Z" },
    });
    expect(restampEvent(event, { now, randomHex: (n) => "a".repeat(n), keepEventId: true, keepTimes: true })).toEqual(
      event,
    );
  });
});
