#!/usr/bin/env node
/**
 * undici's low-level dispatch() as src/io/http-client.ts uses it: one undici Client per connection
 * (one request at a time on each, a free one picked from a list of our own instead of undici's Agent
 * and Pool) and the handler interface undici's HTTP/1.1 client calls itself (onConnect, onHeaders,
 * onData, onComplete, onError): what undici costs a sender with no per-event work. Imported by
 * run.mjs (duration mode, in its own warm process), or run as a fresh process sending a fixed count,
 * like a CLI run:
 *   node bench/dispatch-loop.mjs <url> <connections> <count> <headers JSON> <body file>
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Sends until `until.seconds` have passed or `until.count` requests were sent, `concurrency` at a time. */
export async function dispatchLoop(url, until, concurrency, body, headers) {
  const request = { headers, body };
  await dispatchEach(url, until, concurrency, () => request);
}

/**
 * dispatchLoop with each request's headers and body from `requestAt(i)` (called once per request,
 * in order, just before it is dispatched): bench/replay-loop.mjs reads a capture there.
 */
export async function dispatchEach(url, until, concurrency, requestAt) {
  const { Client } = await import("undici");
  const { origin, pathname } = new URL(url);
  const options = { keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0, pipelining: 1 };
  const clients = Array.from({ length: concurrency }, () => new Client(origin, options));
  const idle = [...clients];
  const end = until.seconds === undefined ? Number.POSITIVE_INFINITY : performance.now() + until.seconds * 1000;
  let left = until.count ?? Number.POSITIVE_INFINITY;
  await new Promise((resolvePromise, reject) => {
    let running = 0;
    let sent = 0;
    const next = () => {
      if (left <= 0 || performance.now() >= end) {
        if (running === 0) resolvePromise();
        return;
      }
      left -= 1;
      const { headers, body } = requestAt(sent++);
      running += 1;
      const client = idle.pop();
      client.dispatch(
        { origin, path: pathname, method: "POST", headers, body },
        {
          onConnect() {},
          onHeaders() {
            return true;
          },
          onData() {
            return true;
          },
          onComplete() {
            running -= 1;
            idle.push(client);
            next();
          },
          onError(error) {
            reject(error);
          },
        },
      );
    };
    for (let i = 0; i < concurrency; i++) next();
  });
  await Promise.all(clients.map((client) => client.close()));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, connections, count, headers, bodyFile] = process.argv.slice(2);
  await dispatchLoop(url, { count: Number(count) }, Number(connections), readFileSync(bodyFile), JSON.parse(headers));
}
