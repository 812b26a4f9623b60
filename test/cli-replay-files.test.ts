/**
 * replay reading a folder's files: names that are not valid UTF-8 (opened by their bytes, named with
 * U+FFFD), and files replaced after the folder was listed (a FIFO, a symbolic link, a folder), which
 * are refused and named without waiting and without following the link.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureFileName, serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { runCli, tempDir } from "./helpers/cli.js";
import { messageEvent } from "./helpers/http.js";
import { openMailHandler, type RecordedRequest, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_replay_files_51d0c7";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function handler(onRequest?: (request: RecordedRequest) => void): Promise<TestServer> {
  const verify = openMailHandler(SECRET);
  const server = await startServer((request) => {
    onRequest?.(request);
    return verify(request);
  });
  cleanups.push(() => server.close());
  return server;
}

/** A capture's text as listen writes it, signed with SECRET, received at `receivedAt`. */
function captureText(eventId: string, receivedAt: string): string {
  const body = Buffer.from(JSON.stringify(messageEvent({ event_id: eventId })));
  const timestamp = String(Math.floor(Date.parse(receivedAt) / 1000));
  return serializeCapture({
    receivedAt,
    method: "POST",
    path: "/webhooks",
    headers: {
      "content-type": "application/json",
      "x-timestamp": timestamp,
      "x-signature": sign(SECRET, timestamp, body),
      "x-event-id": eventId,
    },
    body,
  });
}

/** A path whose last part has bytes that are not UTF-8: `prefix`, 0xff 0xfe, then `suffix`. */
function nonUtf8Path(dir: string, prefix: string, suffix: string): Buffer {
  return Buffer.concat([Buffer.from(`${dir}/${prefix}`), Buffer.from([0xff, 0xfe]), Buffer.from(suffix)]);
}

const ids = (requests: RecordedRequest[]) => requests.map((request) => request.headers["x-event-id"]);
const records = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe("replay: file names that are not valid UTF-8", () => {
  it("replays such a capture in arrival order, and names an unreadable one with U+FFFD", async () => {
    const dir = tempDir();
    const at = (second: number) => `2026-11-26T10:00:0${second}.000Z`;
    writeFileSync(join(dir, captureFileName(at(1), "evt_first")), captureText("evt_first", at(1)));
    // Named by hand, in no arrival order: read for its arrival time, which puts it between the others.
    writeFileSync(nonUtf8Path(dir, "caf", ".json"), captureText("evt_not_utf8_name", at(2)));
    writeFileSync(join(dir, captureFileName(at(3), "evt_third")), captureText("evt_third", at(3)));
    writeFileSync(nonUtf8Path(dir, "bad", ".json"), "not a capture");
    const app = await handler();

    const result = await runCli(["replay", dir, "--url", app.url, "--json", "--concurrency", "1"], { env });
    expect(ids(app.requests)).toEqual(["evt_first", "evt_not_utf8_name", "evt_third"]);
    const lines = records(result.stdout);
    const errors = lines.filter((line) => line.type === "error");
    expect(errors.map((line) => line.source)).toEqual([join(dir, "bad\uFFFD\uFFFD.json")]);
    expect(String(errors[0]?.message)).toMatch(/bad\uFFFD\uFFFD\.json: not JSON, NDJSON or a raw HTTP request/);
    expect(lines.at(-1)).toMatchObject({ type: "summary", sent: 3, passed: 3, skipped: 1 });
    expect(result.code).toBe(2);

    // Picked by its event id (every file read for its content first), and shown by --dry-run.
    const picked = await runCli(["replay", dir, "--filter", "id=evt_not_utf8_name", "--dry-run"], { env });
    expect(picked.stdout).toMatch(/X-Event-Id: evt_not_utf8_name/);
    expect(picked.stdout).not.toMatch(/evt_first|evt_third/);
    expect(picked.stderr).toMatch(/bad\uFFFD\uFFFD\.json: not JSON/);
  });

  it("a folder of listen's names plus one such name sends every capture", async () => {
    const dir = tempDir();
    const names: string[] = [];
    for (let i = 0; i < 30; i++) {
      const receivedAt = new Date(Date.UTC(2026, 10, 26, 10, 0, 0) + i * 1000).toISOString();
      const name = captureFileName(receivedAt, `evt_${i}`);
      names.push(name);
      writeFileSync(join(dir, name), captureText(`evt_${i}`, receivedAt));
    }
    // The 15th capture moved to a name that is not UTF-8.
    renameSync(join(dir, names[15] as string), nonUtf8Path(dir, "moved", ".json"));
    const app = await handler();
    const result = await runCli(["replay", dir, "--url", app.url, "--concurrency", "1"], { env });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(ids(app.requests)).toEqual(Array.from({ length: 30 }, (_, i) => `evt_${i}`));
  });

  it("replays a folder whose own name is not valid UTF-8, given as Node.js reads it (U+FFFD)", async () => {
    const parent = tempDir();
    const folder = nonUtf8Path(parent, "events-", "");
    mkdirSync(folder);
    const receivedAt = "2026-11-26T10:00:00.000Z";
    writeFileSync(
      Buffer.concat([folder, Buffer.from(`/${captureFileName(receivedAt, "evt_in_folder")}`)]),
      captureText("evt_in_folder", receivedAt),
    );
    writeFileSync(Buffer.concat([folder, Buffer.from("/junk.json")]), "junk");
    const app = await handler();
    const given = join(parent, "events-\uFFFD\uFFFD");
    const result = await runCli(["replay", given, "--url", app.url], { env });
    expect(ids(app.requests)).toEqual(["evt_in_folder"]);
    expect(result.stderr).toContain(`✗ ${join(given, "junk.json")}: not JSON`);
    expect(result.code).toBe(2);
  });
});

