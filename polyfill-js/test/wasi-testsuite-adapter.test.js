// The WebAssembly/wasi-testsuite plumbing: the Python adapter module the
// suite's runner loads (every compute_argv shape it has used), and the Node
// adapter it launches, end to end on a small C guest: args, env, a mounted
// root, files written back, stdout and the exit status.
//
// Needs python3; the end-to-end part also needs clang with a WASI sysroot.
// Either missing skips that part.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nfs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const adapterPy = path.join(here, 'wasi-testsuite/adapter.py');
const adapterJs = path.join(here, 'wasi-testsuite-adapter.js');
const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : null;

/**
 * Loads adapter.py as the runner does and evaluates `expr` with it as `a`.
 * @param {string} expr a Python expression; its value is printed as JSON
 */
function py(expr) {
  const code = [
    'import importlib.util, json, sys',
    'from pathlib import Path',
    "spec = importlib.util.spec_from_file_location('adapter', sys.argv[1])",
    'a = importlib.util.module_from_spec(spec)',
    'spec.loader.exec_module(a)',
    `print(json.dumps(${expr}))`,
  ].join('\n');
  const r = spawnSync(/** @type {string} */ (python), ['-c', code, adapterPy], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('adapter.py is a module adapter and accepts every compute_argv shape', { skip: !python && 'python3 is not installed' }, () => {
  // The runner treats any --version output of the script as a legacy adapter.
  const r = spawnSync(/** @type {string} */ (python), [adapterPy, '--version'], { encoding: 'utf8' });
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, '', '']);
  assert.equal(py('a.get_name()'), 'wprof-polyfill-js');
  assert.match(py('a.get_version()'), /^\d+\.\d+\.\d+$/);
  assert.deepEqual(py('a.get_wasi_versions()'), ['wasm32-wasip1']);

  const tail = ['--test-file', 't.wasm', '--dir', 'd/fs-tests.dir::fs-tests.dir', '--env', 'K=a=b', '--arg', 'fs-tests.dir'];
  const dirs = "[(Path('d/fs-tests.dir'), 'fs-tests.dir')]";
  const shapes = [
    `a.compute_argv('t.wasm', ['fs-tests.dir'], {'K': 'a=b'}, ${dirs})`,
    `a.compute_argv('t.wasm', ['fs-tests.dir'], {'K': 'a=b'}, ${dirs}, 'wasm32-wasip1')`,
    `a.compute_argv('t.wasm', (['fs-tests.dir'], {'K': 'a=b'}, ${dirs}), [], 'wasm32-wasip1')`,
    `a.compute_argv('t.wasm', (['fs-tests.dir'], {'K': 'a=b'}, ${dirs}), [], 'wasi:cli/command', 'wasm32-wasip1')`,
    // What the current runner passes: the packed triple as a list.
    `a.compute_argv('t.wasm', [['fs-tests.dir'], {'K': 'a=b'}, ${dirs}], [], 'wasi:cli/command', 'wasm32-wasip1')`,
  ];
  for (const shape of shapes) assert.deepEqual(py(shape).slice(-tail.length), tail, shape);
  const rooted = py("a.compute_argv('t.wasm', ([], {}, Path('d/fs-tests.dir')), [], 'wasi:cli/command', 'wasm32-wasip1')");
  assert.deepEqual(rooted.slice(-4), ['--test-file', 't.wasm', '--dir', 'd/fs-tests.dir::/']);
  assert.deepEqual(py("a.compute_argv('t.wasm', ([], {}, None), [], 'wasi:cli/command', 'wasm32-wasip1')").slice(-2), ['--test-file', 't.wasm']);
  assert.ok(py("a.compute_argv('t.wasm', [], {}, [])").includes(adapterJs));
});

// A guest in the suite's style: relative paths under the root preopen,
// argv and environ checks, output on stdout, a chosen exit status.
const GUEST = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "the \\"second\\" arg") != 0 || strcmp(argv[2], "--x=y") != 0) return 10;
  const char *v = getenv("c");
  if (!v || strcmp(v, "new\\nline") != 0) return 11;
  FILE *in = fopen("input.txt", "r");
  char buf[16] = {0};
  if (!in || !fgets(buf, sizeof buf, in)) return 12;
  fclose(in);
  FILE *out = fopen("made.cleanup", "w");
  if (!out) return 13;
  fputs(buf, out);
  fclose(out);
  if (unlink("gone.txt") != 0) return 14;
  printf("hello");
  return 42;
}
`;

test('a suite-style guest runs through adapter.py and the Node adapter', { skip: !python && 'python3 is not installed' }, (t) => {
  const tmp = nfs.mkdtempSync(path.join(os.tmpdir(), 'wprof-suite-'));
  try {
    const wasm = path.join(tmp, 'guest.wasm');
    const cc = spawnSync('clang', ['--target=wasm32-wasi', '-O1', '-o', wasm, '-x', 'c', '-'], { input: GUEST, encoding: 'utf8' });
    if (cc.error || cc.status !== 0) {
      t.skip('clang --target=wasm32-wasi is not installed');
      return;
    }
    const root = path.join(tmp, 'fs-tests.dir');
    nfs.mkdirSync(root);
    nfs.writeFileSync(path.join(root, 'input.txt'), 'from host');
    nfs.writeFileSync(path.join(root, 'gone.txt'), 'x');
    const argv = py(`a.compute_argv(${JSON.stringify(wasm)}, (['the "second" arg', '--x=y'], {'c': 'new\\nline'}, Path(${JSON.stringify(root)})), [], 'wasi:cli/command', 'wasm32-wasip1')`);
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'hello');
    assert.equal(r.status, 42);
    assert.equal(nfs.readFileSync(path.join(root, 'made.cleanup'), 'utf8'), 'from host');
    assert.equal(nfs.existsSync(path.join(root, 'gone.txt')), false);
  } finally {
    nfs.rmSync(tmp, { recursive: true, force: true });
  }
});
