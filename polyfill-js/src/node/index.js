// `@wprof/profiler/node`: what only Node can do for a profiled run — load
// the wasm toolkit from disk, keep instrumented artifacts in the cache
// `wprof` shares, sample CPU time on a worker thread.

export { loadNodeToolkit, toolkitBuilt } from './toolkit.js';
export { artifactCache } from './cache.js';
export { startSampler, createSampler, samplingUnavailable } from './sampler.js';
