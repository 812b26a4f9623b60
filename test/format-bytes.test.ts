/** Sizes as the terminal and the inspector show them; a payload's size that is not one is said to be wrong. */
import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/core/judgement-words.js";

describe("formatBytes", () => {
  it("shows bytes, KB and MB", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(2048)).toBe("2 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });

  it("does not show a negative or fractional sizeBytes from a payload as a size", () => {
    expect(formatBytes(-5)).toBe("invalid size (-5)");
    expect(formatBytes(1.5)).toBe("invalid size (1.5)");
    expect(formatBytes(Number.NaN)).toBe("invalid size (NaN)");
  });
});
