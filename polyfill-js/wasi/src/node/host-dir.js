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
 *
 * All or nothing, as far as a file system allows: every change is planned
 * and every file's new content written to a staging directory inside
 * `hostPath` first, with the host's name limits checked, so a full disk or
 * a name the host refuses fails before the directory changes; then the
 * plan is applied (removals, renames, in-place copies, times).
 * @param {Directory} dir
 * @param {string} hostPath
 */
export function saveDirectory(dir, hostPath) {
  /** @type {Op[]} */
  const ops = [];
  plan(dir, hostPath, false, true, ops);
  if (ops.length === 0) return;
  for (const op of ops) checkName(op.path);
  const staging = nfs.mkdtempSync(npath.join(hostPath, '.wprof-writeback-'));
  try {
    ops.forEach((op, i) => {
      if (op.kind !== 'file') return;
      op.staged = npath.join(staging, String(i));
      nfs.writeFileSync(op.staged, op.inode.data);
    });
    for (const op of ops) apply(op);
  } finally {
    nfs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * One planned change.
 * @typedef {{ kind: 'rm' | 'unlink-host-symlink' | 'mkdir', path: string }
 *   | { kind: 'symlink', path: string, inode: Symlink }
 *   | { kind: 'file', path: string, inode: File, inPlace: boolean, staged?: string }
 *   | { kind: 'times', path: string, inode: Inode }} Op
 */

/**
 * Refuses a path the host would: a component over 255 bytes (the limit the
 * in-memory file system also enforces, as native WASI does).
 * @param {string} path
 */
function checkName(path) {
  for (const part of path.split(npath.sep)) {
    if (new TextEncoder().encode(part).length > 255) {
      throw Object.assign(new Error(`ENAMETOOLONG: name too long, write-back of '${path}'`), { code: 'ENAMETOOLONG' });
    }
  }
}

/** @param {Op} op */
function apply(op) {
  switch (op.kind) {
    case 'rm':
      nfs.rmSync(op.path, { recursive: true, force: true });
      break;
    case 'unlink-host-symlink':
      noHostSymlink(op.path);
      break;
    case 'mkdir':
      nfs.mkdirSync(op.path, { recursive: true });
      break;
    case 'symlink':
      nfs.rmSync(op.path, { recursive: true, force: true });
      nfs.symlinkSync(op.inode.target, op.path);
      nfs.lutimesSync(op.path, seconds(op.inode.atim), seconds(op.inode.mtim));
      break;
    case 'file':
      // A file the host still has keeps its inode (and so its hard links):
      // written in place. A new one moves in from staging.
      if (op.inPlace) {
        noHostSymlink(op.path);
        nfs.copyFileSync(/** @type {string} */ (op.staged), op.path);
      } else {
        nfs.rmSync(op.path, { recursive: true, force: true });
        nfs.renameSync(/** @type {string} */ (op.staged), op.path);
      }
      setTimes(op.path, op.inode);
      break;
    case 'times':
      setTimes(op.path, op.inode);
      break;
  }
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
 * Plans writing `dir` to `hostPath`, in the order the changes apply.
 * @param {Directory} dir
 * @param {string} hostPath
 * @param {boolean} fresh the host path does not hold what was loaded for `dir` (the guest created or moved it)
 * @param {boolean} root the directory the user named, symlink or not
 * @param {Op[]} ops
 */
function plan(dir, hostPath, fresh, root, ops) {
  const before = (!fresh && loadedEntries.get(dir)) || new Map();
  /** @type {Op[]} */
  const mine = [];
  if (!root) mine.push({ kind: 'unlink-host-symlink', path: hostPath });
  mine.push({ kind: 'mkdir', path: hostPath });
  for (const [name, was] of before) {
    if (dir.entries.get(name) !== was) mine.push({ kind: 'rm', path: npath.join(hostPath, name) });
  }
  let changes = mine.length > (root ? 1 : 2) || fresh;
  /** @type {Op[]} */
  const below = [];
  for (const [name, inode] of dir.entries) {
    const path = npath.join(hostPath, name);
    // The host still has this very inode under this name.
    const same = before.get(name) === inode;
    if (inode instanceof Directory) {
      if (!same) below.push({ kind: 'rm', path });
      const sub = below.length;
      plan(inode, path, !same, false, below);
      if (!same) below.push({ kind: 'times', path, inode });
      changes ||= below.length > sub || !same;
    } else if (same && !changed(inode)) {
      continue;
    } else if (inode instanceof Symlink) {
      below.push({ kind: 'symlink', path, inode });
    } else if (inode instanceof File) {
      below.push({ kind: 'file', path, inode, inPlace: same });
    }
  }
  // A directory nothing changed in (nor below) needs no operation at all.
  if (changes || below.length > 0) ops.push(...mine, ...below);
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
