// The probe ABI the JS host reads from the wasm toolkit matches what the
// toolkit's probe runtime exports and what its instrumenter emits, and the
// host's sources take every ABI name and event code from there (none copied
// by hand).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
import { EventLog, NOT_BUILT, readAbi } from '../src/probe/index.js';

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
});

/** @param {string} wat */
function wasm(wat) {
  return toolkit.readModule(new TextEncoder().encode(wat), 'abi.wat');
}

test('the probe runtime exports every name the ABI gives', () => {
  const abi = readAbi(toolkit);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(toolkit.probeRuntime()));
  const kinds = Object.fromEntries(exports.map((e) => [e.name, e.kind]));
  for (const f of [abi.enter, abi.leave, abi.current, abi.hostEnter, abi.hostLeave, ...abi.leaveValue]) assert.equal(kinds[f], 'function', f);
  assert.equal(kinds[abi.runtime.init], 'function');
  assert.equal(kinds[abi.runtime.memory], 'memory');
  for (const g of ['nodeCount', 'nodesBase', 'flatBase', 'overflow', 'curAddr', 'hostAddr']) {
    assert.equal(kinds[/** @type {string} */ (abi.runtime[/** @type {'nodeCount'} */ (g)])], 'global', g);
  }
  assert.ok(abi.defaultNodeCap > 0 && abi.rootNode !== abi.overflowNode);
});

test('an artifact imports exactly the probes and states the ABI version', () => {
  const abi = readAbi(toolkit);
  const original = wasm('(module (func $f (export "f") (result i32) i32.const 1) (memory (export "memory") 1))');
  const module = new WebAssembly.Module(toolkit.instrument(original, false, false));
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
  const probes = [abi.enter, abi.leave, abi.current, abi.hostEnter, abi.hostLeave, ...abi.leaveValue];
  assert.deepEqual(imports, probes.map((f) => `${abi.importModule}.${f}:function`).sort());
  const [section, ...more] = WebAssembly.Module.customSections(module, abi.section);
  assert.equal(more.length, 0);
  const manifest = JSON.parse(new TextDecoder().decode(section));
  assert.equal(manifest.abi, abi.version);
  assert.deepEqual(manifest.functions, [{ index: 0, name: 'f' }]);
});

// A bump allocator with libc's names and shapes, which `--memory` hooks,
// and a raw `memory.grow`. `_start` allocates 8 bytes at 64 and frees them.
const ALLOCATOR = `(module (memory (export "memory") 1)
  (func $malloc (export "malloc") (param i32) (result i32) i32.const 64)
  (func $free (export "free") (param i32))
  (func (export "_start")
    (call $free (call $malloc (i32.const 8)))
    (drop (memory.grow (i32.const 1)))))`;

test('the memory imports built from the ABI are exactly those of an artifact with memory probes', () => {
  const abi = readAbi(toolkit);
  const module = new WebAssembly.Module(toolkit.instrument(wasm(ALLOCATOR), false, true));
  const wanted = WebAssembly.Module.imports(module)
    .filter((i) => i.module === abi.mem.module)
    .map((i) => `${i.name}:${i.kind}`)
    .sort();
  assert.ok(wanted.length > 0, 'the artifact has memory probes');
  /** @type {number[][]} */
  const batches = [];
  const events = new EventLog(abi, { record: (b) => batches.push([...b]) }, null);
  const built = events.memoryImports();
  assert.deepEqual(Object.keys(built), [abi.mem.module]);
  const provided = Object.entries(built[abi.mem.module]).map(([name, f]) => `${name}:${typeof f === 'function' ? 'function' : typeof f}`);
  assert.deepEqual(provided.sort(), wanted);

  // Linked and run, each probe's arguments land where the session reads
  // them (`[code, node, a, b, c, d]`).
  const params = { functions: 4, nodeCap: 64 };
  const rt = new WebAssembly.Instance(new WebAssembly.Module(toolkit.probeRuntime()), {});
  /** @type {(n: number, cap: number) => number} */ (rt.exports[abi.runtime.init])(params.functions, params.nodeCap);
  const instance = new WebAssembly.Instance(module, { [abi.importModule]: rt.exports, ...built });
  /** @type {() => void} */ (instance.exports._start)();
  events.flush();
  const c = abi.events.codes;
  const records = batches.flat();
  assert.equal(records.length % abi.events.width, 0);
  /** @type {number[][]} */
  const rows = [];
  for (let i = 0; i < records.length; i += abi.events.width) rows.push(records.slice(i, i + abi.events.width));
  // The node is the probe runtime's current context; outside instrumented code it would be the root.
  assert.deepEqual(
    rows.map(([code, , ...rest]) => [code, ...rest]),
    [
      [c.alloc, 64, 8, 1, 0], // addr, size, layer (libc)
      [c.free, 64, 1, 0, 0], // addr, layer
      [c.grow, 1, 1, 0, 0], // old pages, delta, untracked
    ],
  );
});

