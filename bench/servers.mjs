#!/usr/bin/env node
/**
 * Minimal servers the bench measures `listen` against, each doing one more piece of the work a
 * webhook receiver must do, so a ratio says how close listen is to the physical limit of a design:
 *
 *   bare    node:http: read the body, answer 200 (the sink for the senders, too)
 *   hmac    + verify the signature (HMAC-SHA256 over "timestamp.body") and parse the JSON
 *   hmac-oneshot  the same, with the HMAC computed as listen computes it: two one-shot hashes over key
 *           blocks made once (RFC 2104), no Hmac object per event (createHmac's cost about 4 µs per
 *           request more under wrk, notes-p7)
 *   excl    + one capture file per event, its final name created exclusively (O_EXCL), written in one call
 *   link    + one capture file per event via a temporary file, link() to the final name, unlink()
 *   append  + one append per event to one open log file
 *   group   + group commit: the events of one event-loop turn written with one write(), then answered
 *
 * and the same made durable (fsync before answering), as listen's captures are:
 *
 *   excl-fsync   one file per event (O_EXCL final name), fsync of the file and of the folder, all synchronous
 *   link-fsync   listen's promises, done as cheaply as measured (notes-i16f / BENCHMARKS.md): a temporary
 *                file under a random name (128 bits, from a pool of random bytes), created in the thread
 *                pool, fsync in the pool (many at once, which the file system commits together), link
 *                (never overwrites), unlink; one folder fsync shared by the events linked before it
 *                started. fdatasync instead of fsync, a larger thread pool, and every call in the pool
 *                measured no better.
 *   excl-fsync-pool  the final name created exclusively (in the pool) and written in one call, fsync in the pool,
 *                shared folder fsync: no link or unlink, but a crash can leave a partial file under its
 *                final name, which every reader would have to recognise (report only)
 *   group-fsync  group commit to a log: one write() and one fdatasync() per event-loop turn
 *
 * and a forwarding hop, the reference for `listen --forward-to`:
 *
 *   http-proxy   http-proxy in front of the URL given instead of a folder, in a process of its own as
 *                listen is (inside the bench's process its hop paid no process wake-ups; notes-w2)
 *
 * Usage: node bench/servers.mjs <mode> [dir] [secret]. Prints its port; with an IPC channel it answers
 * "stats" with { requests, cpuUs, firstMs, lastMs } (process.cpuUsage, monotonic ms).
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  fdatasync,
  fsync,
  fsyncSync,
  linkSync,
  mkdirSync,
  open,
  openSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const [mode = "bare", dir = "", secret = ""] = process.argv.slice(2);
if (dir && mode !== "http-proxy") mkdirSync(dir, { recursive: true, mode: 0o700 });

let requests = 0;
let firstMs = 0;
let lastMs = 0;
let counter = 0;

function verified(req, body) {
  const timestamp = String(req.headers["x-timestamp"] ?? "");
  const signature = String(req.headers["x-signature"] ?? "");
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
  const event = JSON.parse(body.toString("utf8"));
  const ok = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  return ok ? event : undefined;
}

// HMAC-SHA256 as two one-shot hashes (RFC 2104): the key XOR ipad, then the message, hashed; the key
// XOR opad, then that digest, hashed. The key blocks are made once; the message is copied after the
// inner block in a reused buffer (as src/core/signature.ts does).
const keyBytes = Buffer.from(secret, "utf8");
const innerKey = Buffer.alloc(64, 0x36);
const outerKey = Buffer.alloc(64 + 32, 0x5c);
for (let i = 0; i < keyBytes.length; i++) {
  innerKey[i] ^= keyBytes[i];
  outerKey[i] ^= keyBytes[i];
}
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
innerKey.copy(scratch, 0);
function hmacOneShot(prefix, body) {
  if (64 + prefix.length * 3 + body.length > scratch.length) {
    scratch = Buffer.allocUnsafeSlow(2 * (64 + prefix.length * 3 + body.length));
    innerKey.copy(scratch, 0);
  }
  const at = 64 + scratch.write(prefix, 64, "utf8");
  body.copy(scratch, at);
  outerKey.write(hash("sha256", scratch.subarray(0, at + body.length), "latin1"), 64, "latin1");
  return hash("sha256", outerKey, "hex");
}

function verifiedOneShot(req, body) {
  const timestamp = String(req.headers["x-timestamp"] ?? "");
  const signature = String(req.headers["x-signature"] ?? "");
  const expected = hmacOneShot(`${timestamp}.`, body);
  const event = JSON.parse(body.toString("utf8"));
  const ok = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  return ok ? event : undefined;
}

/** The same envelope listen writes: metadata plus the body as text. */
function capture(req, body) {
  return `${JSON.stringify(
    {
      format: "openmail-hooks.capture/v1",
      receivedAt: new Date().toISOString(),
      method: req.method,
      path: req.url,
      headers: req.headers,
      body: body.toString("utf8"),
    },
    null,
    2,
  )}\n`;
}

const logFd = ["append", "group", "group-fsync"].includes(mode)
  ? openSync(join(dir, "events.ndjson"), "a", 0o600)
  : undefined;

