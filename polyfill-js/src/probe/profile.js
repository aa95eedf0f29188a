// One profiled run in a JS host: the JS adapter of wprof's run protocol.
// The session (the wasm toolkit's `Session`, the same Rust code `wprof run`
// uses) reads and checks the module, instruments it, plans the run and
// writes the output files; this module only does what the JS engine must:
// compile, link WASI, the probe runtime and the memory probes, run the plan,
// time `--invoke` calls, say how the guest ended and hand the probe
// runtime's memory over. Node's `wprof-node` and the demo page both run
// modules through here.
//
// What JS hosts measure: exact calls per function and per calling context
// (from the probes), allocations and `memory.grow` with `--memory`, the wall
// time of the run, and with `invoke` each call's latency. CPU time comes
// from the host's sampler (`options.sampler`, a thread reading the probe
// runtime's current-context word; Node's is src/node/sampler.js); without
// one — or without shared memory — per-function time is not reported and
// the flamegraph is drawn by call counts. Latency comes from
// `performance.now()`, which browsers coarsen (to 5–100 µs); Node's is
// sub-microsecond.
//
// `profile` is synchronous (compile, instantiate, run): fine in Node and in
// a Web Worker; a page's main thread refuses to compile modules over 4 KB
// synchronously, and a long guest would freeze the page anyway.
//
// Errors that are wprof's (bad module, missing export, bad argument, an
// import nobody provides) throw a `ProbeError`; whatever the guest does —
// return, exit, trap — ends up in the result's `exit`.
//
// Example:
//   const wasi = new WASI({ args: ['app.wasm'], stdout: (b) => out.push(b) });
//   const options = JSON.parse(toolkit.defaultRunOptions('app.wasm'));
//   const { exit, files } = profile(toolkit, { bytes, options, wasi });

import { readAbi } from './abi.js';
import { EventLog } from './events.js';
import { ProbeError, ProbeRuntime, multiMemory } from './runtime.js';

/**
 * The WASI host the run uses (the project's `WASI` class).
 * @typedef {object} WasiHost
 * @property {WebAssembly.ModuleImports} imports imports of `wasi_snapshot_preview1`
 * @property {(instance: WebAssembly.Instance) => number} start
 * @property {(instance: WebAssembly.Instance) => void} initialize
 * @property {() => void} [flush]
 */

/**
 * @typedef {object} ProfileOptions
 * @property {Uint8Array} bytes the module file: binary, text or an instrumented artifact
 * @property {object} options the session's run options (`parseRunArgs` or `defaultRunOptions`)
 * @property {WasiHost} wasi
 * @property {string} [location] where the host puts the files, for the closing messages
 * @property {(name: string, bytes: Uint8Array) => void} [write] takes each complete output file;
 *   a throw fails that file only. Default: keep them in the result's `files`
 * @property {() => void} [beforeRun] called once the module is checked, before the guest runs
 * @property {{ get(key: string): Uint8Array | undefined, put(key: string, bytes: Uint8Array): void }} [cache]
 * @property {Uint8Array} [debug] a separate file with the module's DWARF (`--debug-file`): source
 *   files and lines for a stripped module
 *   keeps instrumented artifacts between runs (Node: src/node/cache.js)
 * @property {() => number | undefined} [peakRssBytes] the host's peak memory, if it knows
 * @property {Sampler} [sampler] the host's CPU sampler; without one, no time is measured
 */

/**
 * Starts sampling the probe runtime's current-context and host-call words
 * (indices `curIndex`, `hostIndex` of an Int32Array over `memory`) every
 * `intervalNs` on another thread; `stop` returns `[node, host, ns, samples]`
 * records (`host`: 1 + the import being called, 0 = none).
 * @typedef {(memory: WebAssembly.Memory, curIndex: number, hostIndex: number, intervalNs: number)
 *   => { stop(): Float64Array }} Sampler
 */

/**
 * @typedef {object} Exit
 * @property {'exit' | 'trap'} kind
 * @property {number | null} code the guest's exit code for `exit`
 * @property {string | null} message the trap, for `trap`
 */

/**
 * @typedef {object} ProfileResult
 * @property {Exit} exit how the guest ended
 * @property {number} exitCode wprof's exit code, mirroring the guest
 * @property {Map<string, Uint8Array>} files output file name → bytes, in the order written
 *   (empty when the host took them with `write`)
 * @property {string[]} written names of the files written
 * @property {Uint8Array} stdout what to write to stdout after the guest's own output: the last
 *   completed `invoke` call's results, one per line (a `--result` string as is)
 * @property {string[]} messages what to print after the run (without a prefix)
 * @property {boolean} instrumented false when the input already was an artifact
 */

/**
 * Profiles one run.
 * @param {import('./toolkit.js').Toolkit} toolkit
 * @param {ProfileOptions} options
 * @returns {ProfileResult}
 */
