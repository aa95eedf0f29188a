// wprof's page-side benchmark in headless Chromium (Debian's, via
// playwright-core), interleaved rounds so drift hits every variant alike:
//
// 1. Probe overhead in a page: the uninstrumented module vs the
//    instrumented artifact linked to the probe runtime, both on
//    @wprof/wasi, on a call-heavy guest (callheavy fib(35), 29.9 M calls)
//    and a compute-heavy one (hot). Each measurement is a fresh page
//    timing instantiate + `_start` (compilation excluded, JIT tier-up
//    included). Targets: ≤ 2× call-heavy, ≤ 1.3× typical.
// 2. Time to first result in the demo page for a 20 MiB module: from
//    clicking Run to the results shown (instrument, compile, run, write,
//    render), cross-origin isolated with the CPU sampler on.
//
// Usage: bench/browser.sh [ROUNDS]   (builds the guests and the demo; default 5)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../demo-site/serve.js';
import { launch } from '../demo-site/test/chromium.js';
import { bigModule } from '../demo-site/test/big-module.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
const guests = join(repo, 'target/guests/wasm32-wasip1/release');
const rounds = Number(process.argv[2] ?? 5);

/** @param {number[]} v */
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
/** @param {number} ms */
const fmt = (ms) => `${ms.toFixed(1)} ms`;

const site = await serve({ port: 0 });
const browser = await launch();

/**
 * One timed run in a fresh page: ms of instantiate + `_start`.
 * @param {'plain' | 'instrumented'} variant @param {Uint8Array} bytes @param {string[]} args
 */
async function timed(variant, bytes, args) {
  const page = await browser.newPage();
  await page.goto(`${site.url}index.html`);
  const ms = await page.evaluate(
    async ({ variant, wasm, args }) => {
      const { WASI } = await import('./vendor/wasi/src/index.js');
      const { loadToolkit, ProbeRuntime, readAbi, multiMemory } = await import('./vendor/profiler/src/index.js');
      const toolkit = await loadToolkit();
      let bytes = new Uint8Array(wasm);
      /** @type {WebAssembly.Imports} */
      let probes = {};
      /** @type {InstanceType<typeof ProbeRuntime> | undefined} */
      let runtime;
      if (variant === 'instrumented') {
        // Instrumented and sized by the run session, as the demo page does
        // (the runtime linked in where the engine has multi-memory).
        const options = { ...JSON.parse(toolkit.defaultRunOptions('guest.wasm')), link_runtime: multiMemory };
        const session = new toolkit.Session(bytes, JSON.stringify(options), () => {}, '');
        bytes = session.wasm();
        const params = session.runtime();
        session.free();
        runtime = new ProbeRuntime(toolkit, readAbi(toolkit), JSON.parse(params));
        probes = runtime.imports;
      }
      const module = await WebAssembly.compile(bytes);
      const wasi = new WASI({ args: ['guest.wasm', ...args], stdout: () => {}, stderr: () => {} });
      const t = performance.now();
      const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.imports, ...probes });
      if (runtime?.linked) {
        runtime.attach(instance);
        runtime.start();
      }
      const code = wasi.start(instance);
      const ms = performance.now() - t;
      if (code !== 0) throw new Error(`guest exited with ${code}`);
      return ms;
    },
    { variant, wasm: [...bytes], args },
  );
  await page.close();
  return ms;
}

console.log(`Probe overhead in ${browser.version()} (Chromium), ${rounds} rounds, fresh page per run, medians\n`);
console.log('| guest | plain | instrumented | slowdown | extra ns per call |');
console.log('|---|---|---|---|---|');
for (const c of [
  { name: 'call-heavy callheavy fib(35)', file: 'callheavy.wasm', args: ['35'], calls: 29_860_703 },
  { name: 'compute-heavy hot', file: 'hot.wasm', args: [], calls: 21 },
]) {
  const bytes = readFileSync(join(guests, c.file));
  await timed('plain', bytes, c.args); // warm the browser
  /** @type {number[]} */ const plain = [];
  /** @type {number[]} */ const inst = [];
  /** @type {number[]} */ const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const p = await timed('plain', bytes, c.args);
    const i = await timed('instrumented', bytes, c.args);
    plain.push(p);
    inst.push(i);
    ratios.push(i / p);
  }
  const extra = c.calls > 1000 ? (((median(inst) - median(plain)) * 1e6) / c.calls).toFixed(2) : '–';
  console.log(`| ${c.name} | ${fmt(median(plain))} | ${fmt(median(inst))} | **${median(ratios).toFixed(2)}×** | ${extra} |`);
}
console.log('\nTargets: ≤ 2× call-heavy, ≤ 1.3× typical.\n');

const big = bigModule(20 << 20);
/** @type {number[]} */
const firsts = [];
for (let r = 0; r < Math.max(3, Math.ceil(rounds / 2)); r++) {
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'), null, { timeout: 60_000 });
  await page.setInputFiles('#file', { name: 'big.wasm', mimeType: 'application/wasm', buffer: Buffer.from(big) });
  await page.waitForFunction(() => !(/** @type {HTMLButtonElement} */ (document.getElementById('run'))).disabled);
  const t = Date.now();
  await page.click('#run');
  await page.waitForFunction(() => /^(Done|Failed)/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 300_000 });
  const status = await page.textContent('#status');
  if (!status?.startsWith('Done')) throw new Error(`the 20 MiB module failed: ${await page.textContent('#error')}`);
  firsts.push(Date.now() - t);
  await page.close();
}
console.log(`Time to first result in the demo page, ${(big.length / (1 << 20)).toFixed(1)} MiB module (a 20 MiB data segment, one function): ` +
  `median ${fmt(median(firsts))} of ${firsts.length} (click Run → results shown)`);

await browser.close();
await site.close();
