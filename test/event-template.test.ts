import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEventStream, createEventTemplate, type FillHex } from "../src/core/event-template.js";
import { buildFakeEvent, deepMerge, type RandomHex } from "../src/core/fake-events.js";
import { signedRequest } from "../src/core/request.js";
import { fillRandomHex } from "../src/io/random.js";

const realHex: RandomHex = (length) =>
  randomBytes(Math.ceil(length / 2))
    .toString("hex")
    .slice(0, length);

/** A random source that records every draw, in order, with its length. */
function recordingHex(source: RandomHex = realHex) {
  const draws: string[] = [];
  const random: RandomHex = (length) => {
    const value = source(length);
    draws.push(value);
    return value;
  };
  return { random, draws };
}

/** Replays `values` in order (failing loudly if asked for a different length). */
function scriptedHex(values: string[]): RandomHex {
  let next = 0;
  return (length) => {
    const value = values[next++];
    if (value === undefined || value.length !== length) throw new Error(`unexpected draw of ${length} at ${next - 1}`);
    return value;
  };
}

const NOW = Date.parse("2026-11-28T02:00:00.000Z");

for (const type of ["message.received", "inbox.suspended", "pod.reactivated"]) {
  describe(`event templates (${type})`, () => {
    const build = (random: RandomHex, now: Date) => buildFakeEvent({ type, now, randomHex: random });

    it("gives byte for byte what building the event with the same draws and clock gives", () => {
      const original = recordingHex();
      const { template, first } = createEventTemplate(build, original.random, NOW);
      expect(first.body.toString()).toBe(JSON.stringify(scriptedBuild(build, original.draws, NOW)));

      // A new event: fresh ids for every id-sized draw, the same short draws (sample, sizes), a later clock.
      const later = NOW + 61_234;
      const fresh = original.draws.filter((draw) => draw.length >= 12).map((draw) => realHex(draw.length));
      const spliced = template.instantiate(scriptedHex(fresh), later);
      let freshIndex = 0;
      const replacedDraws = original.draws.map((draw) => (draw.length >= 12 ? (fresh[freshIndex++] as string) : draw));
      const direct = JSON.stringify(scriptedBuild(build, replacedDraws, later));
      expect(spliced.body.toString("utf8")).toBe(direct);

      const parsed = JSON.parse(spliced.body.toString("utf8"));
      expect(spliced.eventId).toBe(parsed.event_id);
      expect(parsed.event_id).not.toBe(JSON.parse(first.body.toString()).event_id);
      expect(parsed.occurred_at > new Date(NOW).toISOString()).toBe(true);
    });

    it("signs exactly the bytes it sends", () => {
      const { template } = createEventTemplate(build, realHex, NOW);
      const event = template.instantiate(realHex, NOW + 5_000);
      const request = signedRequest({
        body: event.body,
        secret: "whsec_test",
        timestamp: 1_800_000_000,
        eventId: event.eventId,
      });
      const expected = createHmac("sha256", "whsec_test").update("1800000000.").update(event.body).digest("hex");
      expect(request.headers["X-Signature"]).toBe(expected);
      expect(request.body).toBe(event.body);
      expect(request.headers["X-Event-Id"]).toBe(event.eventId);
    });
  });
}

/** The event `build` makes when its random source returns `draws` in order. */
function scriptedBuild(build: (random: RandomHex, now: Date) => Record<string, unknown>, draws: string[], now: number) {
  return build(scriptedHex(draws), new Date(now));
}

