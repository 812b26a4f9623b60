#!/usr/bin/env node
/**
 * What fsync costs a capture on this disk: the same write + link as listen's capture store, with
 * and without fsync of the file and the folder. A figure for the README ("What listen
 * guarantees"), not a timed test.   node bench/fsync-cost.mjs [folder] [count]
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), "omh-fsync-"));
const count = Number(process.argv[3] ?? 500);
const capture = Buffer.alloc(4096, 0x61);

function save(index, durable) {
  const temporary = join(dir, `.tmp-${process.pid}-${randomBytes(16).toString("hex")}`);
  const fd = openSync(temporary, "wx", 0o600);
  writeSync(fd, capture);
  if (durable) fsyncSync(fd);
  closeSync(fd);
  linkSync(temporary, join(dir, `${durable ? "d" : "n"}-${index}.json`));
  unlinkSync(temporary);
  if (durable) {
    const folder = openSync(dir, "r");
    fsyncSync(folder);
    closeSync(folder);
  }
}

function msPerCapture(durable, offset) {
  const started = performance.now();
  for (let i = 0; i < count; i++) save(offset + i, durable);
  return (performance.now() - started) / count;
}

try {
  msPerCapture(false, 0); // warm up
  msPerCapture(true, count);
  const plain = msPerCapture(false, 2 * count);
  const durable = msPerCapture(true, 3 * count);
  console.log(
    `4 KiB capture, ${count} each: ${plain.toFixed(3)} ms without fsync, ${durable.toFixed(3)} ms with fsync (file + folder)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
