// Node's host-directory mirror: saving applies only the guest's changes,
// so what others did to the host directory meanwhile survives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nfs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Directory, File, Symlink } from '../wasi/src/index.js';
import { loadDirectory, saveDirectory } from '../wasi/src/node/host-dir.js';

test('saveDirectory writes back the guest changes and nothing else', () => {
  const tmp = nfs.mkdtempSync(path.join(os.tmpdir(), 'wprof-hostdir-'));
  try {
    const put = (/** @type {string} */ p, /** @type {string} */ s) => {
      nfs.mkdirSync(path.dirname(path.join(tmp, p)), { recursive: true });
      nfs.writeFileSync(path.join(tmp, p), s);
    };
    const get = (/** @type {string} */ p) => nfs.readFileSync(path.join(tmp, p), 'utf8');
    put('keep.txt', 'keep');
    put('gone.txt', 'gone');
    put('sub/inner.txt', 'inner');
    put('mv/a.txt', 'a');
    nfs.symlinkSync('keep.txt', path.join(tmp, 'link'));

    const root = loadDirectory(tmp);
    root.unlink('gone.txt');
    const mv = /** @type {Directory} */ (root.get('mv'));
    root.unlink('mv');
    root.link('moved', mv);
    const inner = /** @type {File} */ (/** @type {Directory} */ (root.get('sub')).get('inner.txt'));
    inner.write(5, new TextEncoder().encode('!'));
    root.link('new.txt', new File('new'));
    root.link('newdir', new Directory({ 'x.txt': new File('x'), l: new Symlink('x.txt') }));

    // Meanwhile, another process uses the same directory.
    put('other.txt', 'other');
    put('keep.txt', 'changed on the host');

    saveDirectory(root, tmp);
    assert.deepEqual(nfs.readdirSync(tmp).sort(), ['keep.txt', 'link', 'moved', 'new.txt', 'newdir', 'other.txt', 'sub']);
    assert.equal(get('keep.txt'), 'changed on the host', 'an entry the guest never touched is not rewritten');
    assert.equal(get('other.txt'), 'other', 'an entry the guest never saw is not removed');
    assert.equal(get('sub/inner.txt'), 'inner!');
    assert.equal(get('moved/a.txt'), 'a');
    assert.equal(get('new.txt'), 'new');
    assert.equal(get('newdir/x.txt'), 'x');
    assert.equal(nfs.readlinkSync(path.join(tmp, 'newdir/l')), 'x.txt');
    assert.equal(nfs.readlinkSync(path.join(tmp, 'link')), 'keep.txt');
    const st = nfs.statSync(path.join(tmp, 'sub/inner.txt'), { bigint: true });
    const drift = st.mtimeNs > inner.mtim ? st.mtimeNs - inner.mtim : inner.mtim - st.mtimeNs;
  assert.ok(drift < 10_000n, `mtime kept below a millisecond (off by ${drift} ns)`);
  } finally {
    nfs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('write-back never follows a symlink made on the host meanwhile', () => {
  const tmp = nfs.mkdtempSync(path.join(os.tmpdir(), 'wprof-hostdir-escape-'));
  try {
    const mirror = path.join(tmp, 'mirror');
    const victim = path.join(tmp, 'victim');
    nfs.mkdirSync(path.join(mirror, 'sub'), { recursive: true });
    nfs.writeFileSync(path.join(mirror, 'f.txt'), 'mine');
    nfs.mkdirSync(victim);
    nfs.writeFileSync(path.join(victim, 'f.txt'), 'victim');

    const root = loadDirectory(mirror);
    /** @type {Directory} */ (root.get('sub')).link('report.txt', new File('guest'));
    /** @type {File} */ (root.get('f.txt')).write(0, new TextEncoder().encode('MINE'));

    // Meanwhile, on the host: both names now lead outside.
    nfs.rmSync(path.join(mirror, 'sub'), { recursive: true });
    nfs.symlinkSync('../victim', path.join(mirror, 'sub'));
    nfs.rmSync(path.join(mirror, 'f.txt'));
    nfs.symlinkSync('../victim/f.txt', path.join(mirror, 'f.txt'));

    saveDirectory(root, mirror);
    assert.deepEqual(nfs.readdirSync(victim), ['f.txt'], 'nothing written outside the mirror');
    assert.equal(nfs.readFileSync(path.join(victim, 'f.txt'), 'utf8'), 'victim');
    assert.ok(nfs.lstatSync(path.join(mirror, 'sub')).isDirectory());
    assert.equal(nfs.readFileSync(path.join(mirror, 'sub', 'report.txt'), 'utf8'), 'guest');
    assert.ok(nfs.lstatSync(path.join(mirror, 'f.txt')).isFile());
    assert.equal(nfs.readFileSync(path.join(mirror, 'f.txt'), 'utf8'), 'MINE');
  } finally {
    nfs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('write-back is all or nothing: a name the host refuses changes nothing', () => {
  const tmp = nfs.mkdtempSync(path.join(os.tmpdir(), 'wprof-hostdir-atomic-'));
  try {
    nfs.writeFileSync(path.join(tmp, 'a.txt'), 'original');
    nfs.writeFileSync(path.join(tmp, 'b.txt'), 'b');
    nfs.mkdirSync(path.join(tmp, 'sub'));
    const root = loadDirectory(tmp);
    /** @type {File} */ (root.get('a.txt')).write(0, new TextEncoder().encode('REWRITTEN'));
    root.unlink('b.txt');
    root.link('c.txt', new File('c'));
    // Built directly (the WASI layer refuses it with ENAMETOOLONG, as
    // native does); the host refuses it too.
    /** @type {Directory} */ (root.get('sub')).link('n'.repeat(300), new File('long'));
    assert.throws(() => saveDirectory(root, tmp), /ENAMETOOLONG/);
    assert.deepEqual(nfs.readdirSync(tmp).sort(), ['a.txt', 'b.txt', 'sub'], 'nothing added or removed, no staging left');
    assert.equal(nfs.readFileSync(path.join(tmp, 'a.txt'), 'utf8'), 'original');
    assert.deepEqual(nfs.readdirSync(path.join(tmp, 'sub')), []);
    // Without the bad name, everything applies.
    /** @type {Directory} */ (root.get('sub')).unlink('n'.repeat(300));
    saveDirectory(root, tmp);
    assert.deepEqual(nfs.readdirSync(tmp).sort(), ['a.txt', 'c.txt', 'sub']);
    assert.equal(nfs.readFileSync(path.join(tmp, 'a.txt'), 'utf8'), 'REWRITTEN');
  } finally {
    nfs.rmSync(tmp, { recursive: true, force: true });
  }
});
