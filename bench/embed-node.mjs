// Runs a WASI command under node:wasi and prints its wall time in ms (the
// compile is excluded): bench/embed.sh times original vs artifact with it.
// Usage: node bench/embed-node.mjs MODULE.wasm [ARGS...]
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [file, ...args] = process.argv.slice(2);
const out = mkdtempSync(join(tmpdir(), 'wprof-bench-'));
const wasi = new WASI({ version: 'preview1', args: [file, ...args], preopens: { '/out': out }, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, /** @type {any} */ (wasi.getImportObject()));
const t = performance.now();
wasi.start(instance);
process.stderr.write(`${Math.round(performance.now() - t)}\n`);