export function profile(toolkit, options) {
  /** @type {Map<string, Uint8Array>} */
  const files = new Map();
  const write = options.write ?? ((/** @type {string} */ name, /** @type {Uint8Array} */ bytes) => files.set(name, bytes));
  /** @type {import('./toolkit.js').ToolkitSession} */
  let session;
  try {
    session = new toolkit.Session(
      options.bytes,
      // The runtime goes into the artifact where this engine can load it.
      JSON.stringify({ ...options.options, link_runtime: multiMemory }),
      write,
      options.location ?? '',
      options.cache,
      options.debug,
    );
  } catch (e) {
    // The toolkit's error already carries its whole chain in its message
    // (`top: cause`); kept as the cause, hosts would print it twice.
    throw new ProbeError(e instanceof Error ? e.message : String(e));
  }
  try {
    options.beforeRun?.();
    return { ...run(toolkit, session, options), files };
  } finally {
    session.free();
  }
}

/**
 * @param {import('./toolkit.js').Toolkit} toolkit
 * @param {import('./toolkit.js').ToolkitSession} session
 * @param {ProfileOptions} options
 * @returns {Omit<ProfileResult, 'files'>}
 */
function run(toolkit, session, options) {
  const abi = readAbi(toolkit);
  let module;
  try {
    module = new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (session.wasm()));
  } catch (e) {
    throw new ProbeError('failed to compile module', { cause: e });
  }
  const params = session.runtime();
  const runtime = params === undefined ? null : new ProbeRuntime(toolkit, abi, JSON.parse(params));
  const events = new EventLog(abi, session, runtime);
  const imports = {
    [abi.wasiModule]: options.wasi.imports,
    ...runtime?.imports,
    ...(session.hasMemory ? events.memoryImports() : {}),
  };
  /** @type {import('./toolkit.js').Plan} */
  const plan = JSON.parse(session.plan());

  /** @type {WebAssembly.Instance | undefined} */
  let instance;
  // An artifact that links the runtime runs no guest code when instantiated
  // (its start function waits for `init`), so the sampler can know the
  // runtime before the run starts. A failure here is the guest's.
  let early;
  if (runtime?.linked) {
    try {
      instance = instantiate(module, imports);
      runtime.attach(instance);
    } catch (e) {
      if (e instanceof ProbeError) throw e;
      early = e;
    }
  }
  // Sampling needs the runtime's memory to be shared with another thread.
  const sampler =
    runtime?.ready && options.sampler && runtime.memory.buffer instanceof SharedArrayBuffer
      ? options.sampler(
          runtime.memory,
          runtime.curIndex,
          runtime.hostIndex,
          /** @type {{ interval_ns: number }} */ (options.options).interval_ns,
        )
      : null;
  const started = performance.now();
  /** @type {Exit} */
  let exit = { kind: 'exit', code: 0, message: null };
  /** The last completed call's results, kept when a later call traps. */
  const last = { results: /** @type {string[]} */ ([]) };
  try {
    if (early !== undefined) throw early;
    instance ??= instantiate(module, imports);
    runtime?.start();
    // WASI's memory, which the polyfill's start/initialize require.
    const hasMemory = instance.exports.memory instanceof WebAssembly.Memory;
    if (plan.kind === 'invoke') {
      invoke(plan, instance, options.wasi, hasMemory, runtime, events, session, last);
    } else {
      exit = { kind: 'exit', code: start(instance, options.wasi, hasMemory) | 0, message: null };
    }
  } catch (e) {
    if (e instanceof ProbeError) throw e;
    exit = guestEnded(e);
  } finally {
    options.wasi.flush?.();
  }
  const wallNs = Math.round((performance.now() - started) * 1e6);
  if (sampler) session.samples(sampler.stop());
  events.flush();

  const memory = instance?.exports.memory;
  const end = {
    exit,
    wall_ns: wallNs,
    results: last.results,
    memory_bytes: memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : undefined,
    host_peak_rss_bytes: options.peakRssBytes?.(),
  };
  const [mem, ...state] = runtime?.ready ? runtime.view() : [undefined, 0, 0, 0, 0n];
  /** @type {{ files: string[], exitCode: number }} */
  const done = JSON.parse(session.finish(mem, ...state, JSON.stringify(end)));
  return {
    exit,
    exitCode: done.exitCode,
    written: done.files,
    stdout: session.stdout(),
    messages: session.closingMessages(),
    instrumented: session.instrumentedHere,
  };
}

/**
 * Link errors are wprof's; a trap in the module's start function is the
 * guest's (the caller classifies whatever else is thrown).
 * @param {WebAssembly.Module} module
 * @param {WebAssembly.Imports} imports
 */
function instantiate(module, imports) {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) throw new ProbeError('failed to link module', { cause: e });
    throw e;
  }
}

