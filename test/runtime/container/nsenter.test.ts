// nsenter (runtime/container/nsenter.c), the helper behind `dockling exec`,
// against a "container" made here by hand: util-linux unshare with new PID,
// mount, UTS, IPC and network namespaces, a hostname of its own, /proc for
// its PID namespace and a devpts instance of its own (bound over /dev/ptmx,
// as dockling's containers have it). All of that lives in the target's own
// mount namespace, so the host's /dev is untouched (checked at the end).
//
// Needs root and dist/nsenter (npm run build).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, rootOrSkip } from '../../helpers/dockling.ts';
import { readOr, sleep, waitFor } from './c-helpers.ts';
import * as libc from '../../../runtime/sys/libc.ts';

const skip = rootOrSkip();
const NSENTER = path.join(REPO, 'dist', 'nsenter');
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };

/** Every process this file starts, so that none can outlive it. */
const started = new Set<number>();
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}


/** Poll `check` until it returns something other than undefined (or fail after `ms`). */

/** The mounts of /dev/pts and /dev/ptmx in a mount namespace, as mountinfo lists them. */
function devMounts(pid: number | 'self'): string[] {
  return fs
    .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === '/dev/pts' || f[4] === '/dev/ptmx')
    .map((f) => `${f[4]} ${f.slice(f.indexOf('-') + 1).join(' ')}`);
}

// --- the target "container" ------------------------------------------------

interface Target {
  unshare: ChildProcess;
  /** host PID of the target's PID 1 */
  pid: number;
  closed: Promise<void>;
}

const TARGET_SCRIPT = [
  'hostname box',
  // A devpts of its own, and /dev/ptmx leading to it: what dockling's init
  // sets up in a container (runtime/process/defaults.ts).
  'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts',
  'mount --bind /dev/pts/ptmx /dev/ptmx',
  'exec sleep 60',
].join(' && ');

const TARGET = ['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '--mount-proc', 'sh', '-c', TARGET_SCRIPT];

/** Start `argv` (unshare, or something that execs it) and wait for its PID 1 to be sleep. */
async function startTarget(argv = TARGET): Promise<Target> {
  // (stderr is kept for a target that fails to start; when it is killed at
  // the end, unshare 2.38 also complains there: see runtime/process/nsexec.c.)
  const unshare = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(unshare.pid!);
  let stderr = '';
  unshare.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<void>((r) => unshare.on('close', () => r()));
  const u = unshare.pid!;
  // unshare forks the target's PID 1; it is ready once it has become sleep.
  const pid = await waitFor('the target to start', () => {
    if (unshare.exitCode !== null) throw new Error(`the target did not start: ${stderr}`);
    const kids = readOr(`/proc/${u}/task/${u}/children`)?.trim();
    if (!kids) return undefined;
    const p = Number(kids.split(' ')[0]);
    return readOr(`/proc/${p}/comm`) === 'sleep\n' ? p : undefined;
  });
  started.add(pid);
  return { unshare, pid, closed };
}

// --- running nsenter ---------------------------------------------------------

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Run {
  child: ChildProcess;
  /** what nsenter wrote on fd 3: the command's PID on the host */
  pid: Promise<number>;
  done: Promise<Outcome>;
  /** stdout so far */
  output: () => string;
}

/** Start nsenter with fd 3 (the PID pipe) and, if given, a console socket as fd 4. */
function nsenter(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore'; consoleFd?: number } = {}): Run {
  const stdio: (string | number)[] = [opts.stdin ?? 'ignore', 'pipe', 'pipe', 'pipe'];
  if (opts.consoleFd !== undefined) stdio.push(opts.consoleFd);
  const child = spawn(NSENTER, args, { stdio: stdio as any, env: opts.env ?? ENV });
  started.add(child.pid!);
  let stdout = '';
  let stderr = '';
  let fd3 = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const pidPipe = child.stdio[3] as NodeJS.ReadableStream;
  const pid = new Promise<number>((resolve, reject) => {
    pidPipe.on('data', (d) => (fd3 += d));
    pidPipe.on('end', () => (/^\d+\n$/.test(fd3) ? resolve(Number(fd3)) : reject(new Error(`fd 3 said ${JSON.stringify(fd3)}`))));
  });
  pid.catch(() => {}); // a test that does not look at it must not fail for it
  pid.then((p) => started.add(p), () => {});
  const done = new Promise<Outcome>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, pid, done, output: () => stdout };
}

