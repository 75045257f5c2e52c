// copy-up.ts against directories made here: a root with the image's files,
// a volume's _data to fill. What is tested is what a hostile image could
// use: symlinks (the directory itself, and inside it) and special files.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { copyUp } from '../../../runtime/volume/copy-up.ts';

const asRoot = process.getuid?.() === 0 ? false : 'needs root (chown)';
const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `copy-up-${label}-`));
  made.push(d);
  return d;
}

/** A root and an empty _data, and a host sentinel a hostile image points at. */
function world() {
  const rootfs = tempDir('root');
  const data = path.join(tempDir('vol'), '_data');
  fs.mkdirSync(data);
  const sentinel = tempDir('sentinel');
  fs.writeFileSync(path.join(sentinel, 'secret'), 'host\n');
  return { rootfs, data, sentinel };
}

test('copies files, directories, owners, modes and times; the directory takes the source’s owner and mode', { skip: asRoot }, async () => {
  const { rootfs, data } = world();
  const src = path.join(rootfs, 'srv/app');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a.conf'), 'conf\n');
  fs.chownSync(path.join(src, 'a.conf'), 1000, 1001);
  fs.chmodSync(path.join(src, 'a.conf'), 0o640);
  fs.utimesSync(path.join(src, 'a.conf'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  fs.linkSync(path.join(src, 'a.conf'), path.join(src, 'sub/hard'));
  spawnSync('mkfifo', [path.join(src, 'sub/fifo')]);
  fs.chownSync(src, 7, 8);
  fs.chmodSync(src, 0o711);
  assert.equal(await copyUp(rootfs, '/srv/app', data), 4);
  const st = fs.statSync(path.join(data, 'a.conf'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777, st.mtime.getTime()], [1000, 1001, 0o640, Date.parse('2020-01-02T03:04:05Z')]);
  assert.equal(fs.statSync(path.join(data, 'sub/hard')).ino, st.ino, 'a hard link stays one');
  assert.ok(fs.statSync(path.join(data, 'sub/fifo')).isFIFO());
  const top = fs.statSync(data);
  assert.deepEqual([top.uid, top.gid, top.mode & 0o7777], [7, 8, 0o711]);
});

test('once: a volume that holds anything is not filled again', { skip: asRoot }, async () => {
  const { rootfs, data } = world();
  fs.mkdirSync(path.join(rootfs, 'data'));
  fs.writeFileSync(path.join(rootfs, 'data/image-file'), 'x');
  fs.writeFileSync(path.join(data, 'mine'), 'y');
  assert.equal(await copyUp(rootfs, '/data', data), null);
  assert.deepEqual(fs.readdirSync(data), ['mine']);
});

test('nothing to copy: no such directory, or a file, leaves the volume empty', { skip: asRoot }, async () => {
  const { rootfs, data } = world();
  assert.equal(await copyUp(rootfs, '/absent', data), null);
  fs.writeFileSync(path.join(rootfs, 'file'), 'x');
  assert.equal(await copyUp(rootfs, '/file', data), null);
  assert.deepEqual(fs.readdirSync(data), []);
});

test('hostile: /data a symlink to a host path (absolute, climbing, chained) is followed inside the root only', { skip: asRoot }, async () => {
  for (const link of ['ABS', '../../../../../../..ABS', '/hop']) {
    const { rootfs, data, sentinel } = world();
    const target = link.replace('ABS', sentinel);
    fs.symlinkSync(target, path.join(rootfs, 'data'));
    if (link === '/hop') fs.symlinkSync(`../../..${sentinel}`, path.join(rootfs, 'hop'));
    // The root has no such path: nothing to copy, and nothing of the host's.
    assert.equal(await copyUp(rootfs, '/data', data), null, link);
    assert.deepEqual(fs.readdirSync(data), [], link);
    // Given the path inside the root, it is the root's own files that are copied.
    fs.mkdirSync(path.join(rootfs, sentinel), { recursive: true });
    fs.writeFileSync(path.join(rootfs, sentinel, 'inside'), 'the container’s\n');
    assert.equal(await copyUp(rootfs, '/data', data), 1, link);
    assert.deepEqual(fs.readdirSync(data), ['inside'], link);
  }
});

test('hostile: symlinks inside the directory are copied as symlinks, never followed', { skip: asRoot }, async () => {
  const { rootfs, data, sentinel } = world();
  fs.mkdirSync(path.join(rootfs, 'data'));
  fs.symlinkSync(path.join(sentinel, 'secret'), path.join(rootfs, 'data/abs'));
  fs.symlinkSync('../../../../../..' + sentinel, path.join(rootfs, 'data/up'));
  await copyUp(rootfs, '/data', data);
  assert.equal(fs.readlinkSync(path.join(data, 'abs')), path.join(sentinel, 'secret'));
  assert.ok(fs.lstatSync(path.join(data, 'up')).isSymbolicLink());
  assert.deepEqual(fs.readdirSync(sentinel), ['secret'], 'the sentinel is unchanged');
});
