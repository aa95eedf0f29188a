// File descriptors: what a WASI fd number points at.
//
// `Fd` is the base class every descriptor extends; each operation it does not
// override answers ERRNO_NOTSUP (thrown as a `WasiError`, returned to the
// guest by the syscall). `OpenFile` and `OpenDirectory` wrap inodes of the
// in-memory file system; stdio descriptors live in stdio.js. Rights are
// checked by the syscalls (wasi.js) before an operation reaches an Fd, so the
// methods here only deal with what the object can do.
//
// Example: a custom device
//   class Zero extends Fd { read(len) { return new Uint8Array(len); } }

import * as C from './constants.js';
import { WasiError } from './errors.js';
import { Directory, File, Filestat, MAX_FILE_SIZE, setTimes } from './fs.js';

/** @param {number} errno @returns {never} */
function fail(errno) {
  throw new WasiError(errno);
}

/** Readiness reported by poll_oneoff for a read or write subscription. */
export class Readiness {
  /** @param {bigint} nbytes @param {boolean} hangup */
  constructor(nbytes, hangup) {
    this.nbytes = nbytes;
    this.hangup = hangup;
  }
}

/** The base descriptor: knows its type, rights and flags, does nothing else. */
export class Fd {
  constructor() {
    /** @type {number} */
    this.filetype = C.FILETYPE_UNKNOWN;
    /** @type {bigint} */
    this.rightsBase = 0n;
    /** @type {bigint} */
    this.rightsInheriting = 0n;
    /** @type {number} */
    this.fdflags = 0;
  }

  /** Rights this kind of descriptor can ever have; others are EBADF, not ENOTCAPABLE. */
  get applicableRights() {
    return C.RIGHTS_ALL;
  }

