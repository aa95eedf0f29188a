// The probe ABI the JS host reads from the wasm toolkit matches what the
// toolkit's probe runtime exports and what its instrumenter emits, and the
// host's sources take every ABI name from there (none copied by hand).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../bin/node-toolkit.js';
import { NOT_BUILT, readAbi } from '../src/probe/index.js';

/** @type {import('../src/probe/toolkit.js').Toolkit} */
let toolkit;

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  toolkit = await loadNodeToolkit();
});

test('the probe runtime exports every name the ABI gives', () => {
  const abi = readAbi(toolkit);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(toolkit.probeRuntime()));
  const kinds = Object.fromEntries(exports.map((e) => [e.name, e.kind]));
  assert.equal(kinds[abi.enter], 'function');
  assert.equal(kinds[abi.cur], 'global');
  assert.equal(kinds[abi.runtime.init], 'function');
  assert.equal(kinds[abi.runtime.memory], 'memory');
  for (const g of ['nodeCount', 'nodesBase', 'flatBase', 'overflow']) {
    assert.equal(kinds[/** @type {string} */ (abi.runtime[/** @type {'nodeCount'} */ (g)])], 'global', g);
  }
  assert.equal(abi.version, toolkit.abiVersion());
  assert.ok(abi.defaultNodeCap > 0 && abi.rootNode !== abi.overflowNode);
});

test('an artifact imports exactly the probes and states the ABI version', () => {
  const abi = readAbi(toolkit);
  const wat = '(module (func $f (export "f") (result i32) i32.const 1) (memory (export "memory") 1))';
  const original = toolkit.readModule(new TextEncoder().encode(wat), 'f.wat');
  const module = new WebAssembly.Module(toolkit.instrument(original, false));
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
  assert.deepEqual(imports, [`${abi.importModule}.${abi.cur}:global`, `${abi.importModule}.${abi.enter}:function`].sort());
  const [section, ...more] = WebAssembly.Module.customSections(module, abi.section);
  assert.equal(more.length, 0);
  const manifest = JSON.parse(new TextDecoder().decode(section));
  assert.equal(manifest.abi, abi.version);
  assert.deepEqual(manifest.functions, [{ index: 0, name: 'f' }]);
});

test('a toolkit describing another ABI shape is refused', () => {
  assert.throws(() => readAbi({ probeAbi: () => '{"version": 1}' }), /unknown probe ABI/);
  const abi = JSON.parse(toolkit.probeAbi());
  delete abi.runtime.overflow;
  assert.throws(() => readAbi({ probeAbi: () => JSON.stringify(abi) }), /unknown probe ABI/);
});

test('the probe host names no ABI constant itself', () => {
  // Every ABI name must come from the toolkit; a literal here would drift
  // silently when abi.rs changes.
  const abi = readAbi(toolkit);
  const names = [abi.importModule, abi.enter, abi.cur, abi.section, ...Object.values(abi.runtime)];
  const dir = new URL('../src/probe/', import.meta.url);
  // abi.js is the parser of the toolkit's document: its keys (`init`,
  // `memory`) coincide with some values by design.
  for (const file of readdirSync(dir).filter((f) => f !== 'abi.js')) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const name of names) {
      for (const quote of ["'", '"']) {
        assert.ok(!source.includes(`${quote}${name}${quote}`), `${file} hard-codes ${quote}${name}${quote}`);
      }
    }
  }
});
