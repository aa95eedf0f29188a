// The toolkit's readers for files a run wrote, which the demo page uses:
// `heapDiff` must be `wprof heap diff` (same JSON, same text, whatever order
// the dumps come in) and `pprofSummary` must give a cpu.pb.gz the per-function
// calls its run's summary.json has. Dumps and profiles come from wprof-node;
// with target/release/wprof present they are also checked against it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guestsTarget = join(repo, 'target/guests');
const wprof = join(repo, 'target/release/wprof');
const wprofNode = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-readers-'));

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
});

/** A guest of the native tests, built as parity.test.js builds it when missing. @param {string} target @param {string} name */
function guest(target, name) {
  const path = join(guestsTarget, target, 'release', `${name}.wasm`);
  if (!existsSync(path)) {
    const r = spawnSync('cargo', ['build', '--release', '--manifest-path', join(repo, 'tests/guests/rust/Cargo.toml'),
      '--target-dir', guestsTarget, '--target', target, '-p', name], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(r.status, 0, `building ${name} failed`);
  }
  return path;
}

/** `wprof-node run` with `args`; returns its output directory. @param {string[]} args */
function nodeRun(args) {
  const out = join(scratch, `run-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, [wprofNode, 'run', '--out', out, ...args], { encoding: 'utf8' });
  assert.ok(existsSync(join(out, 'summary.json')), `wprof-node wrote no summary:\n${r.stderr}`);
  return out;
}

/** @param {string[]} args */
function native(args) {
  const r = spawnSync(wprof, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `wprof ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Per-function exact calls. @param {any} summary */
const calls = (summary) =>
  Object.fromEntries(summary.functions.filter((/** @type {any} */ f) => f.calls !== null).map((/** @type {any} */ f) => [f.name, f.calls]).sort());

test('heapDiff is `wprof heap diff` of the same dumps, in any order', () => {
  // memlib's handle() keeps one 512-byte block per call (memlib::remember)
  // and frees its scratch buffers: 6 calls, a dump every 2.
  const out = nodeRun(['--invoke', 'handle', '--repeat', '6', '--heap-dump-every', '2', guest('wasm32-unknown-unknown', 'memlib')]);
  const names = readdirSync(out).filter((f) => f.endsWith('.wheap')).sort();
  assert.deepEqual(names, ['heap-001.wheap', 'heap-002.wheap', 'heap-003.wheap', 'heap-exit.wheap']);
  const ordered = names.slice(0, 3);
  const read = (/** @type {string[]} */ ns) => ns.map((n) => readFileSync(join(out, n)));

  const answer = JSON.parse(toolkit.heapDiff(read(ordered), ordered));
  const shuffled = JSON.parse(toolkit.heapDiff(read([ordered[2], ordered[0], ordered[1]]), [ordered[2], ordered[0], ordered[1]]));
  assert.deepEqual(shuffled, answer, 'dumps are taken oldest first whatever order they come in');
  assert.deepEqual(answer.dumps.map((/** @type {any} */ d) => [d.name, d.reason]), [
    ['heap-001.wheap', 'call 2 of handle'], ['heap-002.wheap', 'call 4 of handle'], ['heap-003.wheap', 'call 6 of handle'],
  ]);
  const [top] = answer.diff.sites;
  assert.ok(top.stack.endsWith('memlib::remember'), top.stack);
  assert.deepEqual([top.suspect, top.monotonic, top.new_live, top.new_live_bytes, top.frees], [true, true, 4, 4 * 512, 0]);
  assert.ok(!answer.diff.sites.slice(1).some((/** @type {any} */ s) => s.suspect && s.stack.endsWith('memlib::scratch')), 'scratch is freed');
  assert.match(answer.text, /LEAK SUSPECTS[^]*\n {2}1 .*memlib::remember .*SUSPECT \(grew at every dump\)\n/);

  if (existsSync(wprof)) {
    const paths = ordered.map((n) => join(out, n));
    assert.deepEqual(answer.diff, JSON.parse(native(['heap', 'diff', '--json', ...paths])), 'as `wprof heap diff --json`');
    assert.equal(answer.text, native(['heap', 'diff', ...paths]), 'as `wprof heap diff` prints it');
  }
});

test('heapDiff refuses one dump and names a file that is not a dump', () => {
  const out = nodeRun(['--memory', guest('wasm32-wasip1', 'calls')]);
  const dump = readFileSync(join(out, 'heap-exit.wheap'));
  assert.throws(() => toolkit.heapDiff([dump], ['heap-exit.wheap']), /a heap diff needs two or more dumps/);
  assert.throws(
    () => toolkit.heapDiff([dump, readFileSync(join(out, 'summary.json'))], ['heap-exit.wheap', 'summary.json']),
    /^Error: cannot read heap dump `summary\.json`: .*not a wprof heap dump/,
  );
});

test("pprofSummary gives a cpu.pb.gz its run's per-function calls", () => {
  const module = guest('wasm32-wasip1', 'calls');
  const dirs = [nodeRun([module])];
  if (existsSync(wprof)) {
    const out = join(scratch, 'native');
    native(['run', '--out', out, module]);
    dirs.push(out);
  }
  for (const dir of dirs) {
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const back = JSON.parse(toolkit.pprofSummary(readFileSync(join(dir, 'cpu.pb.gz')), 'cpu.pb.gz'));
    assert.ok(Object.keys(calls(summary)).length > 10);
    assert.deepEqual(calls(back), calls(summary), `${dir}: calls`);
    assert.deepEqual(back.functions.map((/** @type {any} */ f) => f.name).sort(), summary.functions.map((/** @type {any} */ f) => f.name).sort(),
      `${dir}: the same functions, host calls (no calls) included`);
    assert.equal(back.module, summary.module, 'the module the pprof mapping names');
    assert.equal(back.mode, 'instrument');
  }
  assert.throws(() => toolkit.pprofSummary(new TextEncoder().encode('{"functions": []}'), 'summary.json'),
    /`summary\.json` is not a pprof profile/);
});
