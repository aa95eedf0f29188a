// CPU time in Node lands on the function that spent it. wprof-node's
// sampler (a worker thread reading the probe runtime's current-context
// word) is checked against a profiler we did not write and that has no
// entry/loop-header bias: V8's own sampling profiler (`node --cpu-prof`)
// on the plain, uninstrumented module.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';

const cli = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const leafWat = fileURLToPath(new URL('../../tests/guests/wat/leaf.wat', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-node-time-'));

before(() => assert.ok(toolkitBuilt(), NOT_BUILT));

/** V8's self share of `leaf` among the samples in wasm code. @param {string} wasm */
function v8LeafShare(wasm) {
  const dir = join(scratch, 'v8');
  const script =
    "const m = new WebAssembly.Module(require('fs').readFileSync(process.argv[1]));" +
    'new WebAssembly.Instance(m, {}).exports._start();';
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, '-e', script, wasm]);
  assert.equal(r.status, 0, r.stderr.toString());
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  assert.ok(file, 'node wrote a .cpuprofile');
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  /** @type {Map<number, { name: string, wasm: boolean }>} */
  const frames = new Map(
    profile.nodes.map((/** @type {any} */ n) => [
      n.id,
      { name: n.callFrame.functionName, wasm: n.callFrame.url.startsWith('wasm://') },
    ]),
  );
  let leaf = 0;
  let total = 0;
  for (const id of profile.samples) {
    const f = /** @type {{ name: string, wasm: boolean }} */ (frames.get(id));
    if (!f.wasm) continue;
    total++;
    if (f.name.replace(/^\$/, '') === 'leaf' || f.name === 'wasm-function[0]') leaf++;
  }
  assert.ok(total > 200, `V8 took ${total} samples in wasm`);
  return leaf / total;
}

test('a loop-free leaf gets its own time in Node, as V8 measures it', async () => {
  const toolkit = await loadNodeToolkit();
  const wasm = join(scratch, 'leaf.wasm');
  writeFileSync(wasm, toolkit.readModule(readFileSync(leafWat), 'leaf.wat'));
  const reference = v8LeafShare(wasm);

  const out = join(scratch, 'out');
  const r = spawnSync(process.execPath, [cli, 'run', '--out', out, leafWat]);
  assert.equal(r.status, 0, r.stderr.toString());
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.ok(summary.cpu.samples > 0, 'Node samples CPU time');
  const leaf = summary.functions.find((/** @type {any} */ f) => f.name === 'leaf');
  assert.equal(leaf.calls, 3_000_000, 'exact calls survive');
  const ours = leaf.self_ns / summary.cpu.sampled_ns;
  assert.ok(
    Math.abs(ours - reference) <= 0.1,
    `wprof-node gives leaf ${(ours * 100).toFixed(1)}% of the time, V8 ${(reference * 100).toFixed(1)}%`,
  );
  const svg = readFileSync(join(out, 'flamegraph.svg'), 'utf8');
  assert.doesNotMatch(svg, /widths are call counts/, 'the flamegraph is drawn by time');
  assert.ok(readFileSync(join(out, 'cpu.folded'), 'utf8').includes('_start;work;leaf '), 'cpu.folded has time');
});

test('time in a WASI call is a frame under its caller in Node', () => {
  const out = join(scratch, 'write');
  const guest = fileURLToPath(new URL('../../tests/guests/wat/write.wat', import.meta.url));
  // 800 MB of guest output: not for a pipe buffer.
  const r = spawnSync(process.execPath, [cli, 'run', '--out', out, guest], { stdio: ['ignore', 'ignore', 'pipe'] });
  assert.equal(r.status, 0, r.stderr.toString());
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const folded = readFileSync(join(out, 'cpu.folded'), 'utf8');
  const inWrite = folded
    .split('\n')
    .filter((l) => l.startsWith('_start;emit;fd_write '))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  assert.ok(inWrite * 2 > summary.cpu.sampled_ns, `fd_write under emit has ${inWrite} of ${summary.cpu.sampled_ns} ns:\n${folded}`);
});
