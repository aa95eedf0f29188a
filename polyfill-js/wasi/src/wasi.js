// The `wasi_snapshot_preview1` syscalls and the `WASI` class hosts use.
//
// Every syscall validates its arguments and returns an errno; only
// `proc_exit` throws (a `WASIExit`). Errno choices mirror wasmtime-wasi
// (preview1 over cap-std), the runtime wprof's native runner uses, so a
// guest observes the same results natively and here; the README lists the
// few deliberate differences. Guest memory is re-read on every access: a
// view is never kept across a call that could run guest or host code.
//
// Example:
//   const wasi = new WASI({ args: ['prog'], preopens: { '/sandbox': new Directory() } });
//   const { instance } = await WebAssembly.instantiate(bytes, { wasi_snapshot_preview1: wasi.imports });
//   const code = wasi.start(instance);

import * as C from './constants.js';
import { WASIExit, WasiError } from './errors.js';
import { Fd, OpenDirectory, OpenFile } from './fd.js';
import * as fs from './fs.js';
import { Directory, File, Symlink, realtimeNs } from './fs.js';
import { Stdin, Output, outputFd } from './stdio.js';

/**
 * @typedef {object} WASIOptions
 * @property {string[]} [args] argv, argv[0] included
 * @property {Record<string, string>} [env] environment variables
 * @property {Record<string, Directory>} [preopens] guest path → directory, given to the guest as fds 3, 4, … in this order
 * @property {import('./stdio.js').StdinSource} [stdin] text, bytes, or a callback returning the next chunk (null at end); default: empty
 * @property {(bytes: Uint8Array) => void} [stdout] receives each write; default: line-buffered console.log
 * @property {(bytes: Uint8Array) => void} [stderr] receives each write; default: line-buffered console.error
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** @param {number} errno @returns {never} */
function fail(errno) {
  throw new WasiError(errno);
}

/**
 * Nanoseconds on a clock that never goes back, at the full precision
 * `performance.now()` offers (below a microsecond in Node; a page may
 * coarsen it to 5–100 µs). Since the time origin the value stays far below
 * 2^53 ns, so the double keeps every nanosecond.
 */
function monotonicNs() {
  return BigInt(Math.round(performance.now() * 1e6));
}

/** @type {Int32Array | null | undefined} */
let waitCell;

/**
 * Blocks the thread for `ns`. Atomics.wait where the host allows it (Node,
 * workers of cross-origin-isolated pages); elsewhere (a page's main thread)
 * a spin on performance.now(). Either way the wait is bounded by the guest's
 * own timeout: poll_oneoff never waits without a clock.
 * @param {bigint} ns
 */
function sleep(ns) {
  const end = performance.now() + Number(ns) / 1e6;
  if (waitCell === undefined) {
    waitCell = null;
    try {
      const cell = new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(cell, 0, 1, 0);
      waitCell = cell;
    } catch {
      // No SharedArrayBuffer, or Atomics.wait is not allowed on this thread.
    }
  }
  for (let left = end - performance.now(); left > 0; left = end - performance.now()) {
    if (waitCell) Atomics.wait(waitCell, 0, 0, left);
  }
}

/** The syscalls by their witx names, in witx order. */
export const SYSCALLS = /** @type {const} */ ([
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get', 'sock_accept',
  'sock_recv', 'sock_send', 'sock_shutdown',
]);

/** A WASI preview1 host for one instance. */
export class WASI {
  /** @param {WASIOptions} [options] */
  constructor(options = {}) {
    /** @type {Uint8Array[]} */
    this.args = (options.args ?? []).map((a) => encoder.encode(`${a}\0`));
    /** @type {Uint8Array[]} */
    this.env = Object.entries(options.env ?? {}).map(([k, v]) => encoder.encode(`${k}=${v}\0`));
    /** Open descriptors by number. @type {Map<number, Fd>} */
    this.fds = new Map();
    /** Numbers given up by fd_close/fd_renumber, reused first. @type {Set<number>} */
    this.free = new Set();
    this.fds.set(0, new Stdin(options.stdin));
    this.fds.set(1, outputFd(options.stdout, console.log));
    this.fds.set(2, outputFd(options.stderr, console.error));
    let n = 3;
    for (const [name, dir] of Object.entries(options.preopens ?? {})) {
      if (!(dir instanceof Directory)) throw new TypeError(`preopen \`${name}\` is not a Directory`);
      this.fds.set(n++, new OpenDirectory(dir, { preopenName: name }));
    }
    /** @type {WebAssembly.Memory | null} */
    this.memory = null;
    this.startedNs = monotonicNs();
    /** The last CLOCKID_MONOTONIC value the guest read. */
    this.lastMonotonicNs = 0n;
    this.started = false;
    /** The import object for module `wasi_snapshot_preview1`. */
    this.imports = this.makeImports();
  }