describe("event templates keep what the user fixed", () => {
  it("a fixed --event-id and --data timestamps far from now stay as given", () => {
    const build = (random: RandomHex, now: Date) =>
      deepMerge(buildFakeEvent({ type: "message.received", now, randomHex: random, eventId: "evt_fixed" }), {
        message: { received_at: "2020-01-01T00:00:00.000Z" },
        note: "evt_fixed",
      }) as Record<string, unknown>;
    const { template } = createEventTemplate(build, realHex, NOW);
    const event = template.instantiate(realHex, NOW + 10_000);
    const parsed = JSON.parse(event.body.toString());
    expect(event.eventId).toBe("evt_fixed");
    expect(parsed.event_id).toBe("evt_fixed");
    expect(parsed.message.received_at).toBe("2020-01-01T00:00:00.000Z");
    expect(parsed.delivered_at).toBe(new Date(NOW + 10_000).toISOString());
  });

  it("a timestamp the user wrote, even one from the last minute, stays as written in later events", () => {
    const written = new Date(NOW - 5_000).toISOString();
    const build = (random: RandomHex, now: Date) =>
      deepMerge(buildFakeEvent({ type: "message.received", now, randomHex: random }), {
        message: { text: `at ${written}` },
        seen_at: written,
      }) as Record<string, unknown>;
    const stream = createEventStream(build, realHex, 2, fillRandomHex);
    for (let i = 0; i < 12; i++) {
      const now = NOW + 30_000 * i;
      const parsed = JSON.parse(stream.next(now).body.toString());
      expect(parsed.message.text).toBe(`at ${written}`);
      expect(parsed.seen_at).toBe(written);
      expect(parsed.delivered_at).toBe(new Date(now).toISOString());
    }
  });

  it("a stream builds its first events plainly and makes templates only when a slot comes round again", () => {
    const { random, draws } = recordingHex();
    const build = (hex: RandomHex, now: Date) => buildFakeEvent({ type: "message.received", now, randomHex: hex });
    let builds = 0;
    const stream = createEventStream(
      (hex, now) => {
        builds++;
        return build(hex, now);
      },
      random,
      3,
    );
    // A run of a few events (send-test --print) builds each once, with the stream's draws and clock:
    // exactly the bytes JSON.stringify gives for that event.
    for (let i = 0; i < 3; i++) {
      const before = draws.length;
      const event = stream.next(NOW + i);
      expect(event.body.toString()).toBe(JSON.stringify(scriptedBuild(build, draws.slice(before), NOW + i)));
      expect(event.eventId).toBe(JSON.parse(event.body.toString()).event_id);
      expect(event).toMatchObject({ eventType: "message.received", attempt: 1 });
    }
    expect(builds).toBe(3);
    // Then each slot makes its template once (two builds), and later events are spliced.
    const ids = new Set<string>();
    for (let i = 3; i < 30; i++) {
      const event = stream.next(NOW + i);
      const parsed = JSON.parse(event.body.toString());
      expect(parsed.delivered_at).toBe(new Date(NOW + i).toISOString());
      ids.add(parsed.event_id);
    }
    expect(ids.size).toBe(27);
  });

  it("a stream varies its templates and never repeats an event id", () => {
    const stream = createEventStream(
      (random, now) => buildFakeEvent({ type: "message.received", now, randomHex: random }),
      realHex,
      4,
    );
    const ids = new Set<string>();
    const subjects = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const event = stream.next(NOW + i);
      const parsed = JSON.parse(event.body.toString());
      expect(event.eventId).toBe(parsed.event_id);
      expect(event.eventType).toBe("message.received");
      ids.add(parsed.event_id);
      subjects.add(parsed.message.subject);
      // Every event's attachment URLs name its own message.
      for (const attachment of parsed.message.attachments) expect(attachment.url).toContain(parsed.message.id);
    }
    expect(ids.size).toBe(200);
    expect(subjects.size).toBeGreaterThan(0);
  });
});

