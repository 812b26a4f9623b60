/**
 * Nothing from outside reaches a terminal raw (issue 14 item 4): every line goes through one
 * output function that sanitises, and NDJSON escapes what JSON.stringify leaves raw.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen, startPrettyListen } from "./helpers/listen.js";

const SECRET = "whsec_sanitize_0a1b2c3d4e5f6789";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

// C1 controls (8-bit CSI, OSC, ST), bidi overrides, ESC, BEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw controls is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE_TIMESTAMP = "17\u009b2J\u009b31mTS\u009d0;PW\u009c";

describe("the terminal sanitiser, by construction", () => {
  it("listen: a hostile X-Timestamp (C1 controls) is shown escaped, in every line", async () => {
    const lp = await startPrettyListen([], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    request.headers["X-Timestamp"] = HOSTILE_TIMESTAMP;
    await post(lp.url, request.headers, request.body);
    await lp.waitForText(/<-- .*\n/);
    // The 8-bit escape sequences are removed whole, as their 7-bit forms are.
    expect(lp.stdout()).toContain('X-Timestamp is not unix seconds: "17TS');
    expect(lp.stdout()).not.toMatch(RAW_CONTROL);
  });

  it("listen --json: the same header gives valid JSON with the controls escaped, the data intact", async () => {
    const lp = await startListen(["--no-save"], { env });
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent({}, { subject: "a\u202ebc\u0085" }));
    request.headers["X-Timestamp"] = HOSTILE_TIMESTAMP;
    await post(lp.url, request.headers, request.body);
    const event = await lp.waitFor((r) => r.type === "event");
    expect(String((event.verification as { message: string }).message)).toContain("\u009b2J");
    expect(lp.stdout()).not.toMatch(RAW_CONTROL);
    expect(lp.stdout()).toContain("\\u009b2J");
  });

  it("verify: a raw HTTP request with U+202E and U+009B prints neither raw", async () => {
    const dir = tempDir();
    const file = join(dir, "request.http");
    const body = JSON.stringify(messageEvent());
    writeFileSync(
      file,
      `POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Timestamp: 1711015501\u202e\u009b2J\r\nX-Signature: ab\u202ecd\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const result = await runCli(["verify", file, "--secret", SECRET]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toMatch(RAW_CONTROL);
    const json = await runCli(["verify", file, "--secret", SECRET, "--json"]);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(() => JSON.parse(json.stdout)).not.toThrow();
  });
});
