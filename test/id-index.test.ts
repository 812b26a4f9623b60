import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { captureFileName } from "../src/core/capture.js";
import { createIdIndex, fingerprint } from "../src/core/id-index.js";
import { openCaptureStore } from "../src/io/capture-store.js";
import { eventIdsInFolder } from "../src/io/webhook-pipeline.js";

describe("id index", () => {
  it("counts sightings and remembers the first time, across growth", () => {
    const index = createIdIndex(4);
    for (let i = 0; i < 50_000; i++) expect(index.see(`evt_${i}`, 1000 + i)).toEqual({ count: 0, firstSeenAtMs: 0 });
    expect(index.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) {
      expect(index.has(`evt_${i}`)).toBe(true);
      expect(index.see(`evt_${i}`, 9_999_999)).toEqual({ count: 1, firstSeenAtMs: 1000 + i });
      expect(index.see(`evt_${i}`, 9_999_999)).toEqual({ count: 2, firstSeenAtMs: 1000 + i });
    }
    expect(index.has("evt_50000")).toBe(false);
    expect(index.has("")).toBe(false);
    expect(index.size).toBe(50_000);
  });

  it("add() knows an id without counting a sighting", () => {
    const index = createIdIndex();
    index.add("evt_a");
    expect(index.has("evt_a")).toBe(true);
    expect(index.see("evt_a", 5)).toEqual({ count: 0, firstSeenAtMs: 0 });
    expect(index.see("evt_a", 6)).toEqual({ count: 1, firstSeenAtMs: 5 });
  });

  it("holds at most 48 bytes per id once past its first table (12 a slot, at most half full)", () => {
    const index = createIdIndex();
    for (let i = 0; i < 100_000; i++) index.see(`evt_${i}`, 1000 + i);
    expect(index.byteLength).toBeLessThanOrEqual(48 * index.size);
    for (let i = 0; i < 100_000; i += 1013) expect(index.has(`evt_${i}`)).toBe(true);
  });

  it("hands the tables it outgrew back at once, not at V8's next full collection", () => {
    // In a child with --expose-gc, so only young-generation collections run (as in a busy listen, which
    // may run no full one for hundreds of thousands of events). Each table lives through several of
    // them, as in a run, so it is promoted; after the last growth, the ArrayBuffer memory held beyond
    // the live table is what the index failed to give back (without the release: about as much again).
    const built = pathToFileURL(resolve(import.meta.dirname, "../dist/core/id-index.js")).href;
    const script = `
      const { createIdIndex } = await import(${JSON.stringify(built)});
      const before = process.memoryUsage().arrayBuffers;
      const index = createIdIndex();
      for (let i = 0; i < 200000; i++) {
        index.see("evt_" + i.toString(36) + "_0123456789abcdef", 1000 + i);
        if (i % 5000 === 0) gc({ type: "minor" });
      }
      gc({ type: "minor" });
      gc({ type: "minor" });
      const held = process.memoryUsage().arrayBuffers - before;
      console.log(JSON.stringify({ held, live: index.byteLength, hit: index.has("evt_" + (4321).toString(36) + "_0123456789abcdef") }));`;
    const child = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    const { held, live, hit } = JSON.parse(child.stdout) as { held: number; live: number; hit: boolean };
    expect(hit).toBe(true);
    expect(live).toBe(524_288 * 12);
    expect(held).toBeLessThan(live * 1.25);
  });

  it("releasing its outgrown tables does not deoptimise code that was optimised after it was made", () => {
    // The first ArrayBuffer a process detaches makes V8 deoptimise every function whose optimised
    // code assumed no buffer had ever been detached (typed array access does). Made at the start of a
    // run, the index gets that over with then, not at its first growth in the middle of one.
    const built = pathToFileURL(resolve(import.meta.dirname, "../dist/core/id-index.js")).href;
    const script = `
      const { createIdIndex } = await import(${JSON.stringify(built)});
      const index = createIdIndex(4);
      function firstTwo(bytes) { return bytes[0] + bytes[1]; }
      const bytes = new Uint8Array(8);
      %PrepareFunctionForOptimization(firstTwo);
      firstTwo(bytes);
      firstTwo(bytes);
      %OptimizeFunctionOnNextCall(firstTwo);
      firstTwo(bytes);
      const optimized = () => (%GetOptimizationStatus(firstTwo) & 16) !== 0;
      const before = optimized();
      for (let i = 0; i < 1000; i++) index.see("evt_" + i, 1000 + i); // grows several times
      console.log(JSON.stringify({ before, after: optimized(), grew: index.byteLength > 8 * 12 }));`;
    const child = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({ before: true, after: true, grew: true });
  });

  it("keeps first-seen times to the millisecond, a clock stepping back included, and says when it cannot", () => {
    const index = createIdIndex();
    const start = Date.parse("2026-11-28T05:00:00.123Z");
    index.see("evt_first", start);
    index.see("evt_earlier", start - 3_600_000); // the clock stepped back an hour
    index.see("evt_later", start + 40 * 86_400_000 + 7); // 40 days into a long run
    index.see("evt_too_late", start + 60 * 86_400_000); // beyond what a 32-bit offset holds
    index.see("evt_no_time", Number.NaN);
    expect(index.see("evt_first", start + 5)).toEqual({ count: 1, firstSeenAtMs: start });
    expect(index.see("evt_earlier", start)).toEqual({ count: 1, firstSeenAtMs: start - 3_600_000 });
    expect(index.see("evt_later", start)).toEqual({ count: 1, firstSeenAtMs: start + 40 * 86_400_000 + 7 });
    expect(index.see("evt_too_late", start)).toEqual({ count: 1, firstSeenAtMs: Number.NaN });
    expect(index.see("evt_no_time", start)).toEqual({ count: 1, firstSeenAtMs: Number.NaN });
    expect(index.see("evt_too_late", start)).toEqual({ count: 2, firstSeenAtMs: Number.NaN });
  });

  it("fingerprints differ for near-identical ids", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(fingerprint(`evt_${i.toString(16)}`).join(":"));
    expect(seen.size).toBe(200_000);
    expect(fingerprint("ab")).not.toEqual(fingerprint("ba"));
  });
});

