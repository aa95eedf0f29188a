// The JS host side of the probe ABI: one probe runtime instance per run.
//
// The artifact imports `wprof.enter`, `wprof.leave*` and `wprof.current`;
// they are linked straight to the exports of the probe runtime *wasm*
// instance, so every probe event is a wasm→wasm call that never enters JS or
// the toolkit. The calling-context tree and the current-context word stay in
// the runtime's own (shared) memory; the session reads the tree from there
// after the run (and at heap dumps), a sampler the word at any time.
//
// Example:
//   const rt = new ProbeRuntime(toolkit, abi, { functions: 12, nodeCap: 1 << 20 });
//   const instance = new WebAssembly.Instance(module, { ...wasiImports, ...rt.imports });

/** A wprof error (not the guest's): bad input, link failure, no memory. */
export class ProbeError extends Error {
  /** @param {string} message @param {{ cause?: unknown }} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

export class ProbeRuntime {
  /**
   * Instantiates the probe runtime and sizes its tables.
   * @param {import('./toolkit.js').Toolkit} toolkit
   * @param {import('./abi.js').ProbeAbi} abi
   * @param {{ functions: number, nodeCap: number }} params the session's `runtime()`
   */
  constructor(toolkit, abi, params) {
    this.abi = abi;
    // The runtime is a few hundred bytes: synchronous compilation is allowed
    // even on a page's main thread.
    const module = new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (toolkit.probeRuntime()));
    this.instance = new WebAssembly.Instance(module, {});
    const init = /** @type {(n: number, cap: number) => number} */ (this.export(abi.runtime.init));
    if (init(params.functions, params.nodeCap) !== 0) {
      throw new ProbeError(`probe runtime could not allocate ${params.nodeCap} calling contexts; lower --max-contexts`);
    }
    const memory = this.export(abi.runtime.memory);
    if (!(memory instanceof WebAssembly.Memory)) throw new ProbeError('probe runtime exports no memory');
    /** The runtime's memory (a SharedArrayBuffer where the host allows shared memory). */
    this.memory = memory;
    /** Index of the current-context word in an Int32Array over the memory. */
    this.curIndex = /** @type {number} */ (this.global(abi.runtime.curAddr).value) >>> 2;
    /** Index of the host-call word (1 + the import being called, 0 = none). */
    this.hostIndex = /** @type {number} */ (this.global(abi.runtime.hostAddr).value) >>> 2;
    this.leave = /** @type {(context: number) => void} */ (this.export(abi.leave));
    /** The import object entries for the artifact's probe imports. */
    this.imports = { [abi.importModule]: this.instance.exports };
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
    return Atomics.load(new Int32Array(this.memory.buffer), this.curIndex) >>> 0;
  }

  /**
   * Starts the next export call at the root: a trap in a previous call
   * leaves the context where the trap unwound from.
   */
  resetContext() {
    this.leave(this.abi.rootNode);
  }

  /**
   * The runtime's memory and globals as the session's `dump` and `finish`
   * take them: `[memory, nodeCount, nodesBase, flatBase, overflow]`.
   * @returns {[Uint8Array, number, number, number, bigint]}
   */
  view() {
    const r = this.abi.runtime;
    const u32 = (/** @type {string} */ name) => /** @type {number} */ (this.global(name).value) >>> 0;
    const overflow = BigInt.asUintN(64, /** @type {bigint} */ (this.global(r.overflow).value));
    return [new Uint8Array(this.memory.buffer), u32(r.nodeCount), u32(r.nodesBase), u32(r.flatBase), overflow];
  }
}
