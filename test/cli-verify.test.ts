import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { runCli, tempDir } from "./helpers/cli.js";

const SECRET = "example_secret";
const TS = "1711015501";
const BODY = '{"event":"message.received","event_id":"evt_abc123"}';
const SIGNATURE = "61d26078e3833b332cf65512d1144d1cb32c8fbd0e7d0dc8d2e267b54730df60";

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

function capture(body: string, headers: Record<string, string>, receivedAt = "2024-03-21T10:05:02.000Z") {
  return serializeCapture({ receivedAt, method: "POST", path: "/webhooks", headers, body: Buffer.from(body) });
}

beforeAll(() => {
  dir = tempDir();
});

describe("openmail-hooks verify", () => {
  const goodHeaders = { "x-timestamp": TS, "x-signature": SIGNATURE, "x-event-id": "evt_abc123" };

  it("accepts a valid capture (judged at receipt) and exits 0", async () => {
    const path = file("good.json", capture(BODY, goodHeaders));
    const result = await runCli(["verify", path, "--secret", SECRET]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("✓ valid");
    expect(result.stdout).toContain("1 s old when received");
    expect(result.stdout).toMatch(/reject it now/);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it("a capture whose receivedAt is missing or not a date says it is judged against the current time (notes-t4)", async () => {
    // Signed now, so the verdict now is valid: what matters is that the line says what it was judged against.
    const now = String(Math.floor(Date.now() / 1000));
    const headers = { "x-timestamp": now, "x-signature": sign(SECRET, now, BODY), "x-event-id": "evt_abc123" };
    const withoutDate = JSON.parse(capture(BODY, headers));
    delete withoutDate.receivedAt;
    for (const [name, content, said] of [
      ["recv-yesterday.json", capture(BODY, headers, "yesterday"), 'has a receivedAt that is not a date ("yesterday")'],
      ["recv-none.json", JSON.stringify(withoutDate), "has no receivedAt"],
    ] as const) {
      const result = await runCli(["verify", file(name, content), "--secret", SECRET]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        `! the capture ${said}, so its timestamp is judged against the current time, not when it arrived; pass --now <unix seconds> to judge it at another time`,
      );
      const json = await runCli(["verify", join(dir, name), "--secret", SECRET, "--json"]);
      expect(JSON.parse(json.stdout).input.warnings).toEqual([expect.stringContaining(said)]);
    }
    // A readable receivedAt, or --now, needs no such note.
    const dated = await runCli(["verify", file("recv-dated.json", capture(BODY, goodHeaders)), "--secret", SECRET]);
    expect(dated.stdout).not.toContain("judged against the current time");
    const atNow = await runCli(["verify", join(dir, "recv-none.json"), "--secret", SECRET, "--now", now]);
    expect(atNow.stdout).not.toContain("judged against the current time");
  });

  it("explains a re-serialized body and exits 1", async () => {
    const pretty = JSON.stringify(JSON.parse(BODY), null, 2);
    const path = file("pretty.json", capture(pretty, goodHeaders));
    const result = await runCli(["verify", path, "--secret", SECRET]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ invalid");
    expect(result.stdout).toMatch(/re-serialized as compact JSON/);
    expect(result.stdout).toMatch(/express\.raw/);
  });

  it("explains a forged body nested thousands of levels deep as invalid (exit 1), not as an unreadable file", async () => {
    // JSON.parse takes this, JSON.stringify and the Python re-serialisation cannot write it back.
    const depth = 5000;
    const deep = `{"event":"message.received","x":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const path = file("deep.json", capture(deep, goodHeaders));
    const result = await runCli(["verify", path, "--secret", SECRET]);
    expect(result.stderr).not.toMatch(/nests too deeply|Maximum call stack/);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ invalid");
  });

  it("takes the secret from the environment and from .env, never printing it", async () => {
    const path = file("env.json", capture(BODY, goodHeaders));
    const fromEnv = await runCli(["verify", path, "--json"], { env: { OPENMAIL_WEBHOOK_SECRET: SECRET } });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout).secret.source).toBe("environment (OPENMAIL_WEBHOOK_SECRET)");

    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), `OPENMAIL_WEBHOOK_SECRET=${SECRET}\n`);
    const fromFile = await runCli(["verify", path, "--json"], { cwd });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout).secret.source).toBe(".env file (OPENMAIL_WEBHOOK_SECRET)");
    expect(fromFile.stdout).not.toContain(SECRET);

    // The environment wins over .env.
    const both = await runCli(["verify", path, "--json"], { cwd, env: { OPENMAIL_WEBHOOK_SECRET: "wrong" } });
    expect(both.code).toBe(1);

    const explicit = file("custom.env", `OPENMAIL_WEBHOOK_SECRET=${SECRET}\n`);
    const viaFlag = await runCli(["--dotenv", explicit, "verify", path]);
    expect(viaFlag.code).toBe(0);
  });

  it("opens a capture whose file name is not valid UTF-8, given as Node.js reads it (U+FFFD)", async () => {
    const folder = tempDir();
    const named = (byte: number) =>
      Buffer.concat([Buffer.from(`${folder}/caf`), Buffer.from([byte]), Buffer.from(".json")]);
    writeFileSync(named(0xe9), capture(BODY, goodHeaders));
    // What a shell passes as the name's bytes reaches Node.js decoded, the byte 0xe9 as U+FFFD.
    const given = join(folder, "caf\uFFFD.json");
    const result = await runCli(["verify", given, "--secret", SECRET]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("✓ valid");
    expect(result.code).toBe(0);

    // Two names that read the same once decoded cannot be told apart: said so, in one line.
    writeFileSync(named(0xe8), capture(BODY, goodHeaders));
    const twice = await runCli(["verify", given, "--secret", SECRET]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(
      /caf\uFFFD\.json: no such file; or its name is not valid UTF-8 .*another name in its folder reads the same: rename one of them\n$/,
    );
  });

  it("exits 2 naming all three ways when there is no secret", async () => {
    const path = file("nosecret.json", capture(BODY, goodHeaders));
    const result = await runCli(["verify", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--secret.*OPENMAIL_WEBHOOK_SECRET.*\.env/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("reads a raw HTTP request from a file and from stdin", async () => {
    const raw = `POST /webhooks HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/json\r\nX-Timestamp: ${TS}\r\nX-Signature: ${SIGNATURE}\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;
    const now = String(Number(TS) + 5);
    const fromFile = await runCli(["verify", file("req.http", raw), "--secret", SECRET, "--now", now]);
    expect(fromFile.code).toBe(0);
    const fromStdin = await runCli(["verify", "-", "--secret", SECRET, "--now", now], { input: raw });
    expect(fromStdin.code).toBe(0);
    const stale = await runCli(["verify", "-", "--secret", SECRET, "--now", String(Number(TS) + 301), "--json"], {
      input: raw,
    });
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout)).toMatchObject({ valid: false, reason: "timestamp_too_old" });
  });

  it("says what in a raw request a server would refuse or misread, even when the signature is valid", async () => {
    const head = (lines: string) => `POST /webhooks HTTP/1.1\r\n${lines}X-Timestamp: ${TS}\r\n`;
    const now = String(Number(TS) + 5);
    const cases: Array<[string, RegExp]> = [
      [
        `${head("Content-Length: 3\r\nContent-Length: 52\r\n")}X-Signature: ${SIGNATURE}\r\n\r\n${BODY}`,
        /2 content-length headers/,
      ],
      [
        `${head("Content-Length: -5\r\n")}X-Signature: ${SIGNATURE}\r\n\r\n${BODY}`,
        /Content-Length "-5" is not a byte count/,
      ],
      [
        `${head("X-Event-Id : evt_abc123\r\n")}X-Signature: ${SIGNATURE}\r\n\r\n${BODY}`,
        /"X-Event-Id" has whitespace before its colon/,
      ],
    ];
    for (const [raw, warning] of cases) {
      const result = await runCli(["verify", "-", "--secret", SECRET, "--now", now], { input: raw });
      expect(result.stdout).toMatch(warning);
    }
    const twoSignatures = `${head("")}X-Signature: ${SIGNATURE}\r\nX-Signature: ${SIGNATURE}\r\n\r\n${BODY}`;
    const two = await runCli(["verify", "-", "--secret", SECRET, "--now", now], { input: twoSignatures });
    expect(two.stdout).toMatch(/the request carries 2 x-signature headers/);
    expect(two.code).toBe(1);
  });

  it("verifies --body and --body-file with --timestamp and --signature", async () => {
    const now = String(Number(TS) + 1);
    const args = ["--timestamp", TS, "--signature", SIGNATURE, "--secret", SECRET, "--now", now];
    expect((await runCli(["verify", "--body", BODY, ...args])).code).toBe(0);
    expect((await runCli(["verify", "--body-file", file("body.json", BODY), ...args])).code).toBe(0);
    const newline = await runCli(["verify", "--body-file", file("body-nl.json", `${BODY}\n`), ...args]);
    expect(newline.code).toBe(1);
    expect(newline.stdout).toMatch(/newline/);
    const ms = await runCli([
      "verify",
      "--body",
      BODY,
      "--timestamp",
      `${TS}000`,
      "--signature",
      SIGNATURE,
      "--secret",
      SECRET,
    ]);
    expect(ms.code).toBe(1);
    expect(ms.stdout).toMatch(/milliseconds/);
  });

  it("gives the JSON verdict for a wrong secret", async () => {
    const path = file("wrong.json", capture(BODY, { ...goodHeaders, "x-signature": sign("other", TS, BODY) }));
    const result = await runCli(["verify", path, "--secret", SECRET, "--json"]);
    expect(result.code).toBe(1);
    const verdict = JSON.parse(result.stdout);
    expect(verdict).toMatchObject({ type: "verify", valid: false, reason: "signature_mismatch" });
    expect(verdict.findings[0].code).toBe("different_secret");
  });

  it.each([
    [["verify", "/nonexistent/capture.json", "--secret", "s"], /no such file/],
    [["verify", "--secret", "s"], /nothing to verify/],
    [["verify", "--body", "{}", "--secret", "s"], /--timestamp and --signature/],
    [["verify", "--tolerance", "abc", "x.json"], /whole number/],
    [["verify", "--now", "not-a-time", "x.json"], /unix seconds/],
    [["verify", "--now", "-1", "x.json"], /unix seconds/],
    [["verify", "--now", "March 5", "x.json"], /unix seconds/],
    [["verify", "--frobnicate"], /unknown option/],
  ])("exits 2 with one clear line for %j", async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 naming the file for malformed input", async () => {
    const garbage = await runCli(["verify", file("garbage.txt", "hello"), "--secret", "s"]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/garbage\.txt: neither a capture file/);
    const bare = await runCli(["verify", file("bare.json", BODY), "--secret", "s"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/bare event body/);
  });

  it("prints no colour when piped, and strips escape sequences from file names and ids", async () => {
    const hostile = file(
      "evil.json",
      capture(BODY, { ...goodHeaders, "x-event-id": "evt_\u001b[31mred\u001b]0;title\u0007" }),
    );
    const result = await runCli(["verify", hostile, "--secret", SECRET]);
    expect(result.stdout).not.toContain("\u001b");
    expect(result.stdout).toContain("evt_red");
  });

  it("explains each failure once, with its real cause (milliseconds, another body, unreadable timestamp, malformed signature)", async () => {
    const now = String(Number(TS) + 1);
    const whys = (text: string) => text.split("\n").filter((line) => line.trimStart().startsWith("Why:"));
    const flags = (body: string, timestamp: string, signature: string) =>
      runCli([
        "verify",
        "--body-file",
        file(`b-${timestamp}.json`, body),
        "--timestamp",
        timestamp,
        "--signature",
        signature,
        "--secret",
        SECRET,
        "--now",
        now,
      ]);

    // Header in milliseconds, signature over the seconds: one explanation, not the same one twice.
    const ms = await flags(BODY, `${TS}000`, SIGNATURE);
    expect(ms.code).toBe(1);
    expect(whys(ms.stdout)).toHaveLength(1);
    expect(ms.stdout).toMatch(
      /Why: X-Timestamp is in milliseconds but the signature was made over the same time in seconds/,
    );

    // The timestamp line says milliseconds, not "1711015501000 s in the future (… days)".
    expect(ms.stdout).toMatch(/✗ timestamp {2}1711015501000 is in milliseconds; OpenMail sends unix seconds/);
    expect(ms.stdout).not.toMatch(/in the future/);

    // Two slips at once (notes-t5 H9): the header in milliseconds and the seconds signed read 3 s earlier.
    // One Why that says both, not "a different secret" and then "milliseconds".
    const twice = await flags(BODY, `${TS}123`, sign(SECRET, String(Number(TS) - 3), BODY));
    expect(twice.code).toBe(1);
    expect(whys(twice.stdout)).toEqual([
      expect.stringMatching(
        /Why: X-Timestamp is in milliseconds, and the signature was made over unix seconds 3 seconds before it: the signer read the clock twice/,
      ),
    ]);
    expect(twice.stdout).not.toMatch(/different secret/);

    // A different body: nothing reproduces the signature; the header is in ms, with no claim about what was signed.
    const other = await flags("hello", `${TS}000`, sign(SECRET, `${TS}000`, "another body"));
    expect(other.code).toBe(1);
    expect(other.stdout).not.toMatch(/signature was made over/);
    expect(other.stdout).toMatch(
      /no common mistake reproduces the signature, with X-Timestamp read as milliseconds or as seconds: /,
    );
    expect(other.stdout).toMatch(/X-Timestamp \d+ is in milliseconds; OpenMail sends unix seconds/);

    // An unreadable timestamp: the signature is not checked, so no guess about the secret.
    const abc = await flags("x", "abc", "zz");
    expect(abc.code).toBe(1);
    expect(abc.stdout).toMatch(/- signature {2}not checked/);
    expect(abc.stdout).not.toMatch(/different secret/);
    expect(whys(abc.stdout)).toEqual([expect.stringMatching(/X-Timestamp "abc" is not unix seconds/)]);
    expect(abc.stdout).toMatch(/✗ timestamp {2}"abc" is not unix seconds\n/);

    // A signature that is no digest at all: text and --json give the same cause.
    const short = await flags("x", TS, "1234");
    expect(short.code).toBe(1);
    expect(short.stdout).not.toMatch(/different secret/);
    expect(short.stdout).toMatch(/X-Signature is not an HMAC-SHA256 digest: 4 characters/);
    const shortJson = await runCli([
      "verify",
      "--body",
      "x",
      "--timestamp",
      TS,
      "--signature",
      "1234",
      "--secret",
      SECRET,
      "--now",
      now,
      "--json",
    ]);
    const verdict = JSON.parse(shortJson.stdout);
    expect(verdict.reason).toBe("malformed_signature");
    expect(verdict.findings.map((finding: { code: string }) => finding.code)).toEqual(["signature_malformed"]);
  });
});

describe("openmail-hooks verify <folder> (a7 L13: it said 'is a folder; give a file')", () => {
  const goodHeaders = { "x-timestamp": TS, "x-signature": SIGNATURE, "x-event-id": "evt_abc123" };

  it("checks each capture, one line each, then a count; exit 1 if any is invalid", async () => {
    const folder = join(tempDir(), "events");
    mkdirSync(folder);
    writeFileSync(join(folder, "1-good.json"), capture(BODY, goodHeaders));
    writeFileSync(join(folder, "2-tampered.json"), capture(BODY.replace("abc123", "abc124"), goodHeaders));
    writeFileSync(join(folder, "3-good.json"), capture(BODY, goodHeaders));
    writeFileSync(join(folder, "notes.txt"), "not a capture's name: not read");
    const result = await runCli(["verify", folder, "--secret", SECRET]);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^✓ valid +\S*1-good\.json {2}evt_abc123$/);
    expect(lines[1]).toMatch(/^✗ invalid +\S*2-tampered\.json {2}evt_abc123: signature does not match/);
    expect(lines[2]).toMatch(/^✓ valid +\S*3-good\.json/);
    expect(lines[3]).toMatch(/^2 of 3 valid in \S*events \(1 invalid: verify one alone for each check and the fix\)$/);
    expect(result.stdout).not.toMatch(/notes\.txt/);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(1);
  });

  it("all valid: exit 0; one not a capture, or a link: named, exit 2; --json: a record each and a summary", async () => {
    const folder = tempDir();
    writeFileSync(join(folder, "a.json"), capture(BODY, goodHeaders));
    const allValid = await runCli(["verify", folder, "--secret", SECRET]);
    expect(allValid.stdout).toMatch(/1 of 1 valid in /);
    expect(allValid.code).toBe(0);

    writeFileSync(join(folder, "b.json"), '{"a":1}');
    symlinkSync(join(folder, "a.json"), join(folder, "c.json"));
    const mixed = await runCli(["verify", folder, "--secret", SECRET]);
    expect(mixed.stderr).toMatch(/b\.json: not a capture/);
    expect(mixed.stderr).toMatch(
      /c\.json: a symbolic link: links inside a folder are not followed \(name the file it points to, to verify it\)/,
    );
    expect(mixed.stdout).toMatch(/1 of 3 valid in \S+ \(2 not read or not a capture \(named above\)\)/);
    expect(mixed.code).toBe(2);

    const json = await runCli(["verify", folder, "--secret", SECRET, "--json"]);
    const records = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.type)).toEqual([
      "verify-problem",
      "verify",
      "verify-problem",
      "verify-summary",
    ]);
    expect(records[1]).toMatchObject({ valid: true, eventId: "evt_abc123" });
    expect(records[3]).toMatchObject({ total: 3, valid: 1, invalid: 0, unreadable: 2 });
    expect(json.code).toBe(2);
  });

  it("`verify .`: a capture named like an option is shown as ./-x.json, a path the next command reads as a file", async () => {
    const folder = tempDir();
    writeFileSync(join(folder, "--secret=x.json"), capture(BODY, goodHeaders));
    writeFileSync(join(folder, "-b.json"), '{"a":1}');
    symlinkSync(join(folder, "--secret=x.json"), join(folder, "-c.json"));
    const result = await runCli(["verify", ".", "--secret", SECRET], { cwd: folder });
    expect(result.stdout).toMatch(/^✓ valid +\.\/--secret=x\.json {2}evt_abc123$/m);
    expect(result.stderr).toMatch(/^openmail-hooks: \.\/-b\.json: not a capture/m);
    expect(result.stderr).toMatch(/^openmail-hooks: \.\/-c\.json: a symbolic link/m);
    expect(result.code).toBe(2);
  });

  it("an empty folder, and a folder with --body-file, are usage errors", async () => {
    const empty = await runCli(["verify", tempDir(), "--secret", SECRET]);
    expect(empty.stderr).toMatch(/no captures \(\*\.json\) in this folder/);
    expect(empty.code).toBe(2);
    const both = await runCli(["verify", tempDir(), "--body-file", "x", "--secret", SECRET]);
    expect(both.stderr).toMatch(/not both/);
    expect(both.code).toBe(2);
  });
});
