// Memory-probe events and `--invoke` call boundaries, batched for the
// session: records of the ABI's `events.width` numbers (`[code, node, a, b,
// c, d]`, codes from the ABI) in a Float64Array that crosses into the wasm
// toolkit when it is full, before a heap dump and at the end of the run —
// never once per event.
//
// The `wprof_mem` imports an artifact with memory probes needs are built
// here from the ABI's names; each reads the probe runtime's current context
// (one global read) and appends a record.

const BATCH_RECORDS = 8192;

export class EventLog {
  /**
   * @param {import('./abi.js').ProbeAbi} abi
   * @param {{ record(batch: Float64Array): void }} session
   * @param {{ context: number, ready: boolean } | null} runtime the probe runtime, whose context events carry
   */
  constructor(abi, session, runtime) {
    this.abi = abi;
    this.session = session;
    this.runtime = runtime;
    this.width = abi.events.width;
    // `push` writes six fields; a toolkit with another record shape must
    // fail here rather than misalign every record.
    if (this.width !== 6) throw new Error(`the wasm toolkit's event records have ${this.width} fields, not 6`);
    this.codes = abi.events.codes;
    this.batch = new Float64Array(BATCH_RECORDS * this.width);
    this.length = 0;
  }

  /** The current context, or the root outside instrumented code. */
  node() {
    return this.runtime?.ready ? this.runtime.context : this.abi.rootNode;
  }

  /**
   * @param {number} code @param {number} node
   * @param {number} [a] @param {number} [b] @param {number} [c] @param {number} [d]
   */
  push(code, node, a = 0, b = 0, c = 0, d = 0) {
    if (this.length === this.batch.length) this.flush();
    const r = this.batch;
    let i = this.length;
    r[i++] = code;
    r[i++] = node;
    r[i++] = a;
    r[i++] = b;
    r[i++] = c;
    r[i++] = d;
    this.length = i;
  }

  /** Hands the pending records to the session. */
  flush() {
    if (this.length === 0) return;
    this.session.record(this.batch.subarray(0, this.length));
    this.length = 0;
  }

  callStart() {
    this.push(this.codes.callStart, this.abi.rootNode);
  }

  /** @param {number} durationNs */
  callEnd(durationNs) {
    this.push(this.codes.callEnd, this.abi.rootNode, durationNs);
  }

  /** The `wprof_mem` import object. */
  memoryImports() {
    const c = this.codes;
    const now = () => performance.now() * 1e6;
    return {
      [this.abi.mem.module]: {
        [this.abi.mem.alloc]: (/** @type {bigint} */ addr, /** @type {bigint} */ size, /** @type {number} */ layer) =>
          this.push(c.alloc, this.node(), Number(addr), Number(size), layer),
        // A free needs no context: skip reading the current context.
        [this.abi.mem.free]: (/** @type {bigint} */ addr, /** @type {number} */ layer) =>
          this.push(c.free, this.abi.rootNode, Number(addr), layer),
        [this.abi.mem.realloc]: (
          /** @type {bigint} */ old,
          /** @type {bigint} */ next,
          /** @type {bigint} */ size,
          /** @type {number} */ layer,
        ) => this.push(c.realloc, this.node(), Number(old), Number(next), Number(size), layer),
        [this.abi.mem.grow]: (/** @type {bigint} */ result, /** @type {bigint} */ delta, /** @type {number} */ tracked) =>
          this.push(c.grow, this.node(), Number(result), Number(delta), tracked),
        [this.abi.mem.gcBegin]: () => this.push(c.gcBegin, this.abi.rootNode, now()),
        [this.abi.mem.gcEnd]: (/** @type {bigint} */ heap, /** @type {number} */ state) =>
          this.push(c.gcEnd, this.abi.rootNode, now(), Number(heap), state),
        [this.abi.mem.gcCycle]: () => this.push(c.gcCycle, this.abi.rootNode),
      },
    };
  }
}
