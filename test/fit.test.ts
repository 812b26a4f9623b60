/**
 * displayWidth answers printable ASCII itself (so the bundled CLI need not load string-width at
 * start-up) and must give exactly what string-width gives, for every string.
 */
import fc from "fast-check";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { displayWidth, truncateToWidth } from "../src/output/fit.js";

describe("displayWidth", () => {
  it("agrees with string-width on edge cases around printable ASCII", () => {
    for (const text of [
      "",
      " ",
      "~",
      "abc def",
      "\x7f",
      "\t",
      "a\nb",
      "\x1b[31mred\x1b[0m",
      "e\u0301",
      "中文",
      "😀",
      "\u00a0",
      "\u200b",
    ]) {
      expect(displayWidth(text), JSON.stringify(text)).toBe(stringWidth(text));
    }
  });

  it("agrees with string-width on any string (ASCII, controls, any code point)", () => {
    const anyText = fc.oneof(
      fc.string({ unit: "binary-ascii", maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 20 }),
      fc.string({ unit: "binary", maxLength: 20 }),
    );
    fc.assert(
      fc.property(anyText, (text) => displayWidth(text) === stringWidth(text)),
      { numRuns: 2000 },
    );
  });

  it("truncates wide text by columns, not characters", () => {
    expect(truncateToWidth("中文中文", 5)).toBe("中文…");
    expect(truncateToWidth("abcdef", 4)).toBe("abc…");
  });
});
