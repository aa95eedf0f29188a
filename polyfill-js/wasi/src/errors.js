// Error types of the WASI polyfill.
//
// `WASIExit` is the only error a syscall lets reach the host: `proc_exit`
// throws it to unwind the guest, and `WASI.start` turns it into an exit code.
// `WasiError` never leaves the polyfill: file-system helpers throw it with an
// errno deep inside a path walk, and the syscall boundary turns it back into
// the errno the guest receives.

import { ERRNO_SUCCESS } from './constants.js';

/** Thrown by `proc_exit`; carries the guest's exit code. */
export class WASIExit extends Error {
  /** @param {number} code */
  constructor(code) {
    super(`exit with code ${code}`);
    this.name = 'WASIExit';
    /** The guest's exit status. */
    this.code = code;
  }
}

/** An errno travelling from a helper up to the syscall that returns it. */
export class WasiError extends Error {
  /** @param {number} errno */
  constructor(errno) {
    super(`errno ${errno}`);
    this.name = 'WasiError';
    this.errno = errno;
  }
}

/**
 * Throws `WasiError(errno)` unless `errno` is success; lets helpers that
 * return an errno be chained with ones that throw.
 * @param {number} errno
 */
export function check(errno) {
  if (errno !== ERRNO_SUCCESS) throw new WasiError(errno);
}
