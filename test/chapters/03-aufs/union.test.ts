// Chapter 3, for real, as root: containers on aufs, the union that
// dockling serves over FUSE. What a learner does in the chapter: look at
// `info`, change a container's files, find the changes in
// aufs/diff/<id> as aufs writes them (files, .wh.NAME whiteouts, opaque
// directories), read aufs/layers/<id>, then diff and commit. And real
// programs on the union: tar, find, sort of a 20 MB file, thousands of small
// files, rm -rf of a lower directory, renames across branches, hard links,
// symlinks, FIFOs, device nodes, and the errors the kernel's own
// filesystems give.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: no images, no aufs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { aufs, containerID, mountIdOf, ok } from './helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch3-union');

test("info: the storage driver is aufs, with Docker's aufs block", { skip }, () => {
  ok(root(), ['run', '--rm', 'busybox', 'true']); // the store exists once an image does
  const info = ok(root(), ['info']);
  const block = new RegExp(
    ` Storage Driver: aufs\\n  Root Dir: ${aufs(root()).home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n  Backing Filesystem: \\w+\\n  Dirs: (\\d+)\\n  Dirperm1 Supported: true\\n`,
  );
  const m = block.exec(info);
  assert.ok(m, `no aufs block in info:\n${info}`);
  assert.equal(Number(m[1]), fs.readdirSync(path.join(aufs(root()).home, 'diff')).length, 'Dirs counts aufs/diff');
});

test('a container writes on its own branch: files, .wh. whiteouts, opaque dirs; layers/<id>; diff and commit', { skip }, () => {
  const script = 'echo hi > /etc/motd; rm /bin/vi; rm -rf /usr; mkdir /usr; touch /usr/new; mkdir -p /a/b; echo deep > /a/b/c';
  ok(root(), ['run', '--name', 'u1', 'busybox', 'sh', '-c', script]);
  try {
    const id = containerID(root(), 'u1');
    const mid = mountIdOf(root(), id);
    const L = aufs(root());
    assert.equal(fs.readFileSync(path.join(L.diff(mid), 'etc/motd'), 'utf8'), 'hi\n');
    const wh = fs.lstatSync(path.join(L.diff(mid), 'bin/.wh.vi'));
    assert.ok(wh.isFile() && wh.size === 0, '/bin/vi is whited out by an empty file .wh.vi');
    assert.ok(!fs.existsSync(path.join(L.diff(mid), 'bin/vi')));
    assert.ok(fs.existsSync(path.join(L.diff(mid), 'usr/.wh..wh..opq')), 'the re-made /usr is opaque');
    assert.equal(fs.readFileSync(path.join(L.diff(mid), 'a/b/c'), 'utf8'), 'deep\n');
    // layers/<id>: the layers under it, topmost first: the init layer, then the image's.
    const below = fs.readFileSync(L.layers(mid), 'utf8').split('\n').filter(Boolean);
    assert.equal(below[0], `${mid}-init`);
    assert.equal(below.length, 2, `busybox has one layer: ${below.join(', ')}`);
    assert.ok(fs.existsSync(path.join(L.diff(below[1]), 'bin/busybox')), 'the last one is the image layer');
    // The container has exited: its union is unmounted, its branch kept.
    assert.equal(fs.readdirSync(L.mnt(mid)).length, 0);

    const diff = ok(root(), ['diff', 'u1']).trim().split('\n');
    for (const line of ['C /bin', 'D /bin/vi', 'A /etc/motd', 'C /usr', 'D /usr/bin', 'D /usr/sbin', 'A /usr/new', 'A /a', 'A /a/b/c']) assert.ok(diff.includes(line), `diff lacks "${line}":\n${diff.join('\n')}`);
    assert.ok(!diff.some((l) => l.includes('.wh.')), 'whiteouts are shown as D, never by their file names');

    ok(root(), ['commit', 'u1', 'mine:aufs']);
    const seen = ok(root(), ['run', '--rm', 'mine:aufs', 'sh', '-c', 'cat /etc/motd; ls /usr; cat /a/b/c; ls /bin/vi 2>&1 || true']);
    assert.equal(seen, 'hi\nnew\ndeep\nls: /bin/vi: No such file or directory\n');
  } finally {
    dockling(root(), ['rm', '-f', 'u1']);
    dockling(root(), ['rmi', 'mine:aufs']);
  }
});

