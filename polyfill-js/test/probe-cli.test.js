// `wprof-node` as users run it: exit codes mirroring the guest and wprof's
// conventions, `error:` lines without stack traces, --dir/--env reaching the
// guest, and outputs written whatever way the guest ended.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';

const cli = fileURLToPath(new URL('../bin/wprof-node.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-node-cli-'));

before(() => assert.ok(toolkitBuilt(), NOT_BUILT));

/** @param {string[]} args */
function wprofNode(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: scratch });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** @param {string} name @param {string} wat */
function guest(name, wat) {
  const path = join(scratch, name);
  writeFileSync(path, wat);
  return path;
}

/** Checks the stderr of a wprof failure: one `error:` line first, no stack. @param {string} stderr */
function assertCleanError(stderr) {
  assert.match(stderr, /^error: /);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

// Copies in.txt of its preopen to stdout and out.txt, and prints $GREETING.
// Any failing syscall exits with 10 + errno.
const COPY = `(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "in.txt")
  (data (i32.const 120) "out.txt")
  (func $check (param i32) (if (local.get 0) (then (call $exit (i32.add (i32.const 10) (local.get 0))))))
  (func $copy
    (call $check (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 6) (i32.const 0)
                             (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 512))
    (call $check (call $read (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (call $check (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
    (call $check (call $open (i32.const 3) (i32.const 0) (i32.const 120) (i32.const 7) (i32.const 1)
                             (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200)))
    (call $check (call $write (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 12))))
  (func $env
    ;; environ pointers at 300, strings at 2048; print the first one.
    (call $check (call $environ (i32.const 300) (i32.const 2048)))
    (i32.store (i32.const 0) (i32.const 2048)) (i32.store (i32.const 4) (i32.const 11))
    (call $check (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12))))
  (func (export "_start") (call $copy) (call $env)))`;

test('--dir and --env reach the guest; its writes come back to the host', () => {
  const data = join(scratch, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'in.txt'), 'payload\n');
  const r = wprofNode(['run', '--dir', `${data}::/data`, '--env', 'GREETING=hi', '--out', 'dir-out', guest('copy.wat', COPY)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'payload\nGREETING=hi');
  assert.equal(readFileSync(join(data, 'out.txt'), 'utf8'), 'payload\n');
  const summary = JSON.parse(readFileSync(join(scratch, 'dir-out/summary.json'), 'utf8'));
  // Counted functions only: WASI calls appear as frames when sampled, with
  // time and no count.
  assert.deepEqual(
    summary.functions
      .filter((/** @type {any} */ f) => f.calls !== null)
      .map((/** @type {any} */ f) => `${f.name} ${f.calls}`)
      .sort(),
    ['_start 1', 'check 7', 'copy 1', 'env 1'],
  );
});

test('the exit code mirrors the guest; traps give 134; outputs are always written', () => {
  const exit = guest('exit.wat', `(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 42))))`);
  let r = wprofNode(['run', '-o', 'exit-out', exit]);
  assert.equal(r.status, 42, r.stderr);
  assert.ok(existsSync(join(scratch, 'exit-out/flamegraph.svg')));

  const big = guest('big.wat', `(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 300))))`);
  assert.equal(wprofNode(['run', '--out=big-out', big]).status, 1, 'codes outside 0-255 become 1');
  assert.equal(JSON.parse(readFileSync(join(scratch, 'big-out/summary.json'), 'utf8')).exit.code, 300);

  const trap = guest('trap.wat', '(module (memory (export "memory") 1) (func (export "_start") unreachable))');
  r = wprofNode(['run', '--out', 'trap-out', trap]);
  assert.equal(r.status, 134);
  assert.match(r.stderr, /guest trapped: wasm trap: unreachable/);
  assert.equal(readFileSync(join(scratch, 'trap-out/calls.folded'), 'utf8'), '_start 1\n');
});

test('bad command lines exit 2', () => {
  const ok = guest('ok.wat', '(module (memory (export "memory") 1) (func (export "_start")))');
  for (const args of [
    ['run'],
    ['run', '--bogus', ok],
    ['run', '--mode', 'sample', ok],
    ['run', '--timeout', '1', ok],
    ['run', '--interval-us', '5', ok],
    ['run', '--repeat', '2', ok],
    ['run', '--invoke', 'f', '--repeat', '0', ok],
    ['run', '--max-contexts', '3', ok],
    ['run', '--env', 'NOEQUALS', ok],
    ['run', '--heap-dump-every', '2', ok],
    ['run', '--invoke', 'f', '--heap-dump-at', 'f:0', ok],
    ['run', '--arg', '-5', ok],
    ['run', ok, 'extra'],
    ['frobnicate'],
  ]) {
    const r = wprofNode(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assertCleanError(r.stderr);
  }
  const help = wprofNode(['run', '--help']);
  assert.equal(help.status, 0);
  // The session's flag table, with what Node cannot do marked.
  assert.match(help.stdout, /^ {6}--memory +Profile allocations/m);
  assert.match(help.stdout, /^ {6}--timeout <SECS> .*\(not in Node: /m);
  assert.match(help.stdout, /^Exit status:/m);
});

test('bad input exits 1 with an error: line and its causes', () => {
  let r = wprofNode(['run', join(scratch, 'missing.wasm')]);
  assert.equal(r.status, 1);
  assertCleanError(r.stderr);
  assert.match(r.stderr, /error: failed to read module `.*missing.wasm`\n\nCaused by:\n    ENOENT/);

  writeFileSync(join(scratch, 'text.wasm'), 'hello');
  r = wprofNode(['run', join(scratch, 'text.wasm')]);
  assert.equal(r.status, 1);
  assertCleanError(r.stderr);
  assert.match(r.stderr, /is not a WebAssembly module/);

  const lib = guest('lib.wat', '(module (func (export "f")))');
  r = wprofNode(['run', lib]);
  assert.equal(r.status, 1);
  // Each cause once, as `wprof` prints it.
  assert.match(r.stderr, /^error: cannot profile `.*lib.wat`\n\nCaused by:\n    module has no `_start` export[^\n]*\n$/);
  r = wprofNode(['run', '--invoke', 'g', lib]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /module has no exported function `g`; exported functions: f/);
  r = wprofNode(['run', '--invoke', 'f', '--heap-dump-at', 'g:1', lib]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--heap-dump-at g:N: dumps are taken between calls wprof makes, so EXPORT must be the --invoke export \(`f`\)/);
  r = wprofNode(['run', '--dir', join(scratch, 'nope'), lib]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--dir `.*nope` is not a directory/);
});

test('instrument writes the artifact', () => {
  const ok = guest('inst.wat', '(module (memory (export "memory") 1) (func (export "_start")))');
  const r = wprofNode(['instrument', ok, '-o', 'inst.wasm']);
  assert.equal(r.status, 0, r.stderr);
  const bytes = readFileSync(join(scratch, 'inst.wasm'));
  assert.ok(WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'wprof.abi').length === 1);
});

test('--out is checked before the guest runs; a reused one holds one run', () => {
  const ok = guest('hello.wat', `(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 8) "hi\\n")
    (func (export "_start") (i32.store (i32.const 0) (i32.const 8)) (i32.store (i32.const 4) (i32.const 3))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))`);
  writeFileSync(join(scratch, 'taken'), 'a file');
  let r = wprofNode(['run', '--out', 'taken', ok]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /exists and is not a directory/);
  assert.equal(r.stdout, '', 'the guest never ran');

  const dir = join(scratch, 'reused');
  mkdirSync(dir, { recursive: true });
  for (const stale of ['heap-009.wheap', 'memory.svg', '.summary.json.partial', 'notes.txt']) writeFileSync(join(dir, stale), 'old');
  r = wprofNode(['run', '--out', 'reused', ok]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['calls.folded', 'cpu.folded', 'cpu.pb.gz', 'flamegraph.svg', 'notes.txt', 'summary.json']);
});

test('instrumented artifacts are cached between runs, in the directory wprof uses', () => {
  const cache = join(scratch, 'artifact-cache');
  const ok = guest('cached.wat', '(module (memory (export "memory") 1) (func (export "_start")))');
  /** @param {string[]} extra */
  const run = (...extra) => {
    const r = spawnSync(process.execPath, [cli, 'run', '--out', 'cache-out', ...extra, ok], {
      cwd: scratch,
      env: { ...process.env, WPROF_CACHE_DIR: cache },
    });
    assert.equal(r.status, 0, r.stderr.toString());
  };
  const entries = () => (existsSync(cache) ? readdirSync(cache) : []);
  run('--no-cache');
  assert.deepEqual(entries(), [], '--no-cache writes no artifact');
  run();
  const [artifact, ...more] = entries();
  assert.equal(more.length, 0);
  assert.match(artifact, /^[0-9a-f]{64}-v[^-]+-abi\d+\.wasm$/, 'the native key format');
  const stamp = statSync(join(cache, artifact)).mtimeMs;
  run();
  assert.equal(statSync(join(cache, artifact)).mtimeMs, stamp, 'a hit rewrites nothing');
  writeFileSync(join(cache, artifact), 'garbage');
  run();
  assert.deepEqual([...readFileSync(join(cache, artifact)).subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'a damaged entry is replaced');
});
