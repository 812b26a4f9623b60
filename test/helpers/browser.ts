/**
 * Real headless Chromium for the inspector's tests: the system's browser (Debian's `chromium`
 * package) driven by playwright-core, which never downloads one. A fresh profile per launch.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.OPENMAIL_HOOKS_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Is there a browser to test with? Without one the browser tests are skipped (and counted as
 * skipped), unless OPENMAIL_HOOKS_REQUIRE_BROWSER=1 (CI), which makes a missing browser a failure.
 */
export function browserAvailable(): boolean {
  const found = existsSync(CHROMIUM);
  if (!found && process.env.OPENMAIL_HOOKS_REQUIRE_BROWSER === "1") {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (sudo apt-get install chromium) or set OPENMAIL_HOOKS_CHROMIUM`,
    );
  }
  return found;
}

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "omh-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 760 },
    timeout: 30_000,
  });
}
