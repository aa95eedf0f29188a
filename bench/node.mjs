// wprof's Node benchmark, in one invocation with interleaved rounds so
// machine drift hits every variant alike:
//
// 1. Probe overhead in Node: the uninstrumented module vs the instrumented
//    artifact linked to the probe runtime, both on the project's WASI
//    polyfill, on a call-heavy guest (callheavy fib(35), 29.9 M calls) and a
//    compute-heavy one (hot, ~20 calls). Each measurement is a fresh Node
//    process timing instantiate + `_start` (compilation excluded, JIT
//    tier-up included, as a user sees it). Targets: ≤ 2× call-heavy,
//    ≤ 1.3× typical.
// 2. The polyfill's fd_write / fd_read throughput against node:wasi
//    (node:wasi only here, as the baseline), same sink and source files,
//    large and small chunks.
//
// Usage: bench/node.sh [ROUNDS]   (builds the guests; default 7 rounds)
//        node bench/node.mjs [ROUNDS]

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from '../polyfill-js/wasi/src/index.js';
import { loadNodeToolkit } from '../polyfill-js/src/node/toolkit.js';
import { ProbeRuntime, readAbi } from '../polyfill-js/src/probe/index.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const guests = join(repo, 'target/guests/wasm32-wasip1/release');
const self = fileURLToPath(import.meta.url);

/** @param {number[]} v */
function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** @param {number} ns */
function ms(ns) {
  return `${(ns / 1e6).toFixed(1)} ms`;
}

// ---- child: one timed run ---------------------------------------------------

/**
 * Runs `path` once, plain or instrumented, and prints the run's nanoseconds.
 * @param {'plain' | 'instrumented'} variant
 * @param {string} path
 * @param {string[]} args
 */
async function child(variant, path, args) {
  const toolkit = await loadNodeToolkit();
  let bytes = new Uint8Array(readFileSync(path));
  /** @type {WebAssembly.Imports} */
  let probes = {};
  if (variant === 'instrumented') {
    // The run session instruments as `wprof-node run` does; the probe
    // runtime is sized by it (`--max-contexts` default).
    const session = new toolkit.Session(bytes, toolkit.defaultRunOptions(path), () => {}, "");
    bytes = /** @type {Uint8Array<ArrayBuffer>} */ (session.wasm());
    const params = session.runtime();
    session.free();
    if (params === undefined) throw new Error('the session planned no probe runtime');
    probes = new ProbeRuntime(toolkit, readAbi(toolkit), JSON.parse(params)).imports;
  }
  const module = new WebAssembly.Module(bytes);
  const wasi = new WASI({ args: ['guest.wasm', ...args], stdout: () => {}, stderr: () => {} });
  const t = process.hrtime.bigint();
  const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports, ...probes });
  const code = wasi.start(instance);
  const ns = Number(process.hrtime.bigint() - t);
  if (code !== 0) throw new Error(`guest exited with ${code}`);
  process.stdout.write(`${ns}\n`);
}

