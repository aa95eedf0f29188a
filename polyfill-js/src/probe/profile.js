// One profiled run in a JS host: instrument (or take an artifact as is),
// link it to a fresh probe runtime and the caller's WASI, run `_start` or
// an export, and return the output files `wprof run` writes. Node's
// `wprof-node` and the demo page both run modules through here.
//
// What JS hosts measure: exact calls per function and per calling context
// (from the probes), the wall time of the run, and with `invoke` each
// call's latency. There is no CPU sampler: JS cannot interrupt running wasm
// to look at the current context, so per-function time is not reported
// (`self_ns`/`total_ns` are 0, `cpu.interval_ns` is 0, `cpu.folded` is
// empty) and the flamegraph is drawn by call counts. Latency comes from
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
//   const { exit, files } = profile(toolkit, { name: 'app.wasm', module: bytes, wasi });

import { WASIExit } from '../wasi/index.js';
import { ProbeError, ProbeRuntime } from './runtime.js';

const WASI_MODULE = 'wasi_snapshot_preview1';

/**
 * The WASI host the run uses (the project's `WASI` class).
 * @typedef {object} WasiHost
 * @property {WebAssembly.ModuleImports} imports imports of `wasi_snapshot_preview1`
 * @property {(instance: WebAssembly.Instance) => number} start
 * @property {(instance: WebAssembly.Instance) => void} initialize
 * @property {(memory: WebAssembly.Memory) => void} [setMemory]
 * @property {() => void} [flush]
 */

/**
 * @typedef {object} InvokeOptions
 * @property {string} export the export to call instead of `_start`
 * @property {string[]} [args] one per parameter, as on the command line
 * @property {number} [repeat] calls; default 1
 */

/**
 * @typedef {object} ProfileOptions
 * @property {string} name the module as the user named it (summary.json `module`)
 * @property {Uint8Array} module a binary module or an instrumented artifact
 * @property {WasiHost} wasi
 * @property {InvokeOptions} [invoke]
 * @property {number} [maxContexts] calling-context capacity
 * @property {() => number | undefined} [peakRssBytes] the host's peak memory, if it knows
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
 * @property {Map<string, Uint8Array>} files output file name → bytes
 * @property {bigint} truncatedCalls calls that found the calling-context tree full
 * @property {boolean} instrumented false when the input already was an artifact
 */

/**
 * Profiles one run.
 * @param {import('./toolkit.js').Toolkit} toolkit
 * @param {ProfileOptions} options
 * @returns {ProfileResult}
 */
export function profile(toolkit, options) {
  let artifact;
  try {
    artifact = new toolkit.Artifact(options.module);
  } catch (e) {
    throw new ProbeError('failed to instrument module', { cause: e });
  }
  try {
    return run(toolkit, artifact, options);
  } finally {
    artifact.free();
  }
}

/**
 * @param {import('./toolkit.js').Toolkit} toolkit
 * @param {import('./toolkit.js').ToolkitArtifact} artifact
 * @param {ProfileOptions} options
 * @returns {ProfileResult}
 */
function run(toolkit, artifact, options) {
  let module;
  try {
    module = new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (artifact.wasm));
  } catch (e) {
    throw new ProbeError('failed to compile module', { cause: e });
  }
  const runtime = new ProbeRuntime(toolkit, artifact, { maxContexts: options.maxContexts });
  const foreign = WebAssembly.Module.imports(module)
    .filter((i) => i.module !== WASI_MODULE && i.module !== runtime.abi.importModule)
    .map((i) => `${i.module}::${i.name}`);
  if (foreign.length > 0) {
    throw new ProbeError(
      `failed to link module: wprof provides only WASI preview1, but the module also imports ${foreign.join(', ')}`,
    );
  }
  const exports = WebAssembly.Module.exports(module);
  const functions = exports.filter((e) => e.kind === 'function').map((e) => e.name);
  const imports = { [WASI_MODULE]: options.wasi.imports, ...runtime.imports };

  const started = performance.now();
  /** @type {Exit} */
  let exit;
  /** @type {import('./runtime.js').RunRecord['invoke']} */
  let invokeRecord;
  try {
    const instance = instantiate(module, imports);
    // WASI's memory, which the polyfill's start/initialize require.
    const hasMemory = instance.exports.memory instanceof WebAssembly.Memory;
    if (options.invoke) {
      const done = invoke(toolkit, artifact, instance, runtime, options, functions, hasMemory);
      invokeRecord = done.record;
      exit = done.exit;
    } else {
      if (!functions.includes('_start')) throw new ProbeError(noStartMessage(functions));
      exit = { kind: 'exit', code: i32(start(instance, options.wasi, hasMemory)), message: null };
    }
  } catch (e) {
    if (e instanceof ProbeError) throw e;
    exit = guestEnded(e);
  } finally {
    options.wasi.flush?.();
  }
  const wallNs = Math.round((performance.now() - started) * 1e6);

  /** @type {import('./runtime.js').RunRecord} */
  const record = { module: options.name, exit, wall_ns: wallNs };
  if (invokeRecord) record.invoke = invokeRecord;
  const rss = options.peakRssBytes?.();
  if (rss !== undefined) record.host_peak_rss_bytes = rss;
  const outputs = runtime.outputs(record);
  try {
    /** @type {Map<string, Uint8Array>} */
    const files = new Map();
    for (const name of outputs.fileNames()) files.set(name, outputs.file(name));
    return { exit, files, truncatedCalls: outputs.truncatedCalls, instrumented: artifact.instrumentedHere };
  } finally {
    outputs.free();
  }
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
    if (e instanceof WASIExit) return e.code;
    throw e;
  }
}

