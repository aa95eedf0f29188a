// The probe runtime host: exact counts and stacks from small hand-written
// guests, context reset between export calls, a full tree degrading to
// `[truncated]` with exact per-function counts, and the batching contract —
// probe events never leave wasm, memory events cross into the toolkit a
// batch at a time, and the toolkit is called a fixed number of times per run
// whatever the number of calls.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { WASI } from '../wasi/src/index.js';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT, ProbeError, ProbeRuntime, profile, readAbi } from '../src/probe/index.js';

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;
/** @type {import('../src/probe/abi.js').ProbeAbi} */
let abi;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
  abi = readAbi(toolkit);
});

// fib(n) recursive; `loop(n)` calls `leaf` n times.
const GUEST = `(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $leaf)
  (func (export "loop") (param i32)
    (loop $l (if (local.get 0) (then
      (call $leaf) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))))
  (func (export "boom") (call $leaf) unreachable))`;

/**
 * Run options for GUEST: the tests call its exports themselves, so the plan
 * (which only has to be valid) is never run.
 * @param {{ maxContexts?: number }} [flags]
 */
function guestOptions(flags = {}) {
  const options = JSON.parse(toolkit.defaultRunOptions('guest.wat'));
  options.invoke = { export: 'loop', args: ['0'], repeat: 1 };
  if (flags.maxContexts) options.max_contexts = flags.maxContexts;
  return options;
}

/**
 * A session for GUEST, its probe runtime, and the instrumented instance.
 * @param {{ maxContexts?: number }} [flags]
 */
function setup(flags) {
  /** @type {Map<string, Uint8Array>} */
  const files = new Map();
  const session = new toolkit.Session(
    new TextEncoder().encode(GUEST),
    JSON.stringify(guestOptions(flags)),
    (/** @type {string} */ name, /** @type {Uint8Array} */ bytes) => files.set(name, bytes),
    '',
  );
  const params = session.runtime();
  assert.ok(params !== undefined, 'instrument mode links the probe runtime');
  const runtime = new ProbeRuntime(toolkit, abi, JSON.parse(params));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(session.wasm()), runtime.imports);
  const exports = /** @type {Record<string, Function>} */ (/** @type {unknown} */ (instance.exports));
  return { session, runtime, exports, files };
}

/**
 * Finishes the run from the runtime's state; the session is freed.
 * @param {import('../src/probe/toolkit.js').ToolkitSession} session
 * @param {ProbeRuntime} runtime
 * @param {Map<string, Uint8Array>} files what the session wrote
 * @returns {{ folded: string, summary: any, truncatedCalls: number }}
 */
function outputs(session, runtime, files) {
  const end = { exit: { kind: 'exit', code: 0, message: null }, wall_ns: 1 };
  try {
    const done = JSON.parse(session.finish(...runtime.view(), JSON.stringify(end)));
    const text = (/** @type {string} */ name) => new TextDecoder().decode(files.get(name));
    return { folded: text('calls.folded'), summary: JSON.parse(text('summary.json')), truncatedCalls: done.truncatedCalls };
  } finally {
    session.free();
  }
}

test('exact calls per function and per calling context', () => {
  const { session, runtime, exports, files } = setup();
  assert.equal(exports.fib(10), 55);
  exports.loop(3);
  const { folded, summary } = outputs(session, runtime, files);
  // fib(10) makes 177 calls: 1 from the root, the rest recursive, 9 levels deep.
  const fibLines = folded.split('\n').filter((l) => l.startsWith('fib'));
  assert.equal(fibLines.length, 10);
  assert.equal(fibLines.reduce((n, l) => n + Number(l.split(' ').pop()), 0), 177);
  assert.ok(folded.includes('loop;leaf 3\n'), folded);
  const calls = Object.fromEntries(summary.functions.map((/** @type {any} */ f) => [f.name, f.calls]));
  assert.deepEqual(calls, { fib: 177, loop: 1, leaf: 3 });
  assert.equal(summary.cpu.interval_ns, 100_000, 'the session default, as `wprof run`');
  assert.ok(summary.functions.every((/** @type {any} */ f) => f.self_ns === 0 && f.total_ns === 0), 'no sampler in JS');
});

test('a trap leaves the context deep until the host resets it', () => {
  const { session, runtime, exports, files } = setup();
  assert.throws(() => exports.boom(), WebAssembly.RuntimeError);
  assert.notEqual(runtime.context, abi.rootNode);
  runtime.resetContext();
  assert.equal(runtime.context, abi.rootNode);
  exports.loop(1);
  const { folded } = outputs(session, runtime, files);
  // `loop` is a root frame, not a callee of the trapped `boom`.
  assert.ok(folded.includes('\nloop 1\n'), folded);
});

test('a full tree cuts new stacks at [truncated]; per-function calls stay exact', () => {
  // The smallest tree the session allows; fib(20) recurses 20 deep.
  const { session, runtime, exports, files } = setup({ maxContexts: 16 });
  assert.equal(exports.fib(20), 6765);
  const overflow = runtime.view()[4];
  assert.ok(overflow > 0n);
  const { folded, summary, truncatedCalls } = outputs(session, runtime, files);
  assert.ok(folded.includes('[truncated]'), folded);
  assert.equal(summary.functions.find((/** @type {any} */ f) => f.name === 'fib').calls, 21891);
  assert.equal(BigInt(summary.contexts.truncated_calls), overflow);
  assert.equal(BigInt(truncatedCalls), overflow);
});

