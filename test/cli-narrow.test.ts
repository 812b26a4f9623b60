/** Output on narrow terminals (issue 10 item 5): real pseudo-terminals of a set width. */
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { wrapLine } from "../src/output/fit.js";
import { clip } from "../src/output/sanitize.js";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startInPty } from "./helpers/pty.js";
import { openMailHandler } from "./helpers/servers.js";

const SECRET = "whsec_narrow_0a1b2c3d4e5f6789";
const cleanups = cleanupAfterEach();

const target = serverStarter(cleanups);

const tooWide = (text: string, columns: number) => text.split("\n").filter((line) => stringWidth(line) > columns);

describe("narrow terminals", () => {
  it("listen at 60 columns: every line fits, words stay whole, continuation lines keep their indent", async () => {
    const handler = await target(openMailHandler("whsec_someone_elses_secret_1"));
    const pty = startInPty(["listen", "--no-tunnel", "--port", "0", "--forward-to", handler.url], {
      columns: 60,
      env: { OPENMAIL_WEBHOOK_SECRET: SECRET },
    });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    const url = (await pty.waitForText(/Webhook URL\s+(http:\S+)/))[1] ?? "";
    const event = messageEvent(
      {},
      { subject: "Quarterly report 📈 for the northern region, with 季度报告 attached", from: "Ana <ana@example.com>" },
    );
    const request = signedEvent(SECRET, event);
    await post(url, request.headers, request.body);
    await pty.waitForText(/OpenMail would retry[^\n]*\n/);
    const shown = pty.output();
    expect(tooWide(shown, 60)).toEqual([]);
    // The hint wraps at spaces, its continuation lines indented under it.
    const hint = shown.slice(shown.lastIndexOf("\n", shown.indexOf("hint:")) + 1);
    const hintLines = hint.split("\n").slice(0, 3);
    expect(hintLines[0]).toMatch(/^ {3}hint: the signature verifies/);
    expect(hintLines[1]).toMatch(/^ {5}\S/);
    expect(shown).toMatch(/handler \d+ ms/);
    pty.child.kill("SIGINT");
    expect(await pty.exited).toBe(0);
  });

  it("listen --verbose at 50 columns: values too long for a line are cut with …, the capture path stays whole", async () => {
    const cwd = tempDir();
    const pty = startInPty(["listen", "--no-tunnel", "--port", "0", "--verbose", "--no-inspect"], {
      columns: 50,
      cwd,
      env: { OPENMAIL_WEBHOOK_SECRET: SECRET },
    });
    cleanups.push(async () => pty.child.kill("SIGKILL"));
    const url = (await pty.waitForText(/Webhook URL\s+(http:\S+)/))[1] ?? "";
    const subject = "日本語の件名がとても長い場合の表示テスト😀😀日本語の件名がとても長い場合の表示テスト";
    const from = `${"x".repeat(70)}@example.com`;
    const filename = "a-very-long-attachment-file-name-without-spaces-and-more-and-more.pdf";
    const event = messageEvent(
      { event_id: `evt_${"0123456789abcdef".repeat(3)}` },
      { subject, from, attachments: [{ filename, content_type: "application/pdf", size_bytes: 1000 }] },
    );
    const request = signedEvent(SECRET, event);
    await post(url, request.headers, request.body);
    const path = (await pty.waitForText(/(\.openmail-hooks\/events\/\S+\.json)\n/))[1] ?? "";
    const shown = pty.output();
    // Every line fits but the capture path, which is never cut (so it can be copied) and gets its own line.
    expect(tooWide(shown, 50)).toEqual([path]);
    const lines = shown.split("\n");
    expect(lines).toContain(path);
    expect(lines.find((line) => /^ {4}subj {2}/.test(line))).toMatch(/^ {4}subj {2}日本語\S*…$/);
    expect(lines.find((line) => /^ {4}from {2}/.test(line))).toMatch(/^ {4}from {2}x+…$/);
    expect(lines.find((line) => /^ {4}att {3}/.test(line))).toMatch(/^ {4}att {3}a-very-long-\S*…$/);
    // On the arrival line too: the address and the subject each cut to a continuation line.
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}x{40,}…$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}日本語\S*…$/));
    pty.child.kill("SIGINT");
    expect(await pty.exited).toBe(0);
  });

  it("send-test --scenario all at 60 columns: one block per case instead of broken cells", async () => {
    const handler = await target(openMailHandler(SECRET));
    const pty = startInPty(["send-test", "--url", handler.url, "--secret", SECRET, "--scenario", "all"], {
      columns: 60,
    });
    expect(await pty.exited).toBe(0);
    const shown = pty.output();
    expect(tooWide(shown, 60)).toEqual([]);
    expect(shown).toMatch(/✓ pass valid: signed event\n {4}a correct handler: 2xx within 15 s · got: 200 OK/);
    expect(shown).not.toMatch(/2xx wi\n/);
  });

  it("at 120 columns the same table is a table", async () => {
    const handler = await target(openMailHandler(SECRET));
    const pty = startInPty(["send-test", "--url", handler.url, "--secret", SECRET, "--scenario", "valid"], {
      columns: 120,
    });
    expect(await pty.exited).toBe(0);
    expect(pty.output()).toMatch(/^case\s+a correct handler\s+got\s+result$/m);
  });
});

describe("width-correct text", () => {
  it("never cuts an emoji or a wide character in half, and counts them as two columns", () => {
    const cut = clip("👋👋👋👋", 5);
    expect(cut).toBe("👋👋…");
    expect(stringWidth(cut)).toBeLessThanOrEqual(5);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(clip("季度报告季度报告", 7)).toBe("季度报…");
  });

  it("wraps at spaces with a hanging indent, and never cuts a word longer than a line (paths stay copyable)", () => {
    const long = `https://example.com/${"x".repeat(80)}`;
    const lines = wrapLine(`   hint: ${"word ".repeat(12)}${long} after`, 30);
    for (const line of lines.filter((line) => !line.includes("example.com")))
      expect(stringWidth(line)).toBeLessThanOrEqual(30);
    expect(lines[0]).toMatch(/^ {3}hint: word/);
    expect(lines[1]).toMatch(/^ {5}word/);
    // The long word whole, on a line of its own, unindented (the terminal wraps it); then the rest.
    expect(lines).toContain(long);
    expect(lines.join("\n")).not.toContain("…");
    expect(lines.at(-1)).toMatch(/^ {5}after$/);
  });

  it("keeps colours across a break", () => {
    const red = "\u001b[31m";
    const lines = wrapLine(`${red}${"alpha ".repeat(8)}\u001b[39m`, 24);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[1]?.startsWith(`   ${red}`) || lines[1]?.includes(red)).toBe(true);
    for (const line of lines) expect(stringWidth(line)).toBeLessThanOrEqual(24);
  });
});

describe("wrapping keeps a line's own spacing", () => {
  it("keeps aligned columns when a label's value wraps", () => {
    const lines = wrapLine(`  Secret       ********7890 (28 chars) from environment (OPENMAIL_WEBHOOK_SECRET)`, 60);
    expect(lines[0]).toMatch(/^ {2}Secret {7}\*{8}7890/);
  });
});
