// Unit tests of the inode model and path resolution (src/wasi/fs.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Directory, File, Symlink } from '../wasi/src/index.js';
import * as fs from '../wasi/src/fs.js';
import { WasiError } from '../wasi/src/errors.js';
import * as C from '../wasi/src/constants.js';

/** @param {() => unknown} fn @param {number} errno */
function throwsErrno(fn, errno) {
  assert.throws(fn, (e) => e instanceof WasiError && e.errno === errno, `expected errno ${errno}`);
}

function tree() {
  return new Directory({
    'a.txt': new File('hello'),
    sub: new Directory({ 'b.txt': new File(new Uint8Array([1, 2, 3])), deeper: new Directory() }),
    link: new Symlink('a.txt'),
    dirlink: new Symlink('sub'),
    up: new Symlink('..'),
    loop1: new Symlink('loop2'),
    loop2: new Symlink('loop1'),
    abs: new Symlink('/etc/passwd'),
  });
}

test('files grow, shrink and zero-fill', () => {
  const f = new File('abc');
  f.write(5, new Uint8Array([9]));
  assert.deepEqual([...f.data], [97, 98, 99, 0, 0, 9]);
  f.truncate(2);
  f.truncate(4);
  assert.deepEqual([...f.data], [97, 98, 0, 0]);
  assert.equal(f.size, 4n);
});

test('appends stay linear: capacity doubles', () => {
  const f = new File();
  for (let i = 0; i < 10000; i++) f.write(f.data.length, new Uint8Array([i & 0xff]));
  assert.equal(f.data.length, 10000);
  assert.equal(f.data[9999], 9999 & 0xff);
});

test('resolve follows intermediate symlinks and honours follow on the last', () => {
  const root = tree();
  assert.equal(fs.lookup(root, 'link', false).filetype, C.FILETYPE_SYMBOLIC_LINK);
  assert.equal(fs.lookup(root, 'link', true), root.get('a.txt'));
  assert.equal(fs.lookup(root, 'dirlink/b.txt', false).size, 3n);
  assert.equal(fs.lookup(root, 'sub/deeper/../b.txt', false).size, 3n);
  assert.equal(fs.lookup(root, 'sub/./deeper/', false).filetype, C.FILETYPE_DIRECTORY);
});

test('symlink loops are ELOOP', () => {
  const root = tree();
  throwsErrno(() => fs.lookup(root, 'loop1', true), C.ERRNO_LOOP);
  throwsErrno(() => fs.lookup(root, 'loop1/x', false), C.ERRNO_LOOP);
  assert.equal(fs.lookup(root, 'loop1', false).filetype, C.FILETYPE_SYMBOLIC_LINK);
});

test('no path escapes its directory', () => {
  const root = tree();
  throwsErrno(() => fs.resolve(root, '..', false), C.ERRNO_PERM);
  throwsErrno(() => fs.resolve(root, 'sub/../..', false), C.ERRNO_PERM);
  throwsErrno(() => fs.resolve(root, '/a.txt', false), C.ERRNO_PERM);
  throwsErrno(() => fs.lookup(root, 'up', true), C.ERRNO_PERM);
  throwsErrno(() => fs.lookup(root, 'up/a.txt', false), C.ERRNO_PERM);
  throwsErrno(() => fs.lookup(root, 'abs', true), C.ERRNO_PERM);
  // From a subdirectory, its own parent is outside.
  const sub = /** @type {Directory} */ (root.get('sub'));
  throwsErrno(() => fs.lookup(sub, '../a.txt', false), C.ERRNO_PERM);
  throwsErrno(() => fs.symlink(root, '/x', 'new'), C.ERRNO_PERM);
});

test('trailing slashes', () => {
  const root = tree();
  throwsErrno(() => fs.lookup(root, 'a.txt/', false), C.ERRNO_NOTDIR);
  throwsErrno(() => fs.unlinkFile(root, 'a.txt/'), C.ERRNO_NOTDIR);
  throwsErrno(() => fs.unlinkFile(root, 'sub/'), C.ERRNO_ISDIR);
  throwsErrno(() => fs.symlink(root, 'x', 'fresh/'), C.ERRNO_NOENT);
  throwsErrno(() => fs.rename(root, 'a.txt/', root, 'b'), C.ERRNO_NOTDIR);
  fs.rename(root, 'sub/', root, 'moved/');
  assert.ok(root.get('moved') instanceof Directory);
});

