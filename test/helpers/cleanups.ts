/**
 * What a test file starts (listeners, handlers, fake APIs) and must stop after each test, so one
 * failing assertion never leaves a process or a port behind for the next test.
 */
import { afterEach } from "vitest";
import { startServer, type TestServer } from "./servers.js";

export type Cleanups = Array<() => Promise<unknown>>;

/** A list to push undo steps on; they all run, together, after each test of the calling file. */
export function cleanupAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  return cleanups;
}

/** `startServer`, closed again after the test. */
export function serverStarter(cleanups: Cleanups): (...args: Parameters<typeof startServer>) => Promise<TestServer> {
  return async (...args) => {
    const server = await startServer(...args);
    cleanups.push(() => server.close());
    return server;
  };
}
