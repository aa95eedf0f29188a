// Loading wprof's wasm toolkit (the `toolkit/browser` crate, built by
// `npm run build:wasm` into polyfill-js/wasm/): the instrumenter, the probe
// runtime, the probe ABI and the profile writers, the same Rust code the
// native `wprof` runs.
//
// The build output is not checked in, so it is imported by computed URL:
// a missing build becomes one clear error instead of a module-resolution
// failure, and type checking does not depend on it (the shape used here is
// declared below).
//
// Example (Node: the caller reads the bytes, this module imports no `node:`):
//   const toolkit = await loadToolkit(readFileSync(toolkitWasmUrl()));
// Example (browser or worker: fetched next to the glue code):
//   const toolkit = await loadToolkit();

/**
 * What the session asks the host to call.
 * `args` is null when some arguments are data written into the guest's memory before each call
 * (`invokeArgs`); `result` is `--result`, whose text `invokeResult` reads after each call.
 * @typedef {{ kind: 'start' } | { kind: 'invoke', export: string, args: { type: string, value: string }[] | null,
 *   results: string[], result: 'str' | 'cstr' | null, repeat: number, initialize: boolean, dumps: boolean }} Plan
 */

/**
 * One run's session (see toolkit/browser/src/lib.rs `Session`).
 * @typedef {object} ToolkitSession
 * @property {() => Uint8Array} wasm the module to compile
 * @property {() => string} plan JSON of a Plan
 * @property {() => string | undefined} runtime JSON `{functions, nodeCap}`, undefined in sample mode
 * @property {boolean} hasMemory the module has memory probes
 * @property {boolean} instrumentedHere false when the input already was an artifact
 * @property {(batch: Float64Array) => void} record
 * @property {(exports: WebAssembly.Exports) => (number | bigint)[]} invokeArgs one call's arguments, data
 *   written into the guest's memory through its allocator
 * @property {(exports: WebAssembly.Exports, results: string[]) => void} invokeResult reads the text a
 *   call's results point at (`--result`)
 * @property {(records: Float64Array) => void} samples `[node, host, ns, samples]` records
 * @property {(n: number) => boolean} dumpDue
 * @property {(memory: Uint8Array, nodeCount: number, nodesBase: number, flatBase: number,
 *   overflow: bigint, memoryBytes: number | undefined) => void} dump
 * @property {(memory: Uint8Array | undefined, nodeCount: number, nodesBase: number, flatBase: number,
 *   overflow: bigint, end: string) => string} finish JSON `{files, exitCode, truncatedCalls}`
 * @property {() => Uint8Array} stdout after `finish`: the results to print after the guest's output
 * @property {() => string[]} closingMessages
 * @property {() => void} free
 */

/**
 * The toolkit's JS API (see toolkit/browser/src/lib.rs).
 * @typedef {object} Toolkit
 * @property {() => string} probeAbi the probe ABI as JSON
 * @property {() => Uint8Array} probeRuntime the probe runtime module
 * @property {() => string} runFlags the flags of `run` as JSON
 * @property {(program: string) => string} runHelp `run --help`, as `wprof run --help` lays it out
 * @property {(args: string) => string} parseRunArgs JSON `{options}` or `{usage}`
 * @property {(module: string) => string} defaultRunOptions JSON run options
 * @property {(wasm: Uint8Array, stripDwarf: boolean, memory: boolean, embed?: string) => Uint8Array} instrument
 *   `embed`: JSON `{counts_only, wasi, dump_every, max_contexts}` for `wprof instrument --embed`
 * @property {(bytes: Uint8Array, name: string) => Uint8Array} readModule binary from .wasm/.wat bytes
 * @property {(wasm: Uint8Array) => string | undefined} externalDebugInfo where a module without DWARF
 *   says its DWARF is (`external_debug_info`)
 * @property {(name: string) => boolean} isOutputName a file a run writes (output or heap dump)
 * @property {(dumps: Uint8Array[], names: string[]) => string} heapDiff `wprof heap diff` of `.wheap` dumps
 *   (any order: taken oldest first), JSON `{dumps: [{name, reason, seq, module}], diff, text}`; `diff` is
 *   `wprof heap diff --json`'s output, `text` what it prints; throws on a file that is not a dump
 * @property {(artifact: Uint8Array, profile: Uint8Array, profileName: string, module: string,
 *   write: (name: string, bytes: Uint8Array) => void, location: string) => string[]} collect `wprof collect`:
 *   the output set for the profile a self-profiling artifact wrote; returns the closing lines
 * @property {(bytes: Uint8Array, name: string) => string} pprofSummary the `summary.json` (JSON) of a pprof
 *   profile (`cpu.pb.gz`) written by `wprof run`, read with the native reader; `module` is empty
 * @property {new (bytes: Uint8Array, options: string, write: (name: string, bytes: Uint8Array) => void,
 *   location: string, cache?: { get(key: string): Uint8Array | undefined, put(key: string, bytes: Uint8Array): void },
 *   debug?: Uint8Array) => ToolkitSession} Session
 */

const GLUE = '../../wasm/wprof_browser.js';
const BINARY = '../../wasm/wprof_browser_bg.wasm';

/** Where the toolkit's wasm binary is, for hosts that read it themselves. */
export function toolkitWasmUrl() {
  return new URL(BINARY, import.meta.url);
}

/** The message for a missing build, shared by every host and test. */
export const NOT_BUILT =
  'the wasm toolkit is not built (polyfill-js/wasm/ is missing): run `npm run build:wasm` ' +
  '(needs wasm-pack and wasm-bindgen-cli 0.2.130 on PATH)';

/**
 * Imports and initialises the toolkit once per realm.
 * @param {BufferSource | WebAssembly.Module | URL | Response} [wasm]
 *   the toolkit binary; default: fetched next to the glue (browsers)
 * @returns {Promise<Toolkit>}
 */
export async function loadToolkit(wasm) {
  /** @type {any} */
  let glue;
  try {
    glue = await import(new URL(GLUE, import.meta.url).href);
  } catch (e) {
    throw new Error(NOT_BUILT, { cause: e });
  }
  // Synchronous initialisation where we have the bytes: Node has no
  // `fetch` for file: URLs, and it avoids a second compile path.
  if (wasm instanceof WebAssembly.Module || ArrayBuffer.isView(wasm) || wasm instanceof ArrayBuffer) {
    glue.initSync({ module: wasm });
  } else {
    await glue.default({ module_or_path: wasm });
  }
  return /** @type {Toolkit} */ (glue);
}
