/**
 * `listen --redact` and `redact <capture…>`: no original address, name, subject or body text
 * anywhere in the capture, stable placeholders of the same shape, and the capture still verifies.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { captureFileName, serializeCapture } from "../src/core/capture.js";
import { redactCapture } from "../src/core/redact.js";
import { sign } from "../src/core/signature.js";
import { writeCaptures } from "./helpers/captures.js";
import { runCli, startCli, tempDir } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen, startPrettyListen } from "./helpers/listen.js";

const SECRET = "whsec_redact_0123456789ab";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

/** Personal data in the test message, every piece of which must be gone after redaction. */
const PERSONAL = [
  "Jürgen Müller",
  "Jürgen",
  "Müller",
  "juergen.mueller@privat.example.de",
  "privat.example.de",
  "Priya Raman",
  "priya@northwind.io",
  "support@acme.openmail.sh",
  "Kündigung Vertrag 4711",
  "Kündigung",
  "Vertrag",
  "4711",
  "IBAN DE02120300000000202051",
  "DE02120300000000202051",
  "Vertrag_Mueller.pdf",
  "Vertrag_Mueller",
  "Sehr geehrte",
  "Hauptstraße",
  "CAF+private",
];

function personalEvent(eventId = "evt_redact_1") {
  return messageEvent(
    { event_id: eventId },
    {
      from: '"Jürgen Müller" <juergen.mueller@privat.example.de>',
      to: "support@acme.openmail.sh",
      cc: ["Priya Raman <priya@northwind.io>"],
      subject: "Kündigung Vertrag 4711",
      body_text: "Sehr geehrte Damen und Herren,\nIBAN DE02120300000000202051, Hauptstraße 5.\n",
      rfc_message_id: "<CAF+private@privat.example.de>",
      attachments: [
        {
          filename: "Vertrag_Mueller.pdf",
          contentType: "application/pdf",
          sizeBytes: 48_213,
          url: "https://api.openmail.sh/v1/attachments/msg_1/Vertrag_Mueller.pdf",
          parsedText: "Vertrag 4711 Jürgen Müller",
          extractionMethod: "pdf",
        },
      ],
    },
  );
}

function assertNoPersonalData(text: string) {
  for (const piece of PERSONAL) expect(text, `"${piece}" left in the capture`).not.toContain(piece);
  // JSON escapes would hide non-ASCII pieces from a plain search: check the decoded form too.
  const decoded = JSON.stringify(JSON.parse(text));
  for (const piece of PERSONAL) expect(decoded).not.toContain(piece);
}

