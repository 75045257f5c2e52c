// Chapter 1, section 1: "What a namespace is" (PID, mount, UTS, IPC, network,
// cgroup).
//
// Chapter 1: what the namespaces isolate, seen from inside the container and
// from the host. Every test runs the real CLI as root (test/helpers), and
// checks after itself that nothing of the container is left on the host.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { dockling, docklingAsync, rootOrSkip, until, type Result } from '../../helpers/dockling.js';
import { mountsUnder } from '../../helpers/leaks.js';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.js';
import { containerProcesses, finish, nsOf } from '../../helpers/processes.js';
import { decodeRecord, type TraceRecord } from '../../../runtime/trace/events.js';

const skip = rootOrSkip();
const root = useStateRoot('isolation');
const { ok } = runners(root);

/** Run with --trace-file and return the records. */
function traced(args: string[]): { r: Result; trace: TraceRecord[] } {
  const file = path.join(root(), `trace-${randomBytes(4).toString('hex')}.jsonl`);
  try {
    const r = dockling(root(), ['--trace-file', file, 'run', '--rm', ...args]);
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    return { r, trace: lines.map((l) => decodeRecord(l)).filter((x): x is TraceRecord => x !== null) };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** The container's ID, from the trace of its state directory being made. */
function containerIdOf(trace: TraceRecord[]): string {
  for (const rec of trace) {
    const m = rec.op === 'mkdir' ? /\/containers\/([0-9a-f]{64})$/.exec(rec.path) : null;
    if (m) return m[1];
  }
  assert.fail('no container directory in the trace');
}

/** The rootfs directory, from the trace (the directory the init enters before pivot_root). */
function rootfsOf(trace: TraceRecord[]): string {
  const i = trace.findIndex((r) => r.op === 'pivot_root');
  const chdir = trace.slice(0, i).reverse().find((r) => r.op === 'chdir');
  assert.ok(chdir && chdir.op === 'chdir', 'no chdir before pivot_root in the trace');
  return chdir.path;
}

/**
 * Where `p` is inside its own filesystem, as mountinfo's root field shows it:
 * `p` itself only when that filesystem is mounted at / (not so when TMPDIR
 * is a tmpfs, as in the cgroup-v2 guest or on Debian 13).
 */
function pathInItsFilesystem(p: string): string {
  const real = fs.realpathSync(p);
  let best = { mountPoint: '', fsRoot: '/' };
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [, , , fsRoot, mountPoint] = line.split(' ');
    if (mountPoint === undefined) continue;
    const under = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
    // The longest mount point that holds it; of equal ones, the last mounted.
    if (under && mountPoint.length >= best.mountPoint.length) best = { mountPoint, fsRoot };
  }
  return path.join(best.fsRoot, path.relative(best.mountPoint, real));
}

/** Start a container that prints "ready" and then waits; SIGTERM to the CLI ends it. */
async function startWaiting(setup: string, extra: string[] = []) {
  const script = `trap "exit 0" TERM; ${setup} echo ready; while :; do sleep 0.05; done`;
  const p = docklingAsync(root(), ['run', '--rm', ...extra, 'busybox', 'sh', '-c', script]);
  await until(() => p.output().includes('ready') || p.child.exitCode !== null, 15_000, 'the container to be ready');
  return p;
}

/** Stop a background container as a user would (SIGTERM to its CLI, passed on to PID 1); SIGKILL to its processes if that has not ended it within 5 s. */
async function stop(p: ReturnType<typeof docklingAsync>): Promise<Result> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return finish(p, 5000);
}

