#!/usr/bin/env node
/**
 * npm run bench: what users feel, each figure as a ratio against a baseline measured in the same
 * run on the same machine (shared machines are noisy; absolute numbers are not comparable across
 * runs). Writes BENCHMARKS.md and bench/results.json. Exits non-zero only if something fails to run.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(root, "bin", "openmail-hooks.js");
// The library as users get it: the bundled Node entry, and the Web Crypto entry beside it.
const { sign, verify } = await import(join(root, "dist", "lib", "index.js"));
const webEntry = await import(join(root, "dist", "lib", "web.js"));
const { serializeCapture } = await import(join(root, "dist", "core", "capture.js"));

const SECRET = "whsec_bench_0123456789abcdef";
const QUICK = process.argv.includes("--quick");
// --only start-up,library runs just those figures (for iterating on one of them).
const ONLY = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice(7)
  .split(",");
const work = mkdtempSync(join(tmpdir(), "omh-bench-"));
const children = new Set();
const results = [];

function cleanup() {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

const env = (extra = {}) => {
  const out = { ...process.env, ...extra };
  for (const key of ["FORCE_COLOR", "NGROK_AUTHTOKEN"]) delete out[key];
  out.NO_COLOR = "1";
  return out;
};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function record(figure, ours, baseline, ratio, goal, met, unit, note = "") {
  results.push({ figure, ours, baseline, ratio: round(ratio, 3), goal, met, unit, note });
  const mark = met === null ? "·" : met ? "✓" : "✗";
  console.log(
    `${mark} ${figure}: ours ${ours} ${unit}, baseline ${baseline} ${unit}, ratio ${round(ratio, 3)} (goal ${goal})`,
  );
}

function eventBody(n) {
  return JSON.stringify({
    event: "message.received",
    event_id: `evt_bench_${process.pid}_${n}_${Math.random().toString(16).slice(2, 10)}`,
    occurred_at: new Date().toISOString(),
    delivered_at: new Date().toISOString(),
    attempt: 1,
    inbox_id: "inb_bench",
    thread_id: "thr_bench",
    message: {
      id: `msg_${n}`,
      rfc_message_id: "<bench@example.com>",
      from: "Bench <bench@example.com>",
      to: "support@bench.openmail.sh",
      cc: [],
      subject: `Benchmark message ${n}`,
      body_text: "Hello from the benchmark.\nSecond line.",
      attachments: [],
      received_at: new Date().toISOString(),
    },
  });
}

function signedHeaders(body) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    "content-type": "application/json",
    "x-timestamp": timestamp,
    "x-signature": sign(SECRET, timestamp, body),
  };
}

/** autocannon with a fresh, correctly signed event per request (the same work for every target). */
function load(url, options) {
  let n = 0;
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return autocannon({
    url,
    method: "POST",
    ...defined,
    requests: [
      {
        method: "POST",
        setupRequest(request) {
          const body = eventBody(n++);
          return { ...request, body, headers: { ...signedHeaders(body), "x-event-id": `evt_${n}` } };
        },
      },
    ],
  });
}

