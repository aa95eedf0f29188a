// Source locations in Node: the same DWARF reading as `wprof run` (the
// session compiled to wasm), so functions carry the same file and line, and
// `--debug-file` gives a stripped module its locations back. The guest is
// the Rust `inlined` guest, the one built with DWARF (tests/guests/rust).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';
import { strip } from './wasm-sections.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guestsTarget = join(repo, 'target/guests');
const guest = join(guestsTarget, 'wasm32-wasip1/release/inlined.wasm');
const wprof = join(repo, 'target/release/wprof');
const wprofNode = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-source-'));

before(() => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  const common = ['--release', '--manifest-path', join(repo, 'tests/guests/rust/Cargo.toml'), '--target-dir', guestsTarget];
  const built = spawnSync('cargo', ['build', ...common, '--target', 'wasm32-wasip1', '-p', 'debuginfo'], { stdio: 'inherit' });
  assert.equal(built.status, 0);
  const native = spawnSync('cargo', ['build', '--release', '-p', 'wprof'], { cwd: repo, stdio: 'inherit' });
  assert.equal(native.status, 0);
});

/**
 * @param {string[]} command the program and the arguments before `run`
 * @param {string[]} args @param {string} out
 * @returns {{ functions: { name: string, file?: string, line?: number }[] }}
 */
function profileWith(command, args, out) {
  const [cmd, ...pre] = command;
  const r = spawnSync(cmd, [...pre, 'run', '--out', out, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
}

/** name → "file:line" of the functions that have one. @param {{ functions: { name: string, file?: string, line?: number }[] }} summary */
function declarations(summary) {
  return Object.fromEntries(summary.functions.filter((f) => f.file).map((f) => [f.name, `${f.file}:${f.line}`]));
}

test('Node names the same declarations as wprof run, and --debug-file restores them', () => {
  const native = declarations(profileWith([wprof], ['--no-cache', guest], join(scratch, 'native')));
  const churn = native['inlined::churn'];
  const source = readFileSync(join(repo, 'tests/guests/rust/debuginfo/src/main.rs'), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('fn churn(')) + 1;
  assert.ok(churn?.endsWith(`debuginfo/src/main.rs:${line}`), `inlined::churn at ${churn}`);

  const node = declarations(profileWith(['node', wprofNode], ['--no-cache', guest], join(scratch, 'node')));
  assert.deepEqual(node, native);

  const bare = join(scratch, 'stripped.wasm');
  writeFileSync(bare, strip(readFileSync(guest)));
  const without = declarations(profileWith(['node', wprofNode], ['--no-cache', bare], join(scratch, 'bare')));
  assert.deepEqual(without, {});
  const withDebug = declarations(
    profileWith(['node', wprofNode], ['--no-cache', '--debug-file', guest, bare], join(scratch, 'debug')),
  );
  assert.deepEqual(withDebug, native);
});

test('an external_debug_info section is followed relative to the module', () => {
  const bare = strip(readFileSync(guest));
  const enc = new TextEncoder();
  const field = (/** @type {string} */ s) => [s.length, ...enc.encode(s)];
  const payload = [...field('external_debug_info'), ...field('inlined.debug.wasm')];
  writeFileSync(join(scratch, 'inlined.debug.wasm'), readFileSync(guest));
  const named = join(scratch, 'named.wasm');
  writeFileSync(named, Buffer.concat([bare, Buffer.from([0, payload.length, ...payload])]));
  const native = declarations(profileWith([wprof], ['--no-cache', guest], join(scratch, 'native-ext')));
  const node = declarations(profileWith(['node', wprofNode], ['--no-cache', named], join(scratch, 'node-ext')));
  assert.deepEqual(node, native);
});

test('a --debug-file that cannot be read is an error before anything runs', () => {
  const r = spawnSync('node', [wprofNode, 'run', '--out', join(scratch, 'missing'), '--debug-file', join(scratch, 'nope.wasm'), guest], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: failed to read --debug-file/m);
});
