// Native-vs-Node parity: guests of the native tests are profiled by
// `wprof run` (wasmtime) and by `wprof-node run` (WASI polyfill + wasm
// toolkit), and what is deterministic must be identical:
//
// - call counts: `calls.folded` byte for byte, summary.json's functions and
//   calls, how the guest ended, its stdout and wprof's exit code, on every
//   Rust guest of profiler/tests/all/guests.rs (tests/guests/rust/expected),
//   and with `--invoke` the results printed after it, strings passed and
//   returned through the guest's memory included;
// - memory (`--memory`): summary.json's `memory` section on the Rust, C and
//   AssemblyScript guests of profiler/tests/all/memory.rs, and the heap
//   dumps of `--heap-dump-every`;
// - the closing line `profile written to DIR/ (…)`, which must list exactly
//   the files in DIR;
// - the artifact the wasm toolkit instruments, byte for byte with
//   `wprof instrument` (with and without memory probes).
//
// Guests are built as profiler/tests/all/support.rs builds them, into the
// same target/guests/ (so a `cargo test` run's builds are reused): Rust with
// cargo, C with clang --target=wasm32-wasi, AssemblyScript with the npm
// workspace's asc. Without clang or asc those cases are skipped with a
// message, unless WPROF_REQUIRE_CLANG / WPROF_REQUIRE_AS is set. Builds
// target/release/wprof when missing. The wasm toolkit must have been built
// with `npm run build:wasm`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { loadNodeToolkit, toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const guestsManifest = join(repo, 'tests/guests/rust/Cargo.toml');
const guestsTarget = join(repo, 'target/guests');
const guests = join(guestsTarget, 'wasm32-wasip1/release');
const libraries = join(guestsTarget, 'wasm32-unknown-unknown/release');
const expectedDir = join(repo, 'tests/guests/rust/expected');
const wprof = join(repo, 'target/release/wprof');
const wprofNode = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-parity-'));

/** @param {string} cmd @param {string[]} args @param {string} [cwd] */
function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(r.status, 0, `\`${cmd} ${args.join(' ')}\` failed`);
}

/** support.rs `rust_guests` and the wasm32-unknown-unknown `memlib` of memory.rs. */
function buildRustGuests() {
  // Cargo decides whether anything is stale; a fresh build is a no-op.
  const common = ['build', '--release', '--manifest-path', guestsManifest, '--target-dir', guestsTarget];
  sh('cargo', [...common, '--target', 'wasm32-wasip1', '--workspace']);
  sh('cargo', [...common, '--target', 'wasm32-unknown-unknown', '-p', 'memlib']);
}

before(() => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  buildRustGuests();
  if (!existsSync(wprof)) sh('cargo', ['build', '--release', '-p', 'wprof'], repo);
});

/**
 * A guest of another language, as support.rs `built` makes it: under
 * target/guests/<lang>/, rebuilt when missing or older than its source.
 * Returns null (the caller skips) when the toolchain is missing, unless
 * `require` names a set environment variable.
 * @param {string} lang
 * @param {string} name
 * @param {string} source relative to the repository
 * @param {string} require
 * @param {() => string[] | null} command the build command, null without a toolchain
 * @returns {string | null}
 */
function otherGuest(lang, name, source, require, command) {
  const wasm = join(guestsTarget, lang, `${name}.wasm`);
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= statSync(join(repo, source)).mtimeMs) return wasm;
  const cmd = command();
  if (cmd === null) {
    assert.ok(!process.env[require], `${require} is set but the ${lang} toolchain is missing`);
    return null;
  }
  mkdirSync(join(guestsTarget, lang), { recursive: true });
  const [exe, ...args] = cmd;
  const r = spawnSync(exe, [...args, '-o', wasm], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `building ${lang} guest ${name} failed:\n${r.stderr}`);
  return wasm;
}

/** support.rs `c_guest`. @param {string} name */
function cGuest(name) {
  const source = `tests/guests/c/${name}.c`;
  return otherGuest('c', name, source, 'WPROF_REQUIRE_CLANG', () => {
    const clang = spawnSync('clang', ['--version']);
    if (clang.error || clang.status !== 0 || !existsSync('/usr/include/wasm32-wasi')) return null;
    return ['clang', '--target=wasm32-wasi', '-O2', source];
  });
}

/** support.rs `as_guest`: a WASI command through the shim, or a library. @param {string} name @param {boolean} shim */
function asGuest(name, shim) {
  const source = `tests/guests/as/${name}.ts`;
  return otherGuest('as', name, source, 'WPROF_REQUIRE_AS', () => {
    const asc = join(repo, 'node_modules/assemblyscript/bin/asc.js');
    if (!existsSync(asc)) return null;
    const kind = shim ? ['--config', './node_modules/@assemblyscript/wasi-shim/asconfig.json'] : ['--use', 'abort='];
    return [process.execPath, asc, source, ...kind, '-O2', '--debug'];
  });
}

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
    out,
    status: r.status,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    files: readdirSync(out)
      .filter((name) => !name.startsWith('.'))
      .sort(),
    callsFolded: file('calls.folded').toString(),
    summary: JSON.parse(file('summary.json').toString()),
  };
}