describe("ids of captures saved by earlier runs", () => {
  it("recognises every saved id, and the base id of a numbered second capture, without listing the folder up front", async () => {
    const dir = mkdtempSync(join(tmpdir(), "omh-ids-"));
    const at = "2026-11-28T01:00:00.000Z";
    for (let i = 0; i < 3000; i++) writeFileSync(join(dir, captureFileName(at, `evt_saved_${i}`)), "{}");
    writeFileSync(join(dir, captureFileName(at, "evt_twice").replace(/\.json$/, "-2.json")), "{}");
    // A temporary file of a run that died (pid above Linux's pid_max): swept in the same pass.
    const leftover = join(dir, `.tmp-${2 ** 22 + 1}-abc-0`);
    writeFileSync(leftover, "{}");
    writeFileSync(join(dir, "notes.txt"), "not a capture");

    const store = await openCaptureStore(dir, { sweepAtOpen: false });
    expect(existsSync(leftover)).toBe(true); // not at open: listening waits for no listing
    const ids = eventIdsInFolder(store);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(existsSync(leftover)).toBe(true); // nor before the first call of ready(): start-up goes first
    await ids.ready?.();
    expect(existsSync(leftover)).toBe(false);
    for (let i = 0; i < 3000; i += 7) expect(ids.has(`evt_saved_${i}`)).toBe(true);
    expect(ids.has("evt_twice")).toBe(true);
    expect(ids.has("evt_twice-2")).toBe(true);
    expect(ids.has("evt_saved_3000")).toBe(false);
    expect(ids.has("evt_new")).toBe(false);
  });

  it("a folder that vanished is an empty one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "omh-ids-"));
    const store = await openCaptureStore(dir, { sweepAtOpen: false });
    rmSync(dir, { recursive: true });
    const ids = eventIdsInFolder(store);
    await ids.ready?.();
    expect(ids.has("evt_1")).toBe(false);
  });
});
