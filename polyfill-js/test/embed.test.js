// Self-profiling artifacts in Node 20, which has no multi-memory: the
// counts tier (`wprof instrument --embed --counts-only`) run by Node's own
// `node:wasi` — a host wprof does not control — writes its profile through
// WASI, and `wprof collect` on it gives exactly the per-function calls
// `wprof run` counts for the original. A reactor called from JS gives its
// exports' call counts through `wprof_dump`, and the same bytes through
// `wprof_profile_len`/`wprof_profile_copy` for hosts with no filesystem.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { before, test } from 'node:test';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guestsTarget = join(repo, 'target/guests');
const guests = join(guestsTarget, 'wasm32-wasip1/release');
const wprof = join(repo, 'target/release/wprof');
const wprofNode = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-embed-'));

/** @param {string[]} args @param {number} status */
function run(args, status = 0) {
  const r = spawnSync(wprof, args, { encoding: 'utf8' });
  assert.equal(r.status, status, `wprof ${args.join(' ')}:\n${r.stderr}`);
  return r;
}

before(() => {
  const manifest = join(repo, 'tests/guests/rust/Cargo.toml');
  const build = ['build', '--release', '--manifest-path', manifest, '--target-dir', guestsTarget, '--target', 'wasm32-wasip1'];
  assert.equal(spawnSync('cargo', build, { stdio: 'inherit' }).status, 0);
  if (!existsSync(wprof)) assert.equal(spawnSync('cargo', ['build', '--release', '-p', 'wprof'], { cwd: repo, stdio: 'inherit' }).status, 0);
});

/** The counts-tier artifact of guest `name`. @param {string} name */
function embed(name) {
  const out = join(scratch, `${name}.counts.wasm`);
  run(['instrument', '--embed', '--counts-only', join(guests, `${name}.wasm`), '-o', out]);
  return out;
}

/** Calls per function with any, from a summary.json. @param {string} dir */
function calls(dir) {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  return {
    summary,
    calls: Object.fromEntries(
      summary.functions.filter((/** @type {any} */ f) => f.calls > 0).map((/** @type {any} */ f) => [f.name, f.calls]),
    ),
  };
}

/** @param {string} profile @param {string} artifact @param {string} out */
function collect(profile, artifact, out) {
  run(['collect', profile, '--module', artifact, '-o', out]);
  return calls(out);
}

/** `node:wasi` with `dir` preopened as /out. @param {string[]} args @param {string} dir @param {Record<string, string>} env */
function nodeWasi(args, dir, env = {}) {
  return new WASI({ version: 'preview1', args: ['guest.wasm', ...args], env, preopens: { '/out': dir }, returnOnExit: true });
}

for (const [name, args, code] of /** @type {[string, string[], number][]} */ ([
  ['calls', [], 0],
  ['fib', ['20'], 0],
  ['exit', [], 3],
])) {
  test(`node:wasi runs the counts-tier artifact of ${name}: wprof run's calls`, async () => {
    const artifact = embed(name);
    const dir = join(scratch, `${name}-files`);
    mkdirSync(dir);
    const wasi = nodeWasi(args, dir);
    const module = await WebAssembly.compile(readFileSync(artifact));
    const instance = await WebAssembly.instantiate(module, /** @type {any} */ (wasi.getImportObject()));
    assert.equal(wasi.start(instance), code);
    assert.deepEqual(
      WebAssembly.Module.imports(module).map((i) => i.module).filter((m) => m !== 'wasi_snapshot_preview1'),
      [],
      'the artifact imports only WASI',
    );
    const got = collect(join(dir, 'wprof.profile'), artifact, join(scratch, `${name}-collected`));
    const runOut = join(scratch, `${name}-run`);
    // wprof's exit status mirrors the guest's.
    run(['run', '--out', runOut, join(guests, `${name}.wasm`), '--', ...args], code);
    const want = calls(runOut);
    assert.ok(Object.keys(want.calls).length > 3);
    assert.deepEqual(got.calls, want.calls);
  });
}