/** Run nsenter to the end and return how it ended. */
async function run(args: string[], env?: NodeJS.ProcessEnv): Promise<Outcome> {
  return nsenter(args, { env }).done;
}

function expectExit(r: Outcome, code: number): Outcome {
  assert.equal(r.code, code, `exit ${r.code} (signal ${r.signal}), wanted ${code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r;
}

const OCI = 'OCI runtime exec failed: exec failed: unable to start container process: ';

describe('nsenter: into a running container (docker exec)', { skip }, () => {
  let target: Target;
  let hostDevMounts: string[];
  const T = () => String(target.pid);

  before(async () => {
    assert.ok(fs.existsSync(NSENTER), `the test needs ${NSENTER} (npm run build)`);
    hostDevMounts = devMounts('self');
    target = await startTarget();
  });

  after(async () => {
    if (target) {
      killQuietly(target.pid); // PID 1 gone: the kernel kills the rest of its namespace
      await target.closed;
    }
    for (const p of started) killQuietly(p);
  });

  test('enters every namespace of the target: hostname, PID, mount, network, IPC', async () => {
    const r = expectExit(await run([T(), '--', 'sh', '-c', 'hostname; for n in pid mnt net ipc uts; do readlink /proc/self/ns/$n; done']), 0);
    const [hostname, ...ns] = r.stdout.trim().split('\n');
    assert.equal(hostname, 'box');
    const theirs = ['pid', 'mnt', 'net', 'ipc', 'uts'].map((n) => fs.readlinkSync(`/proc/${target.pid}/ns/${n}`));
    assert.deepEqual(ns, theirs);
    assert.notEqual(theirs[0], fs.readlinkSync('/proc/self/ns/pid'), 'the target really is in a PID namespace of its own');
    // The network namespace is the target's: only a loopback, and it is down.
    const ip = expectExit(await run([T(), '--', 'cat', '/proc/net/dev']), 0);
    assert.deepEqual(ip.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(':')[0]), ['lo']);
  });

  test("in the container's PID namespace, ps sees the container's processes only", async () => {
    const r = expectExit(await run([T(), '--', 'ps', '-eo', 'pid=,comm=']), 0);
    const procs = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(procs[0], ['1', 'sleep'], r.stdout);
    assert.ok(procs.some(([, comm]) => comm === 'ps'), r.stdout);
    assert.ok(!procs.some(([, comm]) => /node|nsenter|unshare/.test(comm)), `no host process is visible:\n${r.stdout}`);
  });

  test("fd 3: the command's PID as the host sees it, in the container's PID namespace", async () => {
    const p = nsenter([T(), '--', 'sh', '-c', 'echo $$; read x || :'], { stdin: 'pipe' });
    const pid = await p.pid;
    await waitFor('the shell to print its PID', () => (p.output().includes('\n') ? true : undefined));
    assert.equal(fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${target.pid}/ns/pid`));
    assert.equal(readOr(`/proc/${pid}/comm`), 'sh\n');
    // nsenter itself waits outside: setns(pid) only placed its child.
    assert.equal(fs.readlinkSync(`/proc/${p.child.pid}/ns/pid`), fs.readlinkSync('/proc/self/ns/pid'));
    // Inside, the same process has a small number of its own.
    p.child.stdin!.end();
    const r = expectExit(await p.done, 0);
    const inner = Number(r.stdout.trim());
    assert.ok(inner > 1 && inner < 1000 && inner !== pid, `PID inside: ${inner}, on the host: ${pid}`);
  });

  test("--cgroup: the command joins the cgroup (the waiting nsenter does not)", async () => {
    const { dir } = scratchCgroup();
    try {
      const p = nsenter(['--cgroup', path.join(dir, 'cgroup.procs'), T(), '--', 'sh', '-c', 'echo ready; read x || :'], { stdin: 'pipe' });
      const pid = await p.pid;
      await waitFor('the command to start', () => (p.output().includes('ready') ? true : undefined));
      const procs = await waitFor('the command in cgroup.procs', () => {
        const l = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
        return l.includes(pid) ? l : undefined;
      });
      assert.ok(!procs.includes(p.child.pid!), 'nsenter itself is no part of the container');
      p.child.stdin!.end();
      expectExit(await p.done, 0);
    } finally {
      // Empty again once the command has exited: removable.
      fs.rmdirSync(dir);
    }
  });

  test("--cgroup into a container with a cgroup namespace: the command sees the container's cgroup as /", async () => {
    const { dir, path: cgroupOf } = scratchCgroup();
    let inner: Target | undefined;
    try {
      // A target inside the scratch cgroup, with a cgroup namespace rooted
      // there: what a dockling container has from chapter 2 on.
      inner = await startTarget(['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec unshare --fork --pid --mount --cgroup --mount-proc sleep 60`]);
      const cmd = ['sh', '-c', 'cat /proc/self/cgroup'];
      const joined = expectExit(await run(['--cgroup', path.join(dir, 'cgroup.procs'), String(inner.pid), '--', ...cmd]), 0);
      assert.equal(cgroupOf(joined.stdout), '/', joined.stdout);
      // Without --cgroup the command stays in the CLI's cgroup, which lies
      // outside the container's cgroup namespace: it reads as "/..".
      const outside = expectExit(await run([String(inner.pid), '--', ...cmd]), 0);
      assert.match(cgroupOf(outside.stdout)!, /^\/\.\./, outside.stdout);
    } finally {
      if (inner) {
        killQuietly(inner.pid);
        await inner.closed;
      }
      await waitFor('the scratch cgroup to be empty', () => {
        try {
          fs.rmdirSync(dir);
          return true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EBUSY') return undefined;
          throw e;
        }
      });
    }
  });

  test('--cgroup with a file that does not exist: 125, before entering anything', async () => {
    const r = expectExit(await run(['--cgroup', '/sys/fs/cgroup/nope/cgroup.procs', T(), '--', 'true']), 125);
    assert.match(r.stderr, /^nsenter: open \/sys\/fs\/cgroup\/nope\/cgroup.procs: No such file or directory\n$/);
  });

  test('--cwd: the working directory; "/" by default', async () => {
    assert.equal(expectExit(await run([T(), '--', 'pwd']), 0).stdout, '/\n');
    assert.equal(expectExit(await run(['--cwd', '/tmp', T(), '--', 'pwd']), 0).stdout, '/tmp\n');
  });

  test('--cwd that does not exist: 126 and Docker\'s message', async () => {
    const r = expectExit(await run(['--cwd', '/nope', T(), '--', 'true']), 126);
    assert.equal(r.stderr, `${OCI}chdir to cwd ("/nope") set in config.json failed: no such file or directory: unknown\n`);
  });

  // (This target's / is the host's: its /etc/passwd is the host's here, so
  // the ids are ones no passwd file has. chapter 5's users.test.ts checks
  // names in a container's own files.)
  test('--user: a UID or UID:GID with no passwd entry, group 0 and no supplementary groups; a name is looked up', async () => {
    assert.equal(expectExit(await run(['--user', '54321', T(), '--', 'sh', '-c', 'id -u; id -g; id -G']), 0).stdout, '54321\n0\n0\n');
    assert.equal(expectExit(await run(['--user', '54321:54320', T(), '--', 'sh', '-c', 'id -u; id -g; id -G']), 0).stdout, '54321\n54320\n54320\n');
    assert.equal(expectExit(await run(['--user', 'root', '--group-add', '54320', T(), '--', 'sh', '-c', 'id -u; id -G']), 0).stdout, '0\n0 54320\n');
    const bad = expectExit(await run(['--user', 'no-such-user-here', T(), '--', 'true']), 126);
    assert.match(bad.stderr, /unable to find user no-such-user-here: no matching entries in passwd file/);
  });

  test("the command gets the environment nsenter was given, and is found in that $PATH", async () => {
    const r = expectExit(await run([T(), '--', 'sh', '-c', 'echo "$GREETING"'], { ...ENV, GREETING: 'hello from the container env' }), 0);
    assert.equal(r.stdout, 'hello from the container env\n');
    // A $PATH without sh: not found, though the host's PATH has it.
    const nf = expectExit(await run([T(), '--', 'sh', '-c', 'true'], { PATH: '/nonexistent' }), 127);
    assert.match(nf.stderr, /exec: "sh": executable file not found in \$PATH/);
  });

  test('the command gets descriptors 0-2 only', async () => {
    const r = expectExit(await run([T(), '--', 'sh', '-c', 'ls /proc/$$/fd']), 0);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0', '1', '2']);
  });

  test('exit codes: the command\'s own; 127 not found, 126 not executable, with Docker\'s messages', async () => {
    assert.equal(expectExit(await run([T(), '--', 'true']), 0).stderr, '');
    expectExit(await run([T(), '--', 'sh', '-c', 'exit 7']), 7);

    let r = expectExit(await run([T(), '--', 'nope']), 127);
    assert.equal(r.stderr, `${OCI}exec: "nope": executable file not found in $PATH: unknown\n`);
    r = expectExit(await run([T(), '--', '/nope']), 127);
    assert.equal(r.stderr, `${OCI}exec: "/nope": stat /nope: no such file or directory: unknown\n`);
    r = expectExit(await run([T(), '--', '/etc/passwd']), 126);
    assert.equal(r.stderr, `${OCI}exec: "/etc/passwd": permission denied: unknown\n`);
    r = expectExit(await run([T(), '--', '/etc']), 126);
    assert.equal(r.stderr, `${OCI}exec: "/etc": is a directory: unknown\n`);
  });

  test('nsenter\'s own failures: 125', async () => {
    let r = expectExit(await run(['999999999', '--', 'true']), 125);
    assert.match(r.stderr, /^nsenter: not a process ID|^nsenter: no process 999999999/);
    r = expectExit(await run([]), 125);
    assert.match(r.stderr, /^usage: nsenter/);
    r = expectExit(await run(['--tty', T(), '--', 'true']), 125); // no console socket on fd 4
    assert.match(r.stderr, /^nsenter: --tty needs a unix socket on fd 4/);
  });

  test('killed by a signal: nsenter dies of the same one (the CLI reports 128+N)', async () => {
    for (const sig of ['SIGTERM', 'SIGKILL', 'SIGUSR1'] as const) {
      const r = await run([T(), '--', 'sh', '-c', `kill -${sig.slice(3)} $$`]);
      assert.equal(r.signal, sig, `${sig}: exit ${r.code}, signal ${r.signal}\n${r.stderr}`);
      // What the CLI makes of it, as a shell does: 143 for SIGTERM.
      assert.equal(128 + os.constants.signals[r.signal!], { SIGTERM: 143, SIGKILL: 137, SIGUSR1: 138 }[sig]);
    }
  });

  test('signals: nsenter ignores SIGTERM and SIGINT; the CLI signals the PID from fd 3', async () => {
    const p = nsenter([T(), '--', 'sleep', '30']);
    const pid = await p.pid;
    await waitFor('sleep to start', () => (readOr(`/proc/${pid}/comm`) === 'sleep\n' ? true : undefined));
    p.child.kill('SIGTERM');
    p.child.kill('SIGINT');
    await sleep(200);
    assert.equal(p.child.exitCode, null, 'nsenter is still waiting');
    assert.equal(p.child.signalCode, null);
    process.kill(pid, 'SIGTERM');
    const r = await p.done;
    assert.equal(r.signal, 'SIGTERM');
  });

  test('if nsenter is killed, its command dies with it (PR_SET_PDEATHSIG), even after --user', async () => {
    for (const extra of [[], ['--user', '65534']]) {
      const p = nsenter([...extra, T(), '--', 'sleep', '30']);
      const pid = await p.pid;
      await waitFor('sleep to start', () => (readOr(`/proc/${pid}/comm`) === 'sleep\n' ? true : undefined));
      p.child.kill('SIGKILL');
      await p.done;
      // Dead: gone, or a zombie. (Its parent was nsenter, which was in the
      // host's PID namespace: the host's init, not the container's, adopts
      // and reaps it, in its own time.)
      const dead = () => {
        const stat = readOr(`/proc/${pid}/stat`);
        return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z' ? true : undefined;
      };
      await waitFor(`the command (${extra.join(' ') || 'as root'}) to die`, dead, 5000);
    }
  });

  test('--tty: the pty master arrives on fd 4; the command has the container\'s pty as its terminal', async () => {
    const [ours, theirs] = libc.socketpair();
    let master = -1;
    try {
      const p = nsenter(['--tty', '--user', '65534', T(), '--', 'sh'], { consoleFd: theirs });
      libc.close(theirs);
      master = await libc.recvFd(ours);
      fs.writeSync(master, 'tty; stat -c %u "$(tty)"; echo hi; exit 5\n');
      // Read until the last holder of the slave (the shell) has gone:
      // then the master reads EIO.
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => p.pid.then((pid) => killQuietly(pid), () => {}), 10_000);
      for (;;) {
        const buf = Buffer.alloc(4096);
        const n = await new Promise<number>((resolve) => fs.read(master, buf, 0, buf.length, null, (err, n) => resolve(err ? 0 : n)));
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
      }
      clearTimeout(timer);
      const out = Buffer.concat(chunks).toString();
      // (The shell's prompt may come before any of these; the terminal
      // turns each \n into \r\n.) The container's own devpts numbers its
      // terminals from 0.
      assert.match(out, /\/dev\/pts\/0\r\n/);
      assert.match(out, /\b65534\r\n/, "the terminal belongs to the exec'd user");
      assert.match(out, /\bhi\r\n/);
      const r = expectExit(await p.done, 5);
      assert.equal(r.stdout, '', 'the output went to the terminal');
    } finally {
      if (master >= 0) fs.closeSync(master);
      libc.close(ours);
    }
  });

  test('nsenter runs from a sealed memfd copy of itself, not from dist/nsenter (CVE-2019-5736); the command runs its own file', async () => {
    const p = nsenter([T(), '--', 'sleep', '30']);
    try {
      const pid = await p.pid;
      await waitFor('sleep to start', () => (readOr(`/proc/${pid}/comm`) === 'sleep\n' ? true : undefined));
      // The waiting nsenter: what its child was too, until it exec'd sleep.
      const exe = `/proc/${p.child.pid}/exe`;
      assert.equal(fs.readlinkSync(exe), '/memfd:dockling-helper (deleted)');
      const [copy, host] = [fs.statSync(exe), fs.statSync(NSENTER)];
      assert.notDeepEqual([copy.dev, copy.ino], [host.dev, host.ino], 'nsenter runs the host file itself');
      assert.equal(copy.size, host.size, 'the copy is the whole binary');
      // The command is not the copy: exec replaced it.
      assert.match(fs.readlinkSync(`/proc/${pid}/exe`), /\/sleep$|\/busybox$|\/coreutils$/);
      process.kill(pid, 'SIGTERM');
      assert.equal((await p.done).signal, 'SIGTERM');
    } finally {
      p.pid.then((pid) => killQuietly(pid), () => {});
    }
  });

  test("the target's devpts lives in its own mount namespace: the host's /dev is unchanged", () => {
    assert.ok(devMounts(target.pid).some((m) => m.startsWith('/dev/ptmx ')), 'the target has its /dev/ptmx bind mount');
    assert.deepEqual(devMounts('self'), hostDevMounts);
  });
});

/**
 * A fresh cgroup under this process's own, in the memory hierarchy of
 * cgroup v1 (hybrid hosts) or else in the unified hierarchy (cgroup v2);
 * `path` picks that hierarchy's path out of a /proc/PID/cgroup.
 */
function scratchCgroup(): { dir: string; path: (procCgroup: string) => string | undefined } {
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '));
  let base: string;
  if (v1) {
    const m = mounts.find((f) => f[f.indexOf('-') + 1] === 'cgroup' && f[f.length - 1].split(',').includes('memory'));
    assert.ok(m, 'the memory hierarchy is mounted');
    base = path.join(m[4], v1.split(':')[2]);
  } else {
    const m = mounts.find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
    const own = lines.find((l) => l.startsWith('0::'));
    assert.ok(m && own, 'a cgroup hierarchy is mounted');
    base = path.join(m[4], own.slice(3));
  }
  const dir = path.join(base, `dockling-nsenter-test-${process.pid}`);
  fs.mkdirSync(dir);
  const line = v1 ? /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m : /^0::(.*)$/m;
  return { dir, path: (procCgroup) => line.exec(procCgroup)?.[1] };
}
