// The JS host side of the probe ABI: one probe runtime instance per run.
//
// The artifact imports `wprof.enter`, `wprof.leave*` and `wprof.current`;
// they are linked straight to the exports of the probe runtime *wasm*
// instance, so every probe event is a wasm→wasm call that never enters JS or
// the toolkit. The calling-context tree and the current-context word stay in
// the runtime's own (shared) memory; the session reads the tree from there
// after the run (and at heap dumps), a sampler the word at any time.
//
// An engine with multi-memory (a page's; not Node 20's) runs the artifact
// with the runtime linked in instead (`params.linked`): nothing to import,
// `enter` a call within the module and the exits inlined stores, which V8
// makes far cheaper than calls into another instance. Its exports then carry
// the ABI's `linkedPrefix`, and the host sets it up once the artifact is
// instantiated (`attach`), before the artifact's deferred start function.
//
// Example:
//   const rt = new ProbeRuntime(toolkit, abi, { functions: 12, nodeCap: 1 << 20, linked: false });
//   const instance = new WebAssembly.Instance(module, { ...wasiImports, ...rt.imports });

/** Whether this engine loads modules with several memories. */
export const multiMemory = WebAssembly.validate(
  // A module with two one-page memories.
  new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]),
);

/** A wprof error (not the guest's): bad input, link failure, no memory. */
export class ProbeError extends Error {
  /** @param {string} message @param {{ cause?: unknown }} [options] */
  constructor(message, options) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

/**
 * A set-up runtime: its instance (or the artifact's) and where its words are.
 * @typedef {object} Attached
 * @property {WebAssembly.Instance} instance
 * @property {WebAssembly.Memory} memory the runtime's memory (a SharedArrayBuffer where the host allows shared memory)
 * @property {number} curIndex index of the current-context word in an Int32Array over the memory
 * @property {number} hostIndex index of the host-call word (1 + the import being called, 0 = none)
 * @property {(context: number) => void} leave restores a context
 */

export class ProbeRuntime {
  /**
   * Instantiates the probe runtime and sizes its tables; a linked runtime
   * waits for `attach`.
   * @param {import('./toolkit.js').Toolkit} toolkit
   * @param {import('./abi.js').ProbeAbi} abi
   * @param {{ functions: number, nodeCap: number, linked: boolean }} params the session's `runtime()`
   */
  constructor(toolkit, abi, params) {
    this.abi = abi;
    /** @private */
    this.params = params;
    /** The runtime is linked into the artifact. */
    this.linked = params.linked;
    /** @private */
    this.prefix = params.linked ? abi.linkedPrefix : '';
    /** @type {Attached | undefined} @private */
    this.attached = undefined;
    /** The import object entries for the artifact's probe imports. */
    this.imports = {};
    if (!params.linked) {
      // The runtime is a few hundred bytes: synchronous compilation is
      // allowed even on a page's main thread.
      const module = new WebAssembly.Module(/** @type {Uint8Array<ArrayBuffer>} */ (toolkit.probeRuntime()));
      const instance = new WebAssembly.Instance(module, {});
      this.attach(instance);
      this.imports = { [abi.importModule]: instance.exports };
    }
  }

  /**
   * Sets up the runtime in `instance`: the runtime's own, or the artifact
   * that links it (instantiating that runs no guest code).
   * @param {WebAssembly.Instance} instance
   */
  attach(instance) {
    const { abi, params } = this;
    const find = (/** @type {string} */ name) => {
      const e = instance.exports[this.prefix + name];
      if (e === undefined) throw new ProbeError(`probe runtime has no \`${this.prefix}${name}\` export`);
      return e;
    };
    const global = (/** @type {string} */ name) => {
      const g = find(name);
      if (!(g instanceof WebAssembly.Global)) throw new ProbeError(`probe runtime: \`${name}\` is not a global`);
      return /** @type {number} */ (g.value);
    };
    const init = /** @type {(n: number, cap: number) => number} */ (find(abi.runtime.init));
    if (init(params.functions, params.nodeCap) !== 0) {
      throw new ProbeError(`probe runtime could not allocate ${params.nodeCap} calling contexts; lower --max-contexts`);
    }
    const memory = find(abi.runtime.memory);
    if (!(memory instanceof WebAssembly.Memory)) throw new ProbeError('probe runtime exports no memory');
    this.attached = {
      instance,
      memory,
      curIndex: global(abi.runtime.curAddr) >>> 2,
      hostIndex: global(abi.runtime.hostAddr) >>> 2,
      leave: /** @type {(context: number) => void} */ (find(abi.leave)),
    };
  }

  /** Whether the runtime is set up (a linked one once its artifact is instantiated). */
  get ready() {
    return this.attached !== undefined;
  }

  /** @private @returns {Attached} */
  get state() {
    if (this.attached === undefined) throw new ProbeError('probe runtime used before it was set up');
    return this.attached;
  }

  /** The instance holding the runtime: its own, or the artifact's. */
  get instance() {
    return this.state.instance;
  }

  /** The runtime's memory (a SharedArrayBuffer where the host allows shared memory). */
  get memory() {
    return this.state.memory;
  }

  /** Index of the current-context word in an Int32Array over the memory. */
  get curIndex() {
    return this.state.curIndex;
  }

  /** Index of the host-call word (1 + the import being called, 0 = none). */
  get hostIndex() {
    return this.state.hostIndex;
  }

  /**
   * Runs a linked artifact's deferred start function (guest code), if it
   * has one.
   */
  start() {
    const start = this.attached?.instance.exports[this.abi.linkedStart];
    if (this.linked && typeof start === 'function') start();
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
    this.state.leave(this.abi.rootNode);
  }

  /**
   * The runtime's memory and globals as the session's `dump` and `finish`
   * take them: `[memory, nodeCount, nodesBase, flatBase, overflow]`.
   * @returns {[Uint8Array, number, number, number, bigint]}
   */
  view() {
    const r = this.abi.runtime;
    const exports = this.state.instance.exports;
    const value = (/** @type {string} */ name) => /** @type {WebAssembly.Global} */ (exports[this.prefix + name]).value;
    const u32 = (/** @type {string} */ name) => /** @type {number} */ (value(name)) >>> 0;
    const overflow = BigInt.asUintN(64, /** @type {bigint} */ (value(r.overflow)));
    return [new Uint8Array(this.memory.buffer), u32(r.nodeCount), u32(r.nodesBase), u32(r.flatBase), overflow];
  }
}
