#!/usr/bin/env node
/**
 * undici's Agent.dispatch() with one handler object per request, as src/io/http-client.ts uses it:
 * the ceiling undici sets a sender at. Imported by run.mjs (duration mode, in its own warm process),
 * or run as a fresh process sending a fixed count, like a CLI run:
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
  const { Agent } = await import("undici");
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const { origin, pathname } = new URL(url);
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
      agent.dispatch(
        { origin, path: pathname, method: "POST", headers, body },
        {
          onRequestStart() {},
          onResponseStart() {},
          onResponseData() {},
          onResponseEnd() {
            running -= 1;
            next();
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        },
      );
    };
    for (let i = 0; i < concurrency; i++) next();
  });
  await agent.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, connections, count, headers, bodyFile] = process.argv.slice(2);
  await dispatchLoop(url, { count: Number(count) }, Number(connections), readFileSync(bodyFile), JSON.parse(headers));
}