  /** Uses `memory` for the syscalls (hosts that call exports themselves). @param {WebAssembly.Memory} memory */
  setMemory(memory) {
    this.memory = memory;
  }

  /**
   * Runs a command's `_start`; returns its exit code (0 when `_start`
   * returns). Traps and host errors are rethrown.
   * @param {WebAssembly.Instance} instance
   * @returns {number}
   */
  start(instance) {
    const start = instance.exports._start;
    if (typeof start !== 'function') throw new TypeError('the module exports no `_start` function');
    this.begin(instance);
    try {
      start();
      return 0;
    } catch (e) {
      if (e instanceof WASIExit) return e.code;
      throw e;
    } finally {
      this.flush();
    }
  }

  /**
   * Prepares a reactor: runs `_initialize` if exported. Its exports can be
   * called afterwards.
   * @param {WebAssembly.Instance} instance
   */
  initialize(instance) {
    const init = instance.exports._initialize;
    this.begin(instance);
    if (typeof init === 'function') {
      try {
        init();
      } finally {
        this.flush();
      }
    }
  }

  /** Writes out partial console lines of stdout and stderr. */
  flush() {
    for (const fd of [1, 2]) {
      const f = this.fds.get(fd);
      if (f instanceof Output) f.flush();
    }
  }

  /**
   * @private
   * @param {WebAssembly.Instance} instance
   */
  begin(instance) {
    if (this.started) throw new Error('this WASI object has already started an instance');
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('the module exports no `memory`');
    this.started = true;
    this.memory = memory;
  }

  /** @private */
  makeImports() {
    /** @type {Record<string, (...args: any[]) => number>} */
    const imports = {};
    const self = /** @type {Record<string, any>} */ (/** @type {unknown} */ (this));
    for (const name of SYSCALLS) {
      /** @type {(...args: any[]) => number | void} */
      const fn = self[name].bind(this);
      imports[name] = (...args) => {
        try {
          return fn(...args) ?? C.ERRNO_SUCCESS;
        } catch (e) {
          if (e instanceof WasiError) return e.errno;
          // A guest pointer outside memory.
          if (e instanceof RangeError) return C.ERRNO_FAULT;
          throw e;
        }
      };
    }
    return imports;
  }

  // ---- memory access -------------------------------------------------------

  /** @private */
  view() {
    if (!this.memory) throw new Error('WASI: no memory yet; call start(), initialize() or setMemory() first');
    return new DataView(this.memory.buffer);
  }

  /** @private */
  bytes() {
    if (!this.memory) throw new Error('WASI: no memory yet; call start(), initialize() or setMemory() first');
    return new Uint8Array(this.memory.buffer);
  }

  /**
   * @private
   * @param {number} ptr
   * @param {number} len
   */
  string(ptr, len) {
    const raw = this.bytes().slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
    if (raw.length !== len >>> 0) fail(C.ERRNO_FAULT);
    try {
      return decoder.decode(raw);
    } catch {
      return fail(C.ERRNO_ILSEQ);
    }
  }

  /**
   * Copies `data` into guest memory at `ptr`.
   * @private
   * @param {number} ptr
   * @param {Uint8Array} data
   */
  put(ptr, data) {
    const mem = this.bytes();
    if ((ptr >>> 0) + data.length > mem.length) fail(C.ERRNO_FAULT);
    mem.set(data, ptr >>> 0);
  }

  /**
   * The first non-empty (buf, len) of an iovec array, or an empty one.
   * Vectored reads and writes use only that buffer, as wasmtime-wasi does:
   * guests loop for the rest, and how often they loop decides which libc
   * paths run, so the call profile matches the native host's.
   * @private
   * @param {number} iovs
   * @param {number} count
   * @returns {[number, number]}
   */
  firstIovec(iovs, count) {
    const v = this.view();
    for (let i = 0; i < count >>> 0; i++) {
      const at = (iovs >>> 0) + i * C.SIZEOF_IOVEC;
      const len = v.getUint32(at + 4, true);
      if (len !== 0) return [v.getUint32(at, true), len];
    }
    return [0, 0];
  }

  /**
   * The bytes of the first non-empty ciovec (see `firstIovec`).
   * @private
   * @param {number} iovs
   * @param {number} count
   */
  firstBytes(iovs, count) {
    const [buf, len] = this.firstIovec(iovs, count);
    const mem = this.bytes();
    if (buf + len > mem.length) fail(C.ERRNO_FAULT);
    return mem.slice(buf, buf + len);
  }

