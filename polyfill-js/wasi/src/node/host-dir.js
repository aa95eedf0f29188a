// Node only: mirrors a host directory into the polyfill's in-memory file
// system and writes the guest's changes back.
//
// This is the one module of src/ that imports `node:` built-ins; the browser
// never loads it. Files, directories and symlinks are copied with their
// times; host hard links stay hard links (one inode per host inode). Other
// file types (sockets, devices) are skipped.
//
// Writing back applies only what the guest changed since the load: entries
// it removed, renamed, created or modified. Host entries it never touched are
// left alone, even ones that appeared on the host meanwhile, so several runs
// sharing one host directory (a test suite run in parallel) do not undo each
// other's work.
//
// Example:
//   const sandbox = loadDirectory('./data');
//   const wasi = new WASI({ preopens: { '/data': sandbox } });
//   ...; wasi.start(instance);
//   saveDirectory(sandbox, './data');

import * as nfs from 'node:fs';
import * as npath from 'node:path';
import { Directory, File, Inode, Symlink } from '../fs.js';

/** Each loaded directory's entries as the host had them. @type {WeakMap<Directory, Map<string, Inode>>} */
const loadedEntries = new WeakMap();

/** What a loaded inode looked like, to tell a guest change from none. @type {WeakMap<Inode, { atim: bigint, mtim: bigint, target?: string }>} */
const loadedState = new WeakMap();

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
    const dir = new Directory(entries);
    loadedEntries.set(dir, new Map(entries));
    inode = dir;
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
  loadedState.set(inode, { atim: inode.atim, mtim: inode.mtim, target: inode instanceof Symlink ? inode.target : undefined });
  return inode;
}

/**
 * Applies the guest's changes to `dir` since `loadDirectory` to `hostPath`:
 * removes what the guest removed, writes what it created or modified, keeps
 * modification times. A directory that was not loaded is written out whole.
 * @param {Directory} dir
 * @param {string} hostPath
 */
export function saveDirectory(dir, hostPath) {
  save(dir, hostPath, false, true);
}

/**
 * Removes a symlink at `path` that the guest does not see there: one made on
 * the host meanwhile (`sub -> ../victim`) must not carry the guest's writes
 * outside the mirrored directory. The link itself goes, not its target.
 * @param {string} path
 */
function noHostSymlink(path) {
  try {
    if (nfs.lstatSync(path).isSymbolicLink()) nfs.rmSync(path, { force: true });
  } catch {
    // Nothing there: nothing to follow.
  }
}

/**
 * @param {Directory} dir
 * @param {string} hostPath
 * @param {boolean} fresh the host path does not hold what was loaded for `dir` (the guest created or moved it)
 * @param {boolean} root the directory the user named, symlink or not
 */
function save(dir, hostPath, fresh, root) {
  if (!root) noHostSymlink(hostPath);
  nfs.mkdirSync(hostPath, { recursive: true });
  const before = (!fresh && loadedEntries.get(dir)) || new Map();
  for (const [name, was] of before) {
    if (dir.entries.get(name) !== was) nfs.rmSync(npath.join(hostPath, name), { recursive: true, force: true });
  }
  for (const [name, inode] of dir.entries) {
    const path = npath.join(hostPath, name);
    // The host still has this very inode under this name.
    const same = before.get(name) === inode;
    if (inode instanceof Directory) {
      if (!same) nfs.rmSync(path, { recursive: true, force: true });
      save(inode, path, !same, false);
      if (!same) setTimes(path, inode);
    } else if (same && !changed(inode)) {
      continue;
    } else if (inode instanceof Symlink) {
      nfs.rmSync(path, { recursive: true, force: true });
      nfs.symlinkSync(inode.target, path);
      nfs.lutimesSync(path, seconds(inode.atim), seconds(inode.mtim));
    } else if (inode instanceof File) {
      if (!same) nfs.rmSync(path, { recursive: true, force: true });
      else noHostSymlink(path);
      nfs.writeFileSync(path, inode.data);
      setTimes(path, inode);
    }
  }
}

/**
 * Whether the guest changed a loaded file or symlink: every write,
 * truncation or set-times moves `mtim` or `atim`.
 * @param {Inode} inode
 */
function changed(inode) {
  const was = loadedState.get(inode);
  return !was || inode.mtim !== was.mtim || inode.atim !== was.atim || (inode instanceof Symlink && inode.target !== was.target);
}

/**
 * @param {string} path
 * @param {Inode} inode
 */
function setTimes(path, inode) {
  nfs.utimesSync(path, seconds(inode.atim), seconds(inode.mtim));
}

/**
 * Seconds since the epoch; a Date would cut the time to milliseconds.
 * @param {bigint} ns
 */
function seconds(ns) {
  return Number(ns) / 1e9;
}
