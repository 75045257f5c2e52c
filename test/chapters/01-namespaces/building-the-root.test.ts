// Chapter 1, section 5: "Building the root"; section 6: "pivot_root, and why
// not chroot", its "Masked and read-only kernel files".
//
// Chapter 1: the container's filesystem — /proc, /sys (read-only), a minimal
// /dev of its own, and the /etc files dockling writes for it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.js';
import { runners, useStateRoot } from '../../helpers/chapter.js';

const skip = rootOrSkip();
const root = useStateRoot('mounts');
const { ok } = runners(root);
/** Output of a shell script run in a busybox container (which must exit 0). */
const sh = (script: string, extra: string[] = []) => ok([...extra, 'busybox', 'sh', '-c', script]);

interface Mount {
  root: string;
  point: string;
  options: Set<string>;
  fstype: string;
  source: string;
  superOptions: Set<string>;
}

/** /proc/self/mountinfo, parsed (proc(5)). */
function parseMountinfo(text: string): Mount[] {
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const f = l.split(' ');
      const dash = f.indexOf('-');
      return {
        root: f[3], point: f[4], options: new Set(f[5].split(',')),
        fstype: f[dash + 1], source: f[dash + 2], superOptions: new Set(f[dash + 3].split(',')),
      };
    });
}

function has(set: Set<string>, ...want: string[]) {
  for (const w of want) assert.ok(set.has(w), `${[...set].join(',')} lacks ${w}`);
}

