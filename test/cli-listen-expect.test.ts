/**
 * `listen --once/--expect` for CI: exit 0 after a matching verified event is answered (and
 * forwarded), exit 1 on timeout with what did arrive; non-matching and unverified events do not count.
 */
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, serverStarter } from "./helpers/cleanups.js";
import { runCli } from "./helpers/cli.js";
import { messageEvent, post, signedEvent } from "./helpers/http.js";
import { type ListenProcess, startListen, startPrettyListen } from "./helpers/listen.js";

const SECRET = "whsec_expect_9f8e7d6c5b4a";
const env = { OPENMAIL_WEBHOOK_SECRET: SECRET };
const cleanups = cleanupAfterEach();

async function listen(args: string[], options: { env?: Record<string, string | undefined> } = {}) {
  const lp = await startListen(args, { env: options.env ?? env });
  cleanups.push(() => lp.stop("SIGKILL"));
  return lp;
}

const target = serverStarter(cleanups);

const exited = (lp: ListenProcess) => new Promise<number | null>((resolve) => lp.child.on("close", resolve));

function lifecycle(type: string) {
  return {
    event: type,
    event_id: `evt_${type.replace(".", "_")}_${Math.random().toString(16).slice(2, 8)}`,
    occurred_at: "2026-11-26T10:05:00.000Z",
    inbox_id: "inb_main",
    inbox_address: "support@acme.openmail.sh",
    pod_id: "pod_1",
    reason: null,
  };
}