test('hard links share the inode; unlink drops nlink', () => {
  const root = tree();
  fs.link(root, 'a.txt', false, root, 'hard');
  const a = root.get('a.txt');
  assert.equal(root.get('hard'), a);
  assert.equal(a?.stat().nlink, 2n);
  fs.unlinkFile(root, 'a.txt');
  assert.equal(root.get('hard')?.stat().nlink, 1n);
  throwsErrno(() => fs.link(root, 'sub', false, root, 'x'), C.ERRNO_PERM);
  throwsErrno(() => fs.link(root, 'hard', false, root, 'sub'), C.ERRNO_EXIST);
});

test('rename replaces compatible targets only', () => {
  const root = new Directory({ f: new File('1'), g: new File('2'), d: new Directory(), e: new Directory({ x: new File() }) });
  throwsErrno(() => fs.rename(root, 'f', root, 'd'), C.ERRNO_ISDIR);
  throwsErrno(() => fs.rename(root, 'd', root, 'f'), C.ERRNO_NOTDIR);
  throwsErrno(() => fs.rename(root, 'd', root, 'e'), C.ERRNO_NOTEMPTY);
  throwsErrno(() => fs.rename(root, 'e', root, 'e/inner'), C.ERRNO_INVAL);
  fs.rename(root, 'f', root, 'g');
  assert.equal(new TextDecoder().decode(/** @type {File} */ (root.get('g')).data), '1');
  assert.equal(root.get('f'), undefined);
  fs.rename(root, 'd', root, 'e/x2');
  assert.equal((/** @type {Directory} */ (root.get('e'))).get('x2')?.filetype, C.FILETYPE_DIRECTORY);
});

test('directories: create, remove, not-empty', () => {
  const root = tree();
  fs.createDirectory(root, 'n');
  throwsErrno(() => fs.createDirectory(root, 'n'), C.ERRNO_EXIST);
  throwsErrno(() => fs.createDirectory(root, 'link'), C.ERRNO_EXIST);
  throwsErrno(() => fs.removeDirectory(root, 'sub'), C.ERRNO_NOTEMPTY);
  throwsErrno(() => fs.removeDirectory(root, 'a.txt'), C.ERRNO_NOTDIR);
  throwsErrno(() => fs.removeDirectory(root, 'dirlink/'), C.ERRNO_NOTDIR);
  fs.removeDirectory(root, 'n');
  assert.equal(root.get('n'), undefined);
});

test('set times validates SET and NOW together', () => {
  const f = new File();
  throwsErrno(() => fs.setTimes(f, 1n, 2n, C.FSTFLAGS_ATIM | C.FSTFLAGS_ATIM_NOW), C.ERRNO_INVAL);
  throwsErrno(() => fs.setTimes(f, 1n, 2n, C.FSTFLAGS_MTIM | C.FSTFLAGS_MTIM_NOW), C.ERRNO_INVAL);
  fs.setTimes(f, 1n, 2n, C.FSTFLAGS_ATIM | C.FSTFLAGS_MTIM);
  assert.equal(f.atim, 1n);
  assert.equal(f.mtim, 2n);
});

test('a directory cannot be placed twice', () => {
  const d = new Directory();
  new Directory({ d });
  assert.throws(() => new Directory({ d }), TypeError);
  assert.throws(() => new Directory({ 'a/b': new File() }), TypeError);
});

test('a path component over 255 bytes is ENAMETOOLONG, as natively', () => {
  const root = tree();
  throwsErrno(() => fs.resolve(root, 'x'.repeat(256), false), C.ERRNO_NAMETOOLONG);
  throwsErrno(() => fs.resolve(root, `sub/${'é'.repeat(128)}`, false), C.ERRNO_NAMETOOLONG);
  assert.equal(fs.resolve(root, 'x'.repeat(255), false).inode, undefined, '255 bytes is a valid name');
  assert.equal(fs.resolve(root, 'é'.repeat(127), false).inode, undefined);
});