test('EventLog takes its event codes from the ABI', () => {
  const abi = readAbi(toolkit);
  // Another numbering of the same events: what is pushed must follow it.
  const codes = Object.fromEntries(Object.entries(abi.events.codes).map(([name, code]) => [name, code + 100]));
  /** @type {number[]} */
  const pushed = [];
  const events = new EventLog({ ...abi, events: { ...abi.events, codes } }, { record: (b) => pushed.push(...b) }, null);
  events.callStart();
  events.callEnd(5);
  const mem = /** @type {Record<string, Function>} */ (events.memoryImports()[abi.mem.module]);
  mem[abi.mem.alloc](16n, 32n, 1);
  mem[abi.mem.gcCycle]();
  events.flush();
  const w = abi.events.width;
  assert.equal(pushed.length, 4 * w);
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => pushed[r * w]),
    [codes.callStart, codes.callEnd, codes.alloc, codes.gcCycle],
  );
});

test('a toolkit describing another ABI shape is refused', () => {
  assert.throws(() => readAbi({ probeAbi: () => '{"version": 1}' }), /unknown probe ABI/);
  for (const drop of [['runtime', 'overflow'], ['events', 'width'], ['mem', 'module']]) {
    const abi = JSON.parse(toolkit.probeAbi());
    delete abi[drop[0]][drop[1]];
    assert.throws(() => readAbi({ probeAbi: () => JSON.stringify(abi) }), /unknown probe ABI/, drop.join('.'));
  }
});

test('the probe host names no ABI constant itself', () => {
  // Every ABI name must come from the toolkit; a literal here would drift
  // silently when abi.rs changes. The event codes' names are keys of the
  // ABI's table, read as properties, never spelled as strings either.
  const abi = readAbi(toolkit);
  const names = [
    abi.importModule,
    abi.enter,
    abi.leave,
    abi.current,
    abi.hostEnter,
    abi.hostLeave,
    ...abi.leaveValue,
    abi.section,
    abi.wasiModule,
    ...Object.values(abi.runtime),
    ...Object.values(abi.mem),
    ...Object.keys(abi.events.codes),
  ];
  // abi.js is the parser of the toolkit's document: its keys (`init`,
  // `memory`) coincide with some values by design. Every other file of the
  // probe host is checked, and the Node host's entry points with it.
  const probeDir = new URL('../src/probe/', import.meta.url);
  const files = readdirSync(probeDir)
    .filter((f) => f.endsWith('.js') && f !== 'abi.js')
    .map((f) => new URL(f, probeDir));
  files.push(new URL('../src/node/toolkit.js', import.meta.url), new URL('../bin/wprof-node.js', import.meta.url));
  assert.ok(files.some((f) => f.pathname.endsWith('/events.js')), 'events.js is checked');
  for (const file of files) {
    // Comments may name ABI items (`wprof_mem`) in prose; code may not.
    const source = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const name of names) {
      for (const quote of ["'", '"', '`']) {
        assert.ok(!source.includes(`${quote}${name}${quote}`), `${file.pathname} hard-codes ${quote}${name}${quote}`);
      }
    }
  }
});