// #region real-programs
/** One script of real programs; each line checks itself and the script stops at the first failure. */
const PROGRAMS = String.raw`
set -e
cd /
# tar and find read the union: every name once, none hidden
tar -cf /tmp/t.tar bin etc 2>/dev/null; n=$(tar -tf /tmp/t.tar | wc -l); [ "$n" = "$(find bin etc | wc -l)" ] && [ "$n" -gt 80 ] || { echo "tar: $n"; exit 1; }
[ "$(find / -xdev -name busybox | wc -l)" = 1 ] || { echo find; exit 1; }
# a 20 MB file, written and sorted
seq 1 3000000 > /nums; [ "$(wc -c < /nums)" -gt 20000000 ] || { echo size; exit 1; }
[ "$(sort -n -r /nums | head -1)" = 3000000 ] || { echo sort; exit 1; }
# many small files
mkdir /many; i=0; while [ $i -lt 2000 ]; do echo $i > /many/f$i; i=$((i+1)); done
[ "$(ls /many | wc -l)" = 2000 ] && [ "$(cat /many/f1999)" = 1999 ] || { echo many; exit 1; }
# rm -rf of a directory that lives in the image's layer
rm -rf /usr; [ ! -e /usr ] || { echo rm-rf; exit 1; }
# renames across branches: a lower file, a lower symlink, a lower directory (EXDEV, so mv copies)
mv /linuxrc /linuxrc2; [ -L /linuxrc2 ] && [ ! -e /linuxrc ] || { echo mv-symlink; exit 1; }
cp /bin/busybox /bb; mv /bb /sbin/bb; cmp /bin/busybox /sbin/bb || { echo mv-file; exit 1; }
mv /root /root2; [ -d /root2 ] && [ ! -e /root ] || { echo mv-dir; exit 1; }
# hard links, also of a lower file (copied up first)
echo x > /h1; ln /h1 /h2; [ "$(stat -c %h /h1)" = 2 ] && [ "$(stat -c %i /h1)" = "$(stat -c %i /h2)" ] || { echo link; exit 1; }
ln /bin/busybox /bb-link; [ "$(stat -c %h /bb-link)" = 2 ] || { echo link-lower; exit 1; }
# symlinks, FIFOs, device nodes
ln -s /etc/group /sl; [ "$(readlink /sl)" = /etc/group ] && head -1 /sl >/dev/null || { echo symlink; exit 1; }
mkfifo /fifo; [ -p /fifo ] || { echo fifo; exit 1; }
mknod /null2 c 1 3; echo gone > /null2; [ -c /null2 ] && [ ! -s /null2 ] || { echo mknod; exit 1; }
# a file open for reading sees what another descriptor writes after its copy-up
exec 3< /etc/group; echo extra >> /etc/group; [ "$(tail -n 1 <&3)" = extra ] || { echo open-ro; exit 1; }
# the kernel's page cache never shows old data: a hard link is another node to it (a write under one
# name shows under the other), and a lower file's cached pages go once it is copied up and changed
echo aaaa > /hl1; ln /hl1 /hl2; cat /hl1 >/dev/null; echo bbbb > /hl2; [ "$(cat /hl1)" = bbbb ] || { echo link-cache; exit 1; }
p=$(cat /etc/passwd); cat /etc/passwd >/dev/null; ln /etc/passwd /pw; echo "$p" | tr a-z A-Z > /pw
[ "$(cat /etc/passwd)" = "$(echo "$p" | tr a-z A-Z)" ] || { echo lower-cache; exit 1; }
# chmod and truncate of lower files copy them up
chmod 711 /bin/busybox; [ "$(stat -c %a /bin/busybox)" = 711 ] || { echo chmod; exit 1; }
: > /etc/passwd; [ ! -s /etc/passwd ] || { echo truncate; exit 1; }
# the kernel's errors
mkdir /d; touch /d/x; ! rmdir /d 2>/tmp/e && grep -q 'Directory not empty' /tmp/e || { echo ENOTEMPTY; exit 1; }
! mkdir /d 2>/tmp/e && grep -q 'File exists' /tmp/e || { echo EEXIST; exit 1; }
! cat /nothing 2>/tmp/e && grep -q 'No such file' /tmp/e || { echo ENOENT; exit 1; }
! touch /.wh.etc 2>/tmp/e && [ -d /etc ] || { echo wh-name; exit 1; }
# statfs is the writable branch's filesystem
df / | grep -q ' /$' || { echo df; exit 1; }
echo all-good
`;
// #endregion real-programs

