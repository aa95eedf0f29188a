// Node only: mirrors a host directory into the polyfill's in-memory file
// system and writes the guest's changes back.
//
// This is the one module of src/ that imports `node:` built-ins; the browser
// never loads it. Files, directories and symlinks are copied with their
// times; host hard links stay hard links (one inode per host inode). Other
// file types (sockets, devices) are skipped.
//
// Example:
//   const sandbox = loadDirectory('./data');
//   const wasi = new WASI({ preopens: { '/data': sandbox } });
//   ...; wasi.start(instance);
//   saveDirectory(sandbox, './data');

import * as nfs from 'node:fs';
import * as npath from 'node:path';
import { Directory, File, Inode, Symlink } from '../wasi/fs.js';

/**
 * Reads `hostPath` recursively into a new Directory.
 * @param {string} hostPath
 * @returns {Directory}
 */
export function loadDirectory(hostPath) {
  /** @type {Map<bigint, Inode>} */
  const seen = new Map();
  return /** @type {Directory} */ (load(hostPath, seen));
}

/**
 * @param {string} path
 * @param {Map<bigint, Inode>} seen
 * @returns {Inode | null}
 */
function load(path, seen) {
  const st = nfs.lstatSync(path, { bigint: true });
  /** @type {Inode | null} */
  let inode;
  if (st.isDirectory()) {
    /** @type {[string, Inode][]} */
    const entries = [];
    for (const name of nfs.readdirSync(path).sort()) {
      const child = load(npath.join(path, name), seen);
      if (child) entries.push([name, child]);
    }
    inode = new Directory(entries);
  } else if (st.isFile()) {
    const known = seen.get(st.ino);
    if (known) return known;
    inode = new File(nfs.readFileSync(path));
    seen.set(st.ino, inode);
  } else if (st.isSymbolicLink()) {
    inode = new Symlink(nfs.readlinkSync(path));
  } else {
    return null;
  }
  inode.atim = st.atimeNs;
  inode.mtim = st.mtimeNs;
  inode.ctim = st.ctimeNs;
  return inode;
}

/**
 * Makes `hostPath` hold what `dir` holds: writes new and changed entries,
 * removes host entries the guest removed, keeps modification times.
 * @param {Directory} dir
 * @param {string} hostPath
 */
export function saveDirectory(dir, hostPath) {
  nfs.mkdirSync(hostPath, { recursive: true });
  const wanted = new Set(dir.entries.keys());
  for (const name of nfs.readdirSync(hostPath)) {
    if (!wanted.has(name)) nfs.rmSync(npath.join(hostPath, name), { recursive: true, force: true });
  }
  for (const [name, inode] of dir.entries) {
    const path = npath.join(hostPath, name);
    /** @type {import('node:fs').Stats | null} */
    let st = null;
    try {
      st = nfs.lstatSync(path);
    } catch {
      st = null;
    }
    if (inode instanceof Directory) {
      if (st && !st.isDirectory()) nfs.rmSync(path, { force: true });
      saveDirectory(inode, path);
    } else if (inode instanceof Symlink) {
      if (st && !(st.isSymbolicLink() && nfs.readlinkSync(path) === inode.target)) {
        nfs.rmSync(path, { recursive: true, force: true });
        st = null;
      }
      if (!st) nfs.symlinkSync(inode.target, path);
    } else if (inode instanceof File) {
      if (st && !st.isFile()) nfs.rmSync(path, { recursive: true, force: true });
      const data = inode.data;
      const same = st?.isFile() && st.size === data.length && equal(nfs.readFileSync(path), data);
      if (!same) nfs.writeFileSync(path, data);
    }
    if (!(inode instanceof Symlink)) {
      nfs.utimesSync(path, nsToDate(inode.atim), nsToDate(inode.mtim));
    }
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** @param {bigint} ns */
function nsToDate(ns) {
  return new Date(Number(ns / 1000000n));
}
