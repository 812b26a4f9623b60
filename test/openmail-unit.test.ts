import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyEnvAssignments, upsertEnvFile } from "../src/config/env-file.js";
import type { CapturedRequest } from "../src/core/capture.js";
import { inspectRequest } from "../src/core/inspect.js";
import { loadFixture } from "../src/io/fixtures.js";
import { folderRedactionKey } from "../src/io/redacting-store.js";
import type { ReceivedEvent } from "../src/io/webhook-pipeline.js";
import { createOpenMailApi, type OpenMailApi, parseRetryAfter } from "../src/openmail/api.js";
import { describeApiFailure, OpenMailApiError, redactApiKey } from "../src/openmail/errors.js";
import { claimInboxes, recoverAbandoned } from "../src/openmail/registrar.js";
import { judgeRoundTrip } from "../src/openmail/round-trip.js";
import { openStateStore, parseState } from "../src/openmail/state.js";
import { messageEvent, signedEvent } from "./helpers/http.js";
import { startServer } from "./helpers/servers.js";

describe("applyEnvAssignments", () => {
  it("replaces the last assignment in place and keeps everything else byte for byte", () => {
    const before = "# c\nA=1\nOPENMAIL_WEBHOOK_SECRET=first\nB=2\n  export OPENMAIL_WEBHOOK_SECRET = second\n# end";
    const { text, replaced, added } = applyEnvAssignments(before, { OPENMAIL_WEBHOOK_SECRET: "new" });
    expect(text).toBe("# c\nA=1\nOPENMAIL_WEBHOOK_SECRET=first\nB=2\n  export OPENMAIL_WEBHOOK_SECRET = new\n# end");
    expect(replaced).toEqual(["OPENMAIL_WEBHOOK_SECRET"]);
    expect(added).toEqual([]);
  });

  it("keeps an inline comment after an unquoted value", () => {
    expect(applyEnvAssignments("X=old # from the Dashboard\n", { X: "new" }).text).toBe("X=new # from the Dashboard\n");
  });

  it("appends with the file's own line ending, adding one to a last line without it", () => {
    expect(applyEnvAssignments("A=1\r\nB=2", { X: "y" }).text).toBe("A=1\r\nB=2\r\nX=y\r\n");
    expect(applyEnvAssignments("", { X: "y" }).text).toBe("X=y\n");
  });

  it("replaces a quoted value spanning several lines as a whole", () => {
    const before = 'A=1\nX="line one\nline two"\nB=2\n';
    expect(applyEnvAssignments(before, { X: "z" }).text).toBe("A=1\nX=z\nB=2\n");
  });

  it("does not mistake a longer name or a comment for the variable", () => {
    const before = "OPENMAIL_WEBHOOK_SECRET_OLD=a\n# OPENMAIL_WEBHOOK_SECRET=b\n";
    expect(applyEnvAssignments(before, { OPENMAIL_WEBHOOK_SECRET: "c" }).text).toBe(
      `${before}OPENMAIL_WEBHOOK_SECRET=c\n`,
    );
  });

  it("quotes values dotenv would otherwise cut", () => {
    expect(applyEnvAssignments("", { X: "a b#c" }).text).toBe("X='a b#c'\n");
  });

  it("writes atomically, keeps an existing file's mode, and creates a new one 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "omh-env-"));
    const created = await upsertEnvFile(join(dir, ".env"), { X: "1" });
    expect(created.created).toBe(true);
    expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, "other.env"), "Y=2\n", { mode: 0o644 });
    await upsertEnvFile(join(dir, "other.env"), { X: "1" });
    expect(readFileSync(join(dir, "other.env"), "utf8")).toBe("Y=2\nX=1\n");
    expect(statSync(join(dir, "other.env")).mode & 0o777).toBe(0o644);
  });

  it("writes through a .env that is a symbolic link (the app reads the target), and refuses a dangling one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "omh-env-"));
    writeFileSync(join(dir, "real.env"), "FOO=bar\r\nOPENMAIL_WEBHOOK_SECRET=old\r\n", { mode: 0o640 });
    symlinkSync("real.env", join(dir, ".env"));
    const update = await upsertEnvFile(join(dir, ".env"), { OPENMAIL_WEBHOOK_SECRET: "new" });
    expect(update.path).toBe(join(dir, ".env"));
    expect(lstatSync(join(dir, ".env")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "real.env"), "utf8")).toBe("FOO=bar\r\nOPENMAIL_WEBHOOK_SECRET=new\r\n");
    expect(statSync(join(dir, "real.env")).mode & 0o777).toBe(0o640);
    symlinkSync("missing.env", join(dir, "dangling.env"));
    await expect(upsertEnvFile(join(dir, "dangling.env"), { X: "1" })).rejects.toThrow(
      /symbolic link to a file that does not exist/,
    );
    expect(lstatSync(join(dir, "dangling.env")).isSymbolicLink()).toBe(true);
  });
});