describe("replay: a file replaced after its folder was listed", () => {
  it("names a capture found unreadable when its turn comes once, with its problem", async () => {
    const dir = tempDir();
    const name = captureFileName("2026-11-26T10:00:00.000Z", "evt_garbled");
    writeFileSync(join(dir, name), "garbage");
    for (const args of [["--dry-run"], ["--url", "http://127.0.0.1:9/webhooks"]]) {
      const result = await runCli(["replay", dir, ...args], { env });
      expect(result.stderr).toContain(`✗ ${join(dir, name)}: not JSON, NDJSON or a raw HTTP request\n`);
      expect(result.code).toBe(2);
    }
  });

  it("refuses a FIFO, a symbolic link and a folder in a capture's place, naming each, without waiting", async () => {
    const dir = tempDir();
    const other = tempDir();
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const receivedAt = new Date(Date.UTC(2026, 10, 26, 10, 0, i)).toISOString();
      names.push(captureFileName(receivedAt, `evt_${i}`));
      writeFileSync(join(dir, names[i] as string), captureText(`evt_${i}`, receivedAt));
    }
    // A capture elsewhere that a link could point at (it would verify and be sent if followed).
    writeFileSync(join(other, "target.json"), captureText("evt_linked", "2026-11-26T10:00:02.000Z"));
    const path = (i: number) => join(dir, names[i] as string);
    let swapped = false;
    // The first event arrives after the folder was listed: replace three of the files that follow.
    const app = await handler(() => {
      if (swapped) return;
      swapped = true;
      unlinkSync(path(1));
      execFileSync("mkfifo", [path(1)]);
      unlinkSync(path(2));
      symlinkSync(join(other, "target.json"), path(2));
      rmSync(path(3));
      mkdirSync(path(3));
    });

    const result = await runCli(["replay", dir, "--url", app.url, "--concurrency", "1"], { env });
    expect(ids(app.requests)).toEqual(["evt_0", "evt_4"]);
    const shown = (i: number) => (names[i] as string).replace(/[.]/g, "\\.");
    expect(result.stderr).toMatch(new RegExp(`${shown(1)}: not a regular file \\(a device, FIFO or socket\\)`));
    expect(result.stderr).toMatch(new RegExp(`${shown(2)}: is a symbolic link`));
    expect(result.stderr).toMatch(new RegExp(`${shown(3)}: is a folder`));
    expect(result.stdout).toMatch(/passed 2 · failed 0 · not sent 3 \(named above\)/);
    expect(result.code).toBe(2);
  });

  it("names a symbolic link, a FIFO and a folder among a folder's *.json entries when it is listed, never reading them", async () => {
    const dir = tempDir();
    const other = tempDir();
    const receivedAt = "2026-11-26T10:00:00.000Z";
    writeFileSync(join(dir, captureFileName(receivedAt, "evt_real")), captureText("evt_real", receivedAt));
    writeFileSync(join(other, "target.json"), captureText("evt_linked", "2026-11-26T10:00:01.000Z"));
    symlinkSync(join(other, "target.json"), join(dir, "link.json"));
    symlinkSync(join(other, "nowhere.json"), join(dir, "dangling.json"));
    execFileSync("mkfifo", [join(dir, "fifo.json")]);
    mkdirSync(join(dir, "sub.json"));
    // Not *.json, or hidden: not a capture's name, so not named either.
    symlinkSync(join(other, "target.json"), join(dir, "notes.txt"));
    symlinkSync(join(other, "target.json"), join(dir, ".hidden.json"));
    const app = await handler();

    const result = await runCli(["replay", dir, "--url", app.url], { env });
    expect(ids(app.requests)).toEqual(["evt_real"]);
    expect(result.stderr).toMatch(/link\.json: a symbolic link: links inside a folder are not followed/);
    expect(result.stderr).toMatch(/dangling\.json: a symbolic link/);
    expect(result.stderr).toMatch(/fifo\.json: not a regular file \(a device, FIFO or socket\)/);
    expect(result.stderr).toMatch(/sub\.json: a folder: folders inside a folder are not read/);
    expect(result.stderr).not.toMatch(/notes\.txt|hidden/);
    expect(result.stdout).toMatch(/not sent 4 \(named above\)/);
    expect(result.code).toBe(2);
  });

  it("reads a file that grew past the first read's buffer whole, and refuses one grown past the limit", async () => {
    const dir = tempDir();
    const receivedAt = "2026-11-26T10:00:00.000Z";
    const name = captureFileName(receivedAt, "evt_big");
    // A body of 200 KB: more than the first read of a listed file takes.
    const body = Buffer.from(JSON.stringify(messageEvent({ event_id: "evt_big", text: "x".repeat(200_000) })));
    const timestamp = String(Math.floor(Date.parse(receivedAt) / 1000));
    writeFileSync(
      join(dir, name),
      serializeCapture({
        receivedAt,
        method: "POST",
        path: "/webhooks",
        headers: { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body), "x-event-id": "evt_big" },
        body,
      }),
    );
    const app = await handler();
    const sent = await runCli(["replay", dir, "--url", app.url], { env });
    expect(sent.code).toBe(0);
    expect(app.requests[0]?.body.equals(body)).toBe(true);

    const refused = await runCli(["replay", dir, "--url", app.url, "--max-input-size", "100000"], { env });
    expect(refused.stderr).toMatch(/is 0\.2 MB, over the input limit of 0\.1 MB/);
    expect(refused.code).toBe(2);
    expect(app.requests).toHaveLength(1);
  });
});