/** @param {'plain' | 'instrumented'} variant @param {string} path @param {string[]} args */
function timed(variant, path, args) {
  const r = spawnSync(process.execPath, [self, '--child', variant, path, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${variant} ${path} failed:\n${r.stderr}`);
  return Number(r.stdout.trim());
}

/** @param {number} rounds */
function overhead(rounds) {
  const cases = [
    { name: 'call-heavy callheavy fib(35)', path: join(guests, 'callheavy.wasm'), args: ['35'], calls: 29_860_703 },
    { name: 'compute-heavy hot', path: join(guests, 'hot.wasm'), args: [], calls: 21 },
  ];
  console.log(`Probe overhead in Node ${process.version} (${rounds} rounds, fresh process per run, medians)\n`);
  console.log('| guest | plain | instrumented | slowdown | extra ns per call |');
  console.log('|---|---|---|---|---|');
  for (const c of cases) {
    timed('plain', c.path, c.args); // warm the file cache
    /** @type {number[]} */ const plain = [];
    /** @type {number[]} */ const inst = [];
    /** @type {number[]} */ const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const p = timed('plain', c.path, c.args);
      const i = timed('instrumented', c.path, c.args);
      plain.push(p);
      inst.push(i);
      ratios.push(i / p);
    }
    // Per-call cost only means something when calls dominate the run.
    const extra = c.calls > 1000 ? ((median(inst) - median(plain)) / c.calls).toFixed(2) : '–';
    console.log(
      `| ${c.name} | ${ms(median(plain))} | ${ms(median(inst))} | **${median(ratios).toFixed(2)}×** | ${extra} |`,
    );
  }
  console.log('\nTargets: ≤ 2× call-heavy, ≤ 1.3× typical.\n');
}

// ---- I/O throughput -----------------------------------------------------------

/**
 * A guest writing `count` chunks of `chunk` bytes to stdout.
 * @param {number} chunk @param {number} count
 */
function writerWat(chunk, count) {
  return `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 2)
    (func (export "_start") (local $n i32)
      (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const ${chunk}))
      (local.set $n (i32.const ${count}))
      (loop $l
        (if (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (then unreachable))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))`;
}

/** A guest reading stdin to the end in `chunk`-byte reads. @param {number} chunk */
function readerWat(chunk) {
  return `(module
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 2)
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const ${chunk}))
      (loop $l
        (if (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)) (then unreachable))
        (br_if $l (i32.load (i32.const 8))))))`;
}

/** @param {number} rounds */
async function io(rounds) {
  const toolkit = await loadNodeToolkit();
  // node:wasi is the baseline only; it warns that it is experimental.
  process.removeAllListeners('warning');
  const { WASI: NodeWASI } = await import('node:wasi');
  const dir = mkdtempSync(join(tmpdir(), 'wprof-bench-'));
  const input = join(dir, 'input.bin');
  const size = 64 << 20;
  writeFileSync(input, new Uint8Array(size).fill(97));
  const output = join(dir, 'output.bin');
  const compile = (/** @type {string} */ wat) => new WebAssembly.Module(toolkit.readModule(new TextEncoder().encode(wat), 'io.wat'));

  /**
   * Times one run of `module`, with the polyfill or node:wasi, stdout to a
   * fresh file and stdin from `input` in both. A file rather than /dev/null
   * as the sink: /dev/null makes a syscall free and measures nothing real.
   * @param {'polyfill' | 'node:wasi'} host @param {WebAssembly.Module} module
   */
  const run = (host, module) => {
    const inFd = openSync(input, 'r');
    const outFd = openSync(output, 'w');
    try {
      if (host === 'node:wasi') {
        const wasi = new NodeWASI({ version: 'preview1', args: ['io'], stdin: inFd, stdout: outFd, returnOnExit: true });
        const t = process.hrtime.bigint();
        wasi.start(new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport }));
        return Number(process.hrtime.bigint() - t);
      }
      const buf = Buffer.alloc(64 << 10);
      const wasi = new WASI({
        args: ['io'],
        stdin: () => {
          const n = readSync(inFd, buf);
          return n === 0 ? null : buf.subarray(0, n);
        },
        stdout: (b) => {
          writeSync(outFd, b);
        },
      });
      const t = process.hrtime.bigint();
      wasi.start(new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports }));
      return Number(process.hrtime.bigint() - t);
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
  };

  const cases = [
    { name: 'fd_write 64 KiB × 1024', module: compile(writerWat(65536, 1024)), bytes: 65536 * 1024 },
    { name: 'fd_write 64 B × 200,000', module: compile(writerWat(64, 200_000)), bytes: 64 * 200_000 },
    { name: 'fd_read 64 KiB chunks, 64 MiB', module: compile(readerWat(65536)), bytes: size },
    { name: 'fd_read 64 B chunks, 64 MiB', module: compile(readerWat(64)), bytes: size },
  ];
  console.log(`WASI throughput: the polyfill vs node:wasi (${rounds} rounds, medians; stdout → file, stdin ← file, both in $TMPDIR)\n`);
  console.log('| case | node:wasi | polyfill | polyfill / node:wasi |');
  console.log('|---|---|---|---|');
  const mbps = (/** @type {number} */ bytes, /** @type {number} */ ns) => `${((bytes / ns) * 1e3).toFixed(0)} MB/s`;
  for (const c of cases) {
    run('polyfill', c.module);
    run('node:wasi', c.module);
    /** @type {number[]} */ const base = [];
    /** @type {number[]} */ const ours = [];
    /** @type {number[]} */ const ratios = [];
    for (let r = 0; r < rounds; r++) {
      const b = run('node:wasi', c.module);
      const o = run('polyfill', c.module);
      base.push(b);
      ours.push(o);
      ratios.push(b / o);
    }
    console.log(
      `| ${c.name} | ${mbps(c.bytes, median(base))} | ${mbps(c.bytes, median(ours))} | **${median(ratios).toFixed(2)}×** |`,
    );
  }
  console.log('\n(ratio > 1: the polyfill is faster)');
  rmSync(dir, { recursive: true, force: true });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(/** @type {'plain' | 'instrumented'} */ (argv[1]), argv[2], argv.slice(3));
} else {
  const rounds = Number(argv[0] ?? 7);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`error: ROUNDS must be a positive integer, not ${argv[0]}`);
    process.exit(2);
  }
  overhead(rounds);
  await io(rounds);
}
