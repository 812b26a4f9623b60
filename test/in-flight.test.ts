import { describe, expect, it } from "vitest";
import { InFlight } from "../src/io/in-flight.js";

interface Entry {
  name: string;
  inFlightPrev: Entry | undefined;
  inFlightNext: Entry | undefined;
}
const entry = (name: string): Entry => ({ name, inFlightPrev: undefined, inFlightNext: undefined });
const names = (list: InFlight<Entry>) => list.toArray().map((e) => e.name);

describe("the listener's list of requests in flight", () => {
  it("adds, deletes from any place, and lists oldest first", () => {
    const list = new InFlight<Entry>();
    const [a, b, c, d] = [entry("a"), entry("b"), entry("c"), entry("d")];
    for (const e of [a, b, c, d]) list.add(e);
    list.add(b); // already there: nothing changes
    expect(list.size).toBe(4);
    expect(names(list)).toEqual(["a", "b", "c", "d"]);
    expect(list.delete(b)).toBe(true);
    expect(names(list)).toEqual(["a", "c", "d"]);
    expect(list.delete(a)).toBe(true);
    expect(list.delete(d)).toBe(true);
    expect(names(list)).toEqual(["c"]);
    expect(list.delete(d)).toBe(false); // not there any more
    expect(list.has(c)).toBe(true);
    expect(list.has(a)).toBe(false);
    expect(list.size).toBe(1);
    expect(list.delete(c)).toBe(true);
    expect(list.size).toBe(0);
    expect(names(list)).toEqual([]);
    list.add(a); // again, after it left
    expect(names(list)).toEqual(["a"]);
  });

  it("can be changed while its entries are gone through", () => {
    const list = new InFlight<Entry>();
    const all = ["a", "b", "c", "d", "e"].map(entry);
    for (const e of all) list.add(e);
    const seen: string[] = [];
    for (const e of list.toArray()) {
      seen.push(e.name);
      list.delete(e);
      if (e.name === "b") list.delete(all[3] as Entry); // a later one leaves meanwhile
    }
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
    expect(list.size).toBe(0);
  });
});
