// Run before `npm pack`/`npm publish` of @wprof/profiler: the wasm toolkit
// is a build output (not checked in), and a package without it would only
// fail when a user first profiles something.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NOT_BUILT, toolkitWasmUrl } from '../src/probe/toolkit.js';

if (!existsSync(fileURLToPath(toolkitWasmUrl()))) {
  console.error(`error: cannot pack @wprof/profiler: ${NOT_BUILT}`);
  process.exit(1);
}
