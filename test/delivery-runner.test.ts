import { describe, expect, it } from "vitest";
import type { DeliveryOutcome, DeliveryRecord, PreparedDelivery } from "../src/core/contract.js";
import { type PrepareResult, type RunOptions, runDeliveries } from "../src/io/delivery-runner.js";
import type { HttpClient, OutcomeCallback } from "../src/io/http-client.js";

/** A client whose answers the test gives by hand, in any order. */
function manualClient() {
  const pending: Array<{ body: string; done: OutcomeCallback }> = [];
  let maxInFlight = 0;
  const client: HttpClient = {
    send(_url, _headers, body, done) {
      pending.push({ body: Buffer.from(body).toString(), done });
      maxInFlight = Math.max(maxInFlight, pending.length);
    },
    post: () => Promise.reject(new Error("not used")),
    close: async () => {},
  };
  const ok = (status = 200): DeliveryOutcome => ({
    kind: "response",
    status,
    latencyMs: 1,
    bodyPreview: "",
    bodyBytes: 0,
    headers: {},
  });
  return {
    client,
    pending,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Answer the oldest request in flight (or the one at `at`); `connectionFree` as undici's clean end gives it. */
    answer(outcome: DeliveryOutcome = ok(), at = 0, connectionFree?: boolean) {
      const [request] = pending.splice(at, 1);
      request?.done(outcome, connectionFree);
    },
  };
}

