// The run path of every chapter after 2, in the cgroup-v2-only guest
// (test/vm/): test/run.ts boots the guest and runs this file there with all
// layers (DOCKLING_CHAPTER=11), after chapter 2's own suite. Chapter 2's
// tests check the limits in depth; this checks that the finished runtime
// (overlay2 storage, the container monitor, hardening) still applies them
// on v2, where the caller sits in a leaf of a systemd-like tree
// (/user.slice/user-0.slice/session-1.scope).
//
// Everything is slower under TCG (7-10x): timeouts here have that margin.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, tempRoot, type Result } from '../helpers/dockling.js';

const CG = '/sys/fs/cgroup';
const inGuest = fs.existsSync(`${CG}/cgroup.controllers`) && !fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'cgroup');
const skip = inGuest ? false : 'runs in the cgroup-v2-only guest (test/run.ts boots it; or npm run vm -- node --import tsx --test test/vm/smoke.test.ts)';
const TIMEOUT = 300_000;

/** Every cgroup directory under /sys/fs/cgroup, to compare before and after. */
function cgroups(dir = CG): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [path.join(dir, e.name), ...cgroups(path.join(dir, e.name))]);
}

const before = inGuest ? cgroups() : [];
const root = inGuest ? tempRoot('vm-smoke') : '';
after(() => root && fs.rmSync(root, { recursive: true, force: true }));
const dk = (args: string[]): Result => dockling(root, args, { timeout: TIMEOUT });
const ok = (args: string[]): string => {
  const r = dk(args);
  assert.equal(r.code, 0, `dockling ${args.join(' ')}: exit ${r.code}\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout}`);
  return r.stdout;
};

test('the guest is cgroup v2 only, the caller in a leaf, and dockling info says v2', { skip }, () => {
  // (or the leaf the v2 driver moves the caller's processes into, if chapter 2 ran first in this guest)
  assert.match(fs.readFileSync('/proc/self/cgroup', 'utf8').trim(), /^0::\/user\.slice\/user-0\.slice\/session-1\.scope(\/dockling-caller)?$/);
  assert.match(ok(['info']), /^ Cgroup Version: 2$/m);
});

test('run -m --cpus --pids-limit: the container\'s cgroup has memory.max, cpu.max and pids.max', { skip }, () => {
  const out = ok(['run', '--rm', '-m', '64m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'sh', '-c',
    'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max']);
  assert.deepEqual(out.trim().split('\n'), ['67108864', '50000 100000', '20']);
});

