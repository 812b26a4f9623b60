import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

// What listen does per event must leave nothing in V8's old generation: garbage there stays until a
// mark-compact, so the old generation (and RSS with it) grows between collections, and the
// collections come more often (notes-m7). A keyed collection (Set, Map) whose size goes up and down
// with the requests reallocates its table now and then; once that table was promoted (any
// mark-compact promotes it), every new table is allocated in the old generation too.

/** Run `body` (an ES module's text; `built("x.js")` is dist/x.js's URL) in a child with --expose-gc; its stdout. */
function inChild(body: string): string {
  const built = (path: string) => pathToFileURL(resolve(import.meta.dirname, "../dist", path)).href;
  const script = body.replace(/built\("([^"]+)"\)/g, (_, path: string) => JSON.stringify(built(path)));
  const child = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
  expect(child.stderr).toBe("");
  return child.stdout;
}

const OLD_SPACE = `
  import v8 from "node:v8";
  const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_used_size;`;

describe("per-event work allocates nothing in V8's old generation", () => {
  it("allocates nothing in V8's old generation per request, where a Set that was promoted does", () => {
    // A Set that gains and loses an entry per request reallocates its table every few dozen requests,
    // and once the table is in the old generation (any mark-compact puts it there) so is every new one.
    const out = inChild(`${OLD_SPACE}
      const { InFlight } = await import(built("io/in-flight.js"));
      const grewBy = (list) => {
        const window = [];
        const add = () => { const e = { inFlightPrev: undefined, inFlightNext: undefined }; list.add(e); window.push(e); };
        for (let i = 0; i < 20; i++) add();
        gc();
        const before = old();
        for (let i = 0; i < 50000; i++) { add(); list.delete(window.shift()); }
        return old() - before;
      };
      console.log(JSON.stringify({ set: grewBy(new Set()), list: grewBy(new InFlight()) }));`);
    const { set, list } = JSON.parse(out) as { set: number; list: number };
    expect(set).toBeGreaterThan(1_000_000); // the measurement sees the problem when it is there
    expect(list).toBeLessThan(200_000);
  });

  it("the stdout line writer: a line per event, written once per turn", () => {
    const out = inChild(`${OLD_SPACE}
      const { createLineWriter } = await import(built("output/terminal.js"));
      // A sink like a pipe: each write done a moment later, some still queued when the next comes.
      let queued = 0;
      const sink = {
        write(bytes, done) { queued += bytes.length; queueMicrotask(() => { queued -= bytes.length; done(); }); },
        get writableLength() { return queued; },
      };
      const writer = createLineWriter(() => sink);
      const line = JSON.stringify({ event: "message.received", id: "evt_0123456789abcdef" });
      const turns = async (count) => {
        for (let i = 0; i < count; i++) {
          writer.writeLine(line);
          writer.writeLine(line);
          writer.flush();
          if (i % 3 === 0) writer.flush();
          await new Promise((next) => setImmediate(next)); // a turn of the event loop, as between requests
        }
      };
      await turns(100);
      gc();
      const before = old();
      await turns(50000);
      console.log(JSON.stringify({ grew: old() - before }));`);
    const { grew } = JSON.parse(out) as { grew: number };
    expect(grew).toBeLessThan(1_000_000); // a Map of counts per buffer: 7.4 MB
  });
});