describe('chapter 1: inside the container', { skip }, () => {
  test('the command is PID 1, and its parent is outside the namespace', () => {
    assert.equal(ok(['busybox', 'sh', '-c', 'echo $$ $PPID']), '1 0\n');
    // Exec'd directly (no init left between): the program itself is PID 1.
    const stat = ok(['busybox', 'cat', '/proc/self/stat']);
    assert.match(stat, /^1 \(cat\) /);
  });

  test('ps shows only the container\'s processes', () => {
    const out = ok(['busybox', 'sh', '-c', 'sleep 30 & ps -o pid,args; kill $!']);
    const rows = out.trim().split('\n').slice(1).map((l) => l.trim());
    // Exactly three: the shell (PID 1), its sleep, and ps itself.
    assert.equal(rows.length, 3, out);
    assert.match(rows[0], /^1 sh -c /);
    assert.ok(rows.some((r) => /sleep 30/.test(r)), out);
    for (const r of rows) {
      assert.ok(Number(r.split(/\s+/)[0]) < 100, `a small PID of the namespace: ${r}`);
      assert.doesNotMatch(r, /node|dockling|init\.js|nsexec|unshare/, 'no host process is visible');
    }
  });

  test('/proc is the container\'s: only its own PIDs, and PID 1 is the command', () => {
    // `ls` is PID 1 and alone: the only numeric entry of /proc is 1.
    const entries = ok(['busybox', 'ls', '/proc']).split(/\s+/).filter((e) => /^\d+$/.test(e));
    assert.deepEqual(entries, ['1']);
    assert.equal(ok(['busybox', 'cat', '/proc/1/cmdline']), 'cat\0/proc/1/cmdline\0');
    // A shell that stays (two commands) is PID 1, its child is not.
    assert.equal(ok(['busybox', 'sh', '-c', 'cat /proc/1/cmdline; true']), 'sh\0-c\0cat /proc/1/cmdline; true\0');
  });

  test('the default hostname is the first 12 hex digits of the container ID; the host\'s is unchanged', () => {
    const hostBefore = os.hostname();
    const { r, trace } = traced(['busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME']);
    expectCode(r, 0);
    const short = containerIdOf(trace).slice(0, 12);
    assert.match(short, /^[0-9a-f]{12}$/);
    assert.equal(r.stdout, `${short}\n${short}\n${short}\n`);
    assert.equal(os.hostname(), hostBefore);
    assert.notEqual(short, hostBefore);
  });

  test('--hostname box (and -h) sets the container\'s hostname only', () => {
    const hostBefore = os.hostname();
    assert.equal(ok(['--hostname', 'box', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME']), 'box\nbox\nbox\n');
    assert.equal(ok(['-h', 'other-box', 'busybox', 'hostname']), 'other-box\n');
    // The container may even change its own hostname: the host's stays.
    assert.equal(ok(['busybox', 'sh', '-c', 'hostname changed-inside && hostname']), 'changed-inside\n');
    assert.equal(os.hostname(), hostBefore);
    assert.equal(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), hostBefore);
  });

  test('a mount made inside is invisible on the host, during and after', async () => {
    const marker = `dockling-inside-${randomBytes(4).toString('hex')}`;
    const hostMountinfo = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const p = await startWaiting(`mkdir -p /mnt && mount -t tmpfs ${marker} /mnt && echo secret > /mnt/f &&`);
    try {
      assert.match(p.output(), /ready/, p.errors());
      const [pid1] = containerProcesses(p.child.pid!).sort((a, b) => a - b);
      assert.ok(pid1, 'the container\'s process is on the host');
      // The mount exists (in the container's mount namespace)…
      assert.ok(fs.readFileSync(`/proc/${pid1}/mountinfo`, 'utf8').includes(marker), 'the mount was made inside');
      // …but not in the host's: neither it nor any mount of the container.
      assert.ok(!hostMountinfo().includes(marker), 'the mount made inside is visible on the host');
      assert.deepEqual(mountsUnder(root()), [], 'the container\'s mounts are visible on the host');
    } finally {
      expectCode(await stop(p), 0);
    }
    assert.ok(!hostMountinfo().includes(marker));
  });

  test('the host\'s root is unreachable: no old root, ".." from / stays in /', () => {
    const secret = path.join(root(), `host-only-${randomBytes(4).toString('hex')}`);
    fs.writeFileSync(secret, 'host secret\n');
    try {
      const script = [
        `test -e ${secret} && echo REACHED || echo unreachable`,
        'cd /..; pwd',
        'ls -a / | tr "\\n" " "; echo',
        'ls -a /.. | tr "\\n" " "; echo',
        'stat -c %i /',
        'cat /proc/self/mountinfo',
      ].join('; ');
      const { r, trace } = traced(['busybox', 'sh', '-c', script]);
      expectCode(r, 0);
      const [reach, pwd, lsRoot, lsUp, inode, ...mountinfo] = r.stdout.trimEnd().split('\n');
      assert.equal(reach, 'unreachable');
      assert.equal(pwd, '/');
      assert.equal(lsUp, lsRoot);
      // "/" inside is the rootfs directory itself.
      const rootfs = rootfsOf(trace);
      assert.equal(Number(inode), fs.statSync(rootfs).ino);
      const names = lsRoot.trim().split(' ').filter((n) => n !== '.' && n !== '..').sort();
      assert.deepEqual(names, fs.readdirSync(rootfs).sort());
      // No mount of the host's root filesystem remains (the old root was
      // unmounted): every mount is the rootfs, a file bind-mounted from the
      // container's state directory, or a kernel filesystem.
      const rootMount = mountinfo.find((l) => l.split(' ')[4] === '/');
      assert.ok(rootMount, 'a mount at /');
      const device = rootMount.split(' ')[2];
      for (const l of mountinfo) {
        const [, , dev, fsRoot, mountPoint] = l.split(' ');
        if (dev !== device) continue;
        assert.ok(
          fsRoot === pathInItsFilesystem(rootfs) || /\/containers\/[0-9a-f]{64}\//.test(fsRoot),
          `a mount of the host's filesystem that is neither the rootfs nor a container file: ${l} (at ${mountPoint})`,
        );
      }
    } finally {
      fs.rmSync(secret);
    }
  });

  test("a descriptor left open by dockling's caller does not reach the container", () => {
    // A directory of the host, open as fd 9 of the CLI (not close-on-exec).
    // Inherited by the container, `cd /proc/self/fd/9` would lead out of
    // its root into the host's filesystem.
    const hostDir = fs.mkdtempSync(path.join(root(), 'host-dir-'));
    fs.writeFileSync(path.join(hostDir, 'host-file'), 'host\n');
    const fd = fs.openSync(hostDir, 'r');
    const stdio = ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd] as const;
    try {
      // `ls` is PID 1: it has 0-2, and 3 is the directory it reads. Anything
      // inherited would be one more.
      const fds = expectCode(dockling(root(), ['run', '--rm', 'busybox', 'ls', '/proc/self/fd'], { stdio: [...stdio] }), 0);
      assert.equal(fds.stdout, '0\n1\n2\n3\n');
      const escape = expectCode(dockling(root(), ['run', '--rm', 'busybox', 'sh', '-c', 'cd /proc/self/fd/9 2>/dev/null && ls || echo no-fd-9'], { stdio: [...stdio] }), 0);
      assert.equal(escape.stdout, 'no-fd-9\n');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(hostDir, { recursive: true });
    }
  });

  test('the network has only lo, and lo is up', () => {
    const links = ok(['busybox', 'ip', '-o', 'link']).trim().split('\n');
    assert.equal(links.length, 1, links.join('\n'));
    assert.match(links[0], /^1: lo: <[^>]*\bUP\b[^>]*>/);
    const dev = ok(['busybox', 'cat', '/proc/net/dev']).trim().split('\n').slice(2).map((l) => l.split(':')[0].trim());
    assert.deepEqual(dev, ['lo']);
    // lo works: the container can reach itself on 127.0.0.1 (and nothing else).
    const ping = ok(['busybox', 'sh', '-c', 'ip -o addr show lo; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo PONG']);
    assert.match(ping, /inet 127\.0\.0\.1\/8/);
    assert.match(ping, /PONG/);
    // The host's interfaces are not there.
    const hostIfs = Object.keys(os.networkInterfaces()).filter((n) => n !== 'lo');
    for (const h of hostIfs) assert.ok(!dev.includes(h), `host interface ${h} is visible`);
  });

  test('uts, ipc, net, pid, mnt and cgroup namespaces are new; the user namespace is the host\'s', () => {
    const kinds = ['uts', 'ipc', 'net', 'pid', 'mnt', 'cgroup', 'user'];
    const out = ok(['busybox', 'sh', '-c', kinds.map((k) => `readlink /proc/self/ns/${k}`).join('; ')]).trim().split('\n');
    assert.equal(out.length, kinds.length);
    kinds.forEach((k, i) => {
      const host = fs.readlinkSync(`/proc/self/ns/${k}`);
      assert.match(out[i], new RegExp(`^${k}:\\[\\d+\\]$`));
      if (k === 'user') assert.equal(out[i], host, 'chapter 1 makes no user namespace');
      else assert.notEqual(out[i], host, `the ${k} namespace is the host's`);
    });
  });

  test('two containers running at once are in different namespaces and cannot see each other', async () => {
    const p1 = await startWaiting('');
    const p2 = await startWaiting('');
    try {
      assert.match(p1.output(), /ready/, p1.errors());
      assert.match(p2.output(), /ready/, p2.errors());
      const [c1] = containerProcesses(p1.child.pid!).sort((a, b) => a - b);
      const [c2] = containerProcesses(p2.child.pid!).sort((a, b) => a - b);
      for (const ns of ['pid', 'mnt', 'net', 'uts', 'ipc']) assert.notEqual(nsOf(c1, ns), nsOf(c2, ns), ns);
      // From a third container, neither is visible.
      assert.deepEqual(ok(['busybox', 'ls', '/proc']).split(/\s+/).filter((e) => /^\d+$/.test(e)), ['1']);
    } finally {
      expectCode(await stop(p1), 0);
      expectCode(await stop(p2), 0);
    }
  });
});
