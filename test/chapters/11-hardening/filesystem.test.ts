// Chapter 11, section 5: "The filesystem and the limits: a root nothing can
// write".
//
// Chapter 11, for real, as root: the container's files, hardened. A
// read-only root (--read-only) with Docker's writable exceptions, tmpfs
// mounts with Docker's options (--tmpfs), the size of /dev/shm
// (--shm-size), Docker's errors for bad values, and the masked and read-only
// kernel paths, which --security-opt systempaths=unconfined (and
// --privileged) take away.
//
// test/run.ts runs this file with layers 1..11 (every test must pass) and
// with layers 1..10 (every test must fail: there these flags are ignored
// with a warning, so the root stays writable, no tmpfs is mounted, /dev/shm
// keeps 64 MiB, bad values are not refused, and the kernel paths stay
// masked whatever is asked).
//
// Probes only read, or write inside the container's own mounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.ts';
import { mountOf } from '../../helpers/mountinfo.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch11-fs');
const { run, ok } = runners(root);


test('--read-only: writing the root fails with EROFS, and so do /tmp and /etc/hosts; /dev, /dev/shm stay writable', { skip }, () => {
  const out = ok([
    '--read-only', 'busybox', 'sh', '-c',
    'touch /x 2>&1; echo "root=$?"; touch /tmp/x 2>&1; echo "tmp=$?"; (echo >> /etc/hosts) 2>&1; echo "hosts=$?";' +
      ' touch /dev/shm/x && echo shm=0; touch /dev/x && echo dev=0; grep " / " /proc/self/mountinfo',
  ]);
  assert.match(out, /touch: \/x: Read-only file system\nroot=1/);
  // /tmp is part of the root: writable only with --tmpfs /tmp (next test).
  assert.match(out, /touch: \/tmp\/x: Read-only file system\ntmp=1/);
  // Docker: the container's /etc/hosts, hostname, resolv.conf are writable only when the root is.
  assert.match(out, /Read-only file system\nhosts=1/);
  assert.match(out, /shm=0\ndev=0/);
  assert.ok(mountOf(out, '/')!.options.includes('ro'), `the root mount is read-only:\n${out}`);
});

test('--tmpfs /tmp on a read-only root: /tmp is a tmpfs with Docker’s noexec,nosuid,nodev, and writable', { skip }, () => {
  const out = ok(['--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'echo hi > /tmp/f && cat /tmp/f; stat -c %a /tmp; cat /proc/self/mountinfo']);
  assert.match(out, /^hi\n1777\n/);
  const m = mountOf(out, '/tmp');
  assert.ok(m, `/tmp is a mount:\n${out}`);
  for (const o of ['rw', 'nosuid', 'nodev', 'noexec']) assert.ok(m.options.includes(o), `/tmp has ${o}: ${m.options}`);
  // --tmpfs itself is chapter 7's: what this chapter adds is the read-only root around it.
  assert.ok(mountOf(out, '/')!.options.includes('ro'), `the root is read-only:\n${out}`);
});

test('--read-only leaves the user’s volumes and binds writable (chapter 7’s mounts), unless asked :ro', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch11-ro-bind-'));
  try {
    const out = ok(['--read-only', '-v', '/rw', '-v', `${dir}:/bind`, '-v', `${dir}:/ro:ro`, 'busybox', 'sh', '-c',
      'touch /rw/x && echo rw=0; touch /bind/x && echo bind=0; touch /ro/y 2>&1; echo "ro=$?"; touch /x 2>&1; echo "root=$?"']);
    assert.match(out, /rw=0\nbind=0/);
    assert.match(out, /touch: \/ro\/y: Read-only file system\nro=1/);
    assert.match(out, /touch: \/x: Read-only file system\nroot=1/);
    assert.deepEqual(fs.readdirSync(dir), ['x'], 'the write through the writable bind reached the host directory');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--shm-size 128m: /dev/shm is 128 MiB (df), the default 64 MiB otherwise', { skip }, () => {
  const df = (args: string[]) => ok([...args, 'busybox', 'sh', '-c', 'df -k /dev/shm | tail -1']);
  assert.match(df(['--shm-size', '128m']), /^shm\s+131072\s/);
  assert.match(df(['--shm-size', '1g']), /^shm\s+1048576\s/);
  assert.match(df([]), /^shm\s+65536\s/);
});

test('bad --shm-size values: 125 with Docker’s message, and nothing made', { skip }, () => {
  const cases: [string[], RegExp][] = [
    [['--shm-size', 'lots'], /invalid argument "lots" for "--shm-size" flag: invalid size: 'lots'/],
    [['--shm-size', '-1'], /invalid size: '-1'/],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(run([...args, 'busybox', 'true']), 125);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(fs.readdirSync(path.join(root(), 'containers')), [], 'no container made');
});

/** Bytes readable in each path, from inside a container run with `args`. */
function sizes(args: string[], paths: string[]): Record<string, number> {
  const out = ok([...args, 'busybox', 'sh', '-c', paths.map((p) => `cat ${p} 2>/dev/null | wc -c`).join('; ')]);
  return Object.fromEntries(out.trim().split('\n').map((n, i) => [paths[i], Number(n)]));
}

test('masked paths: Docker’s list hides them; systempaths=unconfined (and --privileged) shows them, and /proc/sys is no read-only mount', { skip }, () => {
  // Probes that exist on this kernel (not every kernel has every masked path).
  const probes = ['/proc/interrupts', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'].filter((p) => fs.existsSync(p));
  assert.ok(probes.includes('/proc/interrupts'), 'this kernel has /proc/interrupts');
  for (const [p, n] of Object.entries(sizes([], probes))) assert.equal(n, 0, `${p} is masked by default`);

  const unconfined = ['--security-opt', 'systempaths=unconfined'];
  for (const [p, n] of Object.entries(sizes(unconfined, probes))) assert.ok(n > 0, `${p} is readable with systempaths=unconfined`);
  // /proc/sys is no longer a read-only mount of its own (read only: nothing is written).
  const mounts = ok([...unconfined, 'busybox', 'cat', '/proc/self/mountinfo']);
  assert.equal(mountOf(mounts, '/proc/sys'), undefined, '/proc/sys not remounted read-only');
  assert.equal(mountOf(mounts, '/sys')!.options[0], 'ro', '/sys stays read-only without --privileged');

  // --privileged comes with the capabilities part; where it exists, it also
  // gives a writable /sys, as Docker does.
  if (/--privileged/.test(dockling(root(), ['run', '--help']).stdout)) {
    const priv = ok(['--privileged', 'busybox', 'sh', '-c', 'wc -c < /proc/interrupts; cat /proc/self/mountinfo']);
    assert.ok(Number(priv.split('\n')[0]) > 0, '/proc/interrupts readable under --privileged');
    assert.equal(mountOf(priv, '/sys')!.options[0], 'rw', '/sys is read-write under --privileged');
  }
});
