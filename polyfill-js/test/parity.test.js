// Native-vs-Node parity: every Rust guest of the native tests is profiled
// by `wprof run` (wasmtime) and by `wprof-node run` (WASI polyfill + wasm
// toolkit); the call-count profiles must be identical — `calls.folded` byte
// for byte, summary.json's functions and calls, how the guest ended, its
// stdout and wprof's exit code. The artifact the wasm toolkit instruments
// must be byte-identical to `wprof instrument`'s.
//
// Builds what it needs: the guests (tests/guests/rust, its own target dir)
// and target/release/wprof when missing. The wasm toolkit must have been
// built with `npm run build:wasm -w polyfill-js`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../bin/node-toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guestsDir = join(repo, 'tests/guests/rust');
const guests = join(guestsDir, 'target/wasm32-wasip1/release');
const expectedDir = join(guestsDir, 'expected');
const wprof = join(repo, 'target/release/wprof');
const wprofNode = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-parity-'));

/** @param {string} cmd @param {string[]} args @param {string} [cwd] */
function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(r.status, 0, `\`${cmd} ${args.join(' ')}\` failed`);
}

before(() => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  // Cargo decides whether anything is stale; a fresh build is a no-op.
  sh('cargo', ['build', '--release', '--target', 'wasm32-wasip1'], guestsDir);
  if (!existsSync(wprof)) sh('cargo', ['build', '--release', '-p', 'wprof'], repo);
});

/**
 * One profiled run of `wprof` or `wprof-node`.
 * @param {'native' | 'node'} host
 * @param {string} label
 * @param {string[]} args after `run --out DIR`
 */
function profileRun(host, label, args) {
  const out = join(scratch, `${label}-${host}`);
  const [cmd, pre] = host === 'native' ? [wprof, []] : [process.execPath, [wprofNode]];
  const r = spawnSync(cmd, [...pre, 'run', '--out', out, ...args], { maxBuffer: 64 << 20 });
  assert.ok(existsSync(join(out, 'summary.json')), `${host} wrote no summary.json:\n${r.stderr}`);
  const file = (/** @type {string} */ name) => readFileSync(join(out, name));
  return {
    status: r.status,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    files: readdirSync(out).sort(),
    callsFolded: file('calls.folded').toString(),
    summary: JSON.parse(file('summary.json').toString()),
  };
}

/** The call-count part of a summary: every function, order-independent. @param {any} s */
function callProfile(s) {
  return {
    mode: s.mode,
    exit: { kind: s.exit.kind, code: s.exit.code },
    functions: s.functions
      .map((/** @type {any} */ f) => `${f.index ?? '-'} ${f.name} ${f.calls}`)
      .sort(),
    contexts: s.contexts,
    invoke: s.invoke && { export: s.invoke.export, args: s.invoke.args, repeat: s.invoke.repeat, results: s.invoke.results, count: s.invoke.latency.count },
  };
}

/**
 * Profiles with both hosts and compares; returns the Node run.
 * @param {string} label
 * @param {string[]} args
 */
function assertParity(label, args) {
  const native = profileRun('native', label, args);
  const node = profileRun('node', label, args);
  assert.equal(node.status, native.status, `exit status\nnative: ${native.stderr}\nnode: ${node.stderr}`);
  assert.equal(node.stdout, native.stdout, 'guest stdout');
  assert.deepEqual(node.files, native.files, 'output files');
  assert.equal(node.callsFolded, native.callsFolded, 'calls.folded');
  assert.deepEqual(callProfile(node.summary), callProfile(native.summary), 'summary.json call counts');
  assert.ok(node.callsFolded.length > 0, 'calls.folded is not empty');
  return node;
}

/** @param {string} name */
function expected(name) {
  return JSON.parse(readFileSync(join(expectedDir, `${name}.json`), 'utf8'));
}

/** The expected calls must hold in Node too (not just equal native). @param {any} summary @param {Record<string, number>} calls */
function assertCalls(summary, calls) {
  for (const [name, n] of Object.entries(calls)) {
    const f = summary.functions.find((/** @type {any} */ f) => f.name === name);
    assert.equal(f?.calls, n, `calls of ${name}`);
  }
}

const commands = ['fib', 'calls', 'panic', 'exit', 'hot', 'many_calls', 'callheavy'];

describe('native and Node give the same call-count profile', () => {
  for (const name of commands) {
    test(name, () => {
      const exp = expected(name);
      const node = assertParity(name, [join(guests, exp.module), '--', ...exp.args]);
      assertCalls(node.summary, exp.calls);
      assert.equal(node.status, exp.exit_code);
      assert.equal(node.summary.exit.kind, exp.exit_kind);
      assert.equal(node.stdout, exp.stdout);
      for (const [i, v] of (exp.variants ?? []).entries()) {
        const run = assertParity(`${name}-${i}`, [join(guests, exp.module), '--', ...v.args]);
        assertCalls(run.summary, v.calls);
      }
    });
  }

  test('reactor --invoke', () => {
    const exp = expected('reactor');
    for (const [i, inv] of exp.invocations.entries()) {
      const args = ['--invoke', inv.invoke, ...inv.args.flatMap((/** @type {string} */ a) => ['--arg', a])];
      const node = assertParity(`reactor-${i}`, [...args, join(guests, exp.module)]);
      assertCalls(node.summary, inv.calls);
      assert.equal(node.status, inv.exit_code);
      if (Array.isArray(inv.results)) assert.deepEqual(node.summary.invoke.results, inv.results);
    }
    const node = assertParity('reactor-repeat', ['--invoke', 'fib', '--arg', '15', '--repeat', '20', join(guests, exp.module)]);
    assert.equal(node.summary.invoke.latency.count, 20);
  });

  test('an artifact of `wprof instrument` runs as is', () => {
    const artifact = join(scratch, 'calls.wprof.wasm');
    sh(wprof, ['instrument', join(guests, 'calls.wasm'), '-o', artifact]);
    assertParity('artifact', [artifact]);
  });
});

describe('the wasm toolkit instruments byte-identically to `wprof instrument`', () => {
  const modules = [...commands, 'reactor'];
  for (const name of modules) {
    test(name, async () => {
      const toolkit = await loadNodeToolkit();
      const input = join(guests, `${name}.wasm`);
      for (const strip of [false, true]) {
        const out = join(scratch, `${name}${strip ? '-stripped' : ''}.native.wasm`);
        sh(wprof, ['instrument', input, '-o', out, ...(strip ? ['--strip-dwarf'] : [])]);
        const js = toolkit.instrument(readFileSync(input), strip);
        const native = readFileSync(out);
        if (!Buffer.from(js).equals(native)) {
          writeFileSync(`${out}.js.wasm`, js);
          assert.fail(`${name}${strip ? ' (--strip-dwarf)' : ''}: artifacts differ; see ${out} and ${out}.js.wasm`);
        }
      }
    });
  }
});