/**
 * The call-count part of a summary: every counted function, order-independent
 * (host-call frames such as `fd_write` have time only, and only when sampled).
 * @param {any} s
 */
function callProfile(s) {
  return {
    mode: s.mode,
    exit: { kind: s.exit.kind, code: s.exit.code },
    functions: s.functions
      .filter((/** @type {any} */ f) => f.calls !== null)
      .map((/** @type {any} */ f) => `${f.index ?? '-'} ${f.name} ${f.calls}`)
      .sort(),
    contexts: s.contexts,
    invoke: s.invoke && { export: s.invoke.export, args: s.invoke.args, repeat: s.invoke.repeat, results: s.invoke.results, count: s.invoke.latency.count },
  };
}

/**
 * Profiles with both hosts and compares; returns both runs. Exact: the
 * polyfill fills and drains vectored buffers as wasmtime-wasi does (only
 * the first non-empty one), so even musl's stdio loops the same.
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
  return { native, node };
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
      const { node } = assertParity(name, [join(guests, exp.module), '--', ...exp.args]);
      assertCalls(node.summary, exp.calls);
      assert.equal(node.status, exp.exit_code);
      assert.equal(node.summary.exit.kind, exp.exit_kind);
      assert.equal(node.stdout, exp.stdout);
      for (const [i, v] of (exp.variants ?? []).entries()) {
        const run = assertParity(`${name}-${i}`, [join(guests, exp.module), '--', ...v.args]);
        assertCalls(run.node.summary, v.calls);
      }
    });
  }

  test('c: stdio reads of a file (vectored reads)', (t) => {
    const guest = cGuest('fread');
    if (!guest) return t.skip('clang --target=wasm32-wasi is not installed');
    const data = mkdtempSync(join(scratch, 'fread-'));
    // 40,000 bytes in lines of varying length: many short and long reads.
    const lines = Array.from({ length: 800 }, (_, i) => 'x'.repeat(i % 97) + `-${i}`);
    writeFileSync(join(data, 'in.txt'), lines.join('\n'));
    const { native } = assertParity('fread', ['--dir', `${data}::/data`, guest]);
    assert.match(native.stdout, /^\d+ bytes, 800 lines, checksum \d+\n$/);
  });

  test('reactor --invoke', () => {
    const exp = expected('reactor');
    for (const [i, inv] of exp.invocations.entries()) {
      const args = ['--invoke', inv.invoke, ...inv.args.flatMap((/** @type {string} */ a) => ['--arg', a])];
      if (inv.result) args.push('--result', inv.result);
      if (inv.repeat) args.push('--repeat', String(inv.repeat));
      const { node } = assertParity(`reactor-${i}`, [...args, join(guests, exp.module)]);
      assertCalls(node.summary, inv.calls);
      assert.equal(node.status, inv.exit_code);
      // The results printed after the guest's output (equal natively, above).
      assert.equal(node.stdout, inv.stdout, `stdout of ${args.join(' ')}`);
      assert.deepEqual(node.summary.invoke.args, inv.args);
      if (Array.isArray(inv.results)) {
        assert.deepEqual(node.summary.invoke.results, inv.results);
        assert.equal(node.summary.invoke.latency.count, inv.repeat ?? 1);
      }
    }
    const { node } = assertParity('reactor-repeat', ['--invoke', 'fib', '--arg', '15', '--repeat', '20', join(guests, exp.module)]);
    assert.equal(node.summary.invoke.latency.count, 20);
  });

  test('--invoke with strings: two results, malloc, and a result outside memory', () => {
    const wat = join(repo, 'tests/guests/wat/strings.wat');
    const { node } = assertParity('strings-repeat', ['--invoke', 'repeat', '--arg', 'str:ab', '--arg', '3', '--result', 'str', '--repeat', '4', wat]);
    assert.equal(node.stdout, 'ababab\n');
    assertCalls(node.summary, { malloc: 8, repeat: 4 });
    assert.match(node.callsFolded, /^malloc 4$/m);
    const lost = assertParity('strings-lost', ['--invoke', 'lost', '--result', 'str', wat]);
    assert.equal(lost.node.stdout, '65000\n1000\n');
    const warning = /warning: --result str: cannot read the last call's result: .* run past the end of memory/;
    assert.match(lost.node.stderr, warning);
    assert.match(lost.native.stderr, warning);
  });

  test('an artifact of `wprof instrument` runs as is', () => {
    const artifact = join(scratch, 'calls.wprof.wasm');
    sh(wprof, ['instrument', join(guests, 'calls.wasm'), '-o', artifact]);
    assertParity('artifact', [artifact]);
  });
});