describe("event templates patch bytes in place only when every value fits its span", () => {
  const build = (random: RandomHex, now: Date) =>
    deepMerge(buildFakeEvent({ type: "message.received", now, randomHex: random }), {
      // Multi-byte text before and between the slots: spans are byte offsets, not string indices.
      message: { subject: "Grüße 🎉 — ünïcödé", text: "naïve café ✓" },
    }) as Record<string, unknown>;

  it("with multi-byte text around the ids, a new event is what building it gives", () => {
    const original = recordingHex();
    const { template } = createEventTemplate(build, original.random, NOW);
    const fresh = original.draws.filter((draw) => draw.length >= 12).map((draw) => realHex(draw.length));
    const spliced = template.instantiate(scriptedHex(fresh), NOW + 1_234);
    let freshIndex = 0;
    const replaced = original.draws.map((draw) => (draw.length >= 12 ? (fresh[freshIndex++] as string) : draw));
    expect(spliced.body.toString("utf8")).toBe(JSON.stringify(scriptedBuild(build, replaced, NOW + 1_234)));
  });

  it("ids that are not lower-case hex, or a clock past year 9999, take the slow way with the same result", () => {
    const original = recordingHex();
    const { template } = createEventTemplate(build, original.random, NOW);
    const odd = original.draws.filter((draw) => draw.length >= 12).map((draw) => "Ü".repeat(draw.length));
    const spliced = template.instantiate(scriptedHex(odd), NOW + 10);
    let oddIndex = 0;
    const replaced = original.draws.map((draw) => (draw.length >= 12 ? (odd[oddIndex++] as string) : draw));
    expect(spliced.body.toString("utf8")).toBe(JSON.stringify(scriptedBuild(build, replaced, NOW + 10)));

    const farFuture = Date.UTC(10_000, 0, 1) + 500;
    const later = template.instantiate(realHex, farFuture);
    const parsed = JSON.parse(later.body.toString("utf8"));
    expect(parsed.delivered_at).toBe(new Date(farFuture).toISOString());
    expect(later.eventId).toBe(parsed.event_id);
  });
});

/** A FillHex that writes fresh random digits and records them in the order it was asked. */
function recordingFill() {
  const written: string[] = [];
  const fill: FillHex = (target, offset, length) => {
    const value = realHex(length);
    Buffer.from(target.buffer, target.byteOffset, target.byteLength).write(value, offset, "latin1");
    written.push(value);
  };
  return { fill, written };
}