test('a memory hog under -m 32m is OOM-killed: exit 137', { skip }, () => {
  const r = dk(['run', '--rm', '-m', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
  assert.equal(r.code, 137, r.stderr);
  assert.match(r.stderr, /OOM-killed/);
});

test('a fork bomb under --pids-limit 16 never has more than 16 tasks', { skip }, () => {
  // Depth-bounded (at most 511 processes); each process blocks on a FIFO
  // after forking two more. PID 1 watches with shell builtins only (at the
  // limit nothing can fork), then kills them all.
  const script = [
    'mkfifo /dev/shm/hold /dev/shm/tick',
    'exec 3<>/dev/shm/hold 4<>/dev/shm/tick',
    'bomb() { [ $1 -lt 8 ] && { bomb $(($1+1)) | bomb $(($1+1)) & }; read x <&3; }',
    '( bomb 0 ) 2>/dev/null &',
    'i=0; while [ $i -lt 600 ]; do read ev </sys/fs/cgroup/pids.events; [ "$ev" != "max 0" ] && break; read -t 0.1 x <&4; i=$((i+1)); done',
    'read cur </sys/fs/cgroup/pids.current; read peak </sys/fs/cgroup/pids.peak; read max </sys/fs/cgroup/pids.max',
    'kill -9 -1',
    'echo "$max $cur $peak $ev"',
  ].join('\n');
  const out = ok(['run', '--rm', '--pids-limit', '16', 'busybox', 'sh', '-c', script]).trim();
  const [max, cur, peak, , refused] = out.split(' ');
  assert.equal(max, '16', out);
  assert.ok(Number(refused) > 0, `no fork was refused: ${out}`);
  assert.ok(Number(cur) <= 16 && Number(cur) >= 12, `pids.current ${cur}: ${out}`);
  assert.ok(Number(peak) <= 16, `pids.peak ${peak}: ${out}`);
});

test('run -d, then stats, top, pause and rm -f: the limit shows, the processes list, the cgroup freezes, then goes', { skip }, () => {
  const id = ok(['run', '-d', '--name', 'smoke-d', '-m', '64m', 'busybox', 'sh', '-c', 'sleep 1001 & sleep 1002 & wait']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  try {
    const mine = () => cgroups().filter((d) => d.includes(id.slice(0, 12)));
    assert.ok(mine().length > 0, 'no cgroup named after the container');
    const stats = ok(['stats', '--no-stream', 'smoke-d']);
    assert.match(stats, /smoke-d\s.*\/ 64MiB/, stats);
    const top = ok(['top', 'smoke-d']);
    assert.match(top, /sleep 1001/, top);
    assert.match(top, /sleep 1002/, top);
    // pause on v2: cgroup.freeze, the kernel's "frozen 1", ps says Paused
    ok(['pause', 'smoke-d']);
    const cg = mine().find((d) => fs.existsSync(path.join(d, 'cgroup.freeze')))!;
    assert.equal(fs.readFileSync(path.join(cg, 'cgroup.freeze'), 'utf8').trim(), '1');
    assert.match(fs.readFileSync(path.join(cg, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
    assert.match(ok(['ps', '--format', '{{.Names}} {{.State}} {{.Status}}']), /^smoke-d paused Up .*\(Paused\)$/m);
    ok(['unpause', 'smoke-d']);
    assert.match(fs.readFileSync(path.join(cg, 'cgroup.events'), 'utf8'), /^frozen 0$/m);
  } finally {
    ok(['rm', '-f', 'smoke-d']);
  }
  assert.doesNotMatch(ok(['ps', '-a']), /smoke-d/);
  assert.deepEqual(cgroups().filter((d) => d.includes(id.slice(0, 12))), []);
});

test('chapter 11\'s default run: seccomp filter, Docker\'s capabilities, and the v2 device program denies /dev/kmsg', { skip }, () => {
  const out = ok(['run', '--rm', 'busybox', 'sh', '-c', [
    'grep -E "^(Seccomp|CapEff):" /proc/self/status',
    'mknod /tmp/kmsg c 1 11 && echo "mknod: ok"',
    'if dd if=/tmp/kmsg bs=8192 count=1 2>/tmp/err | wc -c | grep -qv "^0$"; then echo "kmsg: read"; else echo "kmsg: $(cat /tmp/err)"; fi',
  ].join('\n')]);
  assert.match(out, /^Seccomp:\s+2$/m, out);
  assert.match(out, /^CapEff:\s+00000000a80425fb$/m, out);
  assert.match(out, /^mknod: ok$/m, out);
  assert.match(out, /^kmsg: .*Operation not permitted/m, out);
});

test('chapter 6 in the guest: -p 8080:80 reaches the container from the guest\'s 127.0.0.1; rm -f leaves no veth or DNAT rule', { skip }, async () => {
  // The guest is a machine of its own: its bridge and NAT rules are its own.
  const id = ok(['run', '-d', '--name', 'smoke-web', '-p', '8080:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']).trim();
  try {
    let page = '';
    for (let i = 0; i < 50 && !page; i++) {
      const r = spawnSync('busybox', ['wget', '-qO-', 'http://127.0.0.1:8080/hostname'], { encoding: 'utf8' });
      if (r.status === 0) page = r.stdout.trim();
      else await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(page, id.slice(0, 12), 'the page is the container\'s host name');
    assert.match(ok(['port', 'smoke-web']), /^80\/tcp -> 0\.0\.0\.0:8080$/m);
  } finally {
    ok(['rm', '-f', 'smoke-web']);
  }
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(links, /: veth/, 'no veth left');
  assert.doesNotMatch(spawnSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' }).stdout, /DNAT/, 'no DNAT rule left');
});

test('chapter 7 in the guest: a named volume outlives its container, :ro is refused by the kernel, --rm takes an anonymous volume', { skip }, () => {
  try {
    ok(['run', '--rm', '-v', 'smokevol:/data', '-v', '/anon', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(fs.readFileSync(path.join(root, 'volumes/smokevol/_data/f'), 'utf8'), 'kept\n');
    const r = dk(['run', '--rm', '-v', 'smokevol:/data:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Read-only file system/);
    assert.deepEqual(fs.readdirSync(path.join(root, 'volumes')).filter((n) => !n.startsWith('.')), ['smokevol'], 'the anonymous volume went with --rm');
  } finally {
    dk(['volume', 'rm', 'smokevol']);
  }
});

test('chapter 9 in the guest: a build’s RUN is a container of the pipeline (its cgroup under v2), the rebuild is all cache', { skip }, () => {
  const dockerfile = 'FROM busybox\nRUN cat /proc/self/cgroup > /cg && echo built > /f\nCMD ["cat", "/f"]\n';
  try {
    const first = dockling(root, ['build', '-t', 'smoke/built', '-'], { timeout: TIMEOUT, input: dockerfile });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Running in [0-9a-f]{12}\nRemoving intermediate container/);
    // The RUN ran as a container does on cgroup v2: one line, 0::PATH, and in
    // a cgroup namespace of its own (Docker's default on v2), its cgroup is its root.
    assert.equal(ok(['run', '--rm', 'smoke/built', 'cat', '/cg']), '0::/\n');
    assert.equal(ok(['run', '--rm', 'smoke/built']), 'built\n');
    const again = dockling(root, ['build', '-t', 'smoke/built', '-'], { timeout: TIMEOUT, input: dockerfile });
    assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 2, again.stdout);
  } finally {
    dk(['rmi', 'smoke/built']);
  }
});

test('chapter 8 in the guest: a push to a registry on the guest\'s loopback, and run pulls the image back', { skip }, async () => {
  // Debian's docker-registry, from the host's root (the guest sees it read-only), storing under the state root.
  const config = path.join(root, 'registry.yml');
  fs.writeFileSync(config, `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${root}/registry}}\nhttp: {addr: 127.0.0.1:5000}\n`);
  const registry = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((r) => registry.on('exit', r));
  try {
    const up = async () => new Promise<boolean>((r) => http.get('http://127.0.0.1:5000/v2/', (res) => { res.resume(); r(res.statusCode === 200); }).on('error', () => r(false)));
    for (let i = 0; !(await up()); i++) {
      assert.ok(i < 600, 'docker-registry should answer on 127.0.0.1:5000');
      await new Promise((r) => setTimeout(r, 100));
    }
    ok(['tag', 'busybox', '127.0.0.1:5000/smoke/bb:1']);
    assert.match(ok(['push', '127.0.0.1:5000/smoke/bb:1']), /1: digest: sha256:[0-9a-f]{64}/);
    ok(['rmi', '127.0.0.1:5000/smoke/bb:1']);
    const r = dk(['run', '--rm', '127.0.0.1:5000/smoke/bb:1', 'cat', '/proc/self/cgroup']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Unable to find image '127\.0\.0\.1:5000\/smoke\/bb:1' locally/);
    assert.equal(r.stdout, '0::/\n');
  } finally {
    dk(['rmi', '127.0.0.1:5000/smoke/bb:1']);
    registry.kill('SIGTERM');
    await exited;
  }
});

test('chapter 3 in the guest: a container on aufs (the FUSE union) under a v2 memory limit; the server ends with it', { skip }, () => {
  // A root of its own: one that holds overlay2 layers and aufs layers both
  // would need --storage-driver on every command (Docker's rule).
  const auRoot = tempRoot('vm-smoke-aufs');
  try {
    const r = dockling(auRoot, ['--storage-driver', 'aufs', 'run', '--rm', '-m', '64m', 'busybox', 'sh', '-c',
      "echo hi > /etc/motd; rm /bin/vi; cat /etc/motd; ls /bin/vi 2>&1; grep ' / ' /proc/mounts | cut -d' ' -f1-3; cat /sys/fs/cgroup/memory.max"], { timeout: TIMEOUT });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['hi', 'ls: /bin/vi: No such file or directory', 'aufs / fuse.aufs', '67108864']);
    assert.match(dockling(auRoot, ['--storage-driver', 'aufs', 'info'], { timeout: TIMEOUT }).stdout, /^ Storage Driver: aufs$/m);
    for (let i = 0; i < 100 && fs.existsSync(path.join(auRoot, 'aufs/server.sock')); i++) spawnSync('sleep', ['0.1']);
    assert.ok(!fs.existsSync(path.join(auRoot, 'aufs/server.sock')), 'the aufs server ended with its last mount');
    assert.ok(!fs.readFileSync('/proc/mounts', 'utf8').includes('fuse.aufs'), 'no aufs mount is left');
  } finally {
    fs.rmSync(auRoot, { recursive: true, force: true });
  }
});

test('nothing is left: the cgroup tree is as before, no container', { skip }, () => {
  // the caller's leaf stays by design: it holds the caller's processes (runtime/cgroups/v2.ts)
  const leaf = (d: string) => path.basename(d) === 'dockling-caller';
  assert.deepEqual(cgroups().filter((d) => !leaf(d)), before.filter((d) => !leaf(d)));
  assert.equal(ok(['ps', '-aq']).trim(), '');
});
