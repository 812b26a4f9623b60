#!/usr/bin/env node
/**
 * The least a replay of a folder of captures must do, as a fresh process: list the folder and sort
 * it (arrival order), then for each capture open it, read it, close it, take its body (JSON.parse),
 * sign it with the current second (the project's sign(), the fastest HMAC found) and dispatch it with
 * undici's dispatch(), 50 in flight, as replay does (the bench's dispatch loop). No
 * captured-signature check, no output, no per-event checks beyond what the send needs: the limit
 * that one file per event and undici set `replay <folder>` at, on the same sink and the same folder.
 * With `check`, each capture's own signature is checked first (one more HMAC, compared with the
 * captured one; a capture that fails stops the loop), as replay must before it re-signs anything:
 * the limit with replay's promise.
 *   node bench/replay-loop.mjs <url> <connections> <folder> <secret> [check]
 */
import { closeSync, constants, openSync, readdirSync, readSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { dispatchEach } from "./dispatch-loop.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { sign } = await import(join(root, "dist", "core", "signature.js"));

const [url, connections, folder, secret, mode] = process.argv.slice(2);
const checkCaptured = mode === "check";
const names = readdirSync(folder)
  .filter((name) => name.endsWith(".json"))
  .sort();
// One read buffer for every file; a capture that fills it is too large for this loop (the bench's are ~2.5 KB).
const scratch = Buffer.allocUnsafe(64 * 1024);
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function load(name) {
  const fd = openSync(join(folder, name), FLAGS);
  let size;
  try {
    size = readSync(fd, scratch, 0, scratch.length, null);
  } finally {
    closeSync(fd);
  }
  if (size === scratch.length) throw new Error(`${name}: larger than this loop reads`);
  const capture = JSON.parse(scratch.toString("utf8", 0, size));
  const body = Buffer.from(capture.body, "utf8");
  if (checkCaptured && sign(secret, capture.headers["x-timestamp"], body) !== capture.headers["x-signature"]) {
    throw new Error(`${name}: its captured signature does not verify`);
  }
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    "Content-Type": "application/json",
    "X-Timestamp": timestamp,
    "X-Signature": sign(secret, timestamp, body),
    "X-Event-Id": capture.headers["x-event-id"],
  };
  return { headers, body };
}

await dispatchEach(url, { count: names.length }, Number(connections), (i) => load(names[i]));
