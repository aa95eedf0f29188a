// @wprof/profiler: profiles a WebAssembly module in a JS host (a page, a
// worker, Node) with wprof's probes and writes the files `wprof run` writes.
// Browser-safe: nothing reachable from here imports `node:` or another
// package. Pair it with any WASI preview1 host, e.g. @wprof/wasi; CPU
// samplers are the `@wprof/profiler/sampler` subpath, Node helpers
// `@wprof/profiler/node`.

export { loadToolkit, toolkitWasmUrl, NOT_BUILT } from './probe/toolkit.js';
export { readAbi } from './probe/abi.js';
export { ProbeRuntime, ProbeError, multiMemory } from './probe/runtime.js';
export { EventLog } from './probe/events.js';
export { profile, guestEnded, trapMessage, exitCode } from './probe/profile.js';
