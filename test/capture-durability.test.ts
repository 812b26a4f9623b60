import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openCaptureStore, sharedSync } from "../src/io/capture-store.js";
import { tempDir } from "./helpers/cli.js";

describe("shared folder fsync", () => {
  it("a caller arriving while a sync runs waits for a later one, shared with everyone who arrived meanwhile", async () => {
    const started: Array<() => void> = [];
    const sync = sharedSync(() => new Promise<void>((resolve) => started.push(resolve)));
    const first = sync();
    expect(started).toHaveLength(1);
    const second = sync();
    const third = sync();
    expect(second).toBe(third);
    expect(started).toHaveLength(1); // nothing new starts while one runs
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    started[0]?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(2); // the next one started only after the first ended
    expect(secondDone).toBe(false);
    started[1]?.();
    await second;
    const fourth = sync();
    expect(started).toHaveLength(3);
    started[2]?.();
    await fourth;
  });

  it("a failed sync fails everyone who shared it, and the next call starts a fresh one", async () => {
    let calls = 0;
    const sync = sharedSync(async () => {
      calls += 1;
      if (calls === 1) throw new Error("EIO");
    });
    await expect(sync()).rejects.toThrow("EIO");
    await expect(sync()).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});

describe("saving many captures at once", () => {
  it("every save gets its own complete file, none overwritten, no temporary file left", async () => {
    const store = await openCaptureStore(tempDir());
    const receivedAt = "2026-11-28T02:00:00.000Z";
    const saves = Array.from({ length: 200 }, (_, i) =>
      store.save(
        { receivedAt, method: "POST", path: "/webhooks", headers: {}, body: Buffer.from(`{"n":${i}}`) },
        i % 2 ? "evt_same" : `evt_${i}`,
      ),
    );
    const paths = await Promise.all(saves);
    expect(new Set(paths).size).toBe(200);
    const names = readdirSync(store.dir);
    expect(names.filter((name) => name.startsWith("."))).toEqual([]);
    expect(names).toHaveLength(200);
    const bodies = paths.map((path) => JSON.parse(readFileSync(path, "utf8")).body);
    expect(new Set(bodies).size).toBe(200);
  });
});