/**
 * Runs `_start`. The polyfill's `start` needs an exported memory; a command
 * without one (rare, e.g. hand-written .wat) is run directly.
 * @param {WebAssembly.Instance} instance
 * @param {WasiHost} wasi
 * @param {boolean} hasMemory
 * @returns {number}
 */
function start(instance, wasi, hasMemory) {
  if (hasMemory) return wasi.start(instance);
  try {
    /** @type {() => void} */ (instance.exports._start)();
    return 0;
  } catch (e) {
    const code = exitCode(e);
    if (code !== null) return code;
    throw e;
  }
}

/**
 * The session's invoke plan: `_initialize` first (reactors set up libc and
 * constructors there), then the export `repeat` times, each call starting
 * at the root context and timed on its own (data arguments are written
 * before the timer starts). `last.results` gets each completed call's
 * results as `String()`s, and with `--result` the session reads the text
 * they point at; what the guest throws propagates.
 * @param {Extract<import('./toolkit.js').Plan, { kind: 'invoke' }>} plan
 * @param {WebAssembly.Instance} instance
 * @param {WasiHost} wasi
 * @param {boolean} hasMemory
 * @param {ProbeRuntime | null} runtime
 * @param {EventLog} events
 * @param {import('./toolkit.js').ToolkitSession} session
 * @param {{ results: string[] }} last
 */
function invoke(plan, instance, wasi, hasMemory, runtime, events, session, last) {
  const func = /** @type {(...a: (number | bigint)[]) => unknown} */ (instance.exports[plan.export]);
  // Numbers only: the same arguments every call. Otherwise (`null`) some
  // are data the session writes into the guest's memory before each call.
  const fixed = plan.args?.map(({ type, value }) => (type === 'i64' ? BigInt(value) : number(value)));
  // The polyfill's `initialize` also binds WASI to the instance's memory,
  // which a library without `_initialize` needs as much as one with it.
  if (hasMemory) wasi.initialize(instance);
  else if (plan.initialize) /** @type {() => void} */ (instance.exports._initialize)();
  for (let n = 1; n <= plan.repeat; n++) {
    runtime?.resetContext();
    const args = fixed ?? session.invokeArgs(instance.exports);
    events.callStart();
    const t = performance.now();
    const r = func(...args);
    events.callEnd(Math.round((performance.now() - t) * 1e6));
    const list = plan.results.length === 1 ? [r] : /** @type {unknown[]} */ (r ?? []);
    last.results = list.map(result);
    if (plan.result) session.invokeResult(instance.exports, last.results);
    if (plan.dumps && runtime) {
      events.flush();
      if (session.dumpDue(n)) {
        const memory = instance.exports.memory;
        const bytes = memory instanceof WebAssembly.Memory ? memory.buffer.byteLength : undefined;
        session.dump(...runtime.view(), bytes);
      }
    }
  }
}

/**
 * A result as the session parses it back: `String` would drop the sign of
 * -0, which the native runner shows (`f64:-0`).
 * @param {unknown} v
 */
function result(v) {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** A plan value: Rust prints infinities as `inf`. @param {string} s */
function number(s) {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/**
 * The exit code `proc_exit` threw, or null for anything else. Matched by
 * shape (the polyfill's `WASIExit` has this name and a numeric `code`), not
 * with `instanceof`: the profiler imports no other package, so a worker or
 * page loads it without an import map or bundler, and two installed copies
 * of the polyfill still agree on what an exit is.
 * @param {unknown} e
 * @returns {number | null}
 */
export function exitCode(e) {
  if (e instanceof Error && e.name === 'WASIExit') {
    const code = /** @type {{ code?: unknown }} */ (e).code;
    if (typeof code === 'number') return code;
  }
  return null;
}

/**
 * How the guest ended, from what its run threw.
 * @param {unknown} e
 * @returns {Exit}
 */
export function guestEnded(e) {
  const code = exitCode(e);
  if (code !== null) return { kind: 'exit', code: code | 0, message: null };
  return { kind: 'trap', code: null, message: trapMessage(e) };
}

/**
 * `wasm trap: …` and the wasm frames of the engine's stack trace, like the
 * native runner's message with wasmtime's backtrace.
 * @param {unknown} e
 */
export function trapMessage(e) {
  if (!(e instanceof Error)) return `guest threw ${String(e)}`;
  // Engines report stack exhaustion as a JS RangeError; it is the guest's
  // call stack, so it is a trap like any other.
  const trap = e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
  const head = trap ? `wasm trap: ${e.message}` : `${e.name}: ${e.message}`;
  const frames = (e.stack ?? '')
    .split('\n')
    .filter((l) => l.includes('wasm://') || l.includes('wasm-function['))
    .map((l) => `  ${l.trim()}`);
  return frames.length > 0 ? `${head}\n${frames.join('\n')}` : head;
}
