// The WASI preview1 polyfill's public surface, re-exported one name at a time.

export { WASI, SYSCALLS } from './wasi.js';
export { WASIExit, WasiError } from './errors.js';
export { Inode, File, Directory, Symlink, Filestat } from './fs.js';
export { Fd, OpenFile, OpenDirectory, Readiness } from './fd.js';
export { Stdin, Output, lineBuffered } from './stdio.js';
export * as wasi from './constants.js';