  /**
   * @private
   * @param {number} ptr
   * @param {import('./fs.js').Filestat} s
   */
  putFilestat(ptr, s) {
    const v = this.view();
    const p = ptr >>> 0;
    v.getBigUint64(p + 56, true); // bounds check before writing anything
    v.setBigUint64(p, s.dev, true);
    v.setBigUint64(p + 8, s.ino, true);
    v.setUint8(p + 16, s.filetype);
    for (let i = 17; i < 24; i++) v.setUint8(p + i, 0);
    v.setBigUint64(p + 24, s.nlink, true);
    v.setBigUint64(p + 32, s.size, true);
    v.setBigUint64(p + 40, s.atim, true);
    v.setBigUint64(p + 48, s.mtim, true);
    v.setBigUint64(p + 56, s.ctim, true);
  }

  // ---- descriptors ----------------------------------------------------------

  /**
   * The descriptor `fd`, which must hold every right in `rights`. A right
   * the descriptor's kind can never have is EBADF (wasmtime's answer for
   * e.g. seeking a directory); one dropped from this descriptor is
   * ENOTCAPABLE, except read and write, which are EBADF as in POSIX.
   * @private
   * @param {number} fd
   * @param {bigint} [rights]
   */
  fd(fd, rights = 0n) {
    const f = this.fds.get(fd >>> 0);
    if (!f) return fail(C.ERRNO_BADF);
    if ((f.rightsBase & rights) !== rights) {
      const missing = rights & ~f.rightsBase;
      if (f instanceof Output || f instanceof Stdin) {
        if (missing & (C.RIGHTS_FD_SEEK | C.RIGHTS_FD_TELL)) fail(C.ERRNO_SPIPE);
        fail(C.ERRNO_BADF);
      }
      if ((f.applicableRights & missing) !== missing) fail(C.ERRNO_BADF);
      if (missing & (C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE)) fail(C.ERRNO_BADF);
      fail(C.ERRNO_NOTCAPABLE);
    }
    return f;
  }

  /**
   * A directory descriptor for a path operation.
   * @private
   * @param {number} fd
   * @param {bigint} rights
   */
  dir(fd, rights) {
    const f = this.fds.get(fd >>> 0);
    if (!(f instanceof OpenDirectory)) return fail(C.ERRNO_BADF);
    return /** @type {OpenDirectory} */ (this.fd(fd, rights));
  }

  /**
   * Numbers `f` the way wasmtime does, so that guests see the same fd
   * numbers natively and here: the highest number freed by fd_close or
   * fd_renumber is reused first, otherwise one past the highest in use.
   * @private
   * @param {Fd} f
   */
  allocate(f) {
    let n = -1;
    for (const free of this.free) if (free > n) n = free;
    if (n >= 0) {
      this.free.delete(n);
    } else {
      n = 0;
      for (const used of this.fds.keys()) if (used >= n) n = used + 1;
    }
    this.fds.set(n, f);
    return n;
  }

  // ---- args, environ --------------------------------------------------------

  /** @param {number} argv @param {number} buf */
  args_get(argv, buf) {
    this.putStrings(this.args, argv, buf);
  }

  /** @param {number} countPtr @param {number} sizePtr */
  args_sizes_get(countPtr, sizePtr) {
    this.putSizes(this.args, countPtr, sizePtr);
  }

  /** @param {number} environ @param {number} buf */
  environ_get(environ, buf) {
    this.putStrings(this.env, environ, buf);
  }

  /** @param {number} countPtr @param {number} sizePtr */
  environ_sizes_get(countPtr, sizePtr) {
    this.putSizes(this.env, countPtr, sizePtr);
  }

  /**
   * @private
   * @param {Uint8Array[]} list
   * @param {number} ptrs
   * @param {number} buf
   */
  putStrings(list, ptrs, buf) {
    let at = buf >>> 0;
    for (let i = 0; i < list.length; i++) {
      this.view().setUint32((ptrs >>> 0) + i * 4, at, true);
      this.put(at, list[i]);
      at += list[i].length;
    }
  }

  /**
   * @private
   * @param {Uint8Array[]} list
   * @param {number} countPtr
   * @param {number} sizePtr
   */
  putSizes(list, countPtr, sizePtr) {
    const v = this.view();
    v.setUint32(countPtr >>> 0, list.length, true);
    v.setUint32(sizePtr >>> 0, list.reduce((n, s) => n + s.length, 0), true);
  }

  // ---- clocks, random, scheduling, process ------------------------------------