/**
 * The `memory` section of summary.json without what legitimately differs
 * between hosts: the collector's pause times (`gc.total_ns`,
 * `gc.max_pause_ns`, `gc.p50_pause_ns`, `gc.p99_pause_ns`), which are wall
 * time of the guest's own code under another engine. Everything else —
 * counts, bytes, sites and their stacks, grows, hooks, the alarm, GC cycles
 * and pauses counted — comes from the same probe events and must match.
 * (Peak RSS and wall time are outside this section; they are the host's.)
 * @param {any} summary
 */
function memoryProfile(summary) {
  const m = structuredClone(summary.memory);
  assert.ok(m, 'summary.json has a memory section');
  if (m.gc) {
    for (const timing of ['total_ns', 'max_pause_ns', 'p50_pause_ns', 'p99_pause_ns']) delete m.gc[timing];
  }
  return m;
}

/** The `--invoke` GC split, without its times: which calls had GC is deterministic. @param {any} summary */
function invokeGc(summary) {
  const gc = summary.invoke?.gc;
  return gc && { calls_with_gc: gc.calls_with_gc, count: gc.latency_without_gc.count };
}

/**
 * Profiles with `--memory` on both hosts and compares the memory sections.
 * @param {string} label
 * @param {string[]} args
 */
function assertMemoryParity(label, args) {
  const runs = assertParity(label, ['--memory', ...args]);
  const [native, node] = [memoryProfile(runs.native.summary), memoryProfile(runs.node.summary)];
  // The fields the acceptance criterion names first, for a readable failure.
  const headline = (/** @type {any} */ m) => ({
    allocations: m.allocations,
    allocated_bytes: m.allocated_bytes,
    frees: m.frees,
    live_bytes: m.live_bytes,
    grows: m.grows,
    grown_bytes: m.grown_bytes,
    untracked_growth_bytes: m.untracked_growth_bytes,
    top_sites: m.top_sites.map((/** @type {any} */ s) => ({
      stack: s.stack,
      allocs: s.allocs,
      alloc_bytes: s.alloc_bytes,
      frees: s.frees,
      live: s.live,
      live_bytes: s.live_bytes,
    })),
  });
  assert.deepEqual(headline(node), headline(native), 'memory: totals and top sites');
  assert.deepEqual(node, native, 'memory section');
  assert.deepEqual(invokeGc(runs.node.summary), invokeGc(runs.native.summary), 'invoke: calls with GC');
  assert.ok(native.allocations > 0, 'the guest allocated');
  return runs;
}

