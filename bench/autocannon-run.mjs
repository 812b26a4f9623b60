#!/usr/bin/env node
/**
 * autocannon in duration mode in a process of its own (so its CPU time is its own), replaying one
 * fixed, pre-encoded request: the sender baseline. Usage: node bench/autocannon-run.mjs <url>
 * <connections> <seconds> <headers JSON> <body file>. Prints { requests, non2xx, errors, cpuUs }.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [url, connections, seconds, headers, bodyFile] = process.argv.slice(2);
const result = await autocannon({
  url,
  method: "POST",
  connections: Number(connections),
  duration: Number(seconds),
  headers: JSON.parse(headers),
  body: readFileSync(bodyFile),
});
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({ requests: result.requests.total, non2xx: result.non2xx, errors: result.errors, cpuUs: cpu.user + cpu.system })}\n`,
);