const delivery = (index: number): PreparedDelivery => ({
  label: "message.received",
  attempt: 1,
  headers: { "content-type": "application/json" },
  body: Buffer.from(`{"n":${index}}`),
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A run of `total` fixed deliveries through `client`, noting the order in which they were prepared. */
function runNoting(
  client: HttpClient,
  total: number,
  concurrency: number,
  onRecord: RunOptions["onRecord"] = () => {},
) {
  const prepared: number[] = [];
  const run = runDeliveries({
    total,
    concurrency,
    url: "http://127.0.0.1:9/",
    client,
    prepare: (index) => {
      prepared.push(index);
      return delivery(index);
    },
    onRecord,
  });
  return { run, prepared };
}

describe("runDeliveries", () => {
  it("keeps the concurrency in flight, prepares in order, and records in completion order", async () => {
    const fake = manualClient();
    const recorded: number[] = [];
    const { run, prepared } = runNoting(fake.client, 7, 3, (record) => {
      recorded.push(record.index);
    });
    await turn();
    expect(prepared).toEqual([0, 1, 2]);
    fake.answer(undefined, 1); // index 1 answers first
    await turn();
    expect(prepared).toEqual([0, 1, 2, 3]);
    while (fake.pending.length > 0) {
      fake.answer();
      await turn();
    }
    const result = await run;
    expect(fake.maxInFlight).toBe(3);
    expect(recorded[0]).toBe(1);
    expect([...recorded].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.stats.total).toBe(7);
    expect(result.stats.passed).toBe(7);
  });

  it("waits for an asynchronous prepare and onRecord before the slot is used again, and counts skips", async () => {
    const fake = manualClient();
    const recorded: number[] = [];
    let recording = 0;
    const run = runDeliveries({
      total: 4,
      concurrency: 1,
      url: "http://127.0.0.1:9/",
      client: fake.client,
      prepare: async (index): Promise<PrepareResult> => (index === 1 ? { skipped: "unreadable" } : delivery(index)),
      onRecord: async (record: DeliveryRecord) => {
        recording += 1;
        await turn();
        recorded.push(record.index);
        recording -= 1;
      },
      onSending: () => {
        expect(recording).toBe(0);
      },
    });
    for (let i = 0; i < 20 && recorded.length < 3; i++) {
      await turn();
      if (fake.pending.length > 0) fake.answer();
    }
    const result = await run;
    expect(recorded).toEqual([0, 2, 3]);
    expect(result.skipped).toBe(1);
    expect(result.stats.total).toBe(3);
  });

  it("a prepare that fails rejects the run with its error", async () => {
    const fake = manualClient();
    const run = runDeliveries({
      total: 5,
      concurrency: 2,
      url: "http://127.0.0.1:9/",
      client: fake.client,
      prepare: (index) => (index === 2 ? Promise.reject(new Error("disk full")) : delivery(index)),
      onRecord: () => {},
    });
    await turn();
    fake.answer();
    await expect(run).rejects.toThrow("disk full");
  });

  it("an error thrown while recording rejects the run (it is not taken for the connection's)", async () => {
    const fake = manualClient();
    const { run } = runNoting(fake.client, 2, 2, () => {
      throw new Error("renderer broke");
    });
    await turn();
    fake.answer();
    await expect(run).rejects.toThrow("renderer broke");
  });

  it("a refused connection stops new requests and is returned as fatal once those in flight are answered", async () => {
    const fake = manualClient();
    const { run, prepared } = runNoting(fake.client, 10, 2);
    await turn();
    fake.answer({ kind: "network-error", error: "refused", message: "connection refused", latencyMs: 0 });
    await turn();
    expect(prepared).toEqual([0, 1]);
    fake.answer();
    const result = await run;
    expect(result.fatal?.index).toBe(0);
    expect(result.stats.total).toBe(1);
  });

  it("a clean answer is recorded and its slot filled at once; one behind a noted answer waits for the sweep", async () => {
    const fake = manualClient();
    const recorded: number[] = [];
    const { run, prepared } = runNoting(fake.client, 6, 2, (record) => {
      recorded.push(record.index);
    });
    await turn();
    expect(prepared).toEqual([0, 1]);
    // Connection free: recorded and the next prepared inside the answer's call, before any turn.
    fake.answer(undefined, 0, true);
    expect(recorded).toEqual([0]);
    expect(prepared).toEqual([0, 1, 2]);
    // An answer that is not a clean end (a timeout) is noted for the sweep; a clean one after it waits
    // its turn, so records stay in completion order.
    fake.answer({ kind: "timeout", latencyMs: 5, timeoutMs: 5 }, 0);
    fake.answer(undefined, 0, true);
    expect(recorded).toEqual([0]);
    expect(prepared).toEqual([0, 1, 2]);
    await turn();
    expect(recorded).toEqual([0, 1, 2]);
    expect(prepared).toEqual([0, 1, 2, 3, 4]);
    while (fake.pending.length > 0) fake.answer(undefined, 0, true);
    const result = await run;
    expect(recorded).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fake.maxInFlight).toBe(2);
    expect(result.stats.total).toBe(6);
  });

  it("on a clean answer, a skipped item is reported after that answer's record, and an asynchronous record holds the slot", async () => {
    const fake = manualClient();
    const events: string[] = [];
    let finishRecord: (() => void) | undefined;
    const run = runDeliveries({
      total: 4,
      concurrency: 1,
      url: "http://127.0.0.1:9/",
      client: fake.client,
      prepare: (index) => {
        events.push(`prepare ${index}`);
        return index === 1 ? { skipped: "unreadable" } : delivery(index);
      },
      onRecord: (record) => {
        events.push(`record ${record.index}`);
        if (record.index !== 2) return;
        return new Promise<void>((resolve) => {
          finishRecord = resolve;
        });
      },
      onSkipped: (index) => {
        events.push(`skipped ${index}`);
      },
    });
    await turn();
    fake.answer(undefined, 0, true);
    expect(events).toEqual(["prepare 0", "record 0", "prepare 1", "skipped 1", "prepare 2"]);
    fake.answer(undefined, 0, true);
    // Item 2's record is not done: item 3 waits for it.
    expect(events.at(-1)).toBe("record 2");
    await turn();
    expect(events).not.toContain("prepare 3");
    finishRecord?.();
    await turn();
    expect(events.at(-1)).toBe("prepare 3");
    fake.answer(undefined, 0, true);
    const result = await run;
    expect(events.at(-1)).toBe("record 3");
    expect(result.skipped).toBe(1);
    expect(result.stats.total).toBe(3);
  });

  it("an answer given from inside the client's send (a request refused at once) is handled in the sweep, not recursively", async () => {
    const answerAtOnce: HttpClient = {
      send(_url, _headers, _body, done) {
        done({ kind: "response", status: 200, latencyMs: 0, bodyPreview: "", bodyBytes: 0, headers: {} }, true);
      },
      post: () => Promise.reject(new Error("not used")),
      close: async () => {},
    };
    const { run, prepared } = runNoting(answerAtOnce, 50_000, 1);
    const result = await run;
    expect(prepared.length).toBe(50_000);
    expect(result.stats.total).toBe(50_000);
  });

  it("nothing to send resolves at once", async () => {
    const fake = manualClient();
    const result = await runDeliveries({
      total: 0,
      concurrency: 5,
      url: "http://127.0.0.1:9/",
      client: fake.client,
      prepare: delivery,
      onRecord: () => {},
    });
    expect(result.stats.total).toBe(0);
  });
});
