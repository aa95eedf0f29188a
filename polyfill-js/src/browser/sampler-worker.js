// The sampler worker of ./sampler.js: first message `{control, out}` (shared
// control words and the result buffer), answered once the worker is up;
// second `{memory, curIndex, hostIndex, intervalMs}` starts sampling until
// control word 0 is set, then the `[node, host, ns, samples]` records go to
// `out` and word 2 says done.

/** The worker's global scope, typed without the webworker lib (which clashes with dom). */
const scope = /** @type {{ onmessage: ((e: MessageEvent) => void) | null, postMessage(m: unknown): void }} */ (
  /** @type {unknown} */ (globalThis)
);

/** @type {Int32Array | undefined} */
let ctl;
/** @type {Float64Array} */
let res = new Float64Array(0);

scope.onmessage = (/** @type {MessageEvent} */ e) => {
  if (!ctl) {
    ctl = new Int32Array(e.data.control);
    res = new Float64Array(e.data.out);
    scope.postMessage('ready');
    return;
  }
  sample(ctl, e.data);
};

/**
 * @param {Int32Array} ctl
 * @param {{ memory: WebAssembly.Memory, curIndex: number, hostIndex: number, intervalMs: number }} run
 */
function sample(ctl, { memory, curIndex, hostIndex, intervalMs }) {
  /** @type {Map<string, [number, number]>} */
  const acc = new Map();
  let last = performance.now();
  const charge = () => {
    // Re-read the buffer each time: the runtime's memory may have grown.
    const words = new Int32Array(memory.buffer);
    const now = performance.now();
    const key = `${Atomics.load(words, curIndex) >>> 0}:${Atomics.load(words, hostIndex) >>> 0}`;
    const a = acc.get(key) ?? [0, 0];
    a[0] += (now - last) * 1e6;
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
    res.set([node, host, Math.round(ns), samples], n * 4);
    n++;
  }
  Atomics.store(ctl, 3, n);
  Atomics.store(ctl, 2, 1);
  Atomics.notify(ctl, 2);
}