describe("event templates writing ids straight into the body (FillHex)", () => {
  for (const type of ["message.received", "inbox.suspended", "pod.reactivated"]) {
    it(`gives what building the event with those ids and that clock gives (${type})`, () => {
      const build = (random: RandomHex, now: Date) => buildFakeEvent({ type, now, randomHex: random });
      const original = recordingHex();
      const { template, first } = createEventTemplate(build, original.random, NOW);
      const firstText = first.body.toString("utf8");
      for (const later of [NOW + 1_234, NOW + 1_234, NOW + 61_000, NOW + 61_001]) {
        const { fill, written } = recordingFill();
        const spliced = template.instantiate(
          () => {
            throw new Error("the string source is not used when the ids can be written into the body");
          },
          later,
          fill,
        );
        // Each id-sized draw that the body contains was written once, in the order the event drew them.
        let next = 0;
        const replaced = original.draws.map((draw) =>
          draw.length >= 12 && firstText.includes(draw) ? (written[next++] as string) : draw,
        );
        expect(next).toBe(written.length);
        const direct = JSON.stringify(scriptedBuild(build, replaced, later));
        expect(spliced.body.toString("utf8")).toBe(direct);
        expect(spliced.eventId).toBe(JSON.parse(direct).event_id);
      }
    });
  }

  it("follows a clock that moves by milliseconds, across seconds, hours and days, backwards and by fractions", () => {
    // Within one second only the milliseconds of a kept timestamp are rewritten; every other move
    // rewrites it whole. Each event must still be what building it with that clock gives.
    const build = (random: RandomHex, now: Date) =>
      buildFakeEvent({ type: "message.received", now, randomHex: random });
    const original = recordingHex();
    const { template, first } = createEventTemplate(build, original.random, NOW);
    const firstText = first.body.toString("utf8");
    const base = Math.floor(NOW / 1000) * 1000;
    const clock = [
      ...[997, 998, 999, 1000, 1001, 1099, 1100, 1999, 2000, 2001, 2001.7, 2002.2].map((ms) => base + ms),
      base - 5_000,
      base - 4_999,
      base + 3_600_000 + 1,
      base + 3_600_000 + 2,
      base + 86_400_000 + 999,
      base + 86_400_000 + 1_000,
    ];
    for (const later of clock) {
      const { fill, written } = recordingFill();
      const spliced = template.instantiate(realHex, later, fill);
      let next = 0;
      const replaced = original.draws.map((draw) =>
        draw.length >= 12 && firstText.includes(draw) ? (written[next++] as string) : draw,
      );
      const direct = JSON.stringify(scriptedBuild(build, replaced, later));
      expect(spliced.body.toString("utf8")).toBe(direct);
    }
  });

  it("a stream with fillRandomHex never repeats an id, keeps each message's own id in its URLs, and follows the clock", () => {
    const stream = createEventStream(
      (random, now) => buildFakeEvent({ type: "message.received", now, randomHex: random }),
      realHex,
      3,
      fillRandomHex,
    );
    const ids = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const now = NOW + Math.floor(i / 7) * 997;
      const event = stream.next(now);
      const parsed = JSON.parse(event.body.toString());
      expect(event.eventId).toBe(parsed.event_id);
      expect(parsed.event_id).toMatch(/^evt_[0-9a-f]+$/);
      expect(parsed.delivered_at).toBe(new Date(now).toISOString());
      for (const attachment of parsed.message.attachments) expect(attachment.url).toContain(parsed.message.id);
      ids.add(parsed.event_id);
    }
    expect(ids.size).toBe(300);
  });

  it("each event's bytes are its own: later events never change an earlier body", () => {
    const stream = createEventStream(
      (random, now) => buildFakeEvent({ type: "message.received", now, randomHex: random }),
      realHex,
      4,
      fillRandomHex,
    );
    const kept = Array.from({ length: 100 }, (_, i) => {
      const event = stream.next(NOW + i);
      return { body: event.body, text: event.body.toString("utf8") };
    });
    for (let i = 0; i < 500; i++) stream.next(NOW + 100 + i);
    for (const { body, text } of kept) {
      expect(body.toString("utf8")).toBe(text);
      expect(JSON.parse(text).event).toBe("message.received");
    }
  });

  it("timestamps follow the clock exactly, also for instants that share a remembered place", () => {
    const build = (random: RandomHex, now: Date) =>
      buildFakeEvent({ type: "message.received", now, randomHex: random });
    const { template } = createEventTemplate(build, realHex, NOW);
    for (const now of [NOW, NOW + 256, NOW + 512, NOW, NOW + 256 * 1_000_003, NOW + 1]) {
      for (const fill of [fillRandomHex, undefined]) {
        const parsed = JSON.parse(template.instantiate(realHex, now, fill).body.toString("utf8"));
        expect(parsed.delivered_at).toBe(new Date(now).toISOString());
      }
    }
  });

  it("a clock past year 9999 takes the slow way with the same result", () => {
    const build = (random: RandomHex, now: Date) =>
      buildFakeEvent({ type: "message.received", now, randomHex: random });
    const { template } = createEventTemplate(build, realHex, NOW);
    const farFuture = Date.UTC(10_000, 0, 1) + 500;
    const event = template.instantiate(realHex, farFuture, fillRandomHex);
    const parsed = JSON.parse(event.body.toString("utf8"));
    expect(parsed.delivered_at).toBe(new Date(farFuture).toISOString());
    expect(event.eventId).toBe(parsed.event_id);
    // And back to an ordinary clock: the fast way again, with that clock's times.
    const back = template.instantiate(realHex, NOW + 5, fillRandomHex);
    expect(JSON.parse(back.body.toString("utf8")).delivered_at).toBe(new Date(NOW + 5).toISOString());
  });

  it("fillRandomHex writes exactly `length` lower-case hex digits where asked and nothing else", () => {
    for (const length of [1, 2, 7, 12, 32, 33]) {
      const target = Buffer.alloc(length + 8, "-");
      fillRandomHex(target, 4, length);
      const text = target.toString("latin1");
      expect(text.slice(0, 4)).toBe("----");
      expect(text.slice(4 + length)).toBe("----");
      expect(text.slice(4, 4 + length)).toMatch(new RegExp(`^[0-9a-f]{${length}}$`));
    }
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const target = Buffer.alloc(16);
      fillRandomHex(target, 0, 16);
      seen.add(target.toString("latin1"));
    }
    expect(seen.size).toBe(2_000);
    expect(() => fillRandomHex(Buffer.alloc(4), 2, 3)).toThrow(RangeError);
  });
});
