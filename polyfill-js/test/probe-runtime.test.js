// The probe runtime host: exact counts and stacks from small hand-written
// guests, context reset between export calls, a full tree degrading to
// `[truncated]` with exact per-function counts, and the batching contract —
// probe events never leave wasm, the toolkit is called a fixed number of
// times per run whatever the number of calls.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../bin/node-toolkit.js';
import { NOT_BUILT, ProbeError, ProbeRuntime, readAbi } from '../src/probe/index.js';

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
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

/** @param {{ maxContexts?: number }} [options] */
function setup(options) {
  const artifact = new toolkit.Artifact(toolkit.readModule(new TextEncoder().encode(GUEST), 'guest.wat'));
  const runtime = new ProbeRuntime(toolkit, artifact, options);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(artifact.wasm), runtime.imports);
  const exports = /** @type {Record<string, Function>} */ (/** @type {unknown} */ (instance.exports));
  return { artifact, runtime, exports };
}

/**
 * @param {ProbeRuntime} runtime
 * @returns {{ folded: string, summary: any }}
 */
function outputs(runtime) {
  const out = runtime.outputs({ module: 'guest.wat', exit: { kind: 'exit', code: 0, message: null }, wall_ns: 1 });
  const text = (/** @type {string} */ name) => new TextDecoder().decode(out.file(name));
  const result = { folded: text('calls.folded'), summary: JSON.parse(text('summary.json')) };
  out.free();
  return result;
}

test('exact calls per function and per calling context', () => {
  const { runtime, exports } = setup();
  assert.equal(exports.fib(10), 55);
  exports.loop(3);
  const { folded, summary } = outputs(runtime);
  // fib(10) makes 177 calls: 1 from the root, the rest recursive, 9 levels deep.
  const fibLines = folded.split('\n').filter((l) => l.startsWith('fib'));
  assert.equal(fibLines.length, 10);
  assert.equal(fibLines.reduce((n, l) => n + Number(l.split(' ').pop()), 0), 177);
  assert.ok(folded.includes('loop;leaf 3\n'), folded);
  const calls = Object.fromEntries(summary.functions.map((/** @type {any} */ f) => [f.name, f.calls]));
  assert.deepEqual(calls, { fib: 177, loop: 1, leaf: 3 });
  assert.equal(summary.cpu.interval_ns, 0);
  assert.ok(summary.functions.every((/** @type {any} */ f) => f.self_ns === 0 && f.total_ns === 0));
});

test('a trap leaves the context deep until the host resets it', () => {
  const { runtime, exports } = setup();
  const abi = readAbi(toolkit);
  assert.throws(() => exports.boom(), WebAssembly.RuntimeError);
  assert.notEqual(runtime.context, abi.rootNode);
  runtime.resetContext();
  assert.equal(runtime.context, abi.rootNode);
  exports.loop(1);
  const { folded } = outputs(runtime);
  // `loop` is a root frame, not a callee of the trapped `boom`.
  assert.ok(folded.includes('\nloop 1\n'), folded);
});

test('a full tree cuts new stacks at [truncated]; per-function calls stay exact', () => {
  const { runtime, exports } = setup({ maxContexts: 4 });
  assert.equal(exports.fib(12), 144);
  assert.ok(runtime.overflow > 0n);
  const { folded, summary } = outputs(runtime);
  assert.ok(folded.includes('[truncated]'), folded);
  assert.equal(summary.functions.find((/** @type {any} */ f) => f.name === 'fib').calls, 465);
  assert.equal(BigInt(summary.contexts.truncated_calls), runtime.overflow);
});

test('bad capacities are wprof errors', () => {
  const artifact = new toolkit.Artifact(toolkit.readModule(new TextEncoder().encode(GUEST), 'guest.wat'));
  assert.throws(() => new ProbeRuntime(toolkit, artifact, { maxContexts: 0 }), ProbeError);
  assert.throws(() => new ProbeRuntime(toolkit, artifact, { maxContexts: 2 ** 40 }), ProbeError);
});

test('probe events stay in wasm: the toolkit is called a fixed number of times per run', () => {
  /** @type {Map<string, number>} */
  const calls = new Map();
  const counted = /** @type {import('../src/probe/toolkit.js').Toolkit} */ (
    new Proxy(toolkit, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (typeof value !== 'function') return value;
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return value;
      },
    })
  );
  for (const n of [10, 100_000]) {
    calls.clear();
    const artifact = new toolkit.Artifact(toolkit.readModule(new TextEncoder().encode(GUEST), 'guest.wat'));
    const runtime = new ProbeRuntime(counted, artifact);
    // The artifact's probe imports are the runtime's own wasm exports, not JS.
    const abi = readAbi(toolkit);
    const linked = /** @type {Record<string, unknown>} */ (runtime.imports[abi.importModule]);
    assert.equal(linked[abi.enter], runtime.instance.exports[abi.enter]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(artifact.wasm), runtime.imports);
    /** @type {Function} */ (instance.exports.loop)(n);
    runtime.outputs({ module: 'guest.wat', exit: { kind: 'exit', code: 0, message: null }, wall_ns: 1 }).free();
    assert.deepEqual(Object.fromEntries(calls), { probeAbi: 1, probeRuntime: 1, Outputs: 1 }, `n = ${n}`);
  }
});
