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
 * Page → worker: a question for the toolkit, answered by an `answer` with
 * the same `id` (the wasm stays off the main thread; quick next to a run).
 * `heap-diff`: `wprof heap diff` of `.wheap` dumps (the toolkit's `heapDiff`);
 * `pprof-summary`: the summary of a `cpu.pb.gz` (`pprofSummary`).
 * @typedef {{ type: 'heap-diff', id: number, dumps: { name: string, bytes: Uint8Array }[] }
 *   | { type: 'pprof-summary', id: number, name: string, bytes: Uint8Array }} Question
 */

/**
 * Page → worker: the output set for the profile a self-profiling artifact
 * (`wprof instrument --embed`) wrote on another host (`wprof collect`);
 * answered like a run, with `done`.
 * @typedef {object} CollectRequest
 * @property {'collect'} type
 * @property {string} name the artifact's file name
 * @property {Uint8Array} bytes the artifact
 * @property {string} profileName
 * @property {Uint8Array} profile the file it wrote
 */

/** @typedef {RunRequest | CollectRequest | Question} PageMessage */

/**
 * How the page asks its worker a question: the question for an id, and
 * buffers to transfer. Resolves with the answer's JSON, rejects with its error.
 * @typedef {(question: (id: number) => Question, transfer?: Transferable[]) => Promise<string>} Ask
 */

/**
 * Worker → page.
 * @typedef {{ type: 'ready' }
 *   | { type: 'progress', stage: string }
 *   | { type: 'output', stream: 'stdout' | 'stderr', bytes: Uint8Array }
 *   | { type: 'done', result: RunResult }
 *   | { type: 'error', message: string }
 *   | { type: 'answer', id: number, json?: string, error?: string }} WorkerMessage
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