describe('native and Node give the same memory profile (--memory)', () => {
  test('rust: leak, churn and raw grow', () => {
    const { node } = assertMemoryParity('mem-rust', [join(guests, 'memory.wasm')]);
    assert.equal(node.stdout, 'memory guest done\n');
    assert.equal(node.summary.memory.untracked_growth_bytes, 3 * 65536);
  });

  test('rust: wasm32-unknown-unknown library, --invoke', () => {
    assertMemoryParity('mem-rust-lib', ['--invoke', 'handle', '--repeat', '20', join(libraries, 'memlib.wasm')]);
  });

  test('--invoke with a string argument: the allocations wprof makes are the guest\'s', () => {
    // Four events per call (the argument's allocation, call start, repeat's
    // own allocation, call end) fill the 8192-record batch after call 2048,
    // so call 2049's argument allocation hands the batch to the session
    // while the session is writing that argument into the guest.
    const wat = join(repo, 'tests/guests/wat/strings.wat');
    const args = ['--invoke', 'repeat', '--arg', 'str:ab', '--arg', '1', '--result', 'str', '--repeat', '2049', wat];
    const { node } = assertMemoryParity('mem-strings', args);
    assert.equal(node.summary.memory.allocations, 2 * 2049);
    assert.equal(node.stdout, 'ab\n');
  });

  test('c: the malloc family', (t) => {
    const guest = cGuest('alloc');
    if (!guest) return t.skip('clang --target=wasm32-wasi is not installed');
    const { node } = assertMemoryParity('mem-c', [guest]);
    assert.deepEqual(node.summary.memory.hooks.allocators, ['libc']);
  });

  test('assemblyscript: unmanaged growth alarm, with a collector', (t) => {
    const guest = asGuest('leak', true);
    if (!guest) return t.skip('AssemblyScript (npm install) is not installed');
    const { node } = assertMemoryParity('mem-as', [guest]);
    assert.ok(node.summary.memory.gc.pauses > 1000);
    assert.match(node.stderr, /^wprof-node: memory alarm: .*unmanaged/m);
  });

  test('assemblyscript: GC latency split, --invoke', (t) => {
    const lib = asGuest('gclib', false);
    if (!lib) return t.skip('AssemblyScript (npm install) is not installed');
    const { node } = assertMemoryParity('mem-as-gc', ['--invoke', 'handle', '--repeat', '2000', lib]);
    assert.ok(node.summary.invoke.gc.calls_with_gc > 0);
  });

  test('--invoke … --heap-dump-every writes the same dumps', () => {
    const args = ['--invoke', 'handle', '--repeat', '150', '--heap-dump-every', '50', join(guests, 'memlib.wasm')];
    const { native, node } = assertParity('mem-dumps', args);
    const dumps = (/** @type {string[]} */ files) => files.filter((f) => /^heap-\d{3}\.wheap$/.test(f));
    assert.deepEqual(dumps(native.files), ['heap-001.wheap', 'heap-002.wheap', 'heap-003.wheap']);
    assert.deepEqual(dumps(node.files), dumps(native.files), 'dump count');
    /** Live bytes per allocation site of a dump, read by the native `wprof heap show`. @param {string} path */
    const sites = (path) => {
      const r = spawnSync(wprof, ['heap', 'show', '--json', path], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return Object.fromEntries(
        JSON.parse(r.stdout).top_sites.map((/** @type {any} */ s) => [s.stack, { live: s.live, live_bytes: s.live_bytes }]),
      );
    };
    const remembered = [];
    for (const dump of dumps(native.files)) {
      const nativeSites = sites(join(native.out, dump));
      assert.deepEqual(sites(join(node.out, dump)), nativeSites, `${dump}: live bytes by site`);
      const leak = Object.entries(nativeSites).find(([stack]) => stack.endsWith('memlib::remember'));
      remembered.push(leak?.[1].live);
    }
    assert.deepEqual(remembered, [50, 100, 150], 'one remembered block per call, dumped every 50 calls');
  });
});

/**
 * The closing line of a run: `PREFIX: profile written to DIR/ (a, b, c)`.
 * @param {string} stderr
 * @param {string} prefix
 */
function closingLine(stderr, prefix) {
  const lines = stderr.split('\n').filter((l) => l.startsWith(`${prefix}: profile written to `));
  assert.equal(lines.length, 1, `one closing line in:\n${stderr}`);
  const m = /^[^:]+: profile written to (.*\/) \((.*)\)$/.exec(lines[0]);
  assert.ok(m, lines[0]);
  return { location: m[1], files: m[2].split(', ') };
}

describe('the closing line lists exactly the files written, on both hosts', () => {
  const cases = [
    { label: 'plain', args: () => [join(guests, 'calls.wasm')] },
    { label: 'memory', args: () => ['--memory', join(guests, 'memory.wasm')] },
  ];
  for (const c of cases) {
    test(c.label, () => {
      /** @type {Record<string, string[]>} */
      const listed = {};
      for (const [host, prefix] of /** @type {const} */ ([['native', 'wprof'], ['node', 'wprof-node']])) {
        const r = profileRun(host, `closing-${c.label}`, c.args());
        assert.equal(r.status, 0, r.stderr);
        const line = closingLine(r.stderr, prefix);
        assert.equal(line.location, `${r.out}/`, `${host}: DIR is --out`);
        assert.equal(new Set(line.files).size, line.files.length, `${host}: no file listed twice`);
        assert.deepEqual([...line.files].sort(), r.files, `${host}: the line lists exactly the files in DIR`);
        listed[host] = [...line.files].sort();
      }
      assert.deepEqual(listed.node, listed.native, 'both hosts write the same files');
    });
  }
});

describe('the wasm toolkit instruments byte-identically to `wprof instrument`', () => {
  /** @type {[string, boolean][]} module, memory probes */
  const modules = [...[...commands, 'reactor'].map((n) => /** @type {[string, boolean]} */ ([n, false])), ['memory', true], ['memlib', true]];
  for (const [name, memory] of modules) {
    test(`${name}${memory ? ' --memory' : ''}`, async () => {
      const toolkit = await loadNodeToolkit();
      const input = join(guests, `${name}.wasm`);
      for (const strip of [false, true]) {
        const flags = [...(strip ? ['--strip-dwarf'] : []), ...(memory ? ['--memory'] : [])];
        const out = join(scratch, `${name}${flags.join('')}.native.wasm`);
        sh(wprof, ['instrument', input, '-o', out, ...flags]);
        const js = toolkit.instrument(readFileSync(input), strip, memory);
        const native = readFileSync(out);
        if (!Buffer.from(js).equals(native)) {
          writeFileSync(`${out}.js.wasm`, js);
          assert.fail(`${name} ${flags.join(' ')}: artifacts differ; see ${out} and ${out}.js.wasm`);
        }
      }
    });
  }
});
