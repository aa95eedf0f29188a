// The browser's CPU sampler for instrument mode: a dedicated worker reads the
// probe runtime's current-context and host-call words with `Atomics.load`
// every interval and charges the time since its previous read to what they
// name — the sampling Node's worker thread and the native runner's thread do.
//
// It needs what shared memory needs: a cross-origin-isolated page (COOP +
// COEP headers), where the probe runtime's memory is a SharedArrayBuffer the
// worker can be given. The guest runs synchronously, so `profile` must be
// called in a worker too (a page's main thread may not `Atomics.wait`), and
// the sampler worker is started *before* the run: a blocked thread cannot
// wait for a worker to boot, but it can post to one that is already up.
//
// Example (inside the worker that runs the guest):
//   const sampler = await createSampler();
//   profile(toolkit, { bytes, options, wasi, sampler });

/**
 * Why this context cannot sample, or null when it can.
 * @returns {string | null}
 */
export function samplingUnavailable() {
  if (!globalThis.crossOriginIsolated) {
    return 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp), so there is no shared memory for a sampler';
  }
  if (typeof Worker !== 'function') return 'this context cannot start workers';
  return null;
}

/** Contexts the worker can report; further ones are dropped. */
const MAX_CONTEXTS = 1 << 16;

/**
 * A one-run sampler for `profile`'s `sampler` option; `close()` ends its
 * worker when the run never started (a module that failed its checks).
 * @typedef {import('../probe/profile.js').Sampler & { close(): void }} OneRunSampler
 */

/**
 * Starts the sampler worker; resolves to a `OneRunSampler`. Rejects when
 * sampling is unavailable.
 * @returns {Promise<OneRunSampler>}
 */
export async function createSampler() {
  const why = samplingUnavailable();
  if (why) throw new Error(`CPU sampling is unavailable: ${why}`);
  // Control words: 0 stop requested, 1 sampling, 2 done, 3 records written.
  const control = new SharedArrayBuffer(16);
  const out = new SharedArrayBuffer(MAX_CONTEXTS * 4 * 8);
  const ctl = new Int32Array(control);
  const worker = new Worker(new URL('./sampler-worker.js', import.meta.url), { type: 'module', name: 'wprof-sampler' });
  await new Promise((resolve, reject) => {
    worker.onmessage = resolve;
    worker.onerror = (e) => reject(new Error(`the sampler worker failed to start: ${e.message}`));
    worker.postMessage({ control, out });
  });
  let used = false;
  /** @type {import('../probe/profile.js').Sampler} */
  const start = (memory, curIndex, hostIndex, intervalNs) => {
    if (used) throw new Error('a sampler serves one run; create another');
    used = true;
    worker.postMessage({ memory, curIndex, hostIndex, intervalMs: intervalNs / 1e6 });
    // Sample from the guest's first instruction on; a worker that never
    // answers (it crashed) must not hang the run.
    if (Atomics.wait(ctl, 1, 0, 10_000) === 'timed-out') {
      worker.terminate();
      throw new Error('the sampler worker did not start sampling');
    }
    return {
      stop() {
        Atomics.store(ctl, 0, 1);
        Atomics.notify(ctl, 0);
        Atomics.wait(ctl, 2, 0, 10_000);
        const records = new Float64Array(out, 0, Atomics.load(ctl, 3) * 4).slice();
        worker.terminate();
        return records;
      },
    };
  };
  return Object.assign(start, { close: () => worker.terminate() });
}
