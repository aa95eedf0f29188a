// Launching Debian's Chromium for the browser tests: playwright-core with
// the flags this environment needs (no sandbox as root, no GPU, no network
// services), or a skip reason when it is not installed and not required.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false when they can. */
export function missing() {
  if (existsSync(CHROMIUM)) return false;
  assert.ok(!process.env.WPROF_REQUIRE_BROWSER, `WPROF_REQUIRE_BROWSER is set but ${CHROMIUM} is missing`);
  return `${CHROMIUM} is missing`;
}

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
