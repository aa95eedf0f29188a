// The probe ABI as the JS host sees it. It is defined once, in Rust
// (toolkit/instrument/src/abi.rs); the toolkit exports it as JSON and this
// module only parses and checks that document, so no name or number of the
// ABI is written twice.

/**
 * @typedef {object} ProbeAbi
 * @property {number} version ABI version the artifact's manifest must state
 * @property {string} importModule import module of the artifact's probes (`wprof`)
 * @property {string} enter `enter(fid) -> previous context`
 * @property {string} leave `leave(saved)`: restores the context (hosts: to the root)
 * @property {string} current `current() -> context`
 * @property {string[]} leaveValue `leave_<t>(value, saved) -> value` per number type
 * @property {string} hostEnter `host_enter(import)` before a call of the guest's own import
 * @property {string} hostLeave `host_leave()` after it
 * @property {string} section custom section carrying the manifest
 * @property {string} linkedPrefix prefix of the runtime's exports in an artifact that links it
 * @property {string} linkedStart that artifact's deferred start function, called after `init`
 * @property {{ init: string, memory: string, nodeCount: string, nodesBase: string,
 *   flatBase: string, overflow: string, curAddr: string, hostAddr: string }} runtime the probe runtime's exports the host reads
 * @property {number} rootNode context of "no function" (reset between export calls)
 * @property {number} overflowNode context absorbing calls once the tree is full
 * @property {number} probeContext the current-context word's value while a probe runs
 * @property {number} defaultNodeCap default calling-context capacity
 * @property {{ module: string, alloc: string, free: string, realloc: string, grow: string,
 *   gcBegin: string, gcEnd: string, gcCycle: string }} mem the memory probes' import names
 * @property {{ width: number, codes: Record<string, number> }} events event batch encoding
 * @property {string} wasiModule WASI preview1's import module
 */

/**
 * The probe ABI of `toolkit`.
 * @param {{ probeAbi(): string }} toolkit
 * @returns {ProbeAbi}
 */
export function readAbi(toolkit) {
  const abi = JSON.parse(toolkit.probeAbi());
  const strings = ['importModule', 'enter', 'leave', 'current', 'hostEnter', 'hostLeave', 'section', 'wasiModule', 'linkedPrefix', 'linkedStart'];
  const runtime = ['init', 'memory', 'nodeCount', 'nodesBase', 'flatBase', 'overflow', 'curAddr', 'hostAddr'];
  const numbers = ['version', 'rootNode', 'overflowNode', 'probeContext', 'defaultNodeCap'];
  // A toolkit built from another ABI revision must fail here, loudly, rather
  // than read a tree with the wrong layout.
  const ok =
    strings.every((k) => typeof abi[k] === 'string') &&
    numbers.every((k) => Number.isInteger(abi[k])) &&
    typeof abi.runtime === 'object' &&
    runtime.every((k) => typeof abi.runtime[k] === 'string') &&
    typeof abi.mem === 'object' &&
    typeof abi.mem.module === 'string' &&
    typeof abi.events === 'object' &&
    Number.isInteger(abi.events.width) &&
    typeof abi.events.codes === 'object';
  if (!ok) throw new Error(`the wasm toolkit describes an unknown probe ABI: ${JSON.stringify(abi)}`);
  return abi;
}
