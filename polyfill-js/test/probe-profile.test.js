// `profile()`: one run with the project's WASI polyfill, from hand-written
// guests — how runs end (return, proc_exit, trap), `invoke` with typed
// arguments and results, artifacts taken as is, and the wprof errors that
// are not the guest's.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../bin/node-toolkit.js';
import { WASI } from '../src/index.js';
import { NOT_BUILT, ProbeError, profile } from '../src/probe/index.js';

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
});

const WASI_IMPORTS = `
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\\n")
  (func $hi
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))`;

/** @param {string} wat */
function wasm(wat) {
  return toolkit.readModule(new TextEncoder().encode(wat), 'guest.wat');
}

/**
 * Profiles `module` with a fresh WASI whose stdout is collected.
 * @param {Uint8Array} module
 * @param {Partial<import('../src/probe/profile.js').ProfileOptions>} [options]
 */
function run(module, options = {}) {
  /** @type {number[]} */
  const stdout = [];
  const wasi = new WASI({ args: ['guest.wat'], stdout: (b) => stdout.push(...b), stderr: () => {} });
  const result = profile(toolkit, { name: 'guest.wat', module, wasi, ...options });
  const text = (/** @type {string} */ name) => new TextDecoder().decode(result.files.get(name));
  return { ...result, stdout: new TextDecoder().decode(new Uint8Array(stdout)), text, summary: JSON.parse(text('summary.json')) };
}

test('proc_exit ends the run with its code; every file is written', () => {
  const r = run(wasm(`(module ${WASI_IMPORTS}
    (func $main (call $hi) (call $exit (i32.const 7)))
    (func (export "_start") (call $main)))`));
  assert.deepEqual(r.exit, { kind: 'exit', code: 7, message: null });
  assert.equal(r.stdout, 'hi\n');
  assert.deepEqual([...r.files.keys()].sort(), ['calls.folded', 'cpu.folded', 'cpu.pb.gz', 'flamegraph.svg', 'summary.json']);
  assert.equal(r.text('calls.folded'), '_start 1\n_start;main 1\n_start;main;hi 1\n');
  assert.equal(r.text('cpu.folded'), '');
  assert.deepEqual(r.summary.exit, { kind: 'exit', code: 7, message: null });
  assert.ok(r.summary.wall_ns > 0);
  assert.match(r.text('flamegraph.svg'), /<svg[\s\S]*main/);
  // gzip magic: the pprof writer's output as is.
  assert.deepEqual([...(r.files.get('cpu.pb.gz') ?? []).slice(0, 2)], [0x1f, 0x8b]);
  assert.equal(r.instrumented, true);
});

test('a trap is the guest ending, with the wasm frames, and still gives the profile', () => {
  const r = run(wasm(`(module ${WASI_IMPORTS}
    (func $deep (call $hi) unreachable)
    (func (export "_start") (call $deep)))`));
  assert.equal(r.exit.kind, 'trap');
  assert.equal(r.exit.code, null);
  assert.match(r.exit.message ?? '', /^wasm trap: unreachable\n .*deep/);
  assert.equal(r.text('calls.folded'), '_start 1\n_start;deep 1\n_start;deep;hi 1\n');
});

test('a command without memory runs without the polyfill needing one', () => {
  const r = run(wasm('(module (func $f) (func (export "_start") (call $f) (call $f)))'));
  assert.deepEqual(r.exit, { kind: 'exit', code: 0, message: null });
  assert.equal(r.text('calls.folded'), '_start 1\n_start;f 2\n');
});

const REACTOR = `(module ${WASI_IMPORTS}
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func (export "pair") (param i32) (result i32 f32) (local.get 0) (f32.const 0.1))
  (func (export "ready") (result i32) (global.get $ready))
  (func (export "quit") (param i32) (call $exit (local.get 0))))`;

test('invoke parses arguments by type and shows results like the native runner', () => {
  /** @param {string} name @param {string[]} args @param {number} [repeat] */
  const invoke = (name, args, repeat) => run(wasm(REACTOR), { invoke: { export: name, args, repeat } }).summary.invoke;
  assert.deepEqual(invoke('add', ['0x7fffffffffffffff', '-0x7fffffffffffffff']).results, ['i64:0']);
  assert.deepEqual(invoke('half', ['3']).results, ['f64:1.5']);
  assert.deepEqual(invoke('pair', ['0xffffffff']).results, ['i32:-1', 'f32:0.1']);
  assert.deepEqual(invoke('ready', []).results, ['i32:1'], '_initialize ran first');
  const repeated = invoke('add', ['1', '2'], 5);
  assert.equal(repeated.repeat, 5);
  assert.equal(repeated.latency.count, 5);
  assert.ok(repeated.latency.max_ns >= repeated.latency.p50_ns);
});

test('proc_exit inside an invoked export is an exit, not a trap', () => {
  const r = run(wasm(REACTOR), { invoke: { export: 'quit', args: ['300'] } });
  assert.deepEqual(r.exit, { kind: 'exit', code: 300, message: null });
  assert.deepEqual(r.summary.invoke.results, []);
  assert.equal(r.summary.invoke.latency.count, 0);
});

test('an artifact is run as is and gives the same profile', () => {
  const original = wasm(`(module ${WASI_IMPORTS} (func (export "_start") (call $hi) (call $hi)))`);
  const artifact = toolkit.instrument(original, false);
  const a = run(original);
  const b = run(artifact);
  assert.equal(b.instrumented, false);
  assert.equal(b.text('calls.folded'), a.text('calls.folded'));
});

test('wprof errors are ProbeErrors with the native messages', () => {
  /** @param {Uint8Array} module @param {Partial<import('../src/probe/profile.js').ProfileOptions>} options @param {RegExp} message */
  const fails = (module, options, message) =>
    assert.throws(
      () => run(module, options),
      (/** @type {any} */ e) => e instanceof ProbeError && message.test(`${e.message}: ${e.cause?.message ?? ''}`),
    );
  fails(wasm('(module (func (export "f")))'), {}, /no `_start` export \(a library\/reactor module\?\); choose an export with --invoke: f/);
  fails(wasm('(module)'), {}, /exports no functions; nothing to run/);
  fails(wasm(REACTOR), { invoke: { export: 'nope' } }, /no exported function `nope`; exported functions: _initialize, add/);
  fails(wasm(REACTOR), { invoke: { export: 'add', args: ['1'] } }, /takes 2 argument\(s\) \(i64, i64\), but 1 were given/);
  fails(wasm(REACTOR), { invoke: { export: 'half', args: ['x'] } }, /bad --arg for `half`: `x` is not a number/);
  fails(wasm('(module (import "env" "f" (func)) (func (export "_start") (call 0)))'), {}, /only WASI preview1, but the module also imports env::f/);
  fails(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]), {}, /failed to instrument module: invalid WebAssembly module/);
});
