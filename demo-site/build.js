#!/usr/bin/env node
// Builds the demo site into demo-site/dist/: the page (src/), the two
// packages as a user installs them (@wprof/wasi, @wprof/profiler with its
// wasm toolkit) under vendor/, and the bundled example modules with their
// manifest. Plain ES modules, no bundler: the page and its workers import
// the packages by relative path, which also works in workers (no import
// maps there).
//
// Examples come from the test suite's guest builds (target/guests/); a
// missing one is built with its toolchain when that is installed, else left
// out with a note (WPROF_REQUIRE_EXAMPLES=1 makes that an error).

import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const site = fileURLToPath(new URL('./', import.meta.url));
const repo = join(site, '..');
const dist = join(site, 'dist');
const guests = join(repo, 'target/guests');

/** The directory of an installed package, found the way a user's tooling finds it. @param {string} name */
function packageDir(name) {
  return dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
}

/**
 * @typedef {object} Example
 * @property {string} file name in dist/examples/
 * @property {string} title
 * @property {string} about
 * @property {string[]} [args]
 * @property {boolean} [memory] run with memory profiling
 * @property {string} source where the build takes it from
 * @property {(() => string[] | null)} [build] the command that makes `source`, null without a toolchain
 */

const rustBuild = () => [
  'cargo', 'build', '--release', '--manifest-path', join(repo, 'tests/guests/rust/Cargo.toml'),
  '--target-dir', guests, '--target', 'wasm32-wasip1', '--workspace',
];

/** @type {Example[]} */
const EXAMPLES = [
  {
    file: 'fib.wat',
    title: 'fib(27) in WebAssembly text',
    about: 'A hand-written WASI command: 635,621 recursive calls of fib. The toolkit assembles .wat itself.',
    source: join(repo, 'tests/examples/fib.wat'),
  },
  {
    file: 'calls.wasm',
    title: 'Rust: a call tree with known counts',
    about: 'Loops, early returns, recursion and dynamic dispatch; every count is documented in tests/guests/rust/expected/calls.json.',
    source: join(guests, 'wasm32-wasip1/release/calls.wasm'),
    build: rustBuild,
  },
  {
    file: 'callheavy.wasm',
    title: 'Rust: recursive fib(32), 7 million calls',
    about: 'Call-heavy: CPU time concentrates in one hot function.',
    source: join(guests, 'wasm32-wasip1/release/callheavy.wasm'),
    build: rustBuild,
  },
  {
    file: 'alloc.wasm',
    title: 'C: the malloc family (memory profiling)',
    about: 'wasi-libc malloc, calloc, realloc in place and moving, posix_memalign, churn; with --memory.',
    memory: true,
    source: join(guests, 'c/alloc.wasm'),
    build: () => (tool('clang', ['--version']) && existsSync('/usr/include/wasm32-wasi')
      ? ['clang', '--target=wasm32-wasi', '-O2', join(repo, 'tests/guests/c/alloc.c'), '-o', join(guests, 'c/alloc.wasm')]
      : null),
  },
  {
    file: 'leak.wasm',
    title: 'AssemblyScript: the unmanaged leak',
    about: 'GC heap flat, linear memory growing: the untracked-growth alarm names rememberRequest.',
    memory: true,
    source: join(guests, 'as/leak.wasm'),
    build: () => {
      const asc = join(repo, 'node_modules/assemblyscript/bin/asc.js');
      if (!existsSync(asc)) return null;
      return [process.execPath, asc, join(repo, 'tests/guests/as/leak.ts'), '--config',
        join(repo, 'node_modules/@assemblyscript/wasi-shim/asconfig.json'), '-O2', '--debug', '-o', join(guests, 'as/leak.wasm')];
    },
  },
];

/** Whether `cmd` runs. @param {string} cmd @param {string[]} args */
function tool(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function build() {
  rmSync(dist, { recursive: true, force: true });
  cpSync(join(site, 'src'), dist, { recursive: true });

  const wasi = packageDir('@wprof/wasi');
  const profiler = packageDir('@wprof/profiler');
  cpSync(join(wasi, 'src'), join(dist, 'vendor/wasi/src'), { recursive: true, filter: (f) => !f.endsWith('.d.ts') });
  cpSync(join(profiler, 'src'), join(dist, 'vendor/profiler/src'), { recursive: true, filter: (f) => !f.endsWith('.d.ts') });
  for (const f of ['wprof_browser.js', 'wprof_browser_bg.wasm']) {
    const from = join(profiler, 'wasm', f);
    if (!existsSync(from)) throw new Error(`${from} is missing: run \`npm run build:wasm\` first`);
    mkdirSync(join(dist, 'vendor/profiler/wasm'), { recursive: true });
    copyFileSync(from, join(dist, 'vendor/profiler/wasm', f));
  }

  mkdirSync(join(dist, 'examples'), { recursive: true });
  /** @type {Omit<Example, 'source' | 'build'>[]} */
  const manifest = [];
  const built = new Set();
  for (const { source, build: command, ...example } of EXAMPLES) {
    if (!existsSync(source) && command && !built.has(command)) {
      built.add(command);
      const cmd = command();
      if (cmd) {
        mkdirSync(dirname(source), { recursive: true });
        const r = spawnSync(cmd[0], cmd.slice(1), { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
        if (r.status !== 0) console.error(`demo-site: building ${example.file} failed`);
      }
    }
    if (!existsSync(source)) {
      const note = `demo-site: example ${example.file} left out (${source} is missing and its toolchain is not installed)`;
      if (process.env.WPROF_REQUIRE_EXAMPLES) throw new Error(note);
      console.error(note);
      continue;
    }
    copyFileSync(source, join(dist, 'examples', example.file));
    manifest.push(example);
  }
  writeFileSync(join(dist, 'examples/index.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.error(`demo-site: built ${dist} (${manifest.length} examples)`);
}

build();
