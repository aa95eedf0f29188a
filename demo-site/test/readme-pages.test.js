// The page snippets of the package READMEs, run in Chromium exactly as
// written: both packages are packed and installed from their tarballs into
// a scratch project, the snippets become its files, and that project is
// served (cross-origin isolated) and opened.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packAndInstall } from '../../polyfill-js/test/pack.js';
import { snippets } from '../../polyfill-js/test/readme-snippets.js';
import { serve } from '../serve.js';
import { launch, missing } from './chromium.js';

const skip = missing();
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {{ url: string, close(): Promise<void> }} */
let site;
let project = '';

before(async () => {
  if (skip) return;
  ({ project } = await packAndInstall('readme-pages'));
  const wasi = snippets(new URL('../../polyfill-js/wasi/README.md', import.meta.url));
  const profiler = snippets(new URL('../../polyfill-js/README.md', import.meta.url));
  for (const [file, code] of [
    ['wasi-page.html', wasi.get('wasi-page')],
    ['profile-worker.js', profiler.get('profile-worker')],
    ['profile.html', profiler.get('profile-page')],
  ]) {
    assert.ok(code, `the README has the snippet for ${file}`);
    writeFileSync(join(project, /** @type {string} */ (file)), /** @type {string} */ (code));
  }
  site = await serve({ root: project, port: 0 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

describe("the READMEs' page snippets in Chromium", { skip }, () => {
  test('@wprof/wasi: run a module in a page', async () => {
    const page = await browser.newPage();
    /** @type {string[]} */
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site.url}wasi-page.html`);
    await page.waitForFunction(() => document.getElementById('out')?.dataset.exit !== undefined, null, { timeout: 30_000 });
    assert.equal(await page.getAttribute('#out', 'data-exit'), '0');
    assert.equal(await page.textContent('#out'), 'fib(27) = 196418\n');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('@wprof/profiler: profile a module in a page (worker + sampler)', async () => {
    const page = await browser.newPage({ acceptDownloads: true });
    /** @type {string[]} */
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site.url}profile.html`);
    await page.setInputFiles('#module', join(project, 'app.wasm'));
    await page.waitForFunction(() => document.getElementById('log')?.textContent !== '', null, { timeout: 60_000 });
    assert.equal(await page.textContent('#log'), 'exit: exit 0\nfib(27) = 196418\n');
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('#flamegraph')]);
    assert.equal(file.suggestedFilename(), 'flamegraph.svg');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
