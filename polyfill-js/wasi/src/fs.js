// The in-memory inode file system behind the polyfill's preopens.
//
// `File`, `Directory` and `Symlink` are inodes: a hard link is the same
// inode object under two names, so `ino`, `nlink` and contents are shared the
// way POSIX shares them. A directory has exactly one parent (no directory
// hard links), which is what `..` follows.
//
// Path resolution (`resolve`) is capability-based, as in wasmtime (cap-std):
// a path is resolved relative to the directory of the fd it is given with and
// may never leave it — not with `..`, not with an absolute path, not through
// a symlink. Such attempts fail with ERRNO_PERM, which is what wasmtime-wasi
// reports. Symlinks are expanded iteratively, at most 40 per lookup (Linux's
// MAXSYMLINKS); one more gives ERRNO_LOOP.
//
// Example:
//   const root = new Directory({ 'a.txt': new File('hi'), link: new Symlink('a.txt') });
//   lookup(root, 'link', true) === root.get('a.txt');

import * as C from './constants.js';
import { WasiError } from './errors.js';

/** Symlinks expanded per lookup before ERRNO_LOOP. */
export const MAX_SYMLINKS = 40;

/** Files may not grow past this many bytes (typed arrays must fit). */
export const MAX_FILE_SIZE = 2 ** 32 - 1;

const encoder = new TextEncoder();
let nextIno = 1n;