  /**
   * The current time of `id`. The CPU-time clocks count the time since this
   * WASI object was made: a single-threaded guest has no better measure here.
   * @private
   * @param {number} id
   */
  now(id) {
    switch (id) {
      case C.CLOCKID_REALTIME: return realtimeNs();
      case C.CLOCKID_MONOTONIC: {
        // Guests take two reads that compare equal as "time stood still"
        // (wasi-libc users assert that back-to-back clock_gettime calls
        // increase). A coarse or fast-called performance.now() repeats
        // values, so a repeat is nudged 1 ns past the previous reading.
        const t = monotonicNs();
        this.lastMonotonicNs = t > this.lastMonotonicNs ? t : this.lastMonotonicNs + 1n;
        return this.lastMonotonicNs;
      }
      case C.CLOCKID_PROCESS_CPUTIME_ID:
      case C.CLOCKID_THREAD_CPUTIME_ID: return monotonicNs() - this.startedNs;
      default: return fail(C.ERRNO_INVAL);
    }
  }

  /** @param {number} id @param {number} resPtr */
  clock_res_get(id, resPtr) {
    this.now(id);
    // performance.now() is microsecond-precise in Node; browsers coarsen it
    // further, which a resolution cannot promise away.
    this.view().setBigUint64(resPtr >>> 0, 1000n, true);
  }

  /** @param {number} id @param {bigint} _precision @param {number} timePtr */
  clock_time_get(id, _precision, timePtr) {
    this.view().setBigUint64(timePtr >>> 0, this.now(id), true);
  }

  /** @param {number} buf @param {number} len */
  random_get(buf, len) {
    // getRandomValues takes at most 64 KiB and no shared memory: fill a
    // private buffer, then copy.
    const out = new Uint8Array(len >>> 0);
    for (let at = 0; at < out.length; at += 65536) {
      crypto.getRandomValues(out.subarray(at, Math.min(out.length, at + 65536)));
    }
    this.put(buf, out);
  }

  sched_yield() {}

  /** @param {number} code */
  proc_exit(code) {
    this.flush();
    throw new WASIExit(code >>> 0);
  }

  /**
   * Signals cannot be delivered to a wasm instance: ENOTSUP, as wasmtime.
   * @param {number} _sig
   */
  proc_raise(_sig) {
    fail(C.ERRNO_NOTSUP);
  }

  // ---- fd operations ---------------------------------------------------------

  /** @param {number} fd @param {bigint} offset @param {bigint} len @param {number} advice */
  fd_advise(fd, offset, len, advice) {
    this.fd(fd, C.RIGHTS_FD_ADVISE).advise(offset, len, advice);
  }

  /** @param {number} fd @param {bigint} offset @param {bigint} len */
  fd_allocate(fd, offset, len) {
    this.fd(fd, C.RIGHTS_FD_ALLOCATE).allocate(offset, len);
  }

  /** @param {number} fd */
  fd_close(fd) {
    const f = this.fd(fd);
    this.fds.delete(fd >>> 0);
    this.free.add(fd >>> 0);
    f.close();
  }

  /** @param {number} fd */
  fd_datasync(fd) {
    this.fd(fd, C.RIGHTS_FD_DATASYNC).sync();
  }

  /** @param {number} fd */
  fd_sync(fd) {
    this.fd(fd, C.RIGHTS_FD_SYNC).sync();
  }

  /** @param {number} fd @param {number} ptr */
  fd_fdstat_get(fd, ptr) {
    const f = this.fd(fd);
    const v = this.view();
    const p = ptr >>> 0;
    v.getBigUint64(p + 16, true);
    v.setUint8(p, f.filetype);
    v.setUint8(p + 1, 0);
    v.setUint16(p + 2, f.fdflags, true);
    v.setUint32(p + 4, 0, true);
    v.setBigUint64(p + 8, f.rightsBase, true);
    v.setBigUint64(p + 16, f.rightsInheriting, true);
  }

  /** @param {number} fd @param {number} flags */
  fd_fdstat_set_flags(fd, flags) {
    const f = this.fds.get(fd >>> 0);
    if (f instanceof Output || f instanceof Stdin) fail(C.ERRNO_BADF);
    if (flags & ~0x1f) fail(C.ERRNO_INVAL);
    this.fd(fd, C.RIGHTS_FD_FDSTAT_SET_FLAGS).setFlags(flags);
  }

  /**
   * Rights can only be dropped, never regained.
   * @param {number} fd @param {bigint} base @param {bigint} inheriting
   */
  fd_fdstat_set_rights(fd, base, inheriting) {
    const f = this.fd(fd);
    if ((base & ~f.rightsBase) !== 0n || (inheriting & ~f.rightsInheriting) !== 0n) fail(C.ERRNO_NOTCAPABLE);
    f.rightsBase = base;
    f.rightsInheriting = inheriting;
  }