describe("parseRetryAfter and redactApiKey", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("12", 0)).toBe(12);
    expect(parseRetryAfter(new Date(30_500).toUTCString(), 0)).toBe(30);
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });

  it("removes the key and anything shaped like an OpenMail key", () => {
    expect(redactApiKey("key abc123secret and om_live_zzzzzzzz", "abc123secret")).toBe(
      "key [redacted] and om_[redacted]",
    );
  });
});

function received(secret: string | undefined, signWith: string, status = 200): ReceivedEvent {
  const signed = signedEvent(signWith, messageEvent({ inbox_id: "inb_1" }));
  const request: CapturedRequest = {
    method: "POST",
    path: "/webhooks",
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: signed.body,
    receivedAt: new Date().toISOString(),
  } as unknown as CapturedRequest;
  const inspection = inspectRequest(request, { secret, toleranceSeconds: 300, now: Math.floor(Date.now() / 1000) });
  const verification = inspection.verification;
  return {
    seq: 1,
    request,
    inspection,
    signature: !verification ? "unverified" : verification.valid ? "valid" : "invalid",
    status,
    statusReason: status === 200 ? "signature valid" : "rejected",
    answer: { kind: "written" },
  };
}

const apiError = (status: number, code: string, message: string) =>
  new OpenMailApiError("x", { kind: "http", status, code, message }, { kind: "test-webhook", inboxId: "inb_1" });

describe("judgeRoundTrip names the hop that failed", () => {
  const delivered = { kind: "answered" as const, ok: true, message: "ok" };
  it("passes when it arrived, verified and was answered 2xx", () => {
    const result = judgeRoundTrip("inb_1", delivered, received("s3cret", "s3cret"), 1000);
    expect(result.ok).toBe(true);
    expect(result.hops).toContain("signature valid with inb_1's secret");
  });
  it("signature mismatch", () => {
    const result = judgeRoundTrip("inb_1", delivered, received("other", "s3cret", 400), 1000);
    expect(result.problem).toMatch(/^signature mismatch/);
  });
  it("nothing arrived and OpenMail says webhook_failed", () => {
    const result = judgeRoundTrip(
      "inb_1",
      { kind: "error", error: apiError(502, "webhook_failed", "unreachable") },
      undefined,
      1000,
    );
    expect(result.problem).toMatch(/^nothing arrived through the tunnel/);
    expect(result.hops).toEqual(["OpenMail: webhook_failed (unreachable)"]);
  });
  it("OpenMail says delivered but nothing arrived within the wait", () => {
    const result = judgeRoundTrip("inb_1", delivered, undefined, 5000);
    expect(result.problem).toMatch(/nothing arrived here within 5.00 s/);
  });
  it("another API error is reported as it is", () => {
    const error = apiError(404, "not_found", "gone");
    const result = judgeRoundTrip("inb_1", { kind: "error", error }, undefined, 1000);
    expect(result.problem).toBe("x");
  });
});

