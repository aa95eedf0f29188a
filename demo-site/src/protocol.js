// The messages between the page (app.js) and its run worker
// (run-worker.js). Types only: both sides import them for JSDoc.

/**
 * Page → worker: profile one module.
 * @typedef {object} RunRequest
 * @property {'run'} type
 * @property {string} name the module's file name (`.wasm` or `.wat`)
 * @property {Uint8Array} bytes
 * @property {string[]} args guest arguments after argv[0]
 * @property {string[]} env `KEY=VALUE` entries
 * @property {string} stdin
 * @property {boolean} memory memory profiling (`--memory`)
 * @property {Uint8Array} [debug] a separate file with the module's DWARF (`--debug-file`)
 */

/**
 * Worker → page.
 * @typedef {{ type: 'ready' }
 *   | { type: 'progress', stage: string }
 *   | { type: 'output', stream: 'stdout' | 'stderr', bytes: Uint8Array }
 *   | { type: 'done', result: RunResult }
 *   | { type: 'error', message: string }} WorkerMessage
 */

/**
 * @typedef {object} RunResult
 * @property {{ kind: string, code: number | null, message: string | null }} exit
 * @property {number} exitCode wprof's exit code (mirrors the guest)
 * @property {[string, Uint8Array][]} files output files in the order written
 * @property {string[]} messages the closing lines `wprof run` prints
 * @property {string | null} noSampling why CPU time was not measured, or null
 * @property {number} ms wall time of the whole profile() call
 */

export {};