  /** @param {number} fd @param {number} ptr */
  fd_filestat_get(fd, ptr) {
    const f = this.fds.get(fd >>> 0);
    // Streams answer without a right, as wasmtime's do.
    const s = f instanceof Output || f instanceof Stdin ? f.filestat() : this.fd(fd, C.RIGHTS_FD_FILESTAT_GET).filestat();
    this.putFilestat(ptr, s);
  }

  /** @param {number} fd @param {bigint} size */
  fd_filestat_set_size(fd, size) {
    this.fd(fd, C.RIGHTS_FD_FILESTAT_SET_SIZE).setSize(size);
  }

  /** @param {number} fd @param {bigint} atim @param {bigint} mtim @param {number} flags */
  fd_filestat_set_times(fd, atim, mtim, flags) {
    fs.checkTimeFlags(flags);
    const f = this.fds.get(fd >>> 0);
    if (f instanceof Output || f instanceof Stdin) fail(C.ERRNO_BADF);
    this.fd(fd, C.RIGHTS_FD_FILESTAT_SET_TIMES).setTimes(atim, mtim, flags);
  }

  /** @param {number} fd @param {number} iovs @param {number} count @param {number} nreadPtr */
  fd_read(fd, iovs, count, nreadPtr) {
    const f = this.fd(fd, C.RIGHTS_FD_READ);
    const [buf, len] = this.firstIovec(iovs, count);
    const got = f.read(len);
    this.put(buf, got);
    this.view().setUint32(nreadPtr >>> 0, got.length, true);
  }

  /** @param {number} fd @param {number} iovs @param {number} count @param {bigint} offset @param {number} nreadPtr */
  fd_pread(fd, iovs, count, offset, nreadPtr) {
    const f = this.fd(fd, C.RIGHTS_FD_READ | C.RIGHTS_FD_SEEK);
    const [buf, len] = this.firstIovec(iovs, count);
    const got = f.pread(len, offset);
    this.put(buf, got);
    this.view().setUint32(nreadPtr >>> 0, got.length, true);
  }

  /** @param {number} fd @param {number} iovs @param {number} count @param {number} nwrittenPtr */
  fd_write(fd, iovs, count, nwrittenPtr) {
    const f = this.fd(fd, C.RIGHTS_FD_WRITE);
    const n = f.write(this.firstBytes(iovs, count));
    this.view().setUint32(nwrittenPtr >>> 0, n, true);
  }

  /** @param {number} fd @param {number} iovs @param {number} count @param {bigint} offset @param {number} nwrittenPtr */
  fd_pwrite(fd, iovs, count, offset, nwrittenPtr) {
    const f = this.fd(fd, C.RIGHTS_FD_WRITE | C.RIGHTS_FD_SEEK);
    const n = f.pwrite(this.firstBytes(iovs, count), offset);
    this.view().setUint32(nwrittenPtr >>> 0, n, true);
  }

  /** @param {number} fd @param {number} ptr */
  fd_prestat_get(fd, ptr) {
    const f = this.fds.get(fd >>> 0);
    if (!(f instanceof OpenDirectory) || f.preopenName === null) return fail(C.ERRNO_BADF);
    const v = this.view();
    v.setUint32(ptr >>> 0, C.PREOPENTYPE_DIR, true);
    v.setUint32((ptr >>> 0) + 4, encoder.encode(f.preopenName).length, true);
  }

  /** @param {number} fd @param {number} buf @param {number} len */
  fd_prestat_dir_name(fd, buf, len) {
    const f = this.fd(fd);
    if (!(f instanceof OpenDirectory) || f.preopenName === null) return fail(C.ERRNO_NOTDIR);
    const name = encoder.encode(f.preopenName);
    if (name.length > len >>> 0) fail(C.ERRNO_NAMETOOLONG);
    this.put(buf, name);
  }