test('bad capacities are wprof errors', () => {
  // On the command line: the session's range check, as `wprof run` has it.
  for (const n of ['0', '3', String(2 ** 40)]) {
    const parsed = JSON.parse(toolkit.parseRunArgs(JSON.stringify({ module: 'guest.wat', values: { 'max-contexts': [n] } })));
    assert.match(parsed.usage ?? '', new RegExp(`^invalid value '${n}' for '--max-contexts <N>': ${n} is not in 16\\.\\.=\\d+$`));
  }
  // A runtime that cannot allocate the tree: a ProbeError, not a guest trap.
  const refusing = toolkit.readModule(
    new TextEncoder().encode(`(module (memory (export "${abi.runtime.memory}") 1)
      (func (export "${abi.runtime.init}") (param i32 i32) (result i32) (i32.const -1)))`),
    'runtime.wat',
  );
  assert.throws(
    () => new ProbeRuntime({ ...toolkit, probeRuntime: () => refusing }, abi, { functions: 3, nodeCap: 1 << 20, linked: false }),
    (/** @type {unknown} */ e) => e instanceof ProbeError && /could not allocate 1048576 calling contexts; lower --max-contexts/.test(e.message),
  );
});

/**
 * `toolkit` with every function call and session member access counted
 * (each is a crossing into the wasm toolkit).
 * @param {Map<string, number>} calls
 * @returns {import('../src/probe/toolkit.js').Toolkit}
 */
function counting(calls) {
  const count = (/** @type {string} */ key) => calls.set(key, (calls.get(key) ?? 0) + 1);
  /** @param {object} session */
  const countedSession = (session) =>
    new Proxy(session, {
      get(target, key) {
        const value = Reflect.get(target, key);
        // wasm-bindgen's own handle, not a call.
        if (key === '__wbg_ptr') return value;
        count(`session.${String(key)}`);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return /** @type {import('../src/probe/toolkit.js').Toolkit} */ (
    new Proxy(toolkit, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (key === 'Session') {
          return new Proxy(value, {
            construct(Session, args) {
              count('new Session');
              return countedSession(Reflect.construct(Session, args));
            },
          });
        }
        if (typeof value === 'function') count(String(key));
        return value;
      },
    })
  );
}

test('probe events stay in wasm: the toolkit is called a fixed number of times per run', () => {
  /** @type {Record<string, number>[]} */
  const perRun = [];
  for (const n of [10, 100_000]) {
    /** @type {Map<string, number>} */
    const calls = new Map();
    const options = guestOptions();
    options.invoke = { export: 'loop', args: [String(n)], repeat: 1 };
    profile(counting(calls), { bytes: new TextEncoder().encode(GUEST), options, wasi: new WASI() });
    perRun.push(Object.fromEntries(calls));
  }
  assert.deepEqual(perRun[1], perRun[0], 'the same crossings for 10 and 100,000 calls');
  // Each once per run (the files come back through the host's `write`).
  assert.ok(Object.values(perRun[0]).every((n) => n === 1), JSON.stringify(perRun[0]));
  // The artifact's probe imports are the runtime's own wasm exports, not JS.
  const runtime = new ProbeRuntime(toolkit, abi, { functions: 3, nodeCap: 64, linked: false });
  const linked = /** @type {Record<string, unknown>} */ (runtime.imports[abi.importModule]);
  for (const f of [abi.enter, abi.leave, abi.current, abi.hostEnter, abi.hostLeave, ...abi.leaveValue]) {
    assert.equal(linked[f], runtime.instance.exports[f], f);
  }
});

// `churn(n)` allocates and frees n blocks through a libc-named allocator.
const ALLOCATING = `(module
  (memory (export "memory") 1)
  (func $malloc (param i32) (result i32) (i32.const 64))
  (func $free (param i32))
  (func (export "churn") (param $n i32)
    (loop $l (if (local.get $n) (then
      (call $free (call $malloc (i32.const 8)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))))`;

test('memory events cross into the toolkit in batches, not once per event', () => {
  /** @type {Record<string, number>[]} */
  const perRun = [];
  for (const n of [10, 100_000]) {
    /** @type {Map<string, number>} */
    const calls = new Map();
    const options = JSON.parse(toolkit.defaultRunOptions('alloc.wat'));
    options.invoke = { export: 'churn', args: [String(n)], repeat: 1 };
    options.memory = { dump_at: [], dump_every: null };
    const r = profile(counting(calls), { bytes: new TextEncoder().encode(ALLOCATING), options, wasi: new WASI() });
    const memory = JSON.parse(new TextDecoder().decode(r.files.get('summary.json'))).memory;
    assert.equal(memory.allocations, n);
    assert.equal(memory.frees, n);
    // An alloc and a free per iteration, plus the call's start and end.
    const events = 2 * n + 2;
    const records = calls.get('session.record') ?? 0;
    // Batches of thousands of events (the batch size is events.js's own).
    assert.ok(records >= 1 && records <= Math.max(1, events / 1000), `${records} batches for ${events} events`);
    calls.delete('session.record');
    perRun.push(Object.fromEntries(calls));
  }
  assert.deepEqual(perRun[1], perRun[0], 'apart from batches, the same crossings for 10 and 100,000 iterations');
});

test('a runtime nobody initialised traps saying so', () => {
  const bare = new WebAssembly.Instance(new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (toolkit.probeRuntime())), {});
  const enter = /** @type {(fid: number) => number} */ (bare.exports[abi.enter]);
  assert.throws(
    () => enter(0),
    (/** @type {unknown} */ e) => e instanceof WebAssembly.RuntimeError && /probe_runtime_not_initialized/.test(String(e.stack)),
  );
});