describe("listen --expect", () => {
  it("ignores other types, unverified and tampered events, then exits 0 after answering the match", async () => {
    const lp = await listen(["--expect", "message.received", "--timeout", "60s"]);
    const exit = exited(lp);

    const other = signedEvent(SECRET, lifecycle("inbox.suspended"));
    expect((await post(lp.url, other.headers, other.body)).status).toBe(200);
    const wrongSecret = signedEvent("not-the-secret", messageEvent());
    expect((await post(lp.url, wrongSecret.headers, wrongSecret.body)).status).toBe(400);
    const unsigned = signedEvent(SECRET, messageEvent());
    const { "X-Signature": _dropped, ...noSignature } = unsigned.headers;
    expect((await post(lp.url, noSignature, unsigned.body)).status).toBe(400);
    expect(lp.child.exitCode).toBeNull();

    const good = messageEvent({}, { subject: "Order 10482 shipped" });
    const request = signedEvent(SECRET, good);
    const response = await post(lp.url, request.headers, request.body);
    expect(response.status).toBe(200);
    expect(await exit).toBe(0);

    const matched = lp.records.filter((r) => r.type === "matched");
    expect(matched).toEqual([expect.objectContaining({ n: 1, count: 1, eventId: good.event_id })]);
    const result = lp.records.find((r) => r.type === "expect");
    expect(result).toMatchObject({ result: "matched", matched: 1, count: 1, expected: "message.received" });
    // --json prints the matched events themselves.
    expect(result?.events).toEqual([good]);
    expect(lp.records.filter((r) => r.type === "event")).toHaveLength(4);
  });

  it("exits 1 on timeout with a summary of what did arrive", async () => {
    const lp = await listen(["--expect", "message.received", "--timeout", "1500ms"]);
    const exit = exited(lp);
    const other = signedEvent(SECRET, lifecycle("pod.suspended"));
    await post(lp.url, other.headers, other.body);
    const bad = signedEvent("wrong", messageEvent());
    await post(lp.url, bad.headers, bad.body);
    expect(await exit).toBe(1);
    const result = lp.records.find((r) => r.type === "expect");
    expect(result).toMatchObject({ result: "timeout", matched: 0, events: [] });
    expect(result?.arrived).toMatch(/^received 2 events: /);
    expect(result?.arrived).toContain("1 × pod.suspended: not an expected type");
    expect(result?.arrived).toContain("1 × message.received: failed verification (signature_mismatch)");
  });

  it("a match whose sender hung up before the answer does not count, and the result says it arrived", async () => {
    const slow = await target(() => ({ status: 200, body: "ok", delayMs: 1_500 }));
    const lp = await listen(["--expect", "message.received", "--timeout", "4s", "--forward-to", slow.url]);
    const exit = exited(lp);
    const request = signedEvent(SECRET, messageEvent());
    // The sender gives up after 300 ms, while the handler still works on it.
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await fetch(lp.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    }).catch(() => undefined);
    expect(await exit).toBe(1);
    const result = lp.records.find((r) => r.type === "expect");
    expect(result).toMatchObject({ result: "timeout", matched: 0 });
    expect(result?.arrived).toBe(
      "received 1 event: 1 × message.received: the sender hung up before the answer, so not counted (OpenMail sends it again)",
    );
  });

  it("prints the timeout summary for people too", async () => {
    const human = await runCli(
      ["listen", "--no-tunnel", "--port", "0", "--expect", "inbox.suspended", "--timeout", "1s"],
      { env },
    );
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(
      /✗ timed out after 1\.00 s waiting for inbox\.suspended \(0 of 1 matched\); no events arrived/,
    );
  });

  it("filters on inbox and subject (text or /regex/), counts distinct events, not redeliveries", async () => {
    const lp = await listen([
      "--expect",
      "message.received",
      "--expect-inbox",
      "inb_support",
      "--expect-subject",
      "/invoice #\\d+/i",
      "--count",
      "2",
      "--timeout",
      "60s",
    ]);
    const exit = exited(lp);
    const send = async (event: Record<string, unknown>) => {
      const request = signedEvent(SECRET, event);
      expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    };
    await send(messageEvent({ inbox_id: "inb_other" }, { subject: "Invoice #1" }));
    await send(messageEvent({ inbox_id: "inb_support" }, { subject: "No number here" }));
    const first = messageEvent({ inbox_id: "inb_support" }, { subject: "Your INVOICE #2847" });
    await send(first);
    await send({ ...first, attempt: 2 });
    expect(lp.child.exitCode).toBeNull();
    // By inbox address as well as by id.
    await send(messageEvent({ inbox_id: "inb_x" }, { subject: "invoice #9", to: "inb_support" }));
    expect(await exit).toBe(0);
    const result = lp.records.find((r) => r.type === "expect");
    expect(result).toMatchObject({ result: "matched", matched: 2, count: 2 });
    expect(result?.arrived).toContain("1 × redelivery of an event already matched");
    expect(result?.arrived).toContain("1 × message.received: for another inbox (inb_other)");
    expect(result?.arrived).toContain("1 × message.received: subject does not match");
  });

  it("--once exits after the first verified event of any type", async () => {
    const lp = await listen(["--once"]);
    const exit = exited(lp);
    const request = signedEvent(SECRET, lifecycle("pod.reactivated"));
    expect((await post(lp.url, request.headers, request.body)).status).toBe(200);
    expect(await exit).toBe(0);
  });

  it("forwards the match before exiting, and exits 1 when the handler does not accept it", async () => {
    const app = await target(() => ({ status: 200, body: "handled", delayMs: 300 }));
    const lp = await listen(["--expect", "message.received", "--forward-to", app.url, "--timeout", "60s"]);
    const exit = exited(lp);
    const request = signedEvent(SECRET, messageEvent());
    const response = await post(lp.url, request.headers, request.body);
    expect(response).toMatchObject({ status: 200, body: "handled" });
    expect(await exit).toBe(0);
    expect(app.requests).toHaveLength(1);

    const broken = await target(() => ({ status: 500, body: "boom" }));
    const failing = await listen(["--expect", "message.received", "--forward-to", broken.url, "--timeout", "60s"]);
    const failingExit = exited(failing);
    const again = signedEvent(SECRET, messageEvent());
    expect((await post(failing.url, again.headers, again.body)).status).toBe(500);
    expect(await failingExit).toBe(1);
    // The record says what happened: nothing matched (the one match failed its forward), and why.
    const record = failing.records.find((r) => r.type === "expect");
    expect(record).toMatchObject({
      result: "forward-failed",
      matched: 0,
      count: 1,
      arrived:
        "received 1 event: 1 × message.received: matched, but the forward target did not accept it (500 Internal Server Error)",
      forwardProblem: `${broken.url}/ did not accept it (500 Internal Server Error)`,
      events: [],
    });
    expect(failing.records.some((r) => r.type === "matched")).toBe(false);
  });

  it("prints no ✓ for a match the forward target refused, only the failure", async () => {
    const broken = await target(() => ({ status: 500, body: "boom" }));
    const lp = await startPrettyListen(
      ["--expect", "message.received", "--forward-to", broken.url, "--timeout", "60s"],
      {
        env,
      },
    );
    cleanups.push(() => lp.stop("SIGKILL"));
    const request = signedEvent(SECRET, messageEvent());
    expect((await post(lp.url, request.headers, request.body)).status).toBe(500);
    await lp.waitForText(/did not accept it/);
    expect(await lp.stop()).toBe(1);
    expect(lp.stdout()).not.toMatch(/✓ expected event/);
  });

  it("refuses an unknown --expect type (a typo would wait forever), naming the known types (exit 2)", async () => {
    const typo = await runCli(["listen", "--no-tunnel", "--port", "0", "--expect", "message.recieved"], { env });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown event type "message.recieved"/);
    expect(typo.stderr).toMatch(
      /message\.received, inbox\.suspended, inbox\.reactivated, pod\.suspended, pod\.reactivated/,
    );
  });

  it("refuses --expect without a secret and --timeout without --expect (exit 2)", async () => {
    const noSecret = await runCli(["listen", "--no-tunnel", "--port", "0", "--expect", "message.received"]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/only count verified events, so they need the secret/);
    const lonely = await runCli(["listen", "--no-tunnel", "--port", "0", "--timeout", "5s"], { env });
    expect(lonely.code).toBe(2);
    const badRegex = await runCli(["listen", "--no-tunnel", "--port", "0", "--expect-subject", "/(/"], { env });
    expect(badRegex.code).toBe(2);
    expect(badRegex.stderr).toMatch(/not a valid regular expression/);
  });
});

