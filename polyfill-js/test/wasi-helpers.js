// Test helpers: drive syscalls of a WASI object against a scratch memory,
// the way a guest would, without compiling a module.

import { WASI } from '../wasi/src/index.js';

const encoder = new TextEncoder();

/**
 * A WASI object with a 1-page memory and a bump allocator for arguments.
 * @param {import('../wasi/src/wasi.js').WASIOptions} [options]
 */
export function host(options = {}) {
  const wasi = new WASI({ stdout: () => {}, stderr: () => {}, ...options });
  const memory = new WebAssembly.Memory({ initial: 2 });
  wasi.setMemory(memory);
  let top = 1024;
  const h = {
    wasi,
    memory,
    /** @param {number} size */
    alloc(size) {
      top = (top + 7) & ~7;
      const at = top;
      top += size;
      return at;
    },
    view: () => new DataView(memory.buffer),
    /** @param {string} s @returns {[number, number]} */
    str(s) {
      const b = encoder.encode(s);
      const at = h.alloc(b.length || 1);
      new Uint8Array(memory.buffer).set(b, at);
      return [at, b.length];
    },
    /** @param {string} name @param {...(number | bigint)} args */
    call(name, ...args) {
      return wasi.imports[name](...args);
    },
    /** path_open → [errno, fd] */
    open(dir = 3, path = '', { follow = 0, oflags = 0, base = (1n << 30n) - 1n, inheriting = (1n << 30n) - 1n, fdflags = 0 } = {}) {
      const [p, l] = h.str(path);
      const out = h.alloc(4);
      const e = h.call('path_open', dir, follow, p, l, oflags, base, inheriting, fdflags, out);
      return [e, h.view().getUint32(out, true)];
    },
    /** @param {number} fd @param {string | Uint8Array} data */
    write(fd, data) {
      const bytes = typeof data === 'string' ? encoder.encode(data) : data;
      const buf = h.alloc(bytes.length || 1);
      new Uint8Array(memory.buffer).set(bytes, buf);
      const iov = h.alloc(8);
      h.view().setUint32(iov, buf, true);
      h.view().setUint32(iov + 4, bytes.length, true);
      const out = h.alloc(4);
      const e = h.call('fd_write', fd, iov, 1, out);
      return [e, h.view().getUint32(out, true)];
    },
    /** @param {number} fd @param {number} len @returns {[number, string]} */
    read(fd, len) {
      const buf = h.alloc(len || 1);
      const iov = h.alloc(8);
      h.view().setUint32(iov, buf, true);
      h.view().setUint32(iov + 4, len, true);
      const out = h.alloc(4);
      const e = h.call('fd_read', fd, iov, 1, out);
      const n = h.view().getUint32(out, true);
      return [e, new TextDecoder().decode(new Uint8Array(memory.buffer, buf, e ? 0 : n))];
    },
    /** path_filestat_get → [errno, filetype, size, nlink, ino] */
    stat(dir = 3, path = '', follow = 0) {
      const [p, l] = h.str(path);
      const out = h.alloc(64);
      const e = h.call('path_filestat_get', dir, follow, p, l, out);
      const v = h.view();
      return { errno: e, filetype: v.getUint8(out + 16), size: v.getBigUint64(out + 32, true), nlink: v.getBigUint64(out + 24, true), ino: v.getBigUint64(out + 8, true), atim: v.getBigUint64(out + 40, true), mtim: v.getBigUint64(out + 48, true) };
    },
    /** fd_fdstat_get → { errno, filetype, flags, base, inheriting } */
    fdstat(fd) {
      const out = h.alloc(24);
      const e = h.call('fd_fdstat_get', fd, out);
      const v = h.view();
      return { errno: e, filetype: v.getUint8(out), flags: v.getUint16(out + 2, true), base: v.getBigUint64(out + 8, true), inheriting: v.getBigUint64(out + 16, true) };
    },
    /** @param {string} name @param {number} dir @param {string} path */
    pathCall(name, dir, path) {
      const [p, l] = h.str(path);
      return h.call(name, dir, p, l);
    },
  };
  return h;
}
