// Chapter 3's part of the ESCAPE SUITE: the aufs union. Root in the
// container is the adversary; the FUSE server runs as root on the host and
// writes the container's branch for it, so every probe here asks: can the
// container make the server touch anything outside that branch, or see the
// server at all? Each probe aims at a marker in the test's own temporary
// directory and proves, by its absence, that nothing got there.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: no images, no aufs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { useTempDir } from '../../helpers/temp.ts';
import { makeTar } from '../04-overlay2/store-helpers.ts';
import { aufs, containerID, mountIdOf, ok, serverPids } from './helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch3-escape');
const marks = useTempDir('dockling-ch3-marks-');

test('the server is invisible from inside: no process of it, no /dev/fuse descriptor, no path to its socket', { skip }, () => {
  const out = ok(root(), ['run', '--rm', 'busybox', 'sh', '-c', [
    // ([a]: the pattern does not match the command line that holds it)
    'for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr "\\0" " "; echo; done | grep -c "[a]ufs-server" || true',
    'ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -c "/dev/[f]use" || true',
    'ls /aufs /var/lib/dockling 2>&1 | grep -c "No such file"',
    // and yet its root is the union the server serves
    'grep -c "^aufs / fuse.aufs " /proc/mounts',
  ].join('; ')]);
  assert.deepEqual(out.trim().split('\n'), ['0', '0', '2', '1'], `the container saw something of the server (or its root is not the server's union):\n${out}`);
});

test("a symlink the container makes is a file to the server: writes through it stay in the container's view", { skip }, () => {
  const target = marks();
  const script = [
    `ln -s ${target} /esc`,
    'echo pwned > /esc/marker 2>/dev/null || true',
    `mkdir -p /d && ln -s ${target} /d/link && echo pwned > /d/link/marker 2>/dev/null || true`,
    // a directory swapped for a symlink between two operations
    `mkdir /swap && echo a > /swap/f && mv /swap /swapped && ln -s ${target} /swap && echo pwned >> /swap/f 2>/dev/null || true`,
    'true',
  ].join('; ');
  ok(root(), ['run', '--name', 'esc', 'busybox', 'sh', '-c', script]);
  try {
    // The host reads the branch too: diff, commit and export walk it.
    ok(root(), ['diff', 'esc']);
    ok(root(), ['commit', 'esc', 'esc:probe']);
    ok(root(), ['export', '-o', path.join(root(), 'esc.tar'), 'esc']);
    assert.deepEqual(fs.readdirSync(target), [], 'the marker directory was written');
    const mid = mountIdOf(root(), containerID(root(), 'esc'));
    const branch = aufs(root()).diff(mid);
    assert.ok(fs.lstatSync(path.join(branch, 'esc')).isSymbolicLink(), 'the symlink is in the branch, as a symlink');
    assert.equal(fs.readlinkSync(path.join(branch, 'swap')), target);
    assert.equal(fs.readFileSync(path.join(branch, 'swapped/f'), 'utf8'), 'a\n');
  } finally {
    dockling(root(), ['rm', '-f', 'esc']);
    dockling(root(), ['rmi', 'esc:probe']);
    fs.rmSync(path.join(root(), 'esc.tar'), { force: true });
  }
});

test("the container cannot make aufs's own names: .wh. files and opaque markers are refused (EPERM)", { skip }, () => {
  const script = [
    'touch /.wh.etc', 'mkdir /bin/.wh..wh..opq', 'ln -s x /.wh.bin', 'echo x > /tmp/f && mv /tmp/f /usr/.wh.bin', 'mknod /.wh.sbin p',
  ].map((c) => `${c} 2>/dev/null && echo made`).join('; ') + '; ls / | tr "\\n" " "';
  ok(root(), ['run', '--name', 'wh', 'busybox', 'sh', '-c', script]);
  try {
    const mid = mountIdOf(root(), containerID(root(), 'wh'));
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name.startsWith('.wh.')) found.push(path.join(dir, e.name));
        if (e.isDirectory()) walk(path.join(dir, e.name));
      }
    };
    walk(aufs(root()).diff(mid));
    assert.deepEqual(found, [], 'a whiteout was forged');
    const seen = ok(root(), ['run', '--rm', 'busybox', 'ls', '/']);
    for (const d of ['bin', 'etc', 'sbin', 'usr']) assert.match(seen, new RegExp(`^${d}$`, 'm'));
  } finally {
    dockling(root(), ['rm', '-f', 'wh']);
  }
});

test('a layer tar whose whiteouts climb out of the layer is refused, and nothing outside it is touched', { skip }, () => {
  const victim = path.join(marks(), 'victim');
  fs.writeFileSync(victim, 'keep me');
  const rel = path.relative('/', victim);
  // The control: a layer whose whiteouts stay inside it imports.
  const good = path.join(root(), 'good.tar');
  fs.writeFileSync(good, makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/.wh.passwd', type: 'file', body: '' }]));
  ok(root(), ['import', good, 'good:probe']);
  fs.rmSync(good);
  ok(root(), ['rmi', 'good:probe']);
  for (const name of [`etc/.wh.../../../../../../../../${rel}`, `../../../../../../../${path.dirname(rel)}/.wh.victim`, `etc/.wh..wh..opq/../../../../../../../../${rel}`]) {
    const tar = path.join(root(), 'hostile.tar');
    fs.writeFileSync(tar, makeTar([{ name: 'etc/', type: 'dir' }, { name, type: 'file', body: '' }]));
    const r = dockling(root(), ['import', tar, 'hostile:probe']);
    fs.rmSync(tar);
    assert.notEqual(r.code, 0, `import accepted ${name}`);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me', `${name} reached the victim`);
    assert.deepEqual(fs.readdirSync(marks()), ['victim']);
  }
  assert.deepEqual(serverPids(root()), []);
  void os;
});
