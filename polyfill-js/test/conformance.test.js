// Native-vs-JS conformance: every guest under tests/conformance runs under
// wprof's native runner (wasmtime-wasi) and under this polyfill in Node, on
// copies of the same fixture tree at /sandbox; stdout, stderr, exit code and
// the resulting tree must be identical.
//
// Rust guests always run. C guests need clang with a WASI sysroot; without
// one they are skipped with a message, unless WPROF_REQUIRE_CLANG is set.
// wprof itself must be built (target/release/wprof); the project's test
// script builds it before the npm tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as nfs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI, Directory, File, Symlink } from '../wasi/src/index.js';
import { loadDirectory } from '../wasi/src/node/host-dir.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const conf = path.join(repo, 'tests/conformance');
const fixture = path.join(conf, 'fixture');
const wprof = path.join(repo, 'target/release/wprof');

/**
 * The guests and how each is run. `stdin` is fed to both runs.
 * @type {{ name: string, lang: 'rust' | 'c', args?: string[], env?: Record<string, string>, stdin?: string }[]}
 */
const CASES = [
  { name: 'args_env', lang: 'rust', args: ['0', 'two words', 'ünïcode'], env: { A: '1', EMPTY: '', 'B': 'x=y' } },
  { name: 'args_env', lang: 'rust', args: ['7'] },
  { name: 'clocks_poll', lang: 'rust' },
  { name: 'files', lang: 'rust' },
  { name: 'dirs', lang: 'rust' },
  { name: 'symlinks', lang: 'rust' },
  { name: 'escape', lang: 'rust' },
  { name: 'fds', lang: 'rust', stdin: 'first line\nsecond line\n' },
  { name: 'stdio_c', lang: 'c', args: ['x', 'y'], env: { GREETING: 'hi' }, stdin: 'one\ntwo\nthree\n' },
  { name: 'fs_c', lang: 'c' },
  { name: 'poll_c', lang: 'c' },
];

function buildRust() {
  execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: path.join(conf, 'rust'), stdio: 'inherit' });
  return path.join(conf, 'target/wasm32-wasip1/release');
}

/** Compiles the C guests; null when no WASI C toolchain is installed. */
function buildC() {
  const out = path.join(conf, 'out/c');
  nfs.mkdirSync(out, { recursive: true });
  const probe = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-o', path.join(out, 'probe.wasm'), '-x', 'c', '-'], {
    input: 'int main(void){return 0;}',
  });
  if (probe.error || probe.status !== 0) return null;
  for (const src of nfs.readdirSync(path.join(conf, 'c')).filter((f) => f.endsWith('.c'))) {
    const wasm = path.join(out, src.replace(/\.c$/, '.wasm'));
    execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', '-Werror', '-o', wasm, path.join(conf, 'c', src)], { stdio: 'inherit' });
  }
  return out;
}

/**
 * A tree as sorted lines: path, kind and content or target.
 * @param {Directory} dir
 * @param {string} [prefix]
 * @returns {string[]}
 */
function describe(dir, prefix = '') {
  return [...dir.entries].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([name, inode]) => {
    const p = prefix + name;
    if (inode instanceof Directory) return [`${p}/`, ...describe(inode, `${p}/`)];
    if (inode instanceof Symlink) return [`${p} -> ${inode.target}`];
    return [`${p} = ${JSON.stringify(Buffer.from(/** @type {File} */ (inode).data).toString('latin1'))}`];
  });
}

/**
 * @param {string} wasm
 * @param {typeof CASES[number]} c
 */
function runNative(wasm, c) {
  const tmp = nfs.mkdtempSync(path.join(os.tmpdir(), 'wprof-conf-'));
  const sandbox = path.join(tmp, 'sandbox');
  nfs.cpSync(fixture, sandbox, { recursive: true });
  const argv = ['run', '--mode', 'sample', '--out', path.join(tmp, 'out'), '--dir', `${sandbox}::/sandbox`];
  for (const [k, v] of Object.entries(c.env ?? {})) argv.push('--env', `${k}=${v}`);
  argv.push(wasm, '--', ...(c.args ?? []));
  const r = spawnSync(wprof, argv, { input: c.stdin ?? '', encoding: 'utf8' });
  assert.equal(r.error, undefined, `wprof could not start: ${r.error}`);
  // wprof's own messages are prefixed; everything else is the guest's.
  const stderr = r.stderr.split('\n').filter((l) => !l.startsWith('wprof: ')).join('\n');
  const tree = describe(loadDirectory(sandbox));
  nfs.rmSync(tmp, { recursive: true, force: true });
  return { stdout: r.stdout, stderr, code: r.status, tree };
}

/**
 * @param {string} wasm
 * @param {typeof CASES[number]} c
 */
async function runPolyfill(wasm, c) {
  const sandbox = loadDirectory(fixture);
  /** @type {Uint8Array[]} */
  const out = [];
  /** @type {Uint8Array[]} */
  const err = [];
  const wasi = new WASI({
    args: [path.basename(wasm), ...(c.args ?? [])],
    env: c.env ?? {},
    preopens: { '/sandbox': sandbox },
    stdin: c.stdin ?? '',
    stdout: (b) => out.push(b),
    stderr: (b) => err.push(b),
  });
  const { instance } = await WebAssembly.instantiate(nfs.readFileSync(wasm), { wasi_snapshot_preview1: wasi.imports });
  let code;
  try {
    code = wasi.start(instance);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    code = 134; // wprof's exit status for a trap
  }
  const text = (/** @type {Uint8Array[]} */ chunks) => Buffer.concat(chunks).toString('utf8');
  return { stdout: text(out), stderr: text(err).replace(/\n$/, ''), code, tree: describe(sandbox) };
}

test('native and polyfill runs agree', { timeout: 600_000 }, async (t) => {
  assert.ok(nfs.existsSync(wprof), `${wprof} is missing: run \`cargo build --release -p wprof\` first`);
  const rustDir = buildRust();
  const cDir = buildC();
  if (!cDir && process.env.WPROF_REQUIRE_CLANG) assert.fail('clang with a WASI sysroot is required (WPROF_REQUIRE_CLANG is set)');
  for (const c of CASES) {
    const label = `${c.name} ${JSON.stringify(c.args ?? [])}`;
    if (c.lang === 'c' && !cDir) {
      await t.test(label, { skip: 'clang --target=wasm32-wasi is not installed' }, () => {});
      continue;
    }
    await t.test(label, async () => {
      const wasm = path.join(c.lang === 'c' ? /** @type {string} */ (cDir) : rustDir, `${c.name}.wasm`);
      const native = runNative(wasm, c);
      const js = await runPolyfill(wasm, c);
      assert.equal(js.stdout, native.stdout, 'stdout differs');
      assert.equal(js.stderr, native.stderr.replace(/\n$/, ''), 'stderr differs');
      assert.equal(js.code, native.code, 'exit code differs');
      assert.deepEqual(js.tree, native.tree, 'resulting /sandbox tree differs');
      assert.doesNotMatch(native.stdout, /FAILED/, 'the guest reported a failed step');
    });
  }
});
