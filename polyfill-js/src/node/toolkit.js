// Node only: loads the wasm toolkit from polyfill-js/wasm/ by reading its
// binary from disk (Node's fetch has no file: URLs). Shared by wprof-node,
// the tests and the Node benchmark.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadToolkit, NOT_BUILT, toolkitWasmUrl } from '../probe/index.js';

/** True when `npm run build:wasm` has produced the toolkit. */
export function toolkitBuilt() {
  return existsSync(fileURLToPath(toolkitWasmUrl()));
}

/**
 * The initialised toolkit; throws NOT_BUILT's message when it is missing.
 * @returns {Promise<import('../probe/toolkit.js').Toolkit>}
 */
export async function loadNodeToolkit() {
  if (!toolkitBuilt()) throw new Error(NOT_BUILT);
  return loadToolkit(readFileSync(toolkitWasmUrl()));
}
