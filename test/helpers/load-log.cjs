// Preloaded into the CLI (NODE_OPTIONS=--require) by test/startup.test.ts: appends to
// $OMH_LOAD_LOG "url" when the process first writes a webhook URL to stdout, "undici" when it
// first loads undici (or a module of it), "openmail" when it loads listen's OpenMail inbox session, "fsync" at its first
// fsync, and "request <method> <path>" for each request an HTTP server of its own received before that URL, so a test can tell what a command loaded and did, and in which order. With OMH_LOAD_LOG_CODE
// set, it also notes at exit which of CODE_MARKS' code the process loaded.
const fs = require("node:fs");
const { appendFileSync } = fs;
const Module = require("node:module");

const note = (line) => appendFileSync(process.env.OMH_LOAD_LOG, `${line}\n`);
const load = Module._load;
let undiciNoted = false;
Module._load = function loadAndNote(request, ...rest) {
  // undici itself, or the modules of it the HTTP client loads directly (undici/lib/...): noted once.
  if (!undiciNoted && (request === "undici" || request.startsWith("undici/"))) {
    undiciNoted = true;
    note("undici");
  }
  // The bundle's chunk of listen's OpenMail inbox session (listen-inboxes-<hash>.js).
  if (/listen-inboxes/.test(request)) note("openmail");
  return load.call(this, request, ...rest);
};
// With OMH_HOLD_FIRST_FSYNC_MS, the first fsync's answer is held back that long: a test can act
// (send a signal) while that fsync's file is surely still in the folder.
const fsync = fs.fsync;
fs.fsync = function fsyncAndNote(fd, ...rest) {
  note("fsync");
  fs.fsync = fsync;
  const holdMs = Number(process.env.OMH_HOLD_FIRST_FSYNC_MS || 0);
  const callback = rest.pop();
  if (holdMs > 0) return fsync.call(this, fd, ...rest, (...results) => setTimeout(() => callback(...results), holdMs));
  return fsync.call(this, fd, ...rest, callback);
};
const http = require("node:http");
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function emitAndNote(name, request, ...rest) {
  if (name === "request") note(`request ${request.method} ${request.url}`);
  return emit.call(this, name, request, ...rest);
};
const write = process.stdout.write;
process.stdout.write = function writeAndNote(chunk, ...rest) {
  if (/http:\/\/127\.0\.0\.1:\d+\/webhooks/.test(String(chunk))) {
    note("url");
    process.stdout.write = write;
    http.Server.prototype.emit = emit;
  }
  return write.call(this, chunk, ...rest);
};

// Code a command loads only when it needs it, found by a function's definition in the text of every
// file the process required (so it holds however the bundle groups modules into chunks).
const CODE_MARKS = {
  "http-client": "function createHttpClient(",
  "delivery-runner": "function runDeliveries(",
  "delivery-report": "function createDeliveryRenderer(",
  "capture-store": "function openCaptureStore(",
};
if (process.env.OMH_LOAD_LOG_CODE) {
  process.on("exit", () => {
    const files = Object.keys(require.cache).filter((file) => file !== __filename);
    const loaded = files.map((file) => fs.readFileSync(file, "utf8"));
    for (const [name, mark] of Object.entries(CODE_MARKS)) {
      if (loaded.some((text) => text.includes(mark))) note(`code:${name}`);
    }
  });
}
