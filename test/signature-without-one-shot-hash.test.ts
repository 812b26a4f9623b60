/**
 * The Node entry also serves Bun and Deno, whose older releases have no `crypto.hash`: there sign()
 * and verify() must fall back to createHmac and give the same signatures, and the module must load.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  // Present as undefined: vitest's mock rejects reading an export it was not given.
  const withoutHash = { ...actual, hash: undefined };
  return { ...withoutHash, default: withoutHash };
});

const { sign, verify } = await import("../src/core/signature.js");

describe("sign and verify where node:crypto has no one-shot hash", () => {
  it("has no hash() in this file's node:crypto", async () => {
    const mocked = await import("node:crypto");
    expect((mocked as { hash?: unknown }).hash).toBeUndefined();
  });

  it("signs byte for byte as createHmac does, and verifies what it signed", () => {
    const body = '{"event":"message.received","event_id":"evt_abc123","subject":"Grüße"}';
    for (const secret of ["example_secret", "k".repeat(64), "ü".repeat(40)]) {
      const expected = createHmac("sha256", secret).update(`1711015501.${body}`).digest("hex");
      expect(sign(secret, "1711015501", body)).toBe(expected);
      const verdict = verify({
        secret,
        headers: { "X-Timestamp": "1711015501", "X-Signature": expected },
        body,
        now: 1711015501,
      });
      expect(verdict.valid).toBe(true);
    }
  });
});
