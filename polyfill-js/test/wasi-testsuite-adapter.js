#!/usr/bin/env node
// Runs one WebAssembly/wasi-testsuite test under the polyfill, with the
// command line the suite's runtime adapters use:
//
//   node wasi-testsuite-adapter.js --test-file T.wasm [--arg A]... [--env K=V]... [--dir HOST[::GUEST]]...
//   node wasi-testsuite-adapter.js --version
//
// stdin, stdout and stderr are the process's; the exit status is the
// guest's (134 after a trap, as wasmtime's CLI). Each --dir is mirrored into
// memory and the guest's changes are written back after the run, so the
// suite sees the files its tests leave. The suite's Python runner loads
// adapters as modules: wasi-testsuite/adapter.py is that module and turns
// each test's args, env and dirs (or root, mounted at `/`) into this
// command line.
//
// Without --test-file (for instance when a test runner imports this file)
// it does nothing.

import * as nfs from 'node:fs';
import * as path from 'node:path';
import { WASI } from '../wasi/src/index.js';
import { loadDirectory, saveDirectory } from '../wasi/src/node/host-dir.js';

/** @param {string[]} argv */
function parse(argv) {
  /** @type {{ version: boolean, testFile: string | null, args: string[], env: Record<string, string>, dirs: [string, string][] }} */
  const o = { version: false, testFile: null, args: [], env: {}, dirs: [] };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].includes('=') && argv[i].startsWith('--') ? splitOnce(argv[i], '=') : [argv[i], undefined];
    const next = () => value ?? argv[++i];
    switch (flag) {
      case '--version': o.version = true; break;
      case '--test-file': o.testFile = next(); break;
      case '--arg': o.args.push(next()); break;
      case '--env': { const [k, v] = splitOnce(next(), '='); o.env[k] = v ?? ''; break; }
      case '--dir': {
        const d = next();
        const at = d.indexOf('::');
        o.dirs.push(at === -1 ? [d, d] : [d.slice(0, at), d.slice(at + 2)]);
        break;
      }
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

/** @param {string} s @param {string} sep @returns {[string, string | undefined]} */
function splitOnce(s, sep) {
  const at = s.indexOf(sep);
  return at === -1 ? [s, undefined] : [s.slice(0, at), s.slice(at + sep.length)];
}

/**
 * Writes all of `bytes` to a host fd. A pipe the parent made non-blocking
 * answers EAGAIN when full; the guest's write must still complete.
 * @param {number} fd
 * @param {Uint8Array} bytes
 */
function writeAll(fd, bytes) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let at = 0; at < bytes.length;) {
    try {
      at += nfs.writeSync(fd, bytes, at);
    } catch (e) {
      if (/** @type {{ code?: string }} */ (e).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** stdin as chunks, read synchronously when the guest asks. */
function stdinReader() {
  const buf = new Uint8Array(65536);
  return () => {
    try {
      const n = nfs.readSync(0, buf, 0, buf.length, null);
      return n === 0 ? null : buf.slice(0, n);
    } catch (e) {
      if (/** @type {{ code?: string }} */ (e).code === 'EAGAIN') return new Uint8Array(0);
      if (/** @type {{ code?: string }} */ (e).code === 'EOF') return null;
      throw e;
    }
  };
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (o.version) {
    const pkg = JSON.parse(nfs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    console.log(`${pkg.name} ${pkg.version}`);
    return;
  }
  if (!o.testFile) return;
  const preopens = Object.fromEntries(o.dirs.map(([host, guest]) => [guest, loadDirectory(host)]));
  const wasi = new WASI({
    args: [o.testFile, ...o.args],
    env: o.env,
    preopens,
    stdin: stdinReader(),
    stdout: (b) => writeAll(1, b),
    stderr: (b) => writeAll(2, b),
  });
  const module = await WebAssembly.compile(nfs.readFileSync(o.testFile));
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.imports });
  let code;
  try {
    code = wasi.start(instance);
  } catch (e) {
    console.error(String(e instanceof Error ? e.stack : e));
    code = 134;
  }
  for (const [host, guest] of o.dirs) saveDirectory(preopens[guest], path.resolve(host));
  process.exitCode = code > 255 ? 1 : code;
}

await main();
