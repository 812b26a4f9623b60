/**
 * replay of a long run: its files are read and prepared ahead, in a worker thread
 * (src/io/replay-ahead.ts). What is sent, in what order, and what is printed must be what the main
 * thread alone would have done, whatever happens to the files meanwhile.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureFileName, serializeCapture } from "../src/core/capture.js";
import { sign } from "../src/core/signature.js";
import { READ_AHEAD_MIN_ITEMS, SLOT_BYTES, WINDOW } from "../src/io/replay-ahead.js";
import { cleanupAfterEach } from "./helpers/cleanups.js";
import { collect, startCli, tempDir } from "./helpers/cli.js";
import { openMailHandler, type RecordedRequest, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "whsec_ahead_0f1e2d3c4b5a";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();
/** Enough captures for the read-ahead to start, and to reach well past its window. */
const COUNT = READ_AHEAD_MIN_ITEMS + 100;
const START = Date.UTC(2026, 10, 20, 9, 0, 0);

function eventBody(i: number, padding = 0): Buffer {
  return Buffer.from(
    JSON.stringify({ event: "message.received", event_id: `evt_${i}`, attempt: 1, note: "x".repeat(padding) }),
  );
}

/** Capture `i` as listen names and writes it, signed with `secret` (SECRET unless told). */
function writeCapture(dir: string, i: number, body = eventBody(i), secret = SECRET): string {
  const receivedAt = new Date(START + i).toISOString();
  const timestamp = String(Math.floor((START + i) / 1000));
  const path = join(dir, captureFileName(receivedAt, `evt_${i}`));
  writeFileSync(
    path,
    serializeCapture({
      receivedAt,
      method: "POST",
      path: "/webhooks",
      headers: {
        "content-type": "application/json",
        "x-timestamp": timestamp,
        "x-signature": sign(secret, timestamp, body),
        "x-event-id": `evt_${i}`,
      },
      body,
    }),
  );
  return path;
}

function folderOf(count: number): { dir: string; paths: string[] } {
  const dir = join(tempDir(), "events");
  mkdirSync(dir);
  const paths = Array.from({ length: count }, (_, i) => writeCapture(dir, i));
  return { dir, paths };
}

async function server(handler = openMailHandler(SECRET)): Promise<TestServer> {
  const started = await startServer(handler);
  cleanups.push(() => started.close());
  return started;
}

const idOf = (request: RecordedRequest) => JSON.parse(request.body.toString()).event_id as string;

describe("replay: a long run read ahead", () => {
  it("sends every capture in arrival order with its exact bytes, freshly signed; refuses a tampered one; sends one larger than the worker takes", async () => {
    const { dir } = folderOf(COUNT);
    const tampered = writeCapture(dir, 500, eventBody(500), "whsec_someone_else");
    const large = eventBody(700, SLOT_BYTES + 1024);
    writeCapture(dir, 700, large);
    const handler = await server();

    const run = await collect(
      startCli(["replay", dir, "--url", `${handler.url}/webhooks`, "--concurrency", "1"], { env }),
    );

    expect(run.code).toBe(2);
    const expected = Array.from({ length: COUNT }, (_, i) => `evt_${i}`).filter((id) => id !== "evt_500");
    expect(handler.requests.map(idOf)).toEqual(expected);
    // The handler checks each signature and timestamp as OpenMail's SDK does: all accepted.
    expect(`${run.stdout}${run.stderr}`).toContain(`passed ${COUNT - 1}`);
    expect(`${run.stdout}${run.stderr}`).toContain(`${tampered}: the captured signature does not verify`);
    const sent700 = handler.requests.find((request) => idOf(request) === "evt_700");
    expect(sent700?.body.equals(large)).toBe(true);
    const sent3 = handler.requests.find((request) => idOf(request) === "evt_3");
    expect(sent3?.body.equals(eventBody(3))).toBe(true);
  }, 60_000);

  it("a file that vanishes or grows after the folder was listed is read as it is when its turn comes", async () => {
    const { dir, paths } = folderOf(COUNT);
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const correct = openMailHandler(SECRET);
    const handler = await server(async (request) => {
      if (idOf(request) === "evt_0") await gate;
      return correct(request);
    });
    const child = startCli(["replay", dir, "--url", `${handler.url}/webhooks`, "--concurrency", "1"], { env });
    const run = collect(child);
    await handler.waitFor(1);
    // Well past what the worker may have prepared while the first request waits.
    const vanished = paths[WINDOW + 600] as string;
    rmSync(vanished);
    const grownIndex = WINDOW + 700;
    const grown = eventBody(grownIndex, 5000);
    writeCapture(dir, grownIndex, grown);
    open();
    const result = await run;

    expect(result.code).toBe(2);
    expect(`${result.stdout}${result.stderr}`).toContain(`${vanished}: ENOENT`);
    const ids = handler.requests.map(idOf);
    expect(ids).toHaveLength(COUNT - 1);
    expect(ids).not.toContain(`evt_${WINDOW + 600}`);
    const sentGrown = handler.requests.find((request) => idOf(request) === `evt_${grownIndex}`);
    expect(sentGrown?.body.equals(grown)).toBe(true);
  }, 60_000);

  it("Ctrl-C mid-run reports what finished and exits 130 (the worker does not keep it alive)", async () => {
    const { dir } = folderOf(COUNT);
    const correct = openMailHandler(SECRET);
    const handler = await server(async (request) =>
      idOf(request) === "evt_300" ? { status: 200, delayMs: 60_000 } : correct(request),
    );
    const child = startCli(["replay", dir, "--url", `${handler.url}/webhooks`, "--concurrency", "1"], { env });
    const run = collect(child);
    await handler.waitFor(301);
    child.kill("SIGINT");
    const result = await run;

    expect(result.code).toBe(130);
    expect(`${result.stdout}${result.stderr}`).toMatch(/interrupted/);
    expect(handler.requests).toHaveLength(301);
  }, 60_000);
});