describe('chapter 1: mounts', { skip }, () => {
  let mounts: Mount[];
  const at = (p: string) => {
    const ms = mounts.filter((m) => m.point === p);
    assert.ok(ms.length > 0, `nothing is mounted at ${p}:\n${mounts.map((m) => m.point).join('\n')}`);
    return ms[ms.length - 1]; // the top one
  };

  test('/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys: the right filesystems and flags', () => {
    mounts = parseMountinfo(ok(['busybox', 'cat', '/proc/self/mountinfo']));
    const proc = at('/proc');
    assert.equal(proc.fstype, 'proc');
    has(proc.options, 'nosuid', 'nodev', 'noexec');

    const dev = at('/dev');
    assert.equal(dev.fstype, 'tmpfs');
    has(dev.options, 'nosuid');
    has(dev.superOptions, 'mode=755');

    const pts = at('/dev/pts');
    assert.equal(pts.fstype, 'devpts');
    has(pts.options, 'nosuid', 'noexec');
    has(pts.superOptions, 'ptmxmode=666', 'mode=620', 'gid=5');

    const shm = at('/dev/shm');
    // (tmpfs shows mode= only when it is not the default 1777: see the test of /dev/shm below.)
    assert.equal(shm.fstype, 'tmpfs');
    has(shm.options, 'nosuid', 'nodev', 'noexec');

    const mq = at('/dev/mqueue');
    assert.equal(mq.fstype, 'mqueue');
    has(mq.options, 'nosuid', 'nodev', 'noexec');

    const sys = at('/sys');
    assert.equal(sys.fstype, 'sysfs');
    has(sys.options, 'ro', 'nosuid', 'nodev', 'noexec');
  });

  test('/etc/hostname, /etc/hosts and /etc/resolv.conf are mounted from the container\'s state directory', () => {
    mounts = parseMountinfo(ok(['busybox', 'cat', '/proc/self/mountinfo']));
    for (const f of ['hostname', 'hosts', 'resolv.conf']) {
      const m = at(`/etc/${f}`);
      assert.match(m.root, new RegExp(`/containers/[0-9a-f]{64}/${f.replace('.', '\\.')}$`), `/etc/${f} comes from ${m.root}`);
    }
  });

  test('/sys is read-only: writing to it fails', () => {
    const out = sh('touch /sys/dockling-test 2>&1; echo "rc=$?"; mkdir /sys/kernel/x 2>&1; echo "rc=$?"');
    assert.match(out, /Read-only file system[\s\S]*rc=1[\s\S]*Read-only file system[\s\S]*rc=1/);
  });

  test('/proc/sys is read-only, and kernel files are masked', () => {
    // kernel.hostname is per UTS namespace: even a write that got through
    // would not touch the host. It must not get through.
    const out = sh('{ echo changed > /proc/sys/kernel/hostname; } 2>&1; echo "rc=$?"; wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l');
    const [err, rc, keys, timers, firmware] = out.trim().split('\n').map((s) => s.trim());
    assert.match(err, /Read-only file system/);
    assert.equal(rc, 'rc=1');
    assert.equal(keys, '0', '/proc/keys is masked');
    assert.equal(timers, '0', '/proc/timer_list is masked');
    assert.equal(firmware, '0', '/sys/firmware is masked');
  });

  test('the devices: null, zero, full, random, urandom, tty are character devices with their numbers', () => {
    // busybox stat: %t and %T are the major and minor in hex.
    const out = sh('stat -c "%n %F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty');
    assert.deepEqual(out.trim().split('\n'), [
      '/dev/null character special file 1:3 666',
      '/dev/zero character special file 1:5 666',
      '/dev/full character special file 1:7 666',
      '/dev/random character special file 1:8 666',
      '/dev/urandom character special file 1:9 666',
      '/dev/tty character special file 5:0 666',
    ]);
  });

  test('the devices work: zero reads zeros, full is full, null swallows, urandom gives bytes', () => {
    const out = sh([
      'head -c 4 /dev/zero | od -An -tx1',
      'echo x > /dev/full || echo "full: $?"',
      'dd if=/dev/zero of=/dev/full bs=1 count=1 2>&1 | grep -o "No space left on device"',
      'echo gone > /dev/null && cat /dev/null | wc -c',
      'head -c 32 /dev/urandom | wc -c',
    ].join('; '));
    const lines = out.trim().split('\n').map((s) => s.trim());
    assert.equal(lines[0], '00 00 00 00');
    assert.equal(lines[1], 'full: 1');
    assert.equal(lines[2], 'No space left on device');
    assert.equal(lines.at(-2), '0');
    assert.equal(lines.at(-1), '32');
  });

  test('/dev holds only the container\'s devices (none of the host\'s disks)', () => {
    const names = ok(['busybox', 'ls', '-A', '/dev']).trim().split('\n').filter((n) => n !== 'console');
    assert.deepEqual(names.sort(), ['core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
    // No block device at all.
    assert.equal(sh('find /dev -type b | wc -l').trim(), '0');
  });

  test('/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/ptmx are the usual links, and work', () => {
    const links = sh('for l in fd stdin stdout stderr ptmx core; do echo "$l -> $(readlink /dev/$l)"; done');
    assert.deepEqual(links.trim().split('\n'), [
      'fd -> /proc/self/fd',
      'stdin -> /proc/self/fd/0',
      'stdout -> /proc/self/fd/1',
      'stderr -> /proc/self/fd/2',
      'ptmx -> pts/ptmx',
      'core -> /proc/kcore',
    ]);
    // They lead where fds 0-2 lead. (Through pipes made inside: the CLI's
    // own stdout here is a socket, which cannot be opened by path.)
    const out = sh('(echo via-stdout > /dev/stdout) | cat; (echo via-stderr > /dev/stderr) 2>&1 | cat; head -1 /dev/stdin < /etc/passwd; ls /dev/fd/ | head -3 | tr "\\n" " "');
    assert.equal(out, 'via-stdout\nvia-stderr\nroot:x:0:0:root:/root:/bin/sh\n0 1 2 ');
  });

  test('/dev/pts is a devpts of its own: the host\'s terminals are not in it', () => {
    assert.equal(ok(['busybox', 'ls', '-A', '/dev/pts']), 'ptmx\n');
  });

  test('/dev/shm is a tmpfs of the container: what it writes there stays there', () => {
    const name = `dockling-shm-test-${process.pid}`;
    assert.equal(sh(`stat -c %a /dev/shm; echo shared > /dev/shm/${name} && cat /dev/shm/${name}`), '1777\nshared\n');
    assert.equal(fs.existsSync(`/dev/shm/${name}`), false, 'the file reached the host\'s /dev/shm');
  });

  test('/etc/hostname, /etc/hosts and /etc/resolv.conf are written for the container', () => {
    const out = sh('cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf', ['--hostname', 'box']);
    const [hostname, hosts, resolv] = out.split('---\n');
    assert.equal(hostname, 'box\n');
    const hostsLines = hosts.trim().split('\n');
    assert.ok(hostsLines.includes('127.0.0.1\tlocalhost'), hosts);
    assert.ok(hostsLines.some((l) => /^::1\s+localhost\b/.test(l)), hosts);
    assert.ok(hostsLines.some((l) => /^\S+\s+box$/.test(l)), `no line for the hostname in\n${hosts}`);
    // resolv.conf: the host's, without nameservers on the host's loopback
    // (they would be the container's own, empty, loopback).
    let hostResolv = '';
    try {
      hostResolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      /* none */
    }
    const want = hostResolv.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l)).join('\n').trimEnd() + '\n';
    assert.equal(resolv, want);
  });

  test('the rootfs\'s own /etc files are left untouched (the container\'s are bind mounts)', () => {
    const rootfs = path.join(root(), 'rootfs', 'busybox');
    sh('echo 10.0.0.1 added >> /etc/hosts; cat /etc/hostname', ['--hostname', 'box']);
    for (const f of ['hostname', 'hosts', 'resolv.conf']) {
      const p = path.join(rootfs, 'etc', f);
      if (fs.existsSync(p)) assert.equal(fs.readFileSync(p, 'utf8'), '', `the rootfs's /etc/${f} was written`);
    }
    // …and the next container starts from a fresh /etc/hosts.
    assert.doesNotMatch(sh('cat /etc/hosts'), /10\.0\.0\.1 added/);
  });
});