test('a reactor called from JS: periodic dumps, wprof_dump and the no-filesystem exports', async () => {
  const artifact = join(scratch, 'reactor.counts.wasm');
  run(['instrument', '--embed', '--counts-only', '--wasi', '--dump-every', '100', join(guests, 'reactor.wasm'), '-o', artifact]);
  const dir = join(scratch, 'reactor-files');
  mkdirSync(dir);
  // An environment of a few KiB, like a service's: WPROF_OUT is still found.
  const wasi = nodeWasi([], dir, { FILLER: 'x'.repeat(5000), WPROF_OUT: 'lib.prof' });
  const { instance } = await WebAssembly.instantiate(readFileSync(artifact), /** @type {any} */ (wasi.getImportObject()));
  wasi.initialize(instance);
  const ex = /** @type {any} */ (instance.exports);
  for (let i = 0; i < 250; i++) assert.equal(ex.fib(10), 55);
  // --dump-every 100: the service never exits, the profile is current to
  // the last hundred calls.
  const early = collect(join(dir, 'lib.prof'), artifact, join(scratch, 'reactor-early'));
  assert.equal(early.calls.fib, 200);
  for (let i = 250; i < 1000; i++) assert.equal(ex.fib(10), 55);
  // A host with no filesystem copies the profile into memory the module
  // gives it (allocated first: the allocator is an export, timed too).
  const n = ex.wprof_profile_len();
  const at = ex.cabi_realloc(0, 0, 8, n);
  assert.equal(ex.wprof_dump(), 0);
  const written = readFileSync(join(dir, 'lib.prof'));
  assert.equal(ex.wprof_profile_copy(at), n);
  assert.deepEqual(Buffer.from(ex.memory.buffer, at, n), written);
  const { summary, calls: got } = collect(join(dir, 'lib.prof'), artifact, join(scratch, 'reactor-collected'));
  assert.equal(got.fib, 1000);
  assert.equal(got['reactor::fib_rec'], 177 * 1000);
  const fib = summary.exports.find((/** @type {any} */ e) => e.export === 'fib');
  assert.equal(fib.count, 1000);
  assert.ok(fib.mean_ns > 0 && fib.max_ns >= fib.mean_ns, JSON.stringify(fib));
  assert.equal(fib.p50_ns, null, 'the counts tier keeps no histogram');
  // Every export is counted on its own: the allocator was called once,
  // the others never.
  const count = (/** @type {string} */ name) => summary.exports.find((/** @type {any} */ e) => e.export === name)?.count;
  assert.equal(count('cabi_realloc'), 1);
  assert.ok(summary.exports.length > 3, JSON.stringify(summary.exports.map((/** @type {any} */ e) => e.export)));
  for (const e of summary.exports) {
    if (e.export !== 'fib' && e.export !== 'cabi_realloc') assert.equal(e.count, 0, e.export);
  }
});

test('wprof-node collect writes the files wprof collect writes', async () => {
  const artifact = embed('calls');
  const dir = join(scratch, 'node-collect-files');
  mkdirSync(dir);
  const wasi = nodeWasi([], dir);
  const { instance } = await WebAssembly.instantiate(readFileSync(artifact), /** @type {any} */ (wasi.getImportObject()));
  assert.equal(wasi.start(instance), 0);
  const profile = join(dir, 'wprof.profile');
  const native = join(scratch, 'node-collect-native');
  run(['collect', profile, '--module', artifact, '-o', native]);
  const node = join(scratch, 'node-collect-node');
  const r = spawnSync(process.execPath, [wprofNode, 'collect', profile, '--module', artifact, '-o', node], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /profile written to /);
  for (const name of ['calls.folded', 'cpu.folded']) {
    assert.equal(readFileSync(join(node, name), 'utf8'), readFileSync(join(native, name), 'utf8'), name);
  }
  assert.deepEqual(calls(node).calls, calls(native).calls);
  // A profile read with another module is refused, as natively.
  const other = embed('fib');
  const bad = spawnSync(process.execPath, [wprofNode, 'collect', profile, '--module', other, '-o', join(scratch, 'bad')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /was written by another module/);
});

test('wprof-node instrument --embed writes the bytes wprof instrument --embed writes', () => {
  const guest = join(guests, 'fib.wasm');
  for (const flags of [['--embed', '--counts-only'], ['--embed', '--dump-every', '50', '--max-contexts', '4096'], ['--embed', '--memory']]) {
    const native = join(scratch, `native-${flags.join('')}.wasm`);
    const node = join(scratch, `node-${flags.join('')}.wasm`);
    run(['instrument', ...flags, guest, '-o', native]);
    const r = spawnSync(process.execPath, [wprofNode, 'instrument', ...flags, guest, '-o', node], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(node).equals(readFileSync(native)), `${flags.join(' ')}: the same artifact`);
  }
  const bad = spawnSync(process.execPath, [wprofNode, 'instrument', '--counts-only', guest, '-o', join(scratch, 'x.wasm')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /'--counts-only' requires '--embed'/);
});
