// `profile()`: one run with the project's WASI polyfill, from hand-written
// guests — how runs end (return, proc_exit, trap), `invoke` with typed
// arguments and results (strings passed through the guest's allocator and
// printed back), `--memory` and heap dumps, artifacts taken as is,
// the closing messages, and the wprof errors that are not the guest's.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { WASI } from '../wasi/src/index.js';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
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

/** The binary of a .wat guest. @param {string} wat */
function wasm(wat) {
  return toolkit.readModule(new TextEncoder().encode(wat), 'guest.wat');
}

/**
 * What a test changes in the session's default run options.
 * @typedef {object} RunFlags
 * @property {{ export: string, args?: string[], repeat?: number }} [invoke]
 * @property {{ dump_at?: [string, number][], dump_every?: number | null }} [memory] `--memory` and dump points
 * @property {number} [maxContexts]
 * @property {string} [location] where the closing message says the files went
 */

/** Run options as `wprof run guest.wat` with `flags` would have them. @param {RunFlags} flags */
function runOptions(flags) {
  const options = JSON.parse(toolkit.defaultRunOptions('guest.wat'));
  if (flags.invoke) {
    options.invoke = { export: flags.invoke.export, args: flags.invoke.args ?? [], repeat: flags.invoke.repeat ?? 1 };
  }
  if (flags.memory) options.memory = { dump_at: [], dump_every: null, ...flags.memory };
  if (flags.maxContexts) options.max_contexts = flags.maxContexts;
  return options;
}

/**
 * Profiles `bytes` with a fresh WASI whose stdout is collected.
 * @param {Uint8Array} bytes
 * @param {RunFlags} [flags]
 */
function run(bytes, flags = {}) {
  /** @type {number[]} */
  const stdout = [];
  const wasi = new WASI({ args: ['guest.wat'], stdout: (b) => stdout.push(...b), stderr: () => {} });
  const result = profile(toolkit, { bytes, options: runOptions(flags), wasi, location: flags.location });
  const text = (/** @type {string} */ name) => new TextDecoder().decode(result.files.get(name));
  return { ...result, stdout: new TextDecoder().decode(new Uint8Array(stdout)), text, summary: JSON.parse(text('summary.json')) };
}