describe("redaction", () => {
  it("listen --redact writes a redacted, re-signed capture that verifies", async () => {
    const cwd = tempDir();
    const lp = await startListen(["--redact"], { env, cwd });
    stops.push(() => lp.stop("SIGKILL"));
    const event = personalEvent();
    const request = signedEvent(SECRET, event);
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    const record = await lp.waitFor((r) => r.type === "event");
    const path = String(record.capturePath);
    const text = readFileSync(path, "utf8");
    assertNoPersonalData(text);

    const capture = JSON.parse(text);
    expect(capture.redacted).toBe(true);
    expect(capture.redaction).toMatchObject({ resigned: true });
    const body = JSON.parse(capture.body);
    // Same shape: an address is still an address, a name and address still "Name <address>".
    expect(body.message.from).toMatch(/^Person [0-9a-f]{8} <person-[0-9a-f]{8}@example\.com>$/);
    expect(body.message.to).toMatch(/^person-[0-9a-f]{8}@example\.com$/);
    expect(body.message.cc).toEqual([expect.stringMatching(/^Person [0-9a-f]{8} <person-[0-9a-f]{8}@example\.com>$/)]);
    expect(body.message.subject).toBe("Xxxxxxxxx Xxxxxxx 0000");
    expect(body.message.body_text).toBe(
      "Xxxx xxxxxxx Xxxxx xxx Xxxxxx,\nXXXX XX00000000000000000000, Xxxxxxxxxxx 0.\n",
    );
    const [attachment] = body.message.attachments;
    expect(attachment).toMatchObject({ contentType: "application/pdf", sizeBytes: 48_213, extractionMethod: "pdf" });
    expect(attachment.filename).toMatch(/^file-[0-9a-f]{8}\.pdf$/);
    expect(attachment.url).toBe(`https://api.openmail.sh/v1/attachments/msg_1/${attachment.filename}`);
    // Ids that are not personal stay, so the capture still tells its story.
    expect(body).toMatchObject({ event_id: "evt_redact_1", inbox_id: "inb_main", thread_id: "thr_1" });

    const verified = await runCli(["verify", path], { env });
    expect(verified.code).toBe(0);
  });

  it("redact <folder> maps the same address to the same placeholder, leaves originals, skips redacted ones", async () => {
    const cwd = tempDir();
    const lp = await startListen([], { env, cwd });
    stops.push(() => lp.stop("SIGKILL"));
    for (const id of ["evt_a", "evt_b"]) {
      const request = signedEvent(SECRET, personalEvent(id));
      await post(lp.url, request.headers, request.body);
    }
    const tampered = signedEvent(SECRET, personalEvent("evt_c"));
    tampered.body = Buffer.from(tampered.body.toString().replace("4711", "4712"));
    await post(lp.url, tampered.headers, tampered.body);
    await lp.waitFor(() => lp.records.filter((r) => r.type === "event").length === 3);
    await lp.stop();
    const saveDir = String(lp.ready.saveDir);
    const originals = readdirSync(saveDir).map((name) => readFileSync(join(saveDir, name), "utf8"));

    const out = join(cwd, "bug-report");
    const result = await runCli(["redact", saveDir, "--out-dir", out], { env, cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/re-signed, verifies/);
    expect(result.stdout).toMatch(/not re-signed: the original did not verify/);
    expect(result.stdout).toMatch(/3 of 3 written to bug-report/);

    const written = readdirSync(out).sort();
    expect(written).toHaveLength(3);
    const captures = written.map((name) => JSON.parse(readFileSync(join(out, name), "utf8")));
    for (const name of written) assertNoPersonalData(readFileSync(join(out, name), "utf8"));
    const bodies = captures.map((capture) => JSON.parse(capture.body));
    expect(bodies[0].message.from).toBe(bodies[1].message.from);
    expect(bodies[0].message.attachments[0].filename).toBe(bodies[1].message.attachments[0].filename);

    const verdicts = await Promise.all(written.map((name) => runCli(["verify", join(out, name)], { env })));
    const byId = Object.fromEntries(bodies.map((body, i) => [body.event_id, verdicts[i]?.code]));
    expect(byId).toEqual({ evt_a: 0, evt_b: 0, evt_c: 1 });
    expect(captures.find((c) => JSON.parse(c.body).event_id === "evt_c").redaction.resigned).toBe(false);

    // The originals are untouched.
    expect(readdirSync(saveDir).map((name) => readFileSync(join(saveDir, name), "utf8"))).toEqual(originals);
    // Redacting a redacted capture again is skipped, not double-masked.
    const again = await runCli(["redact", join(out, written[0] ?? ""), "--out-dir", join(cwd, "again")], { env, cwd });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already redacted, skipped/);
  });

  it("refuses without a secret and names unreadable inputs (exit 2)", async () => {
    const noSecret = await runCli(["redact", "x.json"]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/no webhook secret/);
    const cwd = tempDir();
    const missing = await runCli(["redact", "nope.json"], { env, cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: no such file/);
    expect(missing.stdout).toMatch(/0 of 1 written to \.openmail-hooks\/redacted \(1 could not be read\)/);
    // Bad input creates nothing: no empty .openmail-hooks/redacted (nor its .gitignore) is left behind.
    expect(readdirSync(cwd)).toEqual([]);
    const outDir = join(cwd, "out", "deeper");
    const notCapture = join(cwd, "notes.txt");
    writeFileSync(notCapture, "not a capture");
    const unreadable = await runCli(["redact", notCapture, "--out-dir", outDir], { env, cwd });
    expect(unreadable.code).toBe(2);
    expect(readdirSync(cwd)).toEqual(["notes.txt"]);
    const listenNoSecret = await runCli(["listen", "--no-tunnel", "--port", "0", "--redact"]);
    expect(listenNoSecret.code).toBe(2);
    expect(listenNoSecret.stderr).toMatch(/--redact signs the redacted captures again/);
  });

  it("JSON that is not a capture is counted as 'not a capture', not 'could not be read' (a7 L5)", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "ok.json"), '{"a":1}');
    const result = await runCli(["redact", "ok.json"], { env, cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ok\.json: not a capture/);
    expect(result.stdout).toMatch(/0 of 1 written to \.openmail-hooks\/redacted \(1 not a capture\)/);
    expect(result.stdout).not.toMatch(/could not be read/);
    const json = await runCli(["redact", "ok.json", "--json"], { env, cwd });
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ input: "ok.json", kind: "problem", stage: "not-a-capture" });
  });

  it("names a folder's *.json links, FIFOs and folders as replay does, never reading them (a7 L6)", async () => {
    const cwd = tempDir();
    const dir = join(cwd, "events");
    writeCaptures(dir, 1, SECRET);
    const other = tempDir();
    writeCaptures(other, 1, SECRET);
    const [target] = readdirSync(other);
    symlinkSync(join(other, target ?? ""), join(dir, "link.json"));
    execFileSync("mkfifo", [join(dir, "fifo.json")]);
    mkdirSync(join(dir, "sub.json"));
    symlinkSync(join(other, target ?? ""), join(dir, ".hidden.json"));
    const result = await runCli(["redact", "events", "--out-dir", "out"], { env, cwd });
    expect(result.stderr).toMatch(
      /events\/link\.json: a symbolic link: links inside a folder are not followed \(name the file it points to, to redact it\)/,
    );
    expect(result.stderr).toMatch(/events\/fifo\.json: not a regular file \(a device, FIFO or socket\): not read/);
    expect(result.stderr).toMatch(
      /events\/sub\.json: a folder: folders inside a folder are not read \(name it, to redact it\)/,
    );
    expect(result.stderr).not.toMatch(/hidden/);
    expect(result.stdout).toMatch(/1 of 4 written to out \(3 not read \(named above\)\)/);
    expect(readdirSync(join(cwd, "out")).filter((name) => name.endsWith(".json"))).toHaveLength(1);
    expect(result.code).toBe(2);
    const json = await runCli(["redact", "events", "--out-dir", "out2", "--json"], { env, cwd });
    const stages = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .map((record) => record.stage ?? record.kind);
    expect(stages).toEqual(["passed-over", "passed-over", "passed-over", "written"]);
  });

  it("a body nested too deeply to redact: listen --redact says so truthfully (not the folder), redact names it", async () => {
    const depth = 100_000;
    const deep = `{"event":"message.received","event_id":"evt_deep","message":{"subject":"s","x":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    const cwd = tempDir();
    const lp = await startPrettyListen(["--redact", "--no-inspect"], { env, cwd });
    stops.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, { event_id: "evt_deep" }, { body: Buffer.from(deep) });
    const answer = await post(lp.url, request.headers, request.body);
    expect(answer.status).toBe(500);
    const line = (await lp.waitForText(/✗ NOT saved: [^\n]*\n/))[0];
    expect(line).toMatch(/nests too deeply to redact .* writes nothing unredacted/);
    expect(line).toMatch(/every retry fails the same way: run listen without --redact/);
    expect(line).not.toMatch(/fix the folder|Maximum call stack/);
    expect(readdirSync(join(cwd, ".openmail-hooks/events")).filter((name) => name.endsWith(".json"))).toEqual([]);

    // The same event saved without --redact, then given to redact: "could not be redacted", not "could not be read".
    const saveDir = join(cwd, "plain");
    mkdirSync(saveDir);
    const receivedAt = new Date().toISOString();
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    writeFileSync(
      join(saveDir, captureFileName(receivedAt, "evt_deep")),
      serializeCapture({ receivedAt, method: "POST", path: "/webhooks", headers, body: request.body }),
    );
    const redacted = await runCli(["redact", saveDir, "--out-dir", join(cwd, "out")], { env, cwd });
    expect(redacted.stderr).toMatch(/evt_deep\.json: not copied: the body nests too deeply to redact/);
    expect(redacted.stdout).toMatch(/0 of 1 written to \S+ \(1 could not be redacted\)/);
    expect(redacted.stderr + redacted.stdout).not.toMatch(/could not be read|Maximum call stack/);
    expect(redacted.code).toBe(2);
  });

  it("Ctrl-C mid-run: says how many copies were written, leaves no temporary file, exits 130", async () => {
    const cwd = tempDir();
    const dir = join(cwd, "ev");
    writeCaptures(dir, 2000, SECRET);
    const out = join(cwd, "out");
    const child = startCli(["redact", dir, "--out-dir", out], { env, cwd });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while ((stdout.match(/ → /g) ?? []).length < 20 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    const said = /interrupted \(Ctrl-C\): (\d+) of 2000 written to \S+; the copy in progress was not kept/.exec(stderr);
    expect(said).not.toBeNull();
    const copies = readdirSync(out);
    expect(copies.filter((name) => name.startsWith("."))).toEqual([]);
    // Those counted, plus at most the one linked into place as Ctrl-C came.
    const written = Number(said?.[1]);
    expect(written).toBeGreaterThanOrEqual(20);
    expect(written).toBeLessThan(2000);
    expect(copies.length - written).toBeGreaterThanOrEqual(0);
    expect(copies.length - written).toBeLessThanOrEqual(1);
  });

  it("masks a body that is not JSON, and never signs it with a different key", () => {
    const body = Buffer.from("name=Jürgen&mail=j@x.de");
    const timestamp = "1764324000";
    const redacted = redactCapture(
      {
        receivedAt: "2026-11-28T10:00:00.000Z",
        method: "POST",
        path: "/webhooks",
        headers: { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body), "content-length": "24" },
        body,
      },
      SECRET,
    );
    expect(Buffer.from(redacted.request.body).toString()).toBe("xxxx=Xxxxxx&xxxx=x@x.xx");
    expect(redacted.request.headers["x-signature"]).toBe(sign(SECRET, timestamp, redacted.request.body));
    expect(redacted.request.headers["content-length"]).toBe(String(redacted.request.body.length));
  });

  it("replaces the values of credential and forwarding headers (anything not OpenMail's or the transport's), keeps OpenMail's", () => {
    const body = Buffer.from('{"event":"message.received","event_id":"evt_h"}');
    const timestamp = "1764324000";
    const signature = sign(SECRET, timestamp, body);
    const redacted = redactCapture(
      {
        receivedAt: "2026-11-28T10:00:00.000Z",
        method: "POST",
        path: "/webhooks?token=sk_live_SECRET123&user=alice@example.com&debug",
        headers: {
          "content-type": "application/json",
          "x-timestamp": timestamp,
          "x-signature": signature,
          "x-event-id": "evt_h",
          authorization: "Bearer stolen-token",
          cookie: "session=abc",
          "x-forwarded-for": "203.0.113.7",
          "cf-access-jwt-assertion": "eyJhbGciOi",
          host: "dev-laptop.ngrok.app",
        },
        body,
      },
      SECRET,
    );
    const headers = redacted.request.headers;
    expect(JSON.stringify(headers)).not.toMatch(/stolen-token|session=abc|203\.0\.113\.7|eyJhbGciOi|dev-laptop/);
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "x-timestamp": timestamp,
      "x-event-id": "evt_h",
      authorization: "redacted",
      "x-forwarded-for": "redacted",
    });
    expect(headers["x-signature"]).toBe(sign(SECRET, timestamp, redacted.request.body));
    expect(redacted.extra.redaction.headersReplaced).toEqual([
      "authorization",
      "cookie",
      "x-forwarded-for",
      "cf-access-jwt-assertion",
      "host",
    ]);
    expect(redacted.extra.redaction.note).toContain("values of headers authorization, cookie");
    expect(redacted.request.path).toBe("/webhooks?token=redacted&user=redacted&debug");
    expect(redacted.extra.redaction.note).toContain("query string values replaced");
  });

  it("says what holds for each copy: a kept timestamp outside the tolerance is not 'verifies'", async () => {
    const cwd = tempDir();
    const dir = join(cwd, "captures");
    mkdirSync(dir);
    // Received now, but signed 360 s earlier: the signature is good, the timestamp is stale.
    const receivedAt = new Date().toISOString();
    const stale = signedEvent(SECRET, personalEvent("evt_stale"), {
      timestamp: Math.floor(Date.parse(receivedAt) / 1000) - 360,
    });
    const headers = Object.fromEntries(
      Object.entries(stale.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const request = { receivedAt, method: "POST", path: "/webhooks", headers, body: stale.body };
    writeFileSync(join(dir, captureFileName(receivedAt, "evt_stale")), serializeCapture(request, {}));

    const result = await runCli(["redact", dir, "--out-dir", "out"], { env, cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/verifies/);
    expect(result.stdout).toMatch(
      /signature valid; its X-Timestamp \(kept\) was 360 s old when received, outside the 300 s tolerance/,
    );
    const [copy] = readdirSync(join(cwd, "out"));
    const verdict = await runCli(["verify", join(cwd, "out", copy ?? "")], { env });
    expect(verdict.code).toBe(1);
    expect(verdict.stdout).toMatch(/✓ signature/);
    expect(verdict.stdout).toMatch(/✗ timestamp {2}360 s old/);

    const json = await runCli(["redact", dir, "--out-dir", "out2", "--json"], { env, cwd });
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: "written", resigned: true, verifies: false });

    // Everything already redacted: nothing is written, and the tally says so.
    const again = await runCli(["redact", "out", "--out-dir", "bug2"], { env, cwd });
    expect(again.code).toBe(0);
    // Nothing to write, so no folder is made for it.
    expect(existsSync(join(cwd, "bug2"))).toBe(false);
    expect(again.stdout).toMatch(/0 of 1 written to bug2 \(1 already redacted, skipped\)/);
    expect(again.stdout).not.toMatch(/1 of 1 written/);
  });
});

describe("redact's output names cannot be read as options (notes-t4)", () => {
  it("a capture's receivedAt never makes a name that starts with '-', and a path that does is printed as ./-…", async () => {
    const cwd = tempDir();
    const signed = signedEvent(SECRET, personalEvent("evt_dash"));
    const headers = Object.fromEntries(
      Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const capture = (receivedAt: string) =>
      serializeCapture({ receivedAt, method: "POST", path: "/webhooks", headers, body: signed.body }, {});
    // A cloned or hand-edited capture: receivedAt is whatever the file says.
    writeFileSync(join(cwd, "-dashed.json"), capture("../../../tmp/PWNED/x"));
    mkdirSync(join(cwd, "in"));
    writeFileSync(join(cwd, "in", "dated.json"), capture("Sat, 28 Nov 2026 10:00:00 GMT"));
    const result = await runCli(["redact", "./-dashed.json", "in/dated.json", "--out-dir", "."], { env, cwd });
    expect(result.code).toBe(0);
    const written = readdirSync(cwd).filter((name) => name.endsWith(".json") && name !== "-dashed.json");
    expect(written.sort()).toEqual(["2026-11-28T10-00-00-000Z_evt_dash.json", "unknown-time_evt_dash.json"]);
    expect(result.stdout).toMatch(/^\.\/-dashed\.json → unknown-time_evt_dash\.json \(/m);
    expect(result.stdout).toMatch(/^in\/dated\.json → 2026-11-28T10-00-00-000Z_evt_dash\.json \(/m);
  });
});

describe("redactingStore", () => {
  it("uses each inbox's own secret, and redacts an event without one all the same (not re-signed)", async () => {
    const { openCaptureStore } = await import("../src/io/capture-store.js");
    const { redactingStore } = await import("../src/io/redacting-store.js");
    const dir = tempDir();
    const { folderRedactionKey } = await import("../src/io/redacting-store.js");
    const key = await folderRedactionKey(dir);
    expect(await folderRedactionKey(dir)).toBe(key);
    const store = redactingStore(await openCaptureStore(dir), {
      placeholderKey: key,
      secretFor: (inboxId) => (inboxId === "inb_known" ? SECRET : undefined),
    });
    const capture = async (inboxId: string) => {
      const request = signedEvent(SECRET, personalEvent(`evt_${inboxId}`));
      const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const body = Buffer.from(request.body.toString().replace('"inb_main"', `"${inboxId}"`));
      headers["x-signature"] = sign(SECRET, headers["x-timestamp"] ?? "", body);
      const path = await store.save(
        { receivedAt: new Date().toISOString(), method: "POST", path: "/webhooks", headers, body },
        `evt_${inboxId}`,
      );
      const text = readFileSync(path, "utf8");
      assertNoPersonalData(text);
      return JSON.parse(text);
    };
    const known = await capture("inb_known");
    const unknown = await capture("inb_unknown");
    expect(known.redaction.resigned).toBe(true);
    expect(unknown.redaction.resigned).toBe(false);
    // One key for the folder: the same sender gets the same placeholder whatever the inbox.
    expect(JSON.parse(known.body).message.from).toBe(JSON.parse(unknown.body).message.from);
  });
});

describe("redact into a folder that cannot take the copies", () => {
  const isRoot = process.getuid?.() === 0;
  const threeCaptures = () => {
    const cwd = tempDir();
    writeCaptures(join(cwd, "events"), 3, SECRET);
    return { cwd, inputs: readdirSync(join(cwd, "events")).map((name) => `events/${name}`) };
  };

  it("a file size limit (ulimit -f): each copy 'could not be written', naming the input and what to do", async () => {
    const { cwd, inputs } = threeCaptures();
    const result = await runCli(["redact", "events", "--out-dir", "out"], {
      env,
      cwd,
      via: ["sh", "-c", 'ulimit -f 1 && exec "$0" "$@"'],
    });
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toEqual(
      inputs.map(
        (input) =>
          `openmail-hooks: could not write the redacted copy of ${input} into out: the copy is larger than a file may be here (file size limit, ulimit -f); raise the limit, or choose another --out-dir`,
      ),
    );
    expect(result.stdout).toBe("0 of 3 written to out (3 could not be written)\n");
    expect(readdirSync(join(cwd, "out"))).toEqual([]);
  });

  it.skipIf(isRoot)(
    "a read-only --out-dir: stops at the first copy, names it, and says to choose another",
    async () => {
      const { cwd, inputs } = threeCaptures();
      mkdirSync(join(cwd, "ro"), { mode: 0o500 });
      const result = await runCli(["redact", "events", "--out-dir", "ro", "--json"], { env, cwd });
      chmodSync(join(cwd, "ro"), 0o700);
      expect(result.code).toBe(2);
      const records = result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(records.map((record) => [record.input, record.kind, record.stage])).toEqual([
        [inputs[0], "problem", "write"],
        [inputs[1], "problem", "not-tried"],
        [inputs[2], "problem", "not-tried"],
      ]);
      expect(records[0].message).toBe(
        `could not write the redacted copy of ${inputs[0]} into ro: no permission to write there; choose another --out-dir`,
      );
      const human = await runCli(["redact", "events", "--out-dir", "ro"], {
        env,
        cwd,
        via: ["sh", "-c", 'chmod 500 ro && exec "$0" "$@"'],
      });
      expect(human.stderr).toBe(
        `openmail-hooks: could not write the redacted copy of ${inputs[0]} into ro: no permission to write there; choose another --out-dir\n` +
          "openmail-hooks: stopped: ro takes no files (no permission to write there), so the other 2 capture(s) were not tried\n",
      );
      expect(human.stdout).toBe("0 of 3 written to ro (1 could not be written; 2 not tried)\n");
      chmodSync(join(cwd, "ro"), 0o700);
    },
  );

  it("a file where --out-dir should be: one usage error naming --out-dir", async () => {
    const { cwd } = threeCaptures();
    writeFileSync(join(cwd, "taken"), "");
    const result = await runCli(["redact", "events", "--out-dir", "taken"], { env, cwd });
    expect(result.code).toBe(2);
    const taken = join(realpathSync(cwd), "taken");
    expect(result.stderr).toBe(
      `openmail-hooks: cannot create the capture folder ${taken}: ${taken} is not a folder; choose another with --out-dir\n`,
    );
    expect(result.stdout).toBe("");
  });

  // A really full disk and a really read-only one: small tmpfs mounts. Needs root and permission to
  // mount (not everywhere: skipped where it is refused).
  it.runIf(isRoot)(
    "a full disk, a read-only file system: the copy that failed is named, the rest not tried",
    async ({ skip }) => {
      const { cwd, inputs } = threeCaptures();
      const mount = (dir: string, options: string) => {
        mkdirSync(join(cwd, dir));
        return spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", join(cwd, dir)]).status === 0;
      };
      if (!mount("small", "size=64k")) return skip();
      try {
        // Full but for one page: the first copy fits, the second does not.
        const { bavail, bsize } = statfsSync(join(cwd, "small"));
        writeFileSync(join(cwd, "small", "fill"), Buffer.alloc(bavail * bsize - bsize));
        const full = await runCli(["redact", "events", "--out-dir", "small/red"], { env, cwd });
        expect(full.code).toBe(2);
        expect(readdirSync(join(cwd, "small", "red"))).toHaveLength(1);
        expect(full.stderr).toBe(
          `openmail-hooks: could not write the redacted copy of ${inputs[1]} into small/red: no space left on its disk; free space there, or choose another --out-dir\n` +
            "openmail-hooks: stopped: small/red takes no files (no space left on its disk), so the other 1 capture(s) were not tried\n",
        );
        expect(full.stdout).toMatch(/\n1 of 3 written to small\/red \(1 could not be written; 1 not tried\)\n$/);

        expect(mount("ro", "ro,mode=0700")).toBe(true);
        const readOnly = await runCli(["redact", "events", "--out-dir", "ro"], { env, cwd });
        expect(readOnly.code).toBe(2);
        expect(readOnly.stderr).toBe(
          `openmail-hooks: could not write the redacted copy of ${inputs[0]} into ro: its file system is read-only; choose another --out-dir\n` +
            "openmail-hooks: stopped: ro takes no files (its file system is read-only), so the other 2 capture(s) were not tried\n",
        );
        expect(readOnly.stdout).toBe("0 of 3 written to ro (1 could not be written; 2 not tried)\n");
      } finally {
        spawnSync("umount", [join(cwd, "small")]);
        spawnSync("umount", [join(cwd, "ro")]);
      }
    },
  );
});

describe("a capture folder on a read-only file system", () => {
  // A read-only tmpfs whose root is open to others (mode 1777): the folder cannot be made private.
  it.runIf(process.getuid?.() === 0)(
    "listen --save-dir and redact --out-dir: one usage error naming the option",
    async ({ skip }) => {
      const cwd = tempDir();
      const folder = join(cwd, "ro");
      mkdirSync(folder);
      if (spawnSync("mount", ["-t", "tmpfs", "-o", "ro", "tmpfs", folder]).status !== 0) return skip();
      try {
        const listen = await runCli(["listen", "--no-tunnel", "--port", "0", "--no-inspect", "--save-dir", "ro"], {
          env,
          cwd,
        });
        expect(listen.code).toBe(2);
        expect(listen.stderr).toMatch(
          /^openmail-hooks: cannot make the capture folder \S+\/ro private \(EROFS: read-only file system, chmod '\S+'\); choose another with --save-dir\n$/,
        );
        writeCaptures(join(cwd, "events"), 1, SECRET);
        const redact = await runCli(["redact", "events", "--out-dir", "ro"], { env, cwd });
        expect(redact.code).toBe(2);
        expect(redact.stderr).toMatch(
          /^openmail-hooks: cannot make the capture folder \S+\/ro private \(EROFS.*choose another with --out-dir\n$/,
        );
      } finally {
        spawnSync("umount", [folder]);
      }
    },
  );
});