describe("the CI recipe: listen --inbox --expect + send-mail, against the fake OpenMail API", () => {
  it("exits 0 once the real email sent through the API arrives, verified with the secret OpenMail handed out", async () => {
    const { FAKE_TUNNEL_DOMAIN, startFakeOpenMail } = await import("./helpers/fake-openmail.js");
    const key = "om_live_account_key_recipe_0123456789";
    const fake = await startFakeOpenMail({ [key]: { kind: "account" } });
    cleanups.push(() => fake.close());
    fake.addInbox({ id: "inb_ci", address: "ci@acme.openmail.sh" });
    const apiEnv = {
      OPENMAIL_API_KEY: key,
      OPENMAIL_API_BASE: fake.url,
      OPENMAIL_HOOKS_TUNNEL: "fake",
      OPENMAIL_HOOKS_FAKE_TUNNEL_DOMAIN: FAKE_TUNNEL_DOMAIN,
      NGROK_AUTHTOKEN: "2AbCdEfGhIjKlMnOpQrStUvWxYz_fake_token",
    };
    // No OPENMAIL_WEBHOOK_SECRET: the secret comes from registering the inbox.
    const lp = await listen(
      [
        "--tunnel",
        "--inbox",
        "inb_ci",
        "--expect",
        "message.received",
        "--expect-subject",
        "ci-run-42",
        "--timeout",
        "60s",
      ],
      { env: apiEnv },
    );
    const exit = exited(lp);
    // A message with another subject (an earlier run's, say) does not count.
    const earlier = await runCli(
      ["send-mail", "--inbox", "inb_ci", "--to", "ci@acme.openmail.sh", "--subject", "ci-run-41", "--text", "old"],
      { env: apiEnv },
    );
    expect(earlier.code).toBe(0);
    await lp.waitFor((r) => r.type === "event");
    expect(lp.child.exitCode).toBeNull();
    const sent = await runCli(
      ["send-mail", "--inbox", "inb_ci", "--to", "ci@acme.openmail.sh", "--subject", "ci-run-42", "--text", "hi"],
      { env: apiEnv },
    );
    expect(sent.code).toBe(0);
    expect(await exit).toBe(0);
    const result = lp.records.find((r) => r.type === "expect") as { events: Array<{ message: { subject: string } }> };
    expect(result).toMatchObject({ result: "matched", matched: 1 });
    expect(result.events[0]?.message.subject).toBe("ci-run-42");
    expect((result as unknown as { arrived: string }).arrived).toContain(
      "1 × message.received: subject does not match",
    );
    // listen put the inbox's webhook back when it exited.
    expect(fake.inboxes.get("inb_ci")?.webhookUrl).toBeNull();
  });
});

describe("listen --expect, stopped", () => {
  it("exits 1 when stopped before a match, saying what did arrive", async () => {
    const lp = await listen(["--expect", "message.received", "--expect-subject", "never"]);
    const request = signedEvent(SECRET, messageEvent());
    await post(lp.url, request.headers, request.body);
    await lp.waitFor((r) => r.type === "event");
    await expect.poll(() => lp.stderr()).toMatch(/waiting for message\.received with subject containing "never"/);
    expect(await lp.stop("SIGTERM")).toBe(1);
    expect(lp.records.find((r) => r.type === "expect")).toMatchObject({
      result: "stopped",
      matched: 0,
      arrived: "received 1 event: 1 × message.received: subject does not match",
    });
  });
});
