// @wprof/polyfill-js: a complete WASI preview1 in pure JS (browser and Node).
// Node-only helpers live in ./node/ and are imported by path, never from here.

export { WASI, WASIExit, File, Directory, Symlink } from './wasi/index.js';
export { Inode, Fd, OpenFile, OpenDirectory, Stdin, Output, lineBuffered, wasi } from './wasi/index.js';
export { loadToolkit, toolkitWasmUrl, readAbi, ProbeRuntime, ProbeError, profile } from './probe/index.js';
