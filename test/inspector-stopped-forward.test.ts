/**
 * A capture whose forward listen gave up on as it stopped (outcome "stopped") is not shown by the
 * inspector as a connection that failed.
 */
import { describe, expect, it } from "vitest";
import { forwardFromCapture } from "../src/inspector/views.js";

const valid = { valid: true, reason: null, message: "signature valid and timestamp within tolerance" };

describe("the inspector's forward read from a capture", () => {
  it("says listen stopped first for outcome stopped, and keeps 'connection failed' for a network error", () => {
    const stopped = forwardFromCapture(
      { url: "http://127.0.0.1:3000/webhooks", outcome: "stopped", status: null, latencyMs: 5100, accepted: false },
      valid,
      1,
    );
    expect(stopped?.text).toBe("no answer: listen stopped before the handler answered");
    const refused = forwardFromCapture(
      { url: "http://127.0.0.1:3000/webhooks", outcome: "refused", status: null, latencyMs: 2, accepted: false },
      valid,
      1,
    );
    expect(refused?.text).toBe("no answer (connection failed)");
  });
});
