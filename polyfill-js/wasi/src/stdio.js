// Standard streams: stdin from a string, bytes or a callback; stdout and
// stderr to a callback receiving bytes, or to a line-buffered console.
//
// None of them is seekable (ERRNO_SPIPE, as wasmtime reports for stdio).
// They report FILETYPE_CHARACTER_DEVICE only when they stand for a terminal
// (the console writer); a callback is a pipe-like FILETYPE_UNKNOWN, which is
// what wasmtime reports for non-tty stdio.
//
// Example:
//   new WASI({ stdin: 'line\n', stdout: (b) => chunks.push(b) });

import * as C from './constants.js';
import { WasiError } from './errors.js';
import { Fd, Readiness } from './fd.js';
import { Filestat } from './fs.js';

/** @typedef {string | Uint8Array | (() => (Uint8Array | string | null | undefined))} StdinSource */

const encoder = new TextEncoder();

/** @returns {never} */
function spipe() {
  throw new WasiError(C.ERRNO_SPIPE);
}

/** Shared behaviour of the three standard streams. */
class StdioFd extends Fd {
  /** @param {bigint} rights @param {boolean} tty */
  constructor(rights, tty) {
    super();
    this.filetype = tty ? C.FILETYPE_CHARACTER_DEVICE : C.FILETYPE_UNKNOWN;
    this.rightsBase = rights;
    this.rightsInheriting = rights;
  }

  get applicableRights() {
    return this.rightsBase | C.RIGHTS_POLL_FD_READWRITE | C.RIGHTS_FD_FDSTAT_SET_FLAGS;
  }

  /** @param {bigint} _offset @param {number} _whence @returns {bigint} */
  seek(_offset, _whence) {
    return spipe();
  }

  /** @returns {bigint} */
  tell() {
    return spipe();
  }

  /** @param {number} _len @param {bigint} _offset @returns {Uint8Array} */
  pread(_len, _offset) {
    return spipe();
  }

  /** @param {Uint8Array} _bytes @param {bigint} _offset @returns {number} */
  pwrite(_bytes, _offset) {
    return spipe();
  }

  filestat() {
    // Mirrors wasmtime: no identity, no times for a stream.
    return new Filestat(0n, this.filetype, 0n, 0n, 0n, 0n, 0n);
  }

  /** @param {number} flags */
  setFlags(flags) {
    if (flags & (C.FDFLAGS_DSYNC | C.FDFLAGS_RSYNC | C.FDFLAGS_SYNC)) throw new WasiError(C.ERRNO_INVAL);
    this.fdflags = flags & (C.FDFLAGS_APPEND | C.FDFLAGS_NONBLOCK);
  }
}

/** stdin: reads from a fixed buffer or pulls chunks from a callback. */
export class Stdin extends StdioFd {
  /** @param {StdinSource} [source] nothing means empty input */
  constructor(source) {
    super(C.RIGHTS_FD_READ, false);
    /** @private @type {Uint8Array} */
    this.pending = new Uint8Array(0);
    /** @private @type {(() => (Uint8Array | string | null | undefined)) | null} */
    this.pull = null;
    if (typeof source === 'function') this.pull = source;
    else if (typeof source === 'string') this.pending = encoder.encode(source);
    else if (source instanceof Uint8Array) this.pending = source.slice();
  }

  /**
   * Makes sure there is something buffered unless input has ended.
   * @private
   */
  fill() {
    while (this.pending.length === 0 && this.pull) {
      const chunk = this.pull();
      if (chunk === null || chunk === undefined) {
        this.pull = null;
      } else {
        this.pending = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      }
    }
  }

  /** @param {number} len */
  read(len) {
    this.fill();
    const out = this.pending.slice(0, len);
    this.pending = this.pending.subarray(out.length);
    return out;
  }

  pollRead() {
    // A callback is asked only on read; until then input may be waiting.
    if (this.pending.length === 0 && this.pull) return new Readiness(1n, false);
    return new Readiness(BigInt(this.pending.length), this.pending.length === 0);
  }
}

/** stdout or stderr: hands every write to a sink. */
export class Output extends StdioFd {
  /**
   * @param {(bytes: Uint8Array) => void} sink receives a copy of each write
   * @param {{ tty?: boolean, flush?: () => void }} [options]
   */
  constructor(sink, options = {}) {
    super(C.RIGHTS_FD_WRITE, options.tty ?? false);
    this.sink = sink;
    this.flushSink = options.flush ?? null;
  }

  /** @param {Uint8Array} bytes */
  write(bytes) {
    this.sink(bytes.slice());
    return bytes.length;
  }

  pollWrite() {
    return new Readiness(0n, false);
  }

  sync() {
    this.flushSink?.();
  }

  /** Writes out anything the sink still buffers (a partial console line). */
  flush() {
    this.flushSink?.();
  }
}

/**
 * A console writer: decodes UTF-8 across writes and calls `log` once per
 * complete line; `flush` emits a final unterminated line.
 * @param {(line: string) => void} log e.g. console.log or console.error
 */
export function lineBuffered(log) {
  const decoder = new TextDecoder();
  let line = '';
  return {
    /** @param {Uint8Array} bytes */
    write(bytes) {
      line += decoder.decode(bytes, { stream: true });
      let nl;
      while ((nl = line.indexOf('\n')) !== -1) {
        log(line.slice(0, nl));
        line = line.slice(nl + 1);
      }
    },
    flush() {
      line += decoder.decode();
      if (line !== '') log(line);
      line = '';
    },
  };
}

/**
 * The Fd for an output option of `new WASI`: a callback, or the default
 * line-buffered console.
 * @param {((bytes: Uint8Array) => void) | undefined} option
 * @param {(line: string) => void} log
 */
export function outputFd(option, log) {
  if (option) return new Output(option);
  const w = lineBuffered(log);
  return new Output(w.write, { tty: true, flush: w.flush });
}
