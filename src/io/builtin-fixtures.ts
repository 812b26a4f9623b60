/**
 * How the built-in fixtures are made: each .eml in fixtures/eml (written for this project, or
 * generated here) goes through the same parser and event builder as `send-test --eml`, with a
 * seeded random source and a fixed clock, so the output is the same on every machine.
 * scripts/build-fixtures.mjs writes them; test/fixtures.test.ts checks the shipped ones still match.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildEmlEvent } from "../core/eml-event.js";
import { buildFakeEvent, type RandomHex } from "../core/fake-events.js";
import type { BuiltinFixture } from "../core/fixtures.js";
import { parseEml } from "./eml-input.js";
import { BUILTIN_FIXTURES_DIR } from "./fixtures.js";

/** The clock the built-in fixtures were made at; `send-test --fixture` moves them to now. */
export const FIXTURE_CLOCK = new Date("2026-11-01T12:00:00.000Z");

/** Deterministic hex from a seed: SHA-256 in counter mode. */
export function seededHex(seed: string): RandomHex {
  let counter = 0;
  return (length) => {
    let out = "";
    while (out.length < length) out += createHash("sha256").update(`${seed}:${counter++}`).digest("hex");
    return out.slice(0, length);
  };
}

function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let offset = 0;
  for (let counter = 0; offset < length; counter++) {
    offset += createHash("sha256").update(`${seed}:${counter}`).digest().copy(out, offset);
  }
  return out;
}

export async function generateBuiltinFixture(fixture: BuiltinFixture, dir = BUILTIN_FIXTURES_DIR) {
  const randomHex = seededHex(fixture.name);
  const { source } = fixture;
  if (source.kind === "lifecycle") {
    return buildFakeEvent({
      type: source.type,
      now: FIXTURE_CLOCK,
      randomHex,
      inboxAddress: "support@yourcompany.openmail.sh",
    });
  }
  const bytes = source.kind === "eml" ? await readFile(join(dir, "eml", source.file)) : generatedEml(fixture.name);
  const mail = await parseEml({ name: `${fixture.name}.eml`, bytes });
  return buildEmlEvent(mail, { now: FIXTURE_CLOCK, randomHex, inboxAddress: "support@yourcompany.openmail.sh" }).event;
}

interface GeneratedPart {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** The messages too repetitive (or too large) to write by hand. */
export function generatedEml(name: string): Buffer {
  if (name === "many-attachments") {
    return multipartEml(
      {
        From: "Operations Team <ops@contoso.example>",
        To: "support@yourcompany.openmail.sh",
        Subject: "Quarter-end pack: everything in one email",
        Date: "Sun, 01 Nov 2026 10:20:00 +0000",
        "Message-ID": "<quarter-end-pack-2026q3@contoso.example>",
      },
      "Hi,\n\nThe quarter-end pack is attached: 14 files.\n\nOps\n",
      manyAttachments(),
    );
  }
  if (name === "large-attachment") {
    return multipartEml(
      {
        From: "Scanner <scanner@printers.contoso.example>",
        To: "support@yourcompany.openmail.sh",
        Subject: "Scanned document (11 MB)",
        Date: "Sun, 01 Nov 2026 10:45:00 +0000",
        "Message-ID": "<scan-20261101-1045@printers.contoso.example>",
      },
      "Scanned document attached.\n",
      [
        {
          filename: "scan-20261101.pdf",
          contentType: "application/pdf",
          // 11 MB: one seeded 64 KB block repeated (hashing every byte would only make it slow).
          content: Buffer.concat([
            Buffer.from("%PDF-1.7\n"),
            Buffer.alloc(11 * 1024 * 1024, seededBytes("scan", 65_536)),
          ]),
        },
      ],
    );
  }
  throw new Error(`no generated message named ${name}`);
}

function manyAttachments(): GeneratedPart[] {
  const text = (filename: string, contentType: string, content: string) => ({
    filename,
    contentType,
    content: Buffer.from(content),
  });
  const binary = (filename: string, contentType: string, magic: string, size: number) => ({
    filename,
    contentType,
    content: Buffer.concat([Buffer.from(magic, "latin1"), seededBytes(filename, size)]),
  });
  return [
    binary("invoice-2847.pdf", "application/pdf", "%PDF-1.4\n", 12_000),
    binary(
      "contract.docx",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "PK\x03\x04",
      6_000,
    ),
    binary("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04", 5_000),
    binary(
      "review.pptx",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
      "PK\x03\x04",
      8_000,
    ),
    text("rates.csv", "text/csv", "region,revenue\nEMEA,120000\nAPAC,98000\nAMER,143500\n"),
    text("notes.txt", "text/plain", "Open items:\n- renew the support contract\n- move the Q4 review to Thursday\n"),
    text(
      "review.ics",
      "text/calendar",
      "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Q4 review\nDTSTART:20261105T140000Z\nEND:VEVENT\nEND:VCALENDAR\n",
    ),
    text("summary.json", "application/json", '{"quarter":"2026-Q3","revenue":361500,"currency":"EUR"}\n'),
    binary("team-photo.jpg", "image/jpeg", "\xff\xd8\xff\xe0", 16_000),
    binary("chart.png", "image/png", "\x89PNG\r\n\x1a\n", 4_000),
    binary("spinner.gif", "image/gif", "GIF89a", 3_000),
    binary("raw-data.zip", "application/zip", "PK\x03\x04", 10_000),
    binary("voicemail.mp3", "audio/mpeg", "ID3", 6_000),
    binary("demo.mp4", "video/mp4", "\x00\x00\x00\x18ftypmp42", 12_000),
  ];
}

function multipartEml(headers: Record<string, string>, text: string, parts: GeneratedPart[]): Buffer {
  const boundary = "=_openmail-hooks-fixture";
  const lines = [
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    text,
  ];
  for (const part of parts) {
    lines.push(
      `--${boundary}`,
      `Content-Type: ${part.contentType}; name="${part.filename}"`,
      `Content-Disposition: attachment; filename="${part.filename}"`,
      "Content-Transfer-Encoding: base64",
      "",
      wrapBase64(part.content),
    );
  }
  lines.push(`--${boundary}--`, "");
  return Buffer.from(lines.join("\r\n"));
}

function wrapBase64(content: Buffer): string {
  const encoded = content.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
  return lines.join("\r\n");
}
