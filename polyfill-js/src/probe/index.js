// The JS host of wprof's probe ABI: loads the wasm toolkit, links an
// instrumented artifact to a probe runtime instance and turns a run into the
// same output files as `wprof run`. Browser-safe: no `node:` imports.

export { loadToolkit, toolkitWasmUrl, NOT_BUILT } from './toolkit.js';
export { readAbi } from './abi.js';
export { ProbeRuntime, ProbeError, multiMemory } from './runtime.js';
export { EventLog } from './events.js';
export { profile, guestEnded, trapMessage, exitCode } from './profile.js';
