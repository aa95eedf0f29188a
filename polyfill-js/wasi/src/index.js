// @wprof/wasi: a complete WASI preview1 in pure JS for browsers and Node,
// with an in-memory file system. Nothing here imports `node:` or knows about
// profiling; Node's host-directory mirror is the `@wprof/wasi/node` subpath.

export { WASI, SYSCALLS } from './wasi.js';
export { WASIExit, WasiError } from './errors.js';
export { Inode, File, Directory, Symlink, Filestat } from './fs.js';
export { Fd, OpenFile, OpenDirectory, Readiness } from './fd.js';
export { Stdin, Output, lineBuffered } from './stdio.js';
export * as wasi from './constants.js';