/** Start a long-running process and resolve once `ready(line)` returns a value. */
function startProcess(args, ready, extraEnv = {}) {
  const child = spawn(process.execPath, args, { env: env(extraEnv), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolvePromise, reject) => {
    let buffer = "";
    let found = false;
    const onData = (chunk) => {
      if (found) return; // keep draining the pipe, like a reader would
      buffer += chunk;
      for (const line of buffer.split("\n")) {
        const value = ready(line);
        if (value !== undefined) {
          found = true;
          resolvePromise({ child, value });
          return;
        }
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.on("exit", (code) => {
      if (!found) reject(new Error(`${args.join(" ")} exited (${code}) before it was ready: ${stderr}`));
    });
  });
}

async function startSink() {
  const { child, value } = await startProcess([join(root, "bench", "sink.mjs")], (line) =>
    /^\d+$/.test(line.trim()) ? Number(line.trim()) : undefined,
  );
  return { child, url: `http://127.0.0.1:${value}` };
}

// Reads listen's NDJSON in its own process, as `listen --json | jq` would: passes the ready line on,
// drops the rest. (Reading it in this process would slow the pipe down with the load generator.)
const PIPE_READER = `
let buffered = "";
let ready = false;
process.stdin.on("data", (chunk) => {
  if (ready) return;
  buffered += chunk;
  const line = buffered.split("\\n").find((l) => l.includes('"type":"ready"'));
  if (line) { ready = true; process.stdout.write(line + "\\n"); }
});`;

async function startListen(args, extraEnv = {}) {
  const saveDir = mkdtempSync(join(work, "events-"));
  const reader = spawn(process.execPath, ["-e", PIPE_READER], { stdio: ["pipe", "pipe", "inherit"] });
  children.add(reader);
  const child = spawn(
    process.execPath,
    [BIN, "listen", "--no-tunnel", "--port", "0", "--json", "--save-dir", saveDir, ...args],
    { env: env({ OPENMAIL_WEBHOOK_SECRET: SECRET, ...extraEnv }), stdio: ["ignore", reader.stdin, "pipe"] },
  );
  children.add(child);
  child.on("exit", () => {
    children.delete(child);
    reader.kill();
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise((resolvePromise, reject) => {
    let buffer = "";
    reader.stdout.setEncoding("utf8").on("data", (chunk) => {
      buffer += chunk;
      const match = /"localUrl":"([^"]+)"/.exec(buffer);
      if (match) resolvePromise(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`listen exited (${code}) before it was ready: ${stderr}`)));
  });
  return { child, url, saveDir };
}

function stop(child) {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null) return resolvePromise(child.exitCode);
    child.once("exit", (code) => resolvePromise(code));
    child.kill("SIGINT");
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Start-up
async function startup() {
  const capture = join(work, "capture.json");
  const body = Buffer.from(eventBody(0));
  const timestamp = String(Math.floor(Date.now() / 1000));
  writeFileSync(
    capture,
    serializeCapture({
      receivedAt: new Date().toISOString(),
      method: "POST",
      path: "/webhooks",
      headers: { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body) },
      body,
    }),
  );
  const commands = {
    node: ["-e", "0"],
    version: [BIN, "--version"],
    help: [BIN, "--help"],
    verify: [BIN, "verify", capture],
  };
  const times = Object.fromEntries(Object.keys(commands).map((key) => [key, []]));
  const runs = QUICK ? 7 : 25;
  for (let i = 0; i < runs; i++) {
    for (const [key, args] of Object.entries(commands)) {
      const started = performance.now();
      const result = spawnSync(process.execPath, args, {
        env: env({ OPENMAIL_WEBHOOK_SECRET: SECRET }),
        stdio: "pipe",
      });
      const elapsed = performance.now() - started;
      if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
      if (i > 0) times[key].push(elapsed); // the first round warms the file cache
    }
  }
  const base = median(times.node);
  for (const key of ["version", "help", "verify"]) {
    const ours = median(times[key]);
    const goal = key === "help" ? "report only" : "≤ 1.5× bare node";
    record(
      `start-up: openmail-hooks ${key === "verify" ? "verify <capture>" : `--${key}`}`,
      round(ours, 1),
      round(base, 1),
      ours / base,
      goal,
      key === "help" ? null : ours / base <= 1.5,
      "ms",
      `median of ${runs - 1} runs`,
    );
  }
}

// 2. Listener throughput
// Two rounds, alternating the bare server and listen; each keeps its better round, so a moment when
// another tenant has the CPU does not decide the figure.
async function throughput() {
  const duration = QUICK ? 3 : 6;
  const connections = 50;
  let bare;
  let ours;
  let saved = 0;
  for (let round = 0; round < 2; round++) {
    const sink = await startSink();
    const bareRun = await load(sink.url, { connections, duration });
    await stop(sink.child);
    const listen = await startListen([]);
    const oursRun = await load(listen.url, { connections, duration });
    await stop(listen.child);
    saved += Number(readdirCount(listen.saveDir));
    if (!bare || bareRun.requests.average > bare.requests.average) bare = bareRun;
    if (!ours || oursRun.requests.average > ours.requests.average) ours = oursRun;
  }
  record(
    "listener throughput (verify + save + NDJSON to a pipe read by another process)",
    round(ours.requests.average, 0),
    round(bare.requests.average, 0),
    ours.requests.average / bare.requests.average,
    "≥ 0.5× bare node:http",
    ours.requests.average / bare.requests.average >= 0.5,
    "req/s",
    `${connections} connections, better of 2 rounds of ${duration} s; latency p50/p99 ours ${ours.latency.p50}/${ours.latency.p99} ms, bare ${bare.latency.p50}/${bare.latency.p99} ms; non-2xx ${ours.non2xx}, errors ${ours.errors}; ${saved} captures saved`,
  );
}

// 2b. The inspector with no page open: listen as it starts by default against listen --no-inspect,
// alternating rounds so both meet the same moments of a shared machine.
async function inspectorCost() {
  const duration = QUICK ? 3 : 6;
  const connections = 50;
  let with_;
  let without;
  for (let round = 0; round < 2; round++) {
    for (const args of [["--no-inspect"], []]) {
      const listen = await startListen(args);
      const run = await load(listen.url, { connections, duration });
      await stop(listen.child);
      const best = args.length ? without : with_;
      if (!best || run.requests.average > best.requests.average) {
        if (args.length) without = run;
        else with_ = run;
      }
    }
  }
  const ratio = with_.requests.average / without.requests.average;
  record(
    "listener throughput with the inspector served, no page open",
    round(with_.requests.average, 0),
    round(without.requests.average, 0),
    ratio,
    "≥ 0.9× listen --no-inspect",
    ratio >= 0.9,
    "req/s",
    `${connections} connections, better of 2 alternating rounds of ${duration} s; baseline: listen --no-inspect; latency p50/p99 ${with_.latency.p50}/${with_.latency.p99} ms vs ${without.latency.p50}/${without.latency.p99} ms`,
  );
}

function readdirCount(dir) {
  return spawnSync("sh", ["-c", `ls -1 "${dir}" | wc -l`])
    .stdout.toString()
    .trim();
}

// 3. Forwarding overhead: a steady rate, latency measured with a high-resolution clock.
async function steadyLatencies(url, rate, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const latencies = [];
  const total = rate * seconds;
  const interval = 1000 / rate;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = eventBody(i);
    const headers = { ...signedHeaders(body), "x-event-id": `evt_steady_${i}` };
    pending.push(
      new Promise((resolvePromise, reject) => {
        const sent = performance.now();
        const req = httpRequest(url, { method: "POST", headers, agent }, (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - sent);
            resolvePromise();
          });
        });
        req.on("error", reject);
        req.end(body);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return latencies.slice(Math.floor(latencies.length * 0.1)); // drop the warm-up tenth
}

async function forwarding() {
  const rate = 300;
  const seconds = QUICK ? 3 : 6;
  const sink = await startSink();
  const runs = { direct: [], saved: [], noSave: [] };
  for (let round = 0; round < 2; round++) {
    runs.direct.push(await steadyLatencies(sink.url, rate, seconds));
    for (const [key, extra] of [
      ["saved", []],
      ["noSave", ["--no-save"]],
    ]) {
      const listen = await startListen(["--forward-to", sink.url, ...extra]);
      runs[key].push(await steadyLatencies(listen.url, rate, seconds));
      await stop(listen.child);
    }
  }
  await stop(sink.child);
  // Each configuration's better round at each percentile (two rounds, alternating).
  const best = (key, q) => Math.min(...runs[key].map((latencies) => percentile(latencies, q)));
  for (const [q, goal] of [
    [0.5, 1],
    [0.99, 5],
  ]) {
    const direct = best("direct", q);
    const through = best("saved", q);
    const added = through - direct;
    const addedNoSave = best("noSave", q) - direct;
    const rounds = (key) => runs[key].map((latencies) => round(percentile(latencies, q), 2)).join(" / ");
    record(
      `forwarding overhead p${q * 100}`,
      round(through, 3),
      round(direct, 3),
      through / direct,
      `adds < ${goal} ms`,
      added < goal,
      "ms",
      `adds ${round(added, 3)} ms with captures saved, ${round(addedNoSave, 3)} ms with --no-save; ${rate} req/s, better of 2 rounds of ${seconds} s (rounds: direct ${rounds("direct")}, saved ${rounds("saved")}, no-save ${rounds("noSave")} ms)`,
    );
  }
}

// 4. Sending
async function sending() {
  const count = QUICK ? 2000 : 10_000;
  const concurrency = 50;
  const sink = await startSink();
  // The load generator's best of two runs, so a noisy moment does not flatter our ratio.
  const generatorRate = async () => {
    const run = await autocannon({
      url: sink.url,
      method: "POST",
      connections: concurrency,
      amount: count,
      body: eventBody(0),
      headers: { "content-type": "application/json" },
    });
    return count / run.duration;
  };
  const baseRate = Math.max(await generatorRate(), await generatorRate());
  // Reference: the HTTP client we must use (undici) in a bare loop with a fixed body. Whatever
  // send-test and replay do per event comes on top of this.
  const undiciRate = await undiciLoop(sink.url, count, concurrency);
  record(
    "reference: bare undici request loop",
    round(undiciRate, 0),
    round(baseRate, 0),
    undiciRate / baseRate,
    "report only",
    null,
    "req/s",
    `${count} requests, ${concurrency} in flight, fixed body: the ceiling for an undici-based sender here`,
  );

  const sendStarted = performance.now();
  const sendTest = spawnSync(
    process.execPath,
    [BIN, "send-test", "--url", sink.url, "--count", String(count), "--concurrency", String(concurrency)],
    { env: env({ OPENMAIL_WEBHOOK_SECRET: SECRET }), stdio: "pipe", maxBuffer: 64 * 1024 * 1024 },
  );
  const sendSeconds = (performance.now() - sendStarted) / 1000;
  if (sendTest.status !== 0) throw new Error(`send-test failed: ${sendTest.stderr}`);
  const sendRate = count / sendSeconds;
  record(
    "send-test --count --concurrency 50",
    round(sendRate, 0),
    round(baseRate, 0),
    sendRate / baseRate,
    "≥ 0.7× the load generator",
    sendRate / baseRate >= 0.7,
    "events/s",
    `${count} events, wall clock including start-up; ${round(sendRate / undiciRate, 2)}× the bare undici loop`,
  );

  const folder = join(work, "replay-folder");
  writeCaptures(folder, count);
  const replayStarted = performance.now();
  const replay = spawnSync(
    process.execPath,
    [BIN, "replay", folder, "--url", sink.url, "--concurrency", String(concurrency)],
    { env: env({ OPENMAIL_WEBHOOK_SECRET: SECRET }), stdio: "pipe", maxBuffer: 64 * 1024 * 1024 },
  );
  const replaySeconds = (performance.now() - replayStarted) / 1000;
  if (replay.status !== 0) throw new Error(`replay failed: ${replay.stderr}`);
  const replayRate = count / replaySeconds;
  record(
    "replay of a folder --concurrency 50",
    round(replayRate, 0),
    round(baseRate, 0),
    replayRate / baseRate,
    "≥ 0.7× the load generator",
    replayRate / baseRate >= 0.7,
    "events/s",
    `${count} capture files, wall clock including start-up; ${round(replayRate / undiciRate, 2)}× the bare undici loop`,
  );
  await stop(sink.child);
}

async function undiciLoop(url, count, concurrency) {
  const { Agent, request } = await import("undici");
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const body = Buffer.from(eventBody(0));
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next += 1;
      const response = await request(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
        dispatcher: agent,
      });
      for await (const _ of response.body) {
        // drain
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = count / ((performance.now() - started) / 1000);
  await agent.close();
  return rate;
}

function writeCaptures(folder, count) {
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(eventBody(i));
    const receivedAt = new Date(Date.UTC(2026, 10, 26, 10, 0, 0, i)).toISOString();
    const timestamp = String(Math.floor(Date.parse(receivedAt) / 1000));
    writeFileSync(
      join(folder, `${receivedAt.replace(/[:.]/g, "-")}_evt_${i}.json`),
      serializeCapture({
        receivedAt,
        method: "POST",
        path: "/webhooks",
        headers: { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body), "x-event-id": `evt_${i}` },
        body,
      }),
    );
  }
}