/** Wall-clock time in nanoseconds since the epoch. */
export function realtimeNs() {
  // timeOrigin + now() keeps microsecond precision where Date.now() has ms.
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Fields of a WASI `filestat`. */
export class Filestat {
  /**
   * @param {bigint} ino
   * @param {number} filetype
   * @param {bigint} nlink
   * @param {bigint} size
   * @param {bigint} atim
   * @param {bigint} mtim
   * @param {bigint} ctim
   */
  constructor(ino, filetype, nlink, size, atim, mtim, ctim) {
    /** One device for the whole in-memory file system. */
    this.dev = 1n;
    this.ino = ino;
    this.filetype = filetype;
    this.nlink = nlink;
    this.size = size;
    this.atim = atim;
    this.mtim = mtim;
    this.ctim = ctim;
  }
}

/** What every file-system object has: identity, link count and times. */
export class Inode {
  constructor() {
    this.ino = nextIno++;
    /** Directory entries naming this inode. */
    this.nlink = 0n;
    const now = realtimeNs();
    // Reads do not update atim (as a `noatime` mount): a read never changes
    // what a later stat reports.
    this.atim = now;
    this.mtim = now;
    this.ctim = now;
  }

  /** @returns {number} */
  get filetype() {
    return C.FILETYPE_UNKNOWN;
  }

  /** @returns {bigint} */
  get size() {
    return 0n;
  }

  stat() {
    return new Filestat(this.ino, this.filetype, this.nlink, this.size, this.atim, this.mtim, this.ctim);
  }

  /** Marks a content change. */
  touch() {
    const now = realtimeNs();
    this.mtim = now;
    this.ctim = now;
  }
}

/**
 * @param {string | Uint8Array | ArrayBuffer | ArrayLike<number>} content
 * @returns {Uint8Array}
 */
function toBytes(content) {
  if (typeof content === 'string') return encoder.encode(content);
  if (content instanceof Uint8Array) return content.slice();
  if (content instanceof ArrayBuffer) return new Uint8Array(content.slice(0));
  return Uint8Array.from(content);
}

/** A regular file; its bytes live in a growable buffer. */
export class File extends Inode {
  /** @param {string | Uint8Array | ArrayBuffer | ArrayLike<number>} [content] text (UTF-8) or bytes; copied */
  constructor(content = new Uint8Array(0)) {
    super();
    /** @private */
    this.buf = toBytes(content);
    /** @private */
    this.len = this.buf.length;
  }

  get filetype() {
    return C.FILETYPE_REGULAR_FILE;
  }

  get size() {
    return BigInt(this.len);
  }

  /** The file's current contents (a view: copy it to keep it). */
  get data() {
    return this.buf.subarray(0, this.len);
  }

  set data(content) {
    this.buf = toBytes(content);
    this.len = this.buf.length;
    this.touch();
  }

  /**
   * Bytes at `offset`, at most `length` of them (fewer at the end).
   * @param {number} offset
   * @param {number} length
   */
  read(offset, length) {
    if (offset >= this.len) return new Uint8Array(0);
    return this.buf.subarray(offset, Math.min(this.len, offset + length));
  }

  /**
   * Writes `bytes` at `offset`, growing the file (zero-filled) as needed.
   * @param {number} offset
   * @param {Uint8Array} bytes
   */
  write(offset, bytes) {
    const end = offset + bytes.length;
    if (end > MAX_FILE_SIZE) throw new WasiError(C.ERRNO_FBIG);
    this.reserve(end);
    this.buf.set(bytes, offset);
    if (end > this.len) this.len = end;
    this.touch();
  }

  /** @param {number} size */
  truncate(size) {
    if (size > MAX_FILE_SIZE) throw new WasiError(C.ERRNO_FBIG);
    if (size > this.len) {
      this.reserve(size);
    } else {
      // Bytes past a shrunk end must read as zeros if the file grows again.
      this.buf.fill(0, size, this.len);
    }
    this.len = size;
    this.touch();
  }

  /**
   * Makes room for `size` bytes. Capacity doubles so that appends stay
   * linear (a copy per write makes logging O(n²)).
   * @private
   * @param {number} size
   */
  reserve(size) {
    if (size <= this.buf.length) return;
    const cap = Math.min(MAX_FILE_SIZE, Math.max(size, this.buf.length * 2, 64));
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

/** A symbolic link; the target is kept as written and resolved on use. */
export class Symlink extends Inode {
  /** @param {string} target */
  constructor(target) {
    super();
    this.target = target;
  }

  get filetype() {
    return C.FILETYPE_SYMBOLIC_LINK;
  }

  get size() {
    return BigInt(encoder.encode(this.target).length);
  }
}

/** A directory: named entries in insertion order (readdir's order). */
export class Directory extends Inode {
  /** @param {Record<string, Inode> | Iterable<[string, Inode]>} [entries] */
  constructor(entries = {}) {
    super();
    /** @type {Map<string, Inode>} */
    this.entries = new Map();
    /** @type {Directory | null} */
    this.parent = null;
    const list = Symbol.iterator in entries
      ? /** @type {Iterable<[string, Inode]>} */ (entries)
      : Object.entries(/** @type {Record<string, Inode>} */ (entries));
    for (const [name, inode] of list) {
      if (!(inode instanceof Inode)) throw new TypeError(`entry \`${name}\` is not a File, Directory or Symlink`);
      if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
        throw new TypeError(`\`${name}\` is not a valid file name`);
      }
      if (inode instanceof Directory && inode.parent) {
        throw new TypeError(`directory \`${name}\` already has a parent`);
      }
      this.link(name, inode);
    }
    // Building the tree is not a modification the guest should see.
    this.mtim = this.ctim = this.atim;
  }

  get filetype() {
    return C.FILETYPE_DIRECTORY;
  }

  get size() {
    return 4096n;
  }

  stat() {
    const s = super.stat();
    // POSIX counts `.` and every subdirectory's `..`.
    let n = 2n;
    for (const e of this.entries.values()) if (e instanceof Directory) n++;
    s.nlink = n;
    return s;
  }

  /** @param {string} name */
  get(name) {
    return this.entries.get(name);
  }

  /**
   * Adds an entry (the caller has checked that `name` is free).
   * @param {string} name
   * @param {Inode} inode
   */
  link(name, inode) {
    this.entries.set(name, inode);
    inode.nlink++;
    inode.ctim = realtimeNs();
    if (inode instanceof Directory) inode.parent = this;
    this.touch();
  }

  /** @param {string} name */
  unlink(name) {
    const inode = this.entries.get(name);
    if (!inode) return;
    this.entries.delete(name);
    inode.nlink--;
    inode.ctim = realtimeNs();
    if (inode instanceof Directory && inode.parent === this) inode.parent = null;
    this.touch();
  }

  /**
   * Whether `dir` is this directory or one below it.
   * @param {Directory} dir
   */
  contains(dir) {
    for (let d = /** @type {Directory | null} */ (dir); d; d = d.parent) if (d === this) return true;
    return false;
  }
}

/**
 * @typedef {object} Resolved
 * @property {Directory} dir the directory holding the final entry, or the named directory itself when `name` is null
 * @property {string | null} name the final entry's name; null when the path names a directory by `.`/`..`
 * @property {Inode | undefined} inode what the path names; undefined when the final entry does not exist
 * @property {boolean} slash the path (after symlink expansion) ended in `/`
 */

/** Longest name of one path component in bytes, as on the native host (Linux NAME_MAX). */
const NAME_MAX = 255;

/** @param {string} path */
function split(path) {
  const parts = path.split('/').filter((p) => p !== '');
  // The native host refuses longer names, so a guest's file could not be
  // written back to a host directory (or exist natively) either.
  const encoder = new TextEncoder();
  if (parts.some((p) => p.length > NAME_MAX / 3 && encoder.encode(p).length > NAME_MAX)) {
    throw new WasiError(C.ERRNO_NAMETOOLONG);
  }
  return { parts, slash: path.endsWith('/') };
}

/**
 * Resolves `path` relative to `start` without ever leaving `start`.
 * Intermediate symlinks are always followed; the final one when `follow`
 * is set, or when the path ends in `/` and `slashFollows` (POSIX: a
 * trailing slash resolves the link). wasmtime lets a trailing slash follow
 * for open, unlink and readlink, but not for stat, rename, mkdir or rmdir,
 * and the callers here do the same.
 * @param {Directory} start
 * @param {string} path
 * @param {boolean} follow
 * @param {boolean} [slashFollows]
 * @returns {Resolved}
 */
export function resolve(start, path, follow, slashFollows = true) {
  if (path.includes('\0')) throw new WasiError(C.ERRNO_INVAL);
  if (path === '') throw new WasiError(C.ERRNO_NOENT);
  if (path.startsWith('/')) throw new WasiError(C.ERRNO_PERM);
  /** @type {Directory[]} */
  const stack = [start];
  let { parts, slash } = split(path);
  let links = 0;
  /** @param {Symlink} link */
  const expand = (link) => {
    if (++links > MAX_SYMLINKS) throw new WasiError(C.ERRNO_LOOP);
    if (link.target === '') throw new WasiError(C.ERRNO_NOENT);
    if (link.target.startsWith('/')) throw new WasiError(C.ERRNO_PERM);
    return split(link.target);
  };
  for (;;) {
    while (parts.length > 1) {
      const part = /** @type {string} */ (parts.shift());
      const cur = stack[stack.length - 1];
      if (part === '.') continue;
      if (part === '..') {
        if (stack.length === 1) throw new WasiError(C.ERRNO_PERM);
        stack.pop();
        continue;
      }
      const node = cur.get(part);
      if (!node) throw new WasiError(C.ERRNO_NOENT);
      if (node instanceof Symlink) {
        parts = [...expand(node).parts, ...parts];
      } else if (node instanceof Directory) {
        stack.push(node);
      } else {
        throw new WasiError(C.ERRNO_NOTDIR);
      }
    }
    const cur = stack[stack.length - 1];
    const last = parts[0];
    if (last === undefined || last === '.') return { dir: cur, name: null, inode: cur, slash };
    if (last === '..') {
      if (stack.length === 1) throw new WasiError(C.ERRNO_PERM);
      stack.pop();
      const up = stack[stack.length - 1];
      return { dir: up, name: null, inode: up, slash };
    }
    const node = cur.get(last);
    if (node instanceof Symlink && (follow || (slash && slashFollows))) {
      const t = expand(node);
      parts = t.parts;
      slash = slash || t.slash;
      continue;
    }
    return { dir: cur, name: last, inode: node, slash };
  }
}

/**
 * The inode `path` names; ENOENT if missing, ENOTDIR if a trailing slash
 * names a regular file. Without `follow`, `link/` names the link itself.
 * @param {Directory} start
 * @param {string} path
 * @param {boolean} follow
 */
export function lookup(start, path, follow) {
  const r = resolve(start, path, follow, false);
  if (!r.inode) throw new WasiError(C.ERRNO_NOENT);
  if (r.slash && r.inode instanceof File) throw new WasiError(C.ERRNO_NOTDIR);
  return r.inode;
}

/**
 * @param {Directory} start
 * @param {string} path
 */
export function createDirectory(start, path) {
  const r = resolve(start, path, false, false);
  if (r.inode || r.name === null) throw new WasiError(C.ERRNO_EXIST);
  r.dir.link(r.name, new Directory());
}

/**
 * @param {Directory} start
 * @param {string} path
 */
export function removeDirectory(start, path) {
  const r = resolve(start, path, false, false);
  if (r.name === null) throw new WasiError(r.inode === start ? C.ERRNO_INVAL : C.ERRNO_NOTEMPTY);
  if (!r.inode) throw new WasiError(C.ERRNO_NOENT);
  if (!(r.inode instanceof Directory)) throw new WasiError(C.ERRNO_NOTDIR);
  if (r.inode.entries.size > 0) throw new WasiError(C.ERRNO_NOTEMPTY);
  r.dir.unlink(r.name);
}

/**
 * @param {Directory} start
 * @param {string} path
 */
export function unlinkFile(start, path) {
  const r = resolve(start, path, false);
  if (r.name === null) throw new WasiError(C.ERRNO_ISDIR);
  if (!r.inode) throw new WasiError(C.ERRNO_NOENT);
  if (r.inode instanceof Directory) throw new WasiError(C.ERRNO_ISDIR);
  if (r.slash) throw new WasiError(C.ERRNO_NOTDIR);
  r.dir.unlink(r.name);
}

/**
 * Creates `path` as a symlink to `target`. Absolute targets are refused
 * (ERRNO_PERM, as wasmtime): they could never resolve inside the sandbox.
 * @param {Directory} start
 * @param {string} target
 * @param {string} path
 */
export function symlink(start, target, path) {
  if (target.includes('\0')) throw new WasiError(C.ERRNO_INVAL);
  if (target === '') throw new WasiError(C.ERRNO_NOENT);
  if (target.startsWith('/')) throw new WasiError(C.ERRNO_PERM);
  const r = resolve(start, path, false, false);
  if (r.inode || r.name === null) throw new WasiError(C.ERRNO_EXIST);
  if (r.slash) throw new WasiError(C.ERRNO_NOENT);
  r.dir.link(r.name, new Symlink(target));
}

/**
 * @param {Directory} start
 * @param {string} path
 */
export function readlink(start, path) {
  const r = resolve(start, path, false);
  if (!r.inode) throw new WasiError(C.ERRNO_NOENT);
  if (!(r.inode instanceof Symlink)) throw new WasiError(C.ERRNO_INVAL);
  return r.inode.target;
}

/**
 * Hard link: `newPath` becomes another name of what `oldPath` names.
 * @param {Directory} oldStart
 * @param {string} oldPath
 * @param {boolean} follow
 * @param {Directory} newStart
 * @param {string} newPath
 */
export function link(oldStart, oldPath, follow, newStart, newPath) {
  const src = resolve(oldStart, oldPath, follow);
  if (!src.inode) throw new WasiError(C.ERRNO_NOENT);
  if (src.inode instanceof Directory) throw new WasiError(C.ERRNO_PERM);
  if (src.slash) throw new WasiError(C.ERRNO_NOTDIR);
  const dst = resolve(newStart, newPath, false, false);
  if (dst.inode || dst.name === null) throw new WasiError(C.ERRNO_EXIST);
  if (dst.slash) throw new WasiError(C.ERRNO_NOENT);
  dst.dir.link(dst.name, src.inode);
}

/**
 * POSIX rename(2): replaces an existing target of a compatible kind.
 * @param {Directory} oldStart
 * @param {string} oldPath
 * @param {Directory} newStart
 * @param {string} newPath
 */
export function rename(oldStart, oldPath, newStart, newPath) {
  const src = resolve(oldStart, oldPath, false, false);
  if (src.name === null) throw new WasiError(C.ERRNO_BUSY);
  if (!src.inode) throw new WasiError(C.ERRNO_NOENT);
  const dst = resolve(newStart, newPath, false, false);
  if (dst.name === null) throw new WasiError(dst.inode === src.inode ? C.ERRNO_INVAL : C.ERRNO_BUSY);
  const node = src.inode;
  if (node instanceof Directory) {
    if (dst.inode && !(dst.inode instanceof Directory)) throw new WasiError(C.ERRNO_NOTDIR);
    if (node.contains(dst.dir)) throw new WasiError(C.ERRNO_INVAL);
    if (dst.inode instanceof Directory && dst.inode !== node && dst.inode.entries.size > 0) {
      throw new WasiError(C.ERRNO_NOTEMPTY);
    }
  } else {
    if (src.slash || dst.slash) throw new WasiError(C.ERRNO_NOTDIR);
    if (dst.inode instanceof Directory) throw new WasiError(C.ERRNO_ISDIR);
  }
  if (dst.inode === node) return;
  if (dst.inode) dst.dir.unlink(dst.name);
  src.dir.unlink(src.name);
  dst.dir.link(dst.name, node);
}

/**
 * Validates fstflags and applies them (witx `fd_filestat_set_times`).
 * @param {Inode} inode
 * @param {bigint} atim
 * @param {bigint} mtim
 * @param {number} flags
 */
export function setTimes(inode, atim, mtim, flags) {
  checkTimeFlags(flags);
  const now = realtimeNs();
  if (flags & C.FSTFLAGS_ATIM) inode.atim = atim;
  else if (flags & C.FSTFLAGS_ATIM_NOW) inode.atim = now;
  if (flags & C.FSTFLAGS_MTIM) inode.mtim = mtim;
  else if (flags & C.FSTFLAGS_MTIM_NOW) inode.mtim = now;
  inode.ctim = now;
}

/**
 * SET and NOW together, or unknown bits, are EINVAL (checked before any
 * lookup, as wasmtime does).
 * @param {number} flags
 */
export function checkTimeFlags(flags) {
  if ((flags & ~0xf) !== 0) throw new WasiError(C.ERRNO_INVAL);
  if ((flags & C.FSTFLAGS_ATIM) && (flags & C.FSTFLAGS_ATIM_NOW)) throw new WasiError(C.ERRNO_INVAL);
  if ((flags & C.FSTFLAGS_MTIM) && (flags & C.FSTFLAGS_MTIM_NOW)) throw new WasiError(C.ERRNO_INVAL);
}