test('proc_exit ends the run with its code; every file is written', () => {
  const r = run(wasm(`(module ${WASI_IMPORTS}
    (func $main (call $hi) (call $exit (i32.const 7)))
    (func (export "_start") (call $main)))`));
  assert.deepEqual(r.exit, { kind: 'exit', code: 7, message: null });
  assert.equal(r.exitCode, 7);
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

test('the module file may be WebAssembly text, as the session reads it', () => {
  const r = run(new TextEncoder().encode('(module (func $f) (func (export "_start") (call $f)))'));
  assert.equal(r.text('calls.folded'), '_start 1\n_start;f 1\n');
});

test('a trap is the guest ending, with the wasm frames, and still gives the profile', () => {
  const r = run(wasm(`(module ${WASI_IMPORTS}
    (func $deep (call $hi) unreachable)
    (func (export "_start") (call $deep)))`));
  assert.equal(r.exit.kind, 'trap');
  assert.equal(r.exit.code, null);
  assert.match(r.exit.message ?? '', /^wasm trap: unreachable\n .*deep/);
  assert.equal(r.exitCode, 134);
  assert.match(r.messages[0], /^guest trapped: wasm trap: unreachable/);
  assert.equal(r.text('calls.folded'), '_start 1\n_start;deep 1\n_start;deep;hi 1\n');
});

test('a command without memory runs without the polyfill needing one', () => {
  const r = run(wasm('(module (func $f) (func (export "_start") (call $f) (call $f)))'));
  assert.deepEqual(r.exit, { kind: 'exit', code: 0, message: null });
  assert.equal(r.text('calls.folded'), '_start 1\n_start;f 2\n');
});

test('the closing message names the location and exactly the files written, in order', () => {
  const r = run(wasm('(module (func (export "_start")))'), { location: 'out/' });
  assert.deepEqual(r.messages, [`profile written to out/ (${[...r.files.keys()].join(', ')})`]);
});

const REACTOR = `(module ${WASI_IMPORTS}
  (global $ready (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $ready (i32.const 1)))
  (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func (export "pair") (param i32) (result i32 f32) (local.get 0) (f32.const 0.1))
  (func (export "mix") (param i32 i64 f32 f64) (result i64) (local.get 1))
  (func (export "ready") (result i32) (global.get $ready))
  (func (export "quit") (param i32) (call $exit (local.get 0))))`;

test('invoke parses arguments by type and shows results like the native runner', () => {
  const bytes = wasm(REACTOR);
  /** The session's plan: arguments parsed by the export's parameter types. @param {string} name @param {string[]} args */
  const plan = (name, args) => {
    const session = new toolkit.Session(bytes, JSON.stringify(runOptions({ invoke: { export: name, args } })), () => {}, "");
    try {
      return JSON.parse(session.plan());
    } finally {
      session.free();
    }
  };
  assert.deepEqual(plan('add', ['0x7fffffffffffffff', '-0x7fffffffffffffff']), {
    kind: 'invoke',
    export: 'add',
    args: [
      { type: 'i64', value: '9223372036854775807' },
      { type: 'i64', value: '-9223372036854775807' },
    ],
    results: ['i64'],
    result: null,
    repeat: 1,
    initialize: true,
    dumps: false,
  });
  assert.deepEqual(plan('pair', ['0xffffffff']).args, [{ type: 'i32', value: '-1' }]);
  assert.deepEqual(plan('mix', ['-1', '-9223372036854775808', '1.5', '-inf']).args, [
    { type: 'i32', value: '-1' },
    { type: 'i64', value: '-9223372036854775808' },
    { type: 'f32', value: '1.5' },
    { type: 'f64', value: '-inf' },
  ]);

  /** @param {string} name @param {string[]} args @param {number} [repeat] */
  const invoke = (name, args, repeat) => run(bytes, { invoke: { export: name, args, repeat } }).summary.invoke;
  assert.deepEqual(invoke('add', ['0x7fffffffffffffff', '-0x7fffffffffffffff']).results, ['i64:0']);
  assert.deepEqual(invoke('mix', ['0', '-9223372036854775808', '0', '0']).results, ['i64:-9223372036854775808']);
  assert.deepEqual(invoke('half', ['3']).results, ['f64:1.5']);
  assert.deepEqual(invoke('half', ['inf']).results, ['f64:inf']);
  assert.deepEqual(invoke('half', ['-0']).results, ['f64:-0'], 'the sign of zero survives');
  assert.deepEqual(invoke('pair', ['0xffffffff']).results, ['i32:-1', 'f32:0.1']);
  assert.deepEqual(invoke('ready', []).results, ['i32:1'], '_initialize ran first');
  const repeated = invoke('add', ['1', '2'], 5);
  assert.equal(repeated.repeat, 5);
  assert.equal(repeated.latency.count, 5);
  assert.ok(repeated.latency.max_ns >= repeated.latency.p50_ns);
});

test('data arguments go through the guest\'s allocator; results are printed after its output', () => {
  const bytes = wasm(`(module ${WASI_IMPORTS}
    (global $heap (mut i32) (i32.const 1024))
    (func (export "malloc") (param i32) (result i32)
      (global.get $heap) (global.set $heap (i32.add (global.get $heap) (local.get 0))))
    (func (export "skip") (param i64 i32 i32) (result i32 i32)
      (call $hi)
      (i32.add (local.get 1) (i32.wrap_i64 (local.get 0)))
      (i32.sub (local.get 2) (i32.wrap_i64 (local.get 0))))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`);
  const options = runOptions({ invoke: { export: 'skip', args: ['2', 'str:hello'], repeat: 3 } });
  options.invoke.result = 'str';
  const session = new toolkit.Session(bytes, JSON.stringify(options), () => {}, '');
  const plan = JSON.parse(session.plan());
  session.free();
  assert.equal(plan.args, null, 'the host asks for each call\'s arguments');
  assert.equal(plan.result, 'str');

  /** @type {number[]} */
  const guestOut = [];
  const wasi = new WASI({ args: ['guest.wat'], stdout: (b) => guestOut.push(...b), stderr: () => {} });
  const r = profile(toolkit, { bytes, options, wasi });
  const summary = JSON.parse(new TextDecoder().decode(r.files.get('summary.json')));
  assert.equal(new TextDecoder().decode(new Uint8Array(guestOut)), 'hi\nhi\nhi\n', 'the guest\'s own output');
  assert.equal(new TextDecoder().decode(r.stdout), 'llo\n', 'the result, printed by the host after it');
  assert.deepEqual(summary.invoke.results, ['str:llo']);
  assert.deepEqual(summary.invoke.args, ['2', 'str:hello']);
  const malloc = summary.functions.find((/** @type {any} */ f) => f.name === 'malloc');
  assert.equal(malloc.calls, 3, 'a fresh copy for every call');
  // wprof's allocations are calls at the root, outside the export's stacks.
  assert.match(new TextDecoder().decode(r.files.get('calls.folded')), /^malloc 3$/m);

  const numbers = runOptions({ invoke: { export: 'add', args: ['2', '3'] } });
  const sum = profile(toolkit, { bytes, options: numbers, wasi: new WASI({ args: ['guest.wat'] }) });
  assert.equal(new TextDecoder().decode(sum.stdout), '5\n', 'numbers one per line, as wasmtime prints them');
});

test('proc_exit inside an invoked export is an exit, not a trap', () => {
  const r = run(wasm(REACTOR), { invoke: { export: 'quit', args: ['300'] } });
  assert.deepEqual(r.exit, { kind: 'exit', code: 300, message: null });
  assert.equal(r.exitCode, 1, 'codes outside 0-255 become 1');
  assert.deepEqual(r.summary.invoke.results, []);
  assert.equal(r.summary.invoke.latency.count, 0);
});

test('an artifact is run as is and gives the same profile', () => {
  const original = wasm(`(module ${WASI_IMPORTS} (func (export "_start") (call $hi) (call $hi)))`);
  const artifact = toolkit.instrument(original, false, false);
  const a = run(original);
  const b = run(artifact);
  assert.equal(b.instrumented, false);
  assert.equal(b.text('calls.folded'), a.text('calls.folded'));
});

// A bump allocator named like libc's, so `--memory` hooks it: `keep` leaks
// one 100-byte block per call, `churn` allocates and frees 10 of 16 bytes.
const ALLOCATOR = `(module
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 1024))
  (func $malloc (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func $free (param i32))
  (func $keep (drop (call $malloc (i32.const 100))))
  (func $churn (local $i i32)
    (loop $l
      (call $free (call $malloc (i32.const 16)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 10)))))
  (func (export "handle") (call $keep) (call $churn))
  (func (export "_start") (call $keep) (call $churn) (call $keep)))`;

test('--memory: allocations by calling context, the memory files, and the exit dump', () => {
  const r = run(wasm(ALLOCATOR), { memory: {} });
  const m = r.summary.memory;
  assert.deepEqual(m.hooks.allocators, ['libc']);
  assert.equal(m.allocations, 12);
  assert.equal(m.allocated_bytes, 2 * 100 + 10 * 16);
  assert.equal(m.frees, 10);
  assert.equal(m.live_bytes, 200);
  const sites = Object.fromEntries(
    m.top_sites.map((/** @type {any} */ s) => [s.stack, [s.allocs, s.frees, s.live, s.live_bytes]]),
  );
  assert.deepEqual(sites, { '_start;keep': [2, 0, 2, 200], '_start;churn': [10, 10, 0, 0] });
  for (const f of ['heap.pb.gz', 'memory.svg', 'memory-peak.svg', 'heap-exit.wheap']) assert.ok(r.files.has(f), f);
  assert.deepEqual(r.messages, [`profile written to  (${[...r.files.keys()].join(', ')})`]);
});

test('heap dumps are taken between --invoke calls when due', () => {
  const r = run(wasm(ALLOCATOR), {
    invoke: { export: 'handle', repeat: 7 },
    memory: { dump_at: [['handle', 1]], dump_every: 3 },
  });
  // After calls 1, 3 and 6; numbered in the order taken, before the other files.
  assert.deepEqual([...r.files.keys()].slice(0, 4), ['heap-001.wheap', 'heap-002.wheap', 'heap-003.wheap', 'flamegraph.svg']);
  assert.ok(!r.files.has('heap-004.wheap'));
  assert.equal(r.summary.memory.live_bytes, 7 * 100);
  assert.equal(r.summary.invoke.latency.count, 7);
});

test('wprof errors are ProbeErrors with the native messages', () => {
  /** @param {Uint8Array} bytes @param {RunFlags} flags @param {RegExp} message */
  const fails = (bytes, flags, message) =>
    assert.throws(
      () => run(bytes, flags),
      (/** @type {any} */ e) => e instanceof ProbeError && message.test(e.message),
    );
  fails(wasm('(module (func (export "f")))'), {}, /^module has no `_start` export \(a library\/reactor module\?\); choose an export with --invoke: f$/);
  fails(wasm('(module)'), {}, /exports no functions; nothing to run/);
  fails(wasm(REACTOR), { invoke: { export: 'nope' } }, /^module has no exported function `nope`; exported functions: _initialize, add/);
  fails(wasm(REACTOR), { invoke: { export: 'add', args: ['1'] } }, /^export `add` takes 2 argument\(s\) \(i64, i64\), but 1 were given with --arg$/);
  fails(wasm(REACTOR), { invoke: { export: 'half', args: ['x'] } }, /^bad --arg for `half`: `x` is not a number/);
  fails(wasm('(module (import "env" "f" (func)) (func (export "_start") (call 0)))'), {}, /only WASI preview1, but the module also imports env::f$/);
  fails(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]), {}, /^invalid WebAssembly module: unexpected end-of-file \(at offset 0x9\)$/);
  fails(new TextEncoder().encode('(module'), {}, /^failed to parse WebAssembly text `guest.wat`/);
  fails(
    wasm(REACTOR),
    { invoke: { export: 'add', args: ['1', '2'] }, memory: { dump_at: [['ready', 1]] } },
    /^--heap-dump-at ready:N: dumps are taken between calls wprof makes, so EXPORT must be the --invoke export/,
  );
  const artifact = toolkit.instrument(wasm(ALLOCATOR), false, false);
  fails(artifact, { memory: {} }, /artifact instrumented without memory probes/);
});

test('a file the host cannot write spares the others and the exit code', () => {
  /** @type {string[]} */
  const wrote = [];
  const r = profile(toolkit, {
    bytes: wasm(`(module ${WASI_IMPORTS} (func (export "_start") (call $exit (i32.const 3))))`),
    options: runOptions({}),
    wasi: new WASI({ args: ['guest.wat'] }),
    location: 'out/',
    write: (name) => {
      if (name === 'cpu.pb.gz') throw new Error('disk full');
      wrote.push(name);
    },
  });
  assert.equal(r.exitCode, 3, "the guest's outcome");
  assert.deepEqual(wrote, ['flamegraph.svg', 'cpu.folded', 'calls.folded', 'summary.json']);
  assert.deepEqual(r.written, wrote);
  assert.deepEqual(r.messages, [
    'error: failed to write `out/cpu.pb.gz`: disk full',
    `profile written to out/ (${wrote.join(', ')})`,
  ]);
});