function syncFolderNow() {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// One folder fsync at a time; callers that arrive while one runs share the next.
let folderSync;
let folderSyncWaiters = [];
function syncFolderShared(callback) {
  folderSyncWaiters.push(callback);
  if (folderSync) return;
  const run = () => {
    const waiters = folderSyncWaiters;
    folderSyncWaiters = [];
    const fd = openSync(dir, "r");
    folderSync = true;
    fsync(fd, () => {
      closeSync(fd);
      for (const waiter of waiters) waiter();
      if (folderSyncWaiters.length) run();
      else folderSync = undefined;
    });
  };
  run();
}
// Random temporary names (128 bits each) drawn from a pool refilled every 256 names.
const RANDOM_POOL = 16 * 256;
let randomPool = Buffer.alloc(0);
let randomOffset = RANDOM_POOL;
function randomName() {
  if (randomOffset >= RANDOM_POOL) {
    randomPool = randomBytes(RANDOM_POOL);
    randomOffset = 0;
  }
  randomOffset += 16;
  return randomPool.toString("hex", randomOffset - 16, randomOffset);
}

const pending = [];
let flushScheduled = false;

function flushGroup() {
  flushScheduled = false;
  const batch = pending.splice(0);
  writeSync(logFd, batch.map((entry) => entry.line).join(""));
  if (mode === "group") for (const entry of batch) entry.res.end("ok");
  else
    fdatasync(logFd, () => {
      for (const entry of batch) entry.res.end("ok");
    });
}

function handle(req, res, body) {
  if (mode === "bare") return res.end("ok");
  const event = mode === "hmac-oneshot" ? verifiedOneShot(req, body) : verified(req, body);
  if (!event) {
    res.statusCode = 400;
    return res.end("bad signature");
  }
  if (mode === "hmac" || mode === "hmac-oneshot") return res.end("ok");
  const id = String(event.event_id).replace(/[^A-Za-z0-9_-]/g, "_");
  if (mode === "excl") {
    writeFileSync(join(dir, `${id}-${counter++}.json`), capture(req, body), { flag: "wx", mode: 0o600 });
    return res.end("ok");
  }
  if (mode === "excl-fsync") {
    const fd = openSync(join(dir, `${id}-${counter++}.json`), "wx", 0o600);
    writeSync(fd, capture(req, body));
    fsyncSync(fd);
    closeSync(fd);
    syncFolderNow();
    return res.end("ok");
  }
  if (mode === "excl-fsync-pool") {
    // Final name created exclusively and written in one call (a reader must recognise a partial file),
    // fsync in the thread pool, then the shared folder fsync.
    const text = capture(req, body);
    open(join(dir, `${id}-${counter++}.json`), "wx", 0o600, (error, fd) => {
      if (error) throw error;
      writeSync(fd, text);
      fsync(fd, () => {
        closeSync(fd);
        syncFolderShared(() => res.end("ok"));
      });
    });
    return;
  }
  if (mode === "link-fsync") {
    // The create in the thread pool: creating a file can wait for a journal commit in progress, which
    // would stall the event loop (1.4-1.5x the rate of a synchronous open, in two runs); the rest as is.
    const temporary = `${dir}/.tmp-${process.pid}-${randomName()}`;
    const text = capture(req, body);
    open(temporary, "wx", 0o600, (error, fd) => {
      if (error) throw error;
      writeSync(fd, text);
      fsync(fd, () => {
        closeSync(fd);
        linkSync(temporary, join(dir, `${id}-${counter++}.json`));
        unlinkSync(temporary);
        syncFolderShared(() => res.end("ok"));
      });
    });
    return;
  }
  if (mode === "link") {
    const temporary = join(dir, `.tmp-${process.pid}-${counter++}`);
    writeFileSync(temporary, capture(req, body), { flag: "wx", mode: 0o600 });
    linkSync(temporary, join(dir, `${id}-${counter}.json`));
    unlinkSync(temporary);
    return res.end("ok");
  }
  const line = `${JSON.stringify({ receivedAt: new Date().toISOString(), headers: req.headers, body: body.toString("utf8") })}\n`;
  if (mode === "append") {
    writeSync(logFd, line);
    return res.end("ok");
  }
  pending.push({ line, res });
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushGroup);
  }
}

async function proxyTo(target) {
  const { Agent } = await import("node:http");
  const { default: httpProxy } = await import("http-proxy");
  const proxy = httpProxy.createProxyServer({ target, agent: new Agent({ keepAlive: true, maxSockets: 64 }) });
  return createServer((req, res) => {
    requests += 1;
    proxy.web(req, res);
  });
}

const server =
  mode === "http-proxy"
    ? await proxyTo(dir)
    : createServer((req, res) => {
        const chunks = [];
        req.on("data", (chunk) => chunks.push(chunk));
        req.on("end", () => {
          const now = performance.now();
          if (requests === 0) firstMs = now;
          lastMs = now;
          requests += 1;
          res.setHeader("content-type", "text/plain");
          handle(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        });
      });
server.keepAliveTimeout = 10_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));

process.on("message", (message) => {
  if (message === "stats") {
    const cpu = process.cpuUsage();
    process.send({ requests, cpuUs: cpu.user + cpu.system, firstMs, lastMs });
  }
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => {
  if (logFd !== undefined) closeSync(logFd);
  process.exit(0);
});
