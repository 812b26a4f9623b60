/**
 * A forward that listen itself gave up on because it was stopping (Ctrl-C while the handler still
 * worked, e.g. paused in a debugger) is named as that: the summary said "forwarded: network error ×1"
 * and the records `"outcome":"other"`, a network failure that never happened.
 */
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { startListen, startPrettyListen } from "./helpers/listen.js";

const SECRET = "whsec_listen_stop_forward_0123";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();
const target = serverStarter(cleanups);

describe("listen stopped while the handler still works on an event", () => {
  it("--json: the forward's outcome and the summary's key are `stopped`, not a network error", async () => {
    const stuck = await target(() => ({ status: 200, delayMs: 20_000 }));
    const lp = await startListen(["--no-inspect", "--forward-to", stuck.url], { env });
    cleanups.push(async () => void (await lp.stop("SIGKILL")));
    const event = signedEvent(SECRET, messageEvent());
    post(lp.url, event.headers, event.body).catch(() => {});
    await stuck.waitFor(1);
    expect(await lp.stop("SIGINT")).toBe(0);
    const record = lp.records.find((r) => r.type === "event") as { forward: Record<string, unknown> };
    expect(record.forward).toMatchObject({ outcome: "stopped", status: null });
    expect(lp.records.at(-1)).toMatchObject({ type: "summary", forwarded: { stopped: 1 } });
  });

  it("the summary says the handler was stopped by listen, not that the network failed", async () => {
    const stuck = await target(() => ({ status: 200, delayMs: 20_000 }));
    const lp = await startPrettyListen(["--no-inspect", "--forward-to", stuck.url], { env });
    cleanups.push(async () => void (await lp.stop("SIGKILL")));
    const event = signedEvent(SECRET, messageEvent());
    post(`${lp.url}`, event.headers, event.body).catch(() => {});
    await stuck.waitFor(1);
    expect(await lp.stop("SIGINT")).toBe(0);
    expect(lp.stdout()).toContain("handler aborted: listen was stopping");
    expect(lp.stdout()).toContain("forwarded: stopped by listen ×1");
    expect(lp.stdout()).not.toContain("network error");
  });
});