/**
 * `--invoke`: `_initialize` first (reactors set up libc and constructors
 * there), then the export `repeat` times, each call starting at the root
 * context and timed on its own.
 * @param {import('./toolkit.js').Toolkit} toolkit
 * @param {import('./toolkit.js').ToolkitArtifact} artifact
 * @param {WebAssembly.Instance} instance
 * @param {ProbeRuntime} runtime
 * @param {ProfileOptions} options
 * @param {string[]} functions exported function names
 * @param {boolean} hasMemory
 */
function invoke(toolkit, artifact, instance, runtime, options, functions, hasMemory) {
  const inv = /** @type {InvokeOptions} */ (options.invoke);
  const args = inv.args ?? [];
  const repeat = inv.repeat ?? 1;
  if (!Number.isSafeInteger(repeat) || repeat < 1) {
    throw new ProbeError(`--repeat must be a positive integer, not ${repeat}`);
  }
  const json = artifact.exportSignature(inv.export);
  const func = instance.exports[inv.export];
  if (json === undefined || typeof func !== 'function') {
    const list = functions.length > 0 ? functions.join(', ') : '(none)';
    throw new ProbeError(`module has no exported function \`${inv.export}\`; exported functions: ${list}`);
  }
  /** @type {{ params: string[], results: string[] }} */
  const sig = JSON.parse(json);
  if (sig.params.length !== args.length) {
    throw new ProbeError(
      `export \`${inv.export}\` takes ${sig.params.length} argument(s) (${sig.params.join(', ')}), ` +
        `but ${args.length} were given with --arg`,
    );
  }
  /** @type {(number | bigint)[]} */
  let values;
  try {
    values = sig.params.map((ty, i) => toolkit.parseArg(ty, args[i]));
  } catch (e) {
    throw new ProbeError(`bad --arg for \`${inv.export}\`: ${e instanceof Error ? e.message : e}`);
  }
  const record = { export: inv.export, args, repeat, results: /** @type {string[]} */ ([]), durations_ns: /** @type {number[]} */ ([]) };
  try {
    if (hasMemory) {
      options.wasi.initialize(instance);
    } else if (typeof instance.exports._initialize === 'function') {
      /** @type {() => void} */ (instance.exports._initialize)();
    }
  } catch (e) {
    return { record, exit: guestEnded(e) };
  }
  /** @type {Exit} */
  let exit = { kind: 'exit', code: 0, message: null };
  /** @type {unknown} */
  let result;
  for (let i = 0; i < repeat; i++) {
    runtime.resetContext();
    const t = performance.now();
    try {
      result = /** @type {(...a: (number | bigint)[]) => unknown} */ (func)(...values);
    } catch (e) {
      exit = guestEnded(e);
      break;
    }
    record.durations_ns.push(Math.round((performance.now() - t) * 1e6));
  }
  if (record.durations_ns.length > 0) {
    const list = sig.results.length === 1 ? [result] : /** @type {unknown[]} */ (result ?? []);
    record.results = sig.results.map((ty, i) => toolkit.showValue(ty, list[i]));
  }
  return { record, exit };
}

/**
 * How the guest ended, from what its run threw.
 * @param {unknown} e
 * @returns {Exit}
 */
export function guestEnded(e) {
  if (e instanceof WASIExit) return { kind: 'exit', code: i32(e.code), message: null };
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

/** Exit codes are i32 in WASI; the polyfill reports them unsigned. @param {number} code */
function i32(code) {
  return code | 0;
}

/** @param {string[]} functions */
function noStartMessage(functions) {
  if (functions.length === 0) {
    return 'module has no `_start` export and exports no functions; nothing to run';
  }
  return `module has no \`_start\` export (a library/reactor module?); choose an export with --invoke: ${functions.join(', ')}`;
}
