// Packs @wprof/wasi and @wprof/profiler with `npm pack` and installs the
// tarballs offline into a new scratch project, as a user would get them.
// Shared by test/packages.test.js and the demo site's browser tests.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNodeToolkit } from '../src/node/toolkit.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** @param {string} cmd @param {string[]} args @param {string} cwd */
export function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  assert.equal(r.status, 0, `\`${cmd} ${args.join(' ')}\` in ${cwd} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A scratch project with both packages installed from their tarballs and
 * `app.wasm` (tests/examples/fib.wat assembled: prints `fib(27) = 196418`).
 * @param {string} label
 * @returns {Promise<{ project: string, tarballs: Record<string, string> }>}
 */
export async function packAndInstall(label) {
  const scratch = mkdtempSync(join(tmpdir(), `wprof-${label}-`));
  /** @type {Record<string, string>} */
  const tarballs = {};
  for (const [name, dir] of [['@wprof/wasi', 'polyfill-js/wasi'], ['@wprof/profiler', 'polyfill-js']]) {
    const out = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', scratch], join(repo, dir)));
    tarballs[name] = join(scratch, out[0].filename);
  }
  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  // Offline: the packages have no registry dependency, so nothing may be fetched.
  run(npm, ['install', '--offline', '--no-audit', '--no-fund', tarballs['@wprof/wasi'], tarballs['@wprof/profiler']], project);
  const toolkit = await loadNodeToolkit();
  const fib = readFileSync(join(repo, 'tests/examples/fib.wat'));
  writeFileSync(join(project, 'app.wasm'), toolkit.readModule(fib, 'fib.wat'));
  return { project, tarballs };
}