// 5. Memory
async function memory() {
  const counts = QUICK ? [500, 2000] : [1000, 10_000];
  const peaks = { listen: [], replay: [] };
  const sink = await startSink();
  for (const count of counts) {
    const rssFile = join(work, `rss-listen-${count}.json`);
    const listen = await startListen([], {
      NODE_OPTIONS: `--require ${join(root, "bench", "report-rss.cjs")}`,
      OMH_RSS_OUT: rssFile,
    });
    await load(listen.url, { connections: 20, amount: count });
    await stop(listen.child);
    peaks.listen.push(JSON.parse(readFileSync(rssFile, "utf8")).maxRssKiB / 1024);

    const folder = join(work, `memory-${count}`);
    writeCaptures(folder, count);
    const replayRss = join(work, `rss-replay-${count}.json`);
    const replay = spawnSync(
      process.execPath,
      [
        "--require",
        join(root, "bench", "report-rss.cjs"),
        BIN,
        "replay",
        folder,
        "--url",
        sink.url,
        "--concurrency",
        "50",
      ],
      {
        env: env({ OPENMAIL_WEBHOOK_SECRET: SECRET, OMH_RSS_OUT: replayRss }),
        stdio: "pipe",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    if (replay.status !== 0) throw new Error(`replay failed: ${replay.stderr}`);
    peaks.replay.push(JSON.parse(readFileSync(replayRss, "utf8")).maxRssKiB / 1024);
  }
  await stop(sink.child);
  for (const [name, [small, large]] of Object.entries(peaks)) {
    record(
      `peak RSS of ${name} after ${counts[1]} events`,
      round(large, 1),
      round(small, 1),
      large / small,
      "flat (< 150 MB)",
      large < 150,
      "MB",
      `baseline: the same after ${counts[0]} events`,
    );
  }
}

// 6. The library: the fastest of many short alternating batches, which filters out the moments
// the shared machine lends the core to someone else.
function libraryFixture() {
  const body = Buffer.alloc(4096, "a");
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = { "x-timestamp": timestamp, "x-signature": sign(SECRET, timestamp, body) };
  return { body, timestamp, headers, now: Number(timestamp) };
}

/**
 * Blocks of batches, alternating between the two, so each runs warm and neither always goes first.
 * `timeBatch(fn)` runs one batch of `batch` calls and returns its milliseconds (a promise for
 * asynchronous calls). Returns calls per second in the fastest batch of each.
 */
async function fastestRates(timeBatch, ours, bare, batches, batch) {
  const fastest = { ours: Number.POSITIVE_INFINITY, bare: Number.POSITIVE_INFINITY };
  for (let block = 0; block < 4; block++) {
    const order = block % 2 === 0 ? ["ours", "bare"] : ["bare", "ours"];
    for (const which of order) {
      const fn = which === "ours" ? ours : bare;
      for (let i = 0; i < batches; i++) fastest[which] = Math.min(fastest[which], await timeBatch(fn));
    }
  }
  return { o: (batch / fastest.ours) * 1000, b: (batch / fastest.bare) * 1000 };
}

async function library() {
  const { body, timestamp, headers, now } = libraryFixture();
  const batch = 2000;
  const batches = QUICK ? 10 : 30;
  const time = (fn) => {
    const started = performance.now();
    for (let i = 0; i < batch; i++) fn();
    return performance.now() - started;
  };
  const ours = () => verify({ body, headers, secret: SECRET, now });
  const bare = () => createHmac("sha256", SECRET).update(`${timestamp}.`).update(body).digest("hex");
  const { o, b } = await fastestRates(time, ours, bare, batches, batch);
  record(
    "library verify() on a 4 KiB body",
    round(o, 0),
    round(b, 0),
    o / b,
    "≥ 0.8× bare createHmac",
    o / b >= 0.8,
    "calls/s",
    `fastest of 4 alternating blocks of ${batches} batches of ${batch} calls`,
  );
}

// 6b. The Web Crypto entry (crypto.subtle, asynchronous), reported beside the Node path: its
// baseline is a bare crypto.subtle loop over the same message with the key imported once.
async function libraryWebCrypto() {
  const { body, timestamp, headers, now } = libraryFixture();
  const batch = 500;
  const batches = QUICK ? 6 : 20;
  const key = await crypto.subtle.importKey("raw", Buffer.from(SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const message = Buffer.concat([Buffer.from(`${timestamp}.`), body]);
  const time = async (fn) => {
    const started = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    return performance.now() - started;
  };
  const ours = async () => {
    const verdict = await webEntry.verifyAsync({ body, headers, secret: SECRET, now });
    if (!verdict.valid) throw new Error(`verifyAsync: ${verdict.message}`);
  };
  const bare = async () => Buffer.from(await crypto.subtle.sign("HMAC", key, message)).toString("hex");
  const { o, b } = await fastestRates(time, ours, bare, batches, batch);
  record(
    "library verifyAsync() on a 4 KiB body, Web Crypto entry",
    round(o, 0),
    round(b, 0),
    o / b,
    "report only",
    null,
    "calls/s",
    `baseline: a bare crypto.subtle.sign loop, key imported once; ${batches} batches of ${batch} awaited calls`,
  );
}

// ---------------------------------------------------------------------------------------------
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
console.log(`openmail-hooks benchmarks on ${machine}${QUICK ? " (quick)" : ""}`);
let failed = false;
for (const [name, fn] of [
  ["start-up", startup],
  ["throughput", throughput],
  ["inspector", inspectorCost],
  ["forwarding", forwarding],
  ["sending", sending],
  ["memory", memory],
  ["library", library],
  ["library", libraryWebCrypto],
]) {
  if (ONLY && !ONLY.includes(name)) continue;
  try {
    console.log(`… ${name}`);
    await fn();
  } catch (error) {
    failed = true;
    console.error(`✗ ${name} could not run: ${error.stack ?? error}`);
  }
}

// A partial run (--only) prints its figures but leaves the full table alone.
if (ONLY) {
  process.exitCode = failed ? 1 : 0;
} else {
  const date = new Date().toISOString();
  writeFileSync(
    join(root, "bench", "results.json"),
    `${JSON.stringify({ date, machine, quick: QUICK, results }, null, 2)}\n`,
  );
  const rows = results.map(
    (r) =>
      `| ${r.figure} | ${r.ours} ${r.unit} | ${r.baseline} ${r.unit} | ${r.ratio} | ${r.goal} | ${r.met === null ? "–" : r.met ? "met" : "**missed**"} | ${r.note} |`,
  );
  const previous = (() => {
    try {
      return readFileSync(join(root, "BENCHMARKS.md"), "utf8");
    } catch {
      return "";
    }
  })();
  const notes = previous.includes("<!-- notes -->")
    ? previous.slice(previous.indexOf("<!-- notes -->"))
    : "<!-- notes -->\n";
  writeFileSync(
    join(root, "BENCHMARKS.md"),
    `# Benchmarks

  Generated by \`npm run bench\` on ${date}${QUICK ? " (quick mode)" : ""}.
  Machine: ${machine}.

  Every figure is a ratio against a baseline measured in the same run on the same machine; the machines are
  shared and noisy, so compare ratios, not absolute numbers across runs.

  | figure | ours | baseline | ratio | goal | result | how |
  | --- | --- | --- | --- | --- | --- | --- |
  ${rows.join("\n")}

  ${notes}`,
  );
  console.log(`wrote BENCHMARKS.md and bench/results.json`);
  process.exitCode = failed ? 1 : 0;
}
