// Node's CPU sampler for instrument mode: a worker thread reads the probe
// runtime's current-context and host-call words (an Int32Array over its
// shared memory) every interval with `Atomics.load` and charges the time
// since its last read to that context, or to the import it is calling —
// the same sampling the native runner's thread does, so a loop-free
// function gets its own time in Node too and WASI calls show as frames.
//
// The guest runs synchronously on the main thread, which therefore cannot
// receive messages: start and stop are handshakes over a small shared
// control array (`Atomics.wait`/`notify`), and the worker writes its totals
// into a shared result buffer.
//
// Example:
//   const sampler = startSampler(runtime.memory, runtime.curIndex, runtime.hostIndex, 100_000);
//   …run the guest…
//   session.samples(sampler.stop());   // [node, import + 1 or 0, ns, samples]

import { Worker } from 'node:worker_threads';

/** Contexts the worker can report; further ones are dropped (counted). */
const MAX_CONTEXTS = 1 << 16;

// Control words: 0 stop requested, 1 ready, 2 done, 3 triples written.
const WORKER = `
const { workerData } = require('node:worker_threads');
const { memory, curIndex, hostIndex, intervalMs, control, out } = workerData;
const words = new Int32Array(memory);
const ctl = new Int32Array(control);
const res = new Float64Array(out);
const acc = new Map();
let last = process.hrtime.bigint();
const charge = () => {
  const now = process.hrtime.bigint();
  const key = (Atomics.load(words, curIndex) >>> 0) + ':' + (Atomics.load(words, hostIndex) >>> 0);
  const a = acc.get(key) ?? [0, 0];
  a[0] += Number(now - last);
  a[1] += 1;
  acc.set(key, a);
  last = now;
};
Atomics.store(ctl, 1, 1);
Atomics.notify(ctl, 1);
while (Atomics.load(ctl, 0) === 0) {
  Atomics.wait(ctl, 0, 0, intervalMs);
  charge();
}
let n = 0;
for (const [key, [ns, samples]] of acc) {
  if (n * 4 + 4 > res.length) break;
  const [node, host] = key.split(':').map(Number);
  res.set([node, host, ns, samples], n * 4);
  n++;
}
Atomics.store(ctl, 3, n);
Atomics.store(ctl, 2, 1);
Atomics.notify(ctl, 2);
`;

/**
 * Starts sampling `memory`'s words every `intervalNs`.
 * @param {WebAssembly.Memory} memory the probe runtime's shared memory
 * @param {number} curIndex index of the current-context word in an Int32Array
 * @param {number} hostIndex index of the host-call word
 * @param {number} intervalNs
 * @returns {{ stop(): Float64Array }} stop returns `[node, host, ns, samples]` records
 */
export function startSampler(memory, curIndex, hostIndex, intervalNs) {
  const control = new SharedArrayBuffer(16);
  const out = new SharedArrayBuffer(MAX_CONTEXTS * 4 * 8);
  const ctl = new Int32Array(control);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { memory: memory.buffer, curIndex, hostIndex, intervalMs: intervalNs / 1e6, control, out },
  });
  worker.unref();
  // Sample from the guest's first instruction on.
  Atomics.wait(ctl, 1, 0, 10_000);
  return {
    stop() {
      Atomics.store(ctl, 0, 1);
      Atomics.notify(ctl, 0);
      Atomics.wait(ctl, 2, 0, 10_000);
      return new Float64Array(out, 0, Atomics.load(ctl, 3) * 4).slice();
    },
  };
}

/**
 * The same sampler behind the interface the browser's has
 * (`@wprof/profiler/sampler` resolves to one or the other). Its thread
 * starts with the run, so `close` has nothing to end.
 * @returns {Promise<import('../probe/profile.js').Sampler & { close(): void }>}
 */
export async function createSampler() {
  return Object.assign((/** @type {Parameters<typeof startSampler>} */ ...a) => startSampler(...a), { close() {} });
}

/**
 * Why this host cannot sample, or null (Node always can): the same
 * question the browser's sampler module answers.
 * @returns {string | null}
 */
export function samplingUnavailable() {
  return null;
}
