/**
 * send-test with real mail and fixtures: --eml (file, folder, stdin), broken MIME, --save-fixture →
 * --fixture round trip, fresh ids and times, --list-fixtures, and the built-in fixtures.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { judgePayload } from "../src/core/events.js";
import { sign } from "../src/core/signature.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_eml_a1b2c3d4e5f6";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const EML = join(import.meta.dirname, "fixtures/eml");
const servers: TestServer[] = [];

async function server() {
  const started = await startServer();
  servers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const bodies = (target: TestServer) => target.requests.map((request) => JSON.parse(request.body.toString()));

describe("send-test --eml", () => {
  it("sends the message.received event built from the .eml, signed", async () => {
    const target = await server();
    const result = await runCli(
      ["send-test", "--url", target.url, "--eml", join(EML, "encoded-words.eml"), "--inbox-id", "inb_support"],
      { env },
    );
    expect(result.code).toBe(0);
    const [request] = target.requests;
    const event = JSON.parse(request?.body.toString() ?? "{}");
    expect(request?.headers["x-signature"]).toBe(
      sign(SECRET, String(request?.headers["x-timestamp"]), request?.body ?? ""),
    );
    expect(judgePayload(event)).toMatchObject({ known: true, problems: [] });
    expect(event).toMatchObject({ event: "message.received", inbox_id: "inb_support", attempt: 1 });
    expect(event.message).toMatchObject({
      from: "José García <jose.garcia@example.org>",
      to: "support@acme.openmail.sh",
      cc: ["zoe@example.net", "taro@example.jp"],
      subject: "Re: Résumé du projet ✓ à valider",
      body_text: "Bonjour André,\n\nVoici le résumé.\n",
    });
    // Fresh times: the event happened now, not when the mail was written.
    expect(Math.abs(Date.parse(event.delivered_at) - Date.now())).toBeLessThan(60_000);
  });

  it("sends every .eml of a folder, and - reads standard input; flags override the message", async () => {
    const dir = tempDir();
    copyFileSync(join(EML, "alternative.eml"), join(dir, "a.eml"));
    copyFileSync(join(EML, "no-subject.eml"), join(dir, "b.eml"));
    writeFileSync(join(dir, "notes.txt"), "not mail");
    const target = await server();
    const folder = await runCli(["send-test", "--url", target.url, "--eml", dir, "--count", "2"], { env });
    expect(folder.code).toBe(0);
    expect(bodies(target).map((event) => event.message.subject)).toEqual([
      "Shipping update for order 10482",
      "",
      "Shipping update for order 10482",
      "",
    ]);
    expect(new Set(bodies(target).map((event) => event.event_id)).size).toBe(4);

    const piped = await runCli(
      ["send-test", "--url", target.url, "--eml", "-", "--subject", "Override", "--to", "ops@acme.openmail.sh"],
      { env, input: readFileSync(join(EML, "latin1.eml")) },
    );
    expect(piped.code).toBe(0);
    expect(bodies(target)[4].message).toMatchObject({
      subject: "Override",
      to: "ops@acme.openmail.sh",
      from: '"Müller, Jürgen" <juergen@example.de>',
    });
  });

  it("refuses broken MIME with one line naming the file, exit 2, and sends nothing", async () => {
    const target = await server();
    for (const file of ["broken-not-mime.eml", "broken-no-boundary.eml", "broken-unterminated.eml"]) {
      const result = await runCli(["send-test", "--url", target.url, "--eml", join(EML, file)], { env });
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^openmail-hooks: .*${file.replace(".", "\\.")}: not a usable email: `));
    }
    const missing = await runCli(["send-test", "--url", target.url, "--eml", "nope.eml"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.eml: no such file/);
    expect(target.requests).toHaveLength(0);
  });

  it("says which attachments lack parsedText because only OpenMail can extract it", async () => {
    const result = await runCli(["send-test", "--print", "--eml", join(EML, "inline-image.eml")], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/no parsedText for screenshot\.png \(ocr\), attachment-2\.png \(ocr\)/);
  });
});

describe("send-test fixtures", () => {
  it("--save-fixture then --fixture: the same event, freshly signed with a new event_id and times", async () => {
    const cwd = tempDir();
    const saved = await runCli(["send-test", "--eml", join(EML, "inline-image.eml"), "--save-fixture", "screenshot"], {
      cwd,
    });
    expect(saved.code).toBe(0);
    expect(saved.stderr).toMatch(/saved fixture screenshot → .*\.openmail-hooks\/fixtures\/screenshot\.json/);
    const fixture = JSON.parse(readFileSync(join(cwd, ".openmail-hooks/fixtures/screenshot.json"), "utf8"));
    expect(fixture.message.subject).toBe("Screenshot of the error");

    const target = await server();
    const sent = await runCli(["send-test", "--url", target.url, "--fixture", "screenshot"], { env, cwd });
    expect(sent.code).toBe(0);
    const [event] = bodies(target);
    expect(event.event_id).not.toBe(fixture.event_id);
    expect(event.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
    // Times move together: the spacing between occurred_at and delivered_at is kept.
    expect(Date.parse(event.delivered_at) - Date.parse(event.occurred_at)).toBe(
      Date.parse(fixture.delivered_at) - Date.parse(fixture.occurred_at),
    );
    expect(Date.parse(event.delivered_at)).toBeGreaterThan(Date.parse(fixture.delivered_at) - 1);
    expect(event.message.received_at).toBe(event.occurred_at);
    const { event_id: _a, occurred_at: _b, delivered_at: _c, message: m1, ...rest1 } = event;
    const { event_id: _d, occurred_at: _e, delivered_at: _f, message: m2, ...rest2 } = fixture;
    expect(rest1).toEqual(rest2);
    expect({ ...m1, received_at: null }).toEqual({ ...m2, received_at: null });

    const kept = await runCli(["send-test", "--url", target.url, "--fixture", "screenshot", "--keep-ids"], {
      env,
      cwd,
    });
    expect(kept.code).toBe(0);
    expect(bodies(target)[1]).toEqual(fixture);
  });

  it("sends built-in fixtures by name and fixture files by path; unknown names exit 2", async () => {
    const cwd = tempDir();
    const target = await server();
    const result = await runCli(
      ["send-test", "--url", target.url, "--fixture", "pod-suspended", "--fixture", "many-attachments"],
      { env, cwd },
    );
    expect(result.code).toBe(0);
    const [pod, many] = bodies(target);
    expect(pod).toMatchObject({ event: "pod.suspended", inbox_id: null, inbox_address: null, reason: "pod_degraded" });
    expect(many.message.attachments).toHaveLength(14);
    for (const event of [pod, many]) expect(judgePayload(event).problems).toEqual([]);

    mkdirSync(join(cwd, "mine"));
    writeFileSync(
      join(cwd, "mine/custom.json"),
      JSON.stringify({
        event: "inbox.suspended",
        event_id: "evt_x",
        occurred_at: "2026-01-01T00:00:00.000Z",
        inbox_id: "inb_1",
        inbox_address: "a@b.c",
        pod_id: null,
        reason: "abuse",
      }),
    );
    const byPath = await runCli(["send-test", "--url", target.url, "--fixture", "mine/custom.json"], { env, cwd });
    expect(byPath.code).toBe(0);
    expect(bodies(target)[2]).toMatchObject({ event: "inbox.suspended", reason: "abuse", inbox_id: "inb_1" });
    expect(byPath.stderr).not.toContain("note:");

    const unknown = await runCli(["send-test", "--url", target.url, "--fixture", "nope"], { env, cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no fixture named "nope": see send-test --list-fixtures/);
    const badName = await runCli(["send-test", "--print", "--save-fixture", "../escape"], { env, cwd });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/no path/);
  });

  it("a saved fixture that takes a built-in's name, or lacks what OpenMail sends, is said before it is sent", async () => {
    const cwd = tempDir();
    const target = await server();
    mkdirSync(join(cwd, ".openmail-hooks/fixtures"), { recursive: true });
    // What a cloned repository could ship: a built-in's name, and a body OpenMail would never send.
    writeFileSync(
      join(cwd, ".openmail-hooks/fixtures/no-attachments.json"),
      JSON.stringify({ event: "message.received", event_id: "evt_p", message: { subject: "Wire $50,000" } }),
    );
    const result = await runCli(["send-test", "--url", target.url, "--fixture", "no-attachments"], { env, cwd });
    expect(result.stderr).toMatch(
      /note: fixture no-attachments is the saved one \(\.openmail-hooks\/fixtures\/no-attachments\.json\), used instead of the built-in one/,
    );
    expect(result.stderr).toMatch(
      /note: fixture no-attachments lacks what OpenMail always sends \(.*occurred_at.*\); sent as it is/,
    );
    expect(target.requests).toHaveLength(1);
    const builtin = await runCli(["send-test", "--url", target.url, "--fixture", "pod-suspended"], { env, cwd });
    expect(builtin.stderr).not.toContain("note:");

    // A CI step reading --json records sees the notes in each delivery record, not a clean pass (notes-t5 H8).
    const json = await runCli(
      ["send-test", "--url", target.url, "--fixture", "no-attachments", "--fixture", "pod-suspended", "--json"],
      { env, cwd },
    );
    expect(json.code).toBe(0);
    const deliveries = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; notes: string[] })
      .filter((record) => record.type === "delivery");
    expect(deliveries).toHaveLength(2);
    const saved = deliveries.find((record) => record.notes.length > 0);
    expect(saved?.notes).toEqual([
      "fixture no-attachments is the saved one (.openmail-hooks/fixtures/no-attachments.json), used instead of the built-in one",
      expect.stringMatching(
        /^fixture no-attachments lacks what OpenMail always sends \(.*occurred_at.*\); sent as it is$/,
      ),
    ]);
    // The built-in fixture sent in the same run has none.
    expect(deliveries.filter((record) => record.notes.length === 0)).toHaveLength(1);
  });

  it("--list-fixtures lists built-in and saved fixtures", async () => {
    const cwd = tempDir();
    await runCli(["send-test", "--event", "inbox.suspended", "--save-fixture", "my-suspension"], { cwd });
    const listed = await runCli(["send-test", "--list-fixtures", "--json"], { cwd });
    expect(listed.code).toBe(0);
    const fixtures = listed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; name: string; origin: string; description: string });
    // One record per fixture, each starting with its type and the schema version, as every record does.
    for (const line of listed.stdout.trim().split("\n")) expect(line).toMatch(/^\{"type":"fixture","schemaVersion":1,/);
    expect(fixtures.filter((f) => f.origin === "built-in").map((f) => f.name)).toEqual([
      "no-attachments",
      "many-attachments",
      "large-attachment",
      "non-ascii",
      "html-only",
      "reply-in-thread",
      "inbox-suspended",
      "inbox-reactivated",
      "pod-suspended",
      "pod-reactivated",
    ]);
    expect(fixtures.find((f) => f.origin === "saved")).toMatchObject({
      name: "my-suspension",
      description: "inbox.suspended",
    });
    const human = await runCli(["send-test", "--list-fixtures"], { cwd });
    expect(human.stdout).toMatch(/large-attachment\s+an 11 MB PDF/);
    expect(human.stdout).toMatch(/Saved fixtures[\s\S]*my-suspension/);
  });
});
