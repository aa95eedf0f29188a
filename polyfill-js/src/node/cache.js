// Node's on-disk cache of instrumented artifacts, shared with the native
// `wprof` (same directory, same keys, byte-identical artifacts):
// $WPROF_CACHE_DIR, else $XDG_CACHE_HOME/wprof, else ~/.cache/wprof. The
// session decides keys and checks what comes back; errors here are misses.
//
// Example:
//   profile(toolkit, { bytes, options, wasi, cache: artifactCache() });

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The user's artifact cache, or undefined when no directory is known.
 * @returns {{ get(key: string): Uint8Array | undefined, put(key: string, bytes: Uint8Array): void } | undefined}
 */
export function artifactCache() {
  const env = (/** @type {string} */ k) => process.env[k] || undefined;
  const home = env('HOME') ?? homedir();
  const xdg = env('XDG_CACHE_HOME');
  const dir = env('WPROF_CACHE_DIR') ?? (xdg ? join(xdg, 'wprof') : home ? join(home, '.cache', 'wprof') : undefined);
  if (dir === undefined) return undefined;
  const path = (/** @type {string} */ key) => join(dir, `${key}.wasm`);
  return {
    get(key) {
      try {
        return readFileSync(path(key));
      } catch {
        return undefined;
      }
    },
    put(key, bytes) {
      // Written aside and renamed, so a concurrent run never reads half.
      const tmp = join(dir, `.${key}.${process.pid}.partial`);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(tmp, bytes);
        renameSync(tmp, path(key));
      } catch {
        rmSync(tmp, { force: true });
      }
    },
  };
}
