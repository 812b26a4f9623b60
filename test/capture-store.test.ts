/**
 * The capture folder is ours alone (issue 14 item 3, item 7): owner and mode checked, symlinks
 * followed only to a folder that passes, temporary names unguessable and drawn again on a clash,
 * stale temporary files removed at start. Run as root, another user is simulated by chown to nobody.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fromCaptureObject, serializeCapture, serializeCapturePieces } from "../src/core/capture.js";
import { runCli, tempDir } from "./helpers/cli.js";

const drawn: Buffer[] = [];
vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>();
  return {
    ...original,
    // Tests can queue the "random" bytes a temporary name is made of, to force a clash.
    randomBytes: (size: number) => drawn.shift() ?? original.randomBytes(size),
  };
});

// Tests can hold fsyncs back, to keep saves in flight (their temporary files on disk) for a while.
let holdFsyncs = false;
const heldFsyncs: Array<() => void> = [];
// Tests can hold the thread pool's opens back, as a pool busy with other saves' fsyncs does.
let holdOpens = false;
const heldOpens: Array<() => void> = [];
vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs")>();
  return {
    ...original,
    fsync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
      original.fsync(fd, (error) => (holdFsyncs ? heldFsyncs.push(() => callback(error)) : callback(error))),
    open: (...args: Parameters<typeof original.open>) =>
      holdOpens ? heldOpens.push(() => original.open(...args)) : original.open(...args),
  };
});

const { openCaptureStore } = await import("../src/io/capture-store.js");

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const request = (body = '{"event":"message.received"}') => ({
  receivedAt: "2026-11-26T10:00:00.000Z",
  method: "POST",
  path: "/webhooks",
  headers: { "x-event-id": "evt_1" },
  body: Buffer.from(body),
});

afterEach(() => {
  drawn.length = 0;
  holdFsyncs = false;
  for (const release of heldFsyncs.splice(0)) release();
  holdOpens = false;
  for (const release of heldOpens.splice(0)) release();
});

describe("capture folder: ours alone", () => {
  it("tightens a folder we own (0777, 0755) to 0700", async () => {
    for (const mode of [0o777, 0o755]) {
      const dir = join(tempDir(), "events");
      mkdirSync(dir);
      chmodSync(dir, mode);
      const store = await openCaptureStore(dir);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const path = await store.save(request(), "evt_1");
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
  });

  it.runIf(isRoot)("refuses a folder owned by another user, directly or through a symlink", async () => {
    const base = tempDir();
    const theirs = join(base, "theirs");
    mkdirSync(theirs, { mode: 0o777 });
    chmodSync(theirs, 0o777);
    chownSync(theirs, NOBODY, NOBODY);
    await expect(openCaptureStore(theirs)).rejects.toThrow(/belongs to another user \(uid 65534\)/);
    const link = join(base, "link");
    symlinkSync(theirs, link);
    await expect(openCaptureStore(link)).rejects.toThrow(/a link to .*theirs.*belongs to another user/);
    expect(readdirSync(theirs)).toEqual([]);

    // Through the CLI: one line, exit 2, nothing written.
    const result = await runCli(["listen", "--no-tunnel", "--port", "0", "--save-dir", theirs]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/refusing the capture folder .*--save-dir/);
  });

  it("follows a symlink to a folder of ours and writes to its target", async () => {
    const base = tempDir();
    const target = join(base, "real");
    mkdirSync(target, { mode: 0o755 });
    const link = join(base, "link");
    symlinkSync(target, link);
    const store = await openCaptureStore(link);
    expect(store.dir).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o700);
  });

  it("a planted file at a temporary name is never written through: a fresh name is drawn (not a 500)", async () => {
    const dir = join(tempDir(), "events");
    mkdirSync(dir, { mode: 0o700 });
    const predictable = Buffer.alloc(16, 0xab);
    const victim = join(tempDir(), "victim.txt");
    writeFileSync(victim, "untouched");
    // The names a predictable draw would give, in this scheme and in the one before it (a per-run
    // prefix and a counter, which the attack enumerated).
    const name = `.tmp-${process.pid}-${predictable.toString("hex")}`;
    drawn.push(predictable);
    const store = await openCaptureStore(dir);
    for (const planted of [name, `${name}-0`]) symlinkSync(victim, join(dir, planted));
    const path = await store.save(request(), "evt_1");
    expect(readFileSync(victim, "utf8")).toBe("untouched");
    expect(fromCaptureObject(JSON.parse(readFileSync(path, "utf8"))).request.headers["x-event-id"]).toBe("evt_1");
  });

  it("removes temporary files left by a run that died, and keeps live ones", async () => {
    const dir = join(tempDir(), "events");
    mkdirSync(dir, { mode: 0o700 });
    // pid 2^22 + 1 is above Linux's pid_max: no such process.
    const dead = join(dir, `.tmp-${2 ** 22 + 1}-0123abcd-7`);
    const live = join(dir, `.tmp-${process.ppid}-${"cd".repeat(16)}`);
    writeFileSync(dead, "partial");
    writeFileSync(live, "being written");
    await openCaptureStore(dir);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it("a sweep running while captures are saved removes what a crash left, never a save in flight", async () => {
    const dir = join(tempDir(), "events");
    mkdirSync(dir, { mode: 0o700 });
    // Left by an earlier process that had our pid (pids are reused): ours by name, not in flight.
    const reusedPid = join(dir, `.tmp-${process.pid}-${"ef".repeat(16)}`);
    writeFileSync(reusedPid, "partial");
    const store = await openCaptureStore(dir, { sweepAtOpen: false });
    expect(existsSync(reusedPid)).toBe(true);
    const names: string[] = [];
    // Saves whose temporary files are written and whose fsyncs are held back while the pass runs.
    holdFsyncs = true;
    const saves = Array.from({ length: 50 }, (_, i) => store.save(request(`{"n":${i}}`), `evt_${i}`));
    // The files are created in the thread pool: wait until all 50 are there.
    for (let waited = 0; readdirSync(dir).filter((name) => name.startsWith(".tmp-")).length < 51; waited++) {
      expect(waited).toBeLessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await store.scan((name) => names.push(name));
    holdFsyncs = false;
    for (const release of heldFsyncs.splice(0)) release();
    const paths = await Promise.all(saves);
    expect(existsSync(reusedPid)).toBe(false);
    expect(names.some((name) => name.startsWith("."))).toBe(false);
    expect(paths.map((path) => JSON.parse(readFileSync(path, "utf8")).body)).toEqual(
      Array.from({ length: 50 }, (_, i) => `{"n":${i}}`),
    );
    expect(readdirSync(dir).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("a warm-up writes and fsyncs a temporary file, removes it, and leaves no capture; a sweep meanwhile spares it", async () => {
    const dir = join(tempDir(), "events");
    const store = await openCaptureStore(dir, { sweepAtOpen: false });
    holdFsyncs = true;
    const warming = store.warmUp(request());
    for (let waited = 0; heldFsyncs.length === 0; waited++) {
      expect(waited).toBeLessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [temporary] = readdirSync(dir);
    expect(temporary).toMatch(new RegExp(`^\\.tmp-${process.pid}-[0-9a-f]{32}$`));
    const names: string[] = [];
    await store.scan((name) => names.push(name));
    expect(names).toEqual([]);
    expect(readdirSync(dir)).toEqual([temporary]);
    holdFsyncs = false;
    for (const release of heldFsyncs.splice(0)) release();
    await warming;
    expect(readdirSync(dir)).toEqual([]);
    // The folder works as before: the next save is the first capture.
    const path = await store.save(request(), "evt_1");
    expect(readdirSync(dir)).toEqual([path.slice(dir.length + 1)]);
  });

  it("removes a save's temporary file before the folder's fsync (the answer waits for the folder's fsync, not the removal too)", async () => {
    const dir = join(tempDir(), "events");
    const store = await openCaptureStore(dir);
    holdFsyncs = true;
    const saving = store.save(request(), "evt_1");
    const nextHeld = async () => {
      for (let waited = 0; heldFsyncs.length === 0; waited++) {
        expect(waited).toBeLessThan(500);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return heldFsyncs.splice(0);
    };
    // The file's fsync: nothing linked yet.
    const [fileSync] = await nextHeld();
    expect(readdirSync(dir)).toHaveLength(1);
    expect(readdirSync(dir)[0]).toMatch(/^\.tmp-/);
    fileSync?.();
    // The folder's fsync: the capture is linked and its temporary file already gone.
    const [folderSync] = await nextHeld();
    expect(readdirSync(dir)).toEqual(["2026-11-26T10-00-00-000Z_evt_1.json"]);
    holdFsyncs = false;
    folderSync?.();
    expect(await saving).toBe(join(dir, "2026-11-26T10-00-00-000Z_evt_1.json"));
    expect(readdirSync(dir)).toEqual(["2026-11-26T10-00-00-000Z_evt_1.json"]);
  });

  it("writes large captures in pieces, byte for byte the same text", async () => {
    const dir = join(tempDir(), "events");
    const store = await openCaptureStore(dir);
    const body = `{"event":"message.received","body_text":"${"é€😀\\n".repeat(100_000)}"}`;
    const path = await store.save(request(body), "evt_big");
    expect(readFileSync(path, "utf8")).toBe(serializeCapture(request(body)));
    expect([...serializeCapturePieces(request(body))].length).toBeGreaterThan(2);
  });
});

describe("a store that creates its files on the main thread (redact: Ctrl-C exits right after abandon)", () => {
  const big = () => request(JSON.stringify({ event: "message.received", text: "é".repeat(300_000) }));

  it("has created the temporary file by the time save() returns, so abandon() sees and removes it", async () => {
    for (const made of [request(), big()]) {
      const dir = join(tempDir(), "out");
      const store = await openCaptureStore(dir, { createOnMainThread: true });
      holdOpens = true;
      const saving = store.save(made, "evt_1");
      // What a Ctrl-C handler running now would find: the file exists and is ours to remove.
      expect(readdirSync(dir).filter((name) => name.startsWith(".tmp-"))).toHaveLength(1);
      store.abandon?.();
      expect(readdirSync(dir).filter((name) => name !== ".gitignore")).toEqual([]);
      // The pool would create a file abandon() never saw only now, as the process exits.
      holdOpens = false;
      for (const release of heldOpens.splice(0)) release();
      // The save carries on until it fails to link the file abandon() removed: nothing is kept.
      await expect(saving).rejects.toThrow();
      expect(readdirSync(dir).filter((name) => name !== ".gitignore")).toEqual([]);
    }
  });

  it("removes a capture linked into place whose save waits for the folder's fsync: its command has not counted it", async () => {
    const dir = join(tempDir(), "out");
    const store = await openCaptureStore(dir, { createOnMainThread: true });
    holdFsyncs = true;
    const saving = store.save(request(), "evt_1");
    const captures = () => readdirSync(dir).filter((name) => name !== ".gitignore");
    // The file's own fsync, then (once it is released) the folder's, after the capture is linked.
    await vi.waitFor(() => expect(heldFsyncs).toHaveLength(1));
    heldFsyncs.shift()?.();
    await vi.waitFor(() => expect(heldFsyncs).toHaveLength(1));
    expect(captures()).toEqual([expect.stringMatching(/evt_1\.json$/)]);
    // A Ctrl-C now: the save has not returned, so the capture is not the command's to keep.
    store.abandon?.();
    expect(captures()).toEqual([]);
    holdFsyncs = false;
    for (const release of heldFsyncs.splice(0)) release();
    await expect(saving).rejects.toThrow(/abandoned/);
    expect(captures()).toEqual([]);
  });

  it("writes the same capture as the default store, small and large", async () => {
    for (const made of [request(), big()]) {
      const dir = join(tempDir(), "out");
      const store = await openCaptureStore(dir, { createOnMainThread: true });
      const path = await store.save(made, "evt_1");
      expect(readFileSync(path, "utf8")).toBe(serializeCapture(made));
    }
  });
});
