// The JS host side of the probe ABI: one probe runtime instance per run.
//
// The artifact imports `wprof.enter` and `wprof.cur`; they are linked
// straight to the exports of the probe runtime *wasm* instance, so every
// probe event is a wasm→wasm call that never enters JS or the toolkit. The
// calling-context tree stays in the runtime's own memory; after the run the
// host reads four globals and hands a copy of that memory to the toolkit
// once (`outputs`), the same decoding the native runner does.
//
// Example:
//   const rt = new ProbeRuntime(toolkit, artifact);
//   const instance = new WebAssembly.Instance(module, { ...wasiImports, ...rt.imports });
//   …run…
//   const outputs = rt.outputs({ module: 'app.wasm', exit, wall_ns });

import { readAbi } from './abi.js';

/** Calling-context capacities the runtime's i32 arithmetic can size. */
export const MAX_CONTEXTS = 1 << 26;

/** A wprof error (not the guest's): bad input, link failure, no memory. */
export class ProbeError extends Error {
  /** @param {string} message @param {{ cause?: unknown }} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

/**
 * How the run went, as `Outputs` takes it (snake_case like summary.json).
 * @typedef {object} RunRecord
 * @property {string} module the module as the user named it
 * @property {{ kind: 'exit' | 'trap', code: number | null, message: string | null }} exit
 * @property {number} wall_ns wall time of the guest run, instantiation included
 * @property {{ export: string, args: string[], repeat: number, results: string[],
 *   durations_ns: number[] }} [invoke] what --invoke did
 * @property {number} [host_peak_rss_bytes] peak memory of the host process, when known
 */

export class ProbeRuntime {
  /**
   * Instantiates the probe runtime and sizes its tables for `artifact`.
   * @param {import('./toolkit.js').Toolkit} toolkit
   * @param {import('./toolkit.js').ToolkitArtifact} artifact
   * @param {{ maxContexts?: number }} [options] calling contexts kept before
   *   new ones are cut at `[truncated]`; default: the ABI's default
   */
  constructor(toolkit, artifact, options = {}) {
    this.toolkit = toolkit;
    this.artifact = artifact;
    this.abi = readAbi(toolkit);
    const cap = options.maxContexts ?? this.abi.defaultNodeCap;
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_CONTEXTS) {
      throw new ProbeError(`maxContexts must be an integer in 1..=${MAX_CONTEXTS}, not ${cap}`);
    }
    // The runtime is a few hundred bytes: synchronous compilation is allowed
    // even on a page's main thread.
    const module = new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (toolkit.probeRuntime()));
    this.instance = new WebAssembly.Instance(module, {});
    const init = /** @type {(n: number, cap: number) => number} */ (this.export(this.abi.runtime.init));
    if (init(artifact.functionCount, cap) !== 0) {
      throw new ProbeError(`probe runtime could not allocate ${cap} calling contexts; lower --max-contexts`);
    }
    /** The import object entries for the artifact's probe imports. */
    this.imports = { [this.abi.importModule]: this.instance.exports };
  }

  /** @private @param {string} name */
  export(name) {
    const e = this.instance.exports[name];
    if (e === undefined) throw new ProbeError(`probe runtime has no \`${name}\` export`);
    return e;
  }

  /** @private @param {string} name @returns {WebAssembly.Global} */
  global(name) {
    const g = this.export(name);
    if (!(g instanceof WebAssembly.Global)) throw new ProbeError(`probe runtime: \`${name}\` is not a global`);
    return g;
  }

  /** The current calling context (a tree node; the ABI's rootNode when idle). */
  get context() {
    return /** @type {number} */ (this.global(this.abi.cur).value);
  }

  /**
   * Starts the next export call at the root: a trap in a previous call
   * leaves the context where the trap unwound from.
   */
  resetContext() {
    this.global(this.abi.cur).value = this.abi.rootNode;
  }

  /** Calls that found the tree full so far. @returns {bigint} */
  get overflow() {
    return BigInt.asUintN(64, /** @type {bigint} */ (this.global(this.abi.runtime.overflow).value));
  }

  /**
   * The profile's output files, built by the toolkit from the runtime's
   * memory and globals in one hand-over.
   * @param {RunRecord} run
   * @returns {import('./toolkit.js').ToolkitOutputs}
   */
  outputs(run) {
    const r = this.abi.runtime;
    const memory = this.export(r.memory);
    if (!(memory instanceof WebAssembly.Memory)) throw new ProbeError('probe runtime exports no memory');
    const u32 = (/** @type {string} */ name) => /** @type {number} */ (this.global(name).value) >>> 0;
    return new this.toolkit.Outputs(
      this.artifact,
      new Uint8Array(memory.buffer),
      u32(r.nodeCount),
      u32(r.nodesBase),
      u32(r.flatBase),
      this.overflow,
      JSON.stringify(run),
    );
  }
}