test('real programs on the union: tar, find, sort of 20 MB, 2000 files, rm -rf, renames, links, fifos, devices, errors', { skip }, () => {
  const r = dockling(root(), ['run', '--name', 'pr', 'busybox', 'sh', '-c', PROGRAMS], { timeout: 180_000 });
  try {
    expectCode(r, 0);
    assert.equal(r.stdout, 'all-good\n');
    // On the host: the copied-up busybox kept its content (cmp above) and got the new mode.
    const mid = mountIdOf(root(), containerID(root(), 'pr'));
    const L = aufs(root());
    assert.equal(fs.statSync(path.join(L.diff(mid), 'bin/busybox')).mode & 0o777, 0o711);
    assert.ok(fs.existsSync(path.join(L.diff(mid), '.wh.usr')), 'rm -rf /usr left a whiteout');
    assert.ok(fs.existsSync(path.join(L.diff(mid), '.wh.root')) && fs.statSync(path.join(L.diff(mid), 'root2')).isDirectory(), 'mv /root copied it and whited out the old name');
    assert.ok(fs.lstatSync(path.join(L.diff(mid), 'null2')).isCharacterDevice());
  } finally {
    dockling(root(), ['rm', '-f', 'pr']);
  }
});

test("chown of a lower file: the copy-up keeps the data and mode, takes the owner; the image's layer is untouched", { skip }, () => {
  ok(root(), ['run', '--name', 'ow', 'busybox', 'sh', '-c', 'chown 5:6 /bin/busybox; touch -d 2001-02-03 /bin/busybox']);
  try {
    const mid = mountIdOf(root(), containerID(root(), 'ow'));
    const L = aufs(root());
    const image = fs.readFileSync(L.layers(mid), 'utf8').split('\n').filter(Boolean).at(-1)!;
    const lower = fs.statSync(path.join(L.diff(image), 'bin/busybox'));
    const upper = fs.statSync(path.join(L.diff(mid), 'bin/busybox'));
    assert.deepEqual([upper.uid, upper.gid, upper.mode, upper.size], [5, 6, lower.mode, lower.size]);
    assert.equal(new Date(upper.mtimeMs).toISOString().slice(0, 10), '2001-02-03');
    assert.equal(lower.uid, 0, 'the lower file is never written');
    assert.ok(fs.readFileSync(path.join(L.diff(mid), 'bin/busybox')).equals(fs.readFileSync(path.join(L.diff(image), 'bin/busybox'))));
  } finally {
    dockling(root(), ['rm', '-f', 'ow']);
  }
});

test('--trace shows the FUSE requests, which branch answered, each copy-up and whiteout', { skip }, () => {
  const file = path.join(root(), 'trace.jsonl');
  try {
    ok(root(), ['--trace-file', file, 'run', '--rm', 'busybox', 'sh', '-c', 'echo more >> /etc/group; rm /bin/vi; cat /etc/group >/dev/null']);
    const records = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const fuse = records.filter((r) => r.side === 'fuse');
    assert.ok(fuse.some((r) => r.op === 'fuse' && r.request === 'INIT'), 'the INIT handshake');
    assert.ok(fuse.some((r) => r.op === 'fuse' && r.request === 'LOOKUP' && /^\/bin\/vi \(branch 2\)$/.test(r.path)), 'a LOOKUP answered by the image layer (branch 2)');
    assert.ok(fuse.some((r) => r.op === 'copy-up' && r.path === '/etc/group'), 'the copy-up of /etc/group');
    assert.ok(fuse.some((r) => r.op === 'whiteout' && r.path === '/bin/vi'), 'the whiteout of /bin/vi');
    const mount = records.find((r) => r.op === 'mount' && r.fstype === 'fuse.aufs');
    assert.ok(mount && /^fd=\d+,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions$/.test(mount.data), 'the mount(2) of the union');
  } finally {
    fs.rmSync(file, { force: true });
  }
});