describe("registrar", () => {
  const inbox = (id: string, webhookUrl: string | null = null) => ({ id, webhookUrl, address: `${id}@x` });

  it("puts back what it changed when a later inbox fails, and leaves nothing pending for untouched ones", async () => {
    const urls = new Map<string, string | null>([
      ["inb_a", null],
      ["inb_b", null],
    ]);
    const api = {
      apiBase: "http://127.0.0.1:1",
      async getInbox(id: string) {
        return inbox(id, urls.get(id) ?? null);
      },
      async setWebhookUrl(id: string, url: string | null) {
        if (id === "inb_b" && url !== null)
          throw new OpenMailApiError("422", { kind: "http", status: 422 }, { kind: "set-webhook", inboxId: id, url });
        urls.set(id, url);
        return { ...inbox(id, url), webhookSecret: url ? "sec" : undefined };
      },
      ownUrlTag: (url: string) => `tag ${url}`,
    } as unknown as OpenMailApi;
    const dir = mkdtempSync(join(tmpdir(), "omh-state-"));
    const store = openStateStore(dir);
    await expect(
      claimInboxes(api, store, {
        inboxIds: ["inb_a", "inb_b"],
        webhookUrl: "https://t.example/webhooks",
        takeOver: false,
        rotateSecret: false,
      }),
    ).rejects.toThrow("422");
    expect(urls.get("inb_a")).toBeNull();
    expect((await store.read()).pending).toEqual([]);
  });

  it("leaves the registrations of a run that is still alive alone", async () => {
    const store = openStateStore(mkdtempSync(join(tmpdir(), "omh-state-")));
    await store.write({
      version: 1,
      pid: 999_999,
      pending: [{ inboxId: "inb_a", previousUrl: null, setUrls: ["https://t.example"], rotated: false }],
      ownUrls: [],
    });
    const recovery = await recoverAbandoned(
      store,
      "https://api.openmail.sh",
      () => undefined,
      () => true,
    );
    expect(recovery).toEqual({ kind: "running", pid: 999_999, inboxIds: ["inb_a"] });
    expect(
      (
        await recoverAbandoned(
          store,
          "https://api.openmail.sh",
          () => undefined,
          () => false,
        )
      ).kind,
    ).toBe("no-key");
  });

  it("never contacts an API base the state file names other than this run's (the key would go there)", async () => {
    const store = openStateStore(mkdtempSync(join(tmpdir(), "omh-state-")));
    const pending = [{ inboxId: "inb_a", previousUrl: null, setUrls: ["https://t.example"], rotated: false }];
    await store.write({ version: 1, pid: 999_999, apiBase: "https://attacker.example", pending, ownUrls: [] });
    let asked = false;
    const recovery = await recoverAbandoned(
      store,
      "https://api.openmail.sh",
      () => {
        asked = true;
        return undefined;
      },
      () => false,
    );
    expect(recovery).toMatchObject({ kind: "other-api", apiBase: "https://attacker.example" });
    expect(asked).toBe(false);
  });

  it("a damaged state file is a clear input error", () => {
    expect(() => parseState("{", "/x/.inbox-registrations.json")).toThrow(
      /the inbox state file \/x\/\.inbox-registrations\.json is damaged \(not JSON\)/,
    );
  });
});

describe("a send whose outcome is unknown names the Idempotency-Key to retry with", () => {
  const context = { keySource: "--api-key flag", apiBase: "https://api.openmail.sh", key: "om_live_unit_key_123456" };
  const send = { kind: "send", inboxId: "inb_1", idempotencyKey: "openmail-hooks-k1" } as const;
  const retry = "run it again with --idempotency-key openmail-hooks-k1 (without it, a new key is drawn";

  it("exactly when the request may have reached OpenMail and no success came back", () => {
    const unknown = [
      [{ kind: "timeout", timeoutMs: 2000 }, "did not answer within 2.00 s while sending from inbox inb_1"],
      [{ kind: "network", message: "x closed the connection", afterConnect: true }, "broke without an answer"],
      [
        { kind: "http", status: 500, code: "internal" },
        "OpenMail answered 500 internal while sending from inbox inb_1",
      ],
    ] as const;
    for (const [failure, said] of unknown) {
      const line = describeApiFailure(failure, send, context);
      expect(line).toContain(said);
      expect(line).toContain("the mail may or may not have been sent");
      expect(line).toContain(retry);
    }
    // Nothing was sent (no connection), or OpenMail refused it: no talk of an unknown outcome.
    const known = [
      { kind: "timeout", timeoutMs: 2000, connecting: true },
      { kind: "network", message: "connection refused at https://api.openmail.sh", afterConnect: false },
      { kind: "http", status: 422, code: "validation_error" },
    ] as const;
    for (const failure of known) {
      expect(describeApiFailure(failure, send, context)).not.toMatch(/may or may not|idempotency-key/);
    }
    // Other operations keep their advice.
    expect(describeApiFailure({ kind: "timeout", timeoutMs: 2000 }, { kind: "list-inboxes" }, context)).toMatch(
      /while listing inboxes: try again, or raise --api-timeout$/,
    );
  });
});

