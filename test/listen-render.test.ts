/**
 * listen's per-event lines, rendered from records the real pipeline makes: the parts in order, each
 * event's own time, and the styled marks. (The renderer builds its lines without arrays and keeps
 * the styled time of the current second: these pin what that must still print.)
 */
import { Chalk } from "chalk";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CapturedRequest } from "../src/core/capture.js";
import type { WebhookResponse } from "../src/io/listener.js";
import { type Arrival, createWebhookPipeline, type Outcome } from "../src/io/webhook-pipeline.js";
import { createListenRenderer } from "../src/output/listen-report.js";
import type { Output } from "../src/output/terminal.js";
import { messageEvent, signedEvent } from "./helpers/http.js";

const secret = "whsec_render_test";

function fakeOutput(level: 0 | 1) {
  const lines: string[] = [];
  const color = new Chalk({ level });
  const output = {
    out: (line: string) => lines.push(line),
    record: () => {},
    write: () => {},
    err: (line: string) => lines.push(`stderr: ${line}`),
    progress: () => {},
    endProgress: () => {},
    roomForOutput: () => undefined,
    color,
    errColor: color,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: undefined,
  } satisfies Output;
  return { output, lines };
}

/** Events through the pipeline (nothing saved or forwarded), each rendered as listen renders it. */
function render(level: 0 | 1, sends: Array<{ event: Record<string, unknown>; at: string; key?: string }>) {
  const { output, lines } = fakeOutput(level);
  const renderer = createListenRenderer(output, { json: false, cwd: "/" });
  const pipeline = createWebhookPipeline({
    secret,
    toleranceSeconds: 10 ** 9,
    routes: new Map(),
    now: () => Date.parse("2026-11-28T12:00:00Z"),
    onArrival: (arrival: Arrival) => renderer.arrival(arrival),
    onOutcome: (outcome: Outcome) => renderer.outcome(outcome),
  });
  for (const { event, at, key } of sends) {
    const { headers, body } = signedEvent(key ?? secret, event, { timestamp: Math.floor(Date.parse(at) / 1000) });
    const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const request: CapturedRequest = { receivedAt: at, method: "POST", path: "/webhooks", headers: lower, body };
    (pipeline.handle(request) as WebhookResponse).onSettled?.({ kind: "written" });
  }
  return lines;
}

describe("listen's per-event lines", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("show each event's parts in order, and a redelivery's first sighting", () => {
    const event = messageEvent({ event_id: "evt_render_1", inbox_id: "inb_r" }, { from: "a@b.test", subject: "Hi" });
    const lines = render(0, [
      { event, at: "2026-11-28T12:00:00.100Z" },
      { event, at: "2026-11-28T12:00:03.000Z" },
      { event: messageEvent({ event_id: "evt_render_2" }), at: "2026-11-28T12:00:04.000Z", key: "whsec_wrong" },
    ]);
    const arrivals = lines.filter((line) => line.includes(" --> "));
    expect(arrivals[0]).toBe("12:00:00 --> message.received evt_render_1 · inb_r · a@b.test → Hi · ✓ verified");
    expect(arrivals[1]).toBe(
      "12:00:03 --> message.received evt_render_1 · retry #2 (first 12:00:00) · inb_r · a@b.test → Hi · ✓ verified",
    );
    expect(arrivals[2]).toMatch(/^12:00:04 --> message\.received evt_render_2 · inb_main · .* · ✗ signature /);
    const outcomes = lines.filter((line) => line.includes(" <-- "));
    expect(outcomes).toHaveLength(3);
    expect(outcomes[0]).toMatch(/^\d\d:\d\d:\d\d <-- \[200\] answered here: signature valid \[evt_render_1\]$/);
    expect(outcomes[2]).toMatch(/^\d\d:\d\d:\d\d <-- \[400\] answered here: rejected: .* \[evt_render_2\]$/);
  });

  it("give every event the time of its own second, across seconds, minutes and back", () => {
    // The outcome lines show the clock's time: held in the first events' second, so only the
    // arrival times change from line to line.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-28T12:00:00.500Z"));
    const times = [
      "2026-11-28T12:00:00.100Z",
      "2026-11-28T12:00:00.900Z",
      "2026-11-28T12:00:01.000Z",
      "2026-11-28T12:01:01.000Z",
      "2026-11-28T13:01:01.500Z",
      "2026-11-28T12:00:00.200Z",
    ];
    const lines = render(
      0,
      times.map((at) => ({ event: messageEvent(), at })),
    );
    const shown = lines.filter((line) => line.includes(" --> ")).map((line) => line.slice(0, 8));
    expect(shown).toEqual(["12:00:00", "12:00:00", "12:00:01", "12:01:01", "13:01:01", "12:00:00"]);
    const clock = lines.filter((line) => line.includes(" <-- ")).map((line) => line.slice(0, 8));
    expect(clock).toEqual(Array(6).fill("12:00:00"));
  });

  it("style the marks, the time and the verdict when colours are on", () => {
    const lines = render(1, [{ event: messageEvent({ event_id: "evt_c" }), at: "2026-11-28T12:00:00.100Z" }]);
    const color = new Chalk({ level: 1 });
    const arrival = lines.find((line) => line.includes("-->")) ?? "";
    expect(arrival.startsWith(`${color.dim("12:00:00")} ${color.bold("-->")} `)).toBe(true);
    expect(arrival).toContain(color.dim(" · "));
    expect(arrival.endsWith(color.green("✓ verified"))).toBe(true);
    expect(lines.find((line) => line.includes("<--"))).toContain(` ${color.bold("<--")} ${color.green("[200]")} `);
  });
});