  /**
   * Entries are packed as wasmtime packs them: the last one may be cut
   * short, and a full buffer tells the guest to call again.
   * @param {number} fd @param {number} buf @param {number} len @param {bigint} cookie @param {number} usedPtr
   */
  fd_readdir(fd, buf, len, cookie, usedPtr) {
    const f = this.fd(fd, C.RIGHTS_FD_READDIR);
    if (!(f instanceof OpenDirectory)) return fail(C.ERRNO_NOTDIR);
    const entries = f.entries();
    const cap = len >>> 0;
    const out = new Uint8Array(cap);
    const head = new Uint8Array(C.SIZEOF_DIRENT);
    const hv = new DataView(head.buffer);
    let at = 0;
    for (let i = cookie > BigInt(entries.length) ? entries.length : Number(cookie); i < entries.length && at < cap; i++) {
      const e = entries[i];
      const name = encoder.encode(e.name);
      hv.setBigUint64(0, BigInt(i + 1), true);
      hv.setBigUint64(8, e.ino, true);
      hv.setUint32(16, name.length, true);
      hv.setUint8(20, e.type);
      const h = head.subarray(0, Math.min(C.SIZEOF_DIRENT, cap - at));
      out.set(h, at);
      at += h.length;
      const n = name.subarray(0, Math.min(name.length, cap - at));
      out.set(n, at);
      at += n.length;
    }
    this.put(buf, out.subarray(0, at));
    this.view().setUint32(usedPtr >>> 0, at, true);
  }

  /** @param {number} from @param {number} to */
  fd_renumber(from, to) {
    const f = this.fd(from);
    const old = this.fd(to);
    if (from >>> 0 === to >>> 0) return;
    old.close();
    this.fds.delete(from >>> 0);
    this.free.add(from >>> 0);
    this.fds.set(to >>> 0, f);
  }

  /** @param {number} fd @param {bigint} offset @param {number} whence @param {number} newPtr */
  fd_seek(fd, offset, whence, newPtr) {
    const right = offset === 0n && whence === C.WHENCE_CUR ? C.RIGHTS_FD_TELL : C.RIGHTS_FD_SEEK;
    const f = this.fd(fd, right);
    if (whence > C.WHENCE_END) fail(C.ERRNO_INVAL);
    this.view().setBigUint64(newPtr >>> 0, f.seek(offset, whence), true);
  }

  /** @param {number} fd @param {number} ptr */
  fd_tell(fd, ptr) {
    this.view().setBigUint64(ptr >>> 0, this.fd(fd, C.RIGHTS_FD_TELL).tell(), true);
  }

  // ---- path operations ------------------------------------------------------------

  /** @param {number} fd @param {number} path @param {number} len */
  path_create_directory(fd, path, len) {
    const d = this.dir(fd, C.RIGHTS_PATH_CREATE_DIRECTORY);
    fs.createDirectory(d.dir, this.string(path, len));
  }