describe("the API client's failure paths (real undici client, local servers)", () => {
  const client = (url: string, timeoutMs = 2000) =>
    createOpenMailApi({ apiKey: "om_live_unit_key_123456", keySource: "--api-key flag", apiBase: url, timeoutMs });

  it("a body that trickles past the deadline is a timeout, whatever the per-chunk timers say", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"data": [');
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const api = client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 400);
    try {
      await expect(api.listInboxes({ limit: 1, offset: 0 })).rejects.toThrow(
        /did not answer within 400 ms while listing inboxes/,
      );
    } finally {
      await api.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it("an answer larger than the bound, or not JSON, is an error naming --api-base", async () => {
    const huge = await startServer(() => ({ status: 200, body: "x".repeat(5 * 1024 * 1024) }));
    const html = await startServer(() => ({ status: 200, body: "<html>proxy login</html>" }));
    // The bound is what is tested, not the deadline: 5 MB on a loaded machine can take over 2 s.
    const bigApi = client(huge.url, 20_000);
    const htmlApi = client(html.url);
    try {
      await expect(bigApi.getInbox("inb_1")).rejects.toThrow(
        "OpenMail answered 200: the answer is larger than 4194304 bytes; is --api-base the OpenMail API? while reading inbox inb_1",
      );
      await expect(htmlApi.getInbox("inb_1")).rejects.toThrow(/is --api-base the OpenMail API\?/);
    } finally {
      await Promise.all([bigApi.close(), htmlApi.close(), huge.close(), html.close()]);
    }
  });

  it("sends the key as a bearer token only, and a 429's HTTP-date Retry-After becomes seconds", async () => {
    const retryAt = new Date(Date.now() + 90_000).toUTCString();
    const server = await startServer(() => ({
      status: 429,
      headers: { "retry-after": retryAt, "content-type": "application/json" },
      body: JSON.stringify({ error: "rate_limit_exceeded", message: "slow down" }),
    }));
    const api = client(server.url);
    try {
      const error = (await api
        .send("inb_1", { to: "a@b.c", subject: "s", body: "b" }, "key-1")
        .catch((e: unknown) => e)) as OpenMailApiError;
      expect(error).toBeInstanceOf(OpenMailApiError);
      expect(error.failure).toMatchObject({ kind: "http", status: 429, code: "rate_limit_exceeded" });
      const seconds = (error.failure as { retryAfterSeconds: number }).retryAfterSeconds;
      expect(seconds).toBeGreaterThanOrEqual(85);
      expect(seconds).toBeLessThanOrEqual(91);
      expect(server.requests[0]?.headers.authorization).toBe("Bearer om_live_unit_key_123456");
      expect(server.requests[0]?.headers["idempotency-key"]).toBe("key-1");
      expect(error.message).not.toContain("om_live_unit_key_123456");
    } finally {
      await Promise.all([api.close(), server.close()]);
    }
  });
});

describe("settings files are read bounded, and only when they are regular files", () => {
  // A FIFO in a settings file's place used to hold a thread of the pool forever (readFile waits for a
  // writer), and a link to /dev/zero was read until memory ran out.
  const hostile = (name: string, kind: "fifo" | "zero") => {
    const dir = mkdtempSync(join(tmpdir(), "omh-hostile-"));
    const path = join(dir, name);
    if (kind === "fifo") execFileSync("mkfifo", [path]);
    else symlinkSync("/dev/zero", path);
    return { dir, path };
  };

  it("the inbox state file: a FIFO or /dev/zero is 'damaged (not a regular file)', at once", async () => {
    for (const kind of ["fifo", "zero"] as const) {
      const { dir } = hostile("placeholder", kind);
      const store = openStateStore(dir);
      if (kind === "fifo") execFileSync("mkfifo", [store.path]);
      else symlinkSync("/dev/zero", store.path);
      await expect(store.read()).rejects.toThrow(/is damaged \(not a regular file\)/);
    }
  });

  it("the .env file --write-env updates: a FIFO or /dev/zero is refused, not waited on or read", async () => {
    for (const kind of ["fifo", "zero"] as const) {
      const { path } = hostile(".env", kind);
      await expect(upsertEnvFile(path, { X: "1" })).rejects.toThrow(/not a regular file/);
    }
  });

  it("a fixture given by path, and the folder's redaction key", async () => {
    const { path } = hostile("event.json", "fifo");
    await expect(loadFixture(path, process.cwd())).rejects.toThrow(/not a regular file/);
    const zero = hostile("event.json", "zero");
    await expect(loadFixture(zero.path, process.cwd())).rejects.toThrow(/not a regular file/);
    const keyDir = hostile(".redaction-key", "fifo").dir;
    await expect(folderRedactionKey(keyDir)).rejects.toThrow(/not a regular file/);
  });
});