  /** @param {number} _len @returns {Uint8Array} */
  read(_len) {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @param {number} _len @param {bigint} _offset @returns {Uint8Array} */
  pread(_len, _offset) {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @param {Uint8Array} _bytes @returns {number} bytes written */
  write(_bytes) {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @param {Uint8Array} _bytes @param {bigint} _offset @returns {number} */
  pwrite(_bytes, _offset) {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @param {bigint} _offset @param {number} _whence @returns {bigint} new position */
  seek(_offset, _whence) {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @returns {bigint} */
  tell() {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @returns {Filestat} */
  filestat() {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @param {bigint} _size */
  setSize(_size) {
    fail(C.ERRNO_NOTSUP);
  }

  /** @param {bigint} _atim @param {bigint} _mtim @param {number} _flags */
  setTimes(_atim, _mtim, _flags) {
    fail(C.ERRNO_NOTSUP);
  }

  /** @param {bigint} _offset @param {bigint} _len */
  allocate(_offset, _len) {
    fail(C.ERRNO_NOTSUP);
  }

  /** @param {bigint} _offset @param {bigint} _len @param {number} _advice */
  advise(_offset, _len, _advice) {
    fail(C.ERRNO_NOTSUP);
  }

  sync() {
    fail(C.ERRNO_NOTSUP);
  }

  /** @param {number} _flags */
  setFlags(_flags) {
    fail(C.ERRNO_NOTSUP);
  }

  /** @returns {Readiness} */
  pollRead() {
    return fail(C.ERRNO_NOTSUP);
  }

  /** @returns {Readiness} */
  pollWrite() {
    return fail(C.ERRNO_NOTSUP);
  }

  /** Called once when the fd number is closed or replaced. */
  close() {}
}

/**
 * @param {bigint} offset
 * @returns {number}
 */
function toOffset(offset) {
  if (offset < 0n) fail(C.ERRNO_INVAL);
  if (offset > BigInt(MAX_FILE_SIZE)) fail(C.ERRNO_FBIG);
  return Number(offset);
}

/** An open regular file: an inode plus a position and fdflags. */
export class OpenFile extends Fd {
  /**
   * @param {File} file
   * @param {{ rightsBase?: bigint, rightsInheriting?: bigint, fdflags?: number }} [options]
   *   rights default to every file right
   */
  constructor(file, options = {}) {
    super();
    this.file = file;
    this.filetype = C.FILETYPE_REGULAR_FILE;
    this.rightsBase = options.rightsBase ?? C.RIGHTS_FILE;
    this.rightsInheriting = options.rightsInheriting ?? C.RIGHTS_FILE;
    this.fdflags = options.fdflags ?? 0;
    this.position = 0;
  }

  get applicableRights() {
    return C.RIGHTS_FILE;
  }

  /** @param {number} len */
  read(len) {
    const bytes = this.file.read(this.position, len);
    this.position += bytes.length;
    return bytes;
  }

  /** @param {number} len @param {bigint} offset */
  pread(len, offset) {
    return this.file.read(toOffset(offset), len);
  }

  /** @param {Uint8Array} bytes */
  write(bytes) {
    if (this.fdflags & C.FDFLAGS_APPEND) this.position = this.file.data.length;
    this.file.write(this.position, bytes);
    this.position += bytes.length;
    return bytes.length;
  }

  /** @param {Uint8Array} bytes @param {bigint} offset */
  pwrite(bytes, offset) {
    // POSIX: pwrite writes at `offset` even in append mode (Linux appends).
    this.file.write(toOffset(offset), bytes);
    return bytes.length;
  }

  /** @param {bigint} offset @param {number} whence */
  seek(offset, whence) {
    let base;
    switch (whence) {
      case C.WHENCE_SET: base = 0n; break;
      case C.WHENCE_CUR: base = BigInt(this.position); break;
      case C.WHENCE_END: base = this.file.size; break;
      default: return fail(C.ERRNO_INVAL);
    }
    const pos = base + offset;
    if (pos < 0n) fail(C.ERRNO_INVAL);
    this.position = toOffset(pos);
    return pos;
  }

  tell() {
    return BigInt(this.position);
  }

  filestat() {
    return this.file.stat();
  }

  /** @param {bigint} size */
  setSize(size) {
    this.file.truncate(toOffset(size));
  }

  /** @param {bigint} atim @param {bigint} mtim @param {number} flags */
  setTimes(atim, mtim, flags) {
    setTimes(this.file, atim, mtim, flags);
  }

  /** @param {bigint} offset @param {bigint} len */
  allocate(offset, len) {
    const end = toOffset(offset + len);
    if (end > this.file.data.length) this.file.truncate(end);
  }

  /** @param {bigint} _offset @param {bigint} _len @param {number} advice */
  advise(_offset, _len, advice) {
    if (advice < C.ADVICE_NORMAL || advice > C.ADVICE_NOREUSE) fail(C.ERRNO_INVAL);
  }

  sync() {}

  /** @param {number} flags */
  setFlags(flags) {
    // Only APPEND and NONBLOCK can change after open (as wasmtime and Linux).
    if (flags & (C.FDFLAGS_DSYNC | C.FDFLAGS_RSYNC | C.FDFLAGS_SYNC)) fail(C.ERRNO_INVAL);
    const keep = this.fdflags & (C.FDFLAGS_DSYNC | C.FDFLAGS_RSYNC | C.FDFLAGS_SYNC);
    this.fdflags = keep | (flags & (C.FDFLAGS_APPEND | C.FDFLAGS_NONBLOCK));
  }

  pollRead() {
    const left = this.file.size - BigInt(this.position);
    return new Readiness(left > 0n ? left : 0n, left <= 0n);
  }

  pollWrite() {
    return new Readiness(0n, false);
  }
}

/** An open directory: the base of path operations and readdir. */
export class OpenDirectory extends Fd {
  /**
   * @param {Directory} dir
   * @param {{ rightsBase?: bigint, rightsInheriting?: bigint, fdflags?: number, preopenName?: string }} [options]
   *   rights default to those of a preopen: every directory right, every right inherited
   */
  constructor(dir, options = {}) {
    super();
    this.dir = dir;
    this.filetype = C.FILETYPE_DIRECTORY;
    this.rightsBase = options.rightsBase ?? C.RIGHTS_DIRECTORY;
    this.rightsInheriting = options.rightsInheriting ?? C.RIGHTS_ALL;
    this.fdflags = options.fdflags ?? 0;
    /** The guest path of a preopen (fd_prestat_*); null for opened directories. */
    this.preopenName = options.preopenName ?? null;
  }

  get applicableRights() {
    return C.RIGHTS_DIRECTORY;
  }

  filestat() {
    return this.dir.stat();
  }

  /** @param {bigint} atim @param {bigint} mtim @param {number} flags */
  setTimes(atim, mtim, flags) {
    setTimes(this.dir, atim, mtim, flags);
  }

  /** @param {bigint} _offset @param {bigint} _len @param {number} advice */
  advise(_offset, _len, advice) {
    if (advice < C.ADVICE_NORMAL || advice > C.ADVICE_NOREUSE) fail(C.ERRNO_INVAL);
  }

  sync() {}

  /** @param {number} flags */
  setFlags(flags) {
    if (flags & (C.FDFLAGS_DSYNC | C.FDFLAGS_RSYNC | C.FDFLAGS_SYNC | C.FDFLAGS_APPEND)) fail(C.ERRNO_INVAL);
    this.fdflags = flags & C.FDFLAGS_NONBLOCK;
  }

  /**
   * The entries fd_readdir lists, `.` and `..` first; cookie n resumes
   * after the n-th, so cookies stay stable while the directory is unchanged.
   * @returns {{ name: string, ino: bigint, type: number }[]}
   */
  entries() {
    const d = this.dir;
    const list = [
      { name: '.', ino: d.ino, type: C.FILETYPE_DIRECTORY },
      { name: '..', ino: (d.parent ?? d).ino, type: C.FILETYPE_DIRECTORY },
    ];
    for (const [name, inode] of d.entries) list.push({ name, ino: inode.ino, type: inode.filetype });
    return list;
  }
}