  /** @param {number} fd @param {number} flags @param {number} path @param {number} len @param {number} ptr */
  path_filestat_get(fd, flags, path, len, ptr) {
    const d = this.dir(fd, C.RIGHTS_PATH_FILESTAT_GET);
    const inode = fs.lookup(d.dir, this.string(path, len), (flags & C.LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0);
    this.putFilestat(ptr, inode.stat());
  }

  /**
   * @param {number} fd @param {number} flags @param {number} path @param {number} len
   * @param {bigint} atim @param {bigint} mtim @param {number} fst
   */
  path_filestat_set_times(fd, flags, path, len, atim, mtim, fst) {
    fs.checkTimeFlags(fst);
    const d = this.dir(fd, C.RIGHTS_PATH_FILESTAT_SET_TIMES);
    const inode = fs.lookup(d.dir, this.string(path, len), (flags & C.LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0);
    fs.setTimes(inode, atim, mtim, fst);
  }

  /**
   * @param {number} oldFd @param {number} oldFlags @param {number} oldPath @param {number} oldLen
   * @param {number} newFd @param {number} newPath @param {number} newLen
   */
  path_link(oldFd, oldFlags, oldPath, oldLen, newFd, newPath, newLen) {
    const src = this.dir(oldFd, C.RIGHTS_PATH_LINK_SOURCE);
    const dst = this.dir(newFd, C.RIGHTS_PATH_LINK_TARGET);
    const follow = (oldFlags & C.LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0;
    fs.link(src.dir, this.string(oldPath, oldLen), follow, dst.dir, this.string(newPath, newLen));
  }

  /**
   * Opens a file or directory. The new fd's rights are the requested ones,
   * narrowed to what the directory lets its children inherit and to what
   * applies to the kind of object opened; requesting more is not an error.
   * @param {number} fd @param {number} dirflags @param {number} path @param {number} len @param {number} oflags
   * @param {bigint} base @param {bigint} inheriting @param {number} fdflags @param {number} fdPtr
   */
  path_open(fd, dirflags, path, len, oflags, base, inheriting, fdflags, fdPtr) {
    const parent = this.fds.get(fd >>> 0);
    if (parent instanceof OpenFile) fail(C.ERRNO_NOTDIR);
    let rights = C.RIGHTS_PATH_OPEN;
    if (oflags & C.OFLAGS_CREAT) rights |= C.RIGHTS_PATH_CREATE_FILE;
    if (oflags & C.OFLAGS_TRUNC) rights |= C.RIGHTS_PATH_FILESTAT_SET_SIZE;
    const d = this.dir(fd, rights);
    if (oflags & ~0xf || fdflags & ~0x1f || (base | inheriting) & ~C.RIGHTS_ALL) fail(C.ERRNO_INVAL);
    if (oflags & C.OFLAGS_DIRECTORY && oflags & (C.OFLAGS_CREAT | C.OFLAGS_TRUNC)) fail(C.ERRNO_INVAL);
    const r = fs.resolve(d.dir, this.string(path, len), (dirflags & C.LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0);
    const write = (base & C.RIGHTS_FD_WRITE) !== 0n;
    let inode = r.inode;
    if (!inode) {
      if (!(oflags & C.OFLAGS_CREAT) || r.name === null) fail(C.ERRNO_NOENT);
      if (r.slash) fail(C.ERRNO_ISDIR);
      inode = new File();
      r.dir.link(/** @type {string} */ (r.name), inode);
    } else {
      if (oflags & C.OFLAGS_CREAT && oflags & C.OFLAGS_EXCL) fail(C.ERRNO_EXIST);
      if (inode instanceof Symlink) fail(C.ERRNO_LOOP);
      if (inode instanceof Directory) {
        if (write || oflags & (C.OFLAGS_TRUNC | C.OFLAGS_CREAT)) fail(C.ERRNO_ISDIR);
      } else if (oflags & C.OFLAGS_DIRECTORY || r.slash) {
        fail(C.ERRNO_NOTDIR);
      }
    }
    /** @type {Fd} */
    let opened;
    if (inode instanceof Directory) {
      opened = new OpenDirectory(inode, {
        rightsBase: base & d.rightsInheriting & C.RIGHTS_DIRECTORY,
        rightsInheriting: inheriting & d.rightsInheriting,
        fdflags: fdflags & ~C.FDFLAGS_APPEND,
      });
    } else {
      const file = /** @type {File} */ (inode);
      if (oflags & C.OFLAGS_TRUNC && file.data.length > 0) file.truncate(0);
      opened = new OpenFile(file, {
        rightsBase: base & d.rightsInheriting & C.RIGHTS_FILE,
        rightsInheriting: inheriting & d.rightsInheriting & C.RIGHTS_FILE,
        fdflags,
      });
    }
    this.view().setUint32(fdPtr >>> 0, this.allocate(opened), true);
  }

  /**
   * Copies at most `bufLen` bytes of the target: a short buffer gets a
   * truncated target, not an error (as wasmtime and readlink(2)).
   * @param {number} fd @param {number} path @param {number} len @param {number} buf @param {number} bufLen @param {number} usedPtr
   */
  path_readlink(fd, path, len, buf, bufLen, usedPtr) {
    const d = this.dir(fd, C.RIGHTS_PATH_READLINK);
    const target = encoder.encode(fs.readlink(d.dir, this.string(path, len)));
    const n = Math.min(target.length, bufLen >>> 0);
    this.put(buf, target.subarray(0, n));
    this.view().setUint32(usedPtr >>> 0, n, true);
  }

  /** @param {number} fd @param {number} path @param {number} len */
  path_remove_directory(fd, path, len) {
    const d = this.dir(fd, C.RIGHTS_PATH_REMOVE_DIRECTORY);
    fs.removeDirectory(d.dir, this.string(path, len));
  }

  /**
   * @param {number} oldFd @param {number} oldPath @param {number} oldLen
   * @param {number} newFd @param {number} newPath @param {number} newLen
   */
  path_rename(oldFd, oldPath, oldLen, newFd, newPath, newLen) {
    const src = this.dir(oldFd, C.RIGHTS_PATH_RENAME_SOURCE);
    const dst = this.dir(newFd, C.RIGHTS_PATH_RENAME_TARGET);
    fs.rename(src.dir, this.string(oldPath, oldLen), dst.dir, this.string(newPath, newLen));
  }

  /** @param {number} oldPath @param {number} oldLen @param {number} fd @param {number} newPath @param {number} newLen */
  path_symlink(oldPath, oldLen, fd, newPath, newLen) {
    const d = this.dir(fd, C.RIGHTS_PATH_SYMLINK);
    fs.symlink(d.dir, this.string(oldPath, oldLen), this.string(newPath, newLen));
  }

  /** @param {number} fd @param {number} path @param {number} len */
  path_unlink_file(fd, path, len) {
    const d = this.dir(fd, C.RIGHTS_PATH_UNLINK_FILE);
    fs.unlinkFile(d.dir, this.string(path, len));
  }

  // ---- poll ------------------------------------------------------------------

  /**
   * Reports ready fds at once (in-memory files and streams are always
   * ready); with none ready, blocks until the earliest clock expires and
   * reports every clock expired by then. A bad fd fails the whole call with
   * EBADF and an unsupported clock with EINVAL, as in wasmtime.
   * @param {number} inPtr @param {number} outPtr @param {number} count @param {number} neventsPtr
   */
  poll_oneoff(inPtr, outPtr, count, neventsPtr) {
    const n = count >>> 0;
    if (n === 0) fail(C.ERRNO_INVAL);
    const start = monotonicNs();
    /** @type {{ userdata: bigint, deadline: bigint }[]} */
    const clocks = [];
    /** @type {{ userdata: bigint, type: number, nbytes: bigint, hangup: boolean }[]} */
    const ready = [];
    const v = this.view();
    for (let i = 0; i < n; i++) {
      const at = (inPtr >>> 0) + i * C.SIZEOF_SUBSCRIPTION;
      const userdata = v.getBigUint64(at, true);
      const tag = v.getUint8(at + 8);
      if (tag === C.EVENTTYPE_CLOCK) {
        const id = v.getUint32(at + 16, true);
        const timeout = v.getBigUint64(at + 24, true);
        const abs = (v.getUint16(at + 40, true) & C.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        const now = this.now(id);
        const wait = abs ? timeout - now : timeout;
        clocks.push({ userdata, deadline: start + (wait > 0n ? wait : 0n) });
      } else if (tag === C.EVENTTYPE_FD_READ || tag === C.EVENTTYPE_FD_WRITE) {
        const f = this.fds.get(v.getUint32(at + 16, true));
        if (!f || f instanceof OpenDirectory) fail(C.ERRNO_BADF);
        const r = tag === C.EVENTTYPE_FD_READ ? f.pollRead() : f.pollWrite();
        ready.push({ userdata, type: tag, nbytes: r.nbytes, hangup: r.hangup });
      } else {
        fail(C.ERRNO_INVAL);
      }
    }
    if (ready.length === 0) {
      const first = clocks.reduce((m, c) => (c.deadline < m ? c.deadline : m), clocks[0].deadline);
      sleep(first - monotonicNs());
    }
    const end = monotonicNs();
    const events = [...ready];
    for (const c of clocks) {
      if (c.deadline <= end) events.push({ userdata: c.userdata, type: C.EVENTTYPE_CLOCK, nbytes: 0n, hangup: false });
    }
    const out = this.view();
    events.forEach((e, i) => {
      const at = (outPtr >>> 0) + i * C.SIZEOF_EVENT;
      out.getBigUint64(at + 24, true);
      for (let b = 0; b < C.SIZEOF_EVENT; b++) out.setUint8(at + b, 0);
      out.setBigUint64(at, e.userdata, true);
      out.setUint16(at + 8, C.ERRNO_SUCCESS, true);
      out.setUint8(at + 10, e.type);
      out.setBigUint64(at + 16, e.nbytes, true);
      out.setUint16(at + 24, e.hangup ? C.EVENTRWFLAGS_FD_READWRITE_HANGUP : 0, true);
    });
    out.setUint32(neventsPtr >>> 0, events.length, true);
  }

  // ---- sockets ------------------------------------------------------------------

  // Sockets cannot be created in preview1 and none is preopened: every fd
  // that exists is not a socket.

  /** @param {number} fd @param {number} _flags @param {number} _fdPtr */
  sock_accept(fd, _flags, _fdPtr) {
    this.fd(fd);
    fail(C.ERRNO_NOTSOCK);
  }

  /**
   * @param {number} fd @param {number} _iovs @param {number} _count @param {number} _flags
   * @param {number} _lenPtr @param {number} _flagsPtr
   */
  sock_recv(fd, _iovs, _count, _flags, _lenPtr, _flagsPtr) {
    this.fd(fd);
    fail(C.ERRNO_NOTSOCK);
  }

  /** @param {number} fd @param {number} _iovs @param {number} _count @param {number} _flags @param {number} _lenPtr */
  sock_send(fd, _iovs, _count, _flags, _lenPtr) {
    this.fd(fd);
    fail(C.ERRNO_NOTSOCK);
  }

  /** @param {number} fd @param {number} _how */
  sock_shutdown(fd, _how) {
    this.fd(fd);
    fail(C.ERRNO_NOTSOCK);
  }
}
