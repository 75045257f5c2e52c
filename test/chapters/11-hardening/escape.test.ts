// Chapter 11, section 1: "The doors: an escape suite, open at chapter 10,
// closed at chapter 11".
//
// Chapter 11's part of the ESCAPE SUITE: the doors by which root in a
// container of chapters 1-10 reaches the host, each shown OPEN with
// `--chapter 10` and CLOSED, with the errno Docker gives, at the chapter
// the test runner chose (11 by default).
//
// One static probe (probes/doors.c) does the work inside the container, a
// subcommand per door, each in a child process of its own. A probe only
// demonstrates: it reads, opens a file for writing and closes it unwritten,
// or makes a system call that needs the privilege but changes nothing.
// Mounts and unmounts it makes are in the container's own mount namespace.
//
// To stay fast, the whole suite is TWO containers: every probe in one run
// at chapter 10, every probe in one run at the runner's chapter (with
// --cap-drop NET_RAW and --security-opt no-new-privileges, which the raw
// socket and setuid doors are about). Each test then reads its probe's line
// from both runs.
//
// test/run.ts also runs this file with layers 1..10: there the second run
// is a chapter-10 container too, every door is open, and every test fails
// on its chapter-11 assertion, as it must.
//
// The doors chapter 5 closed (CVE-2019-5736's /proc/self/exe, TIOCSTI,
// leaked descriptors, CVE-2024-21626) stay in
// test/chapters/05-containers/escape.test.ts: they pass at chapter 10.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockling, docklingAsync, rootOrSkip, tempRoot } from '../../helpers/dockling.js';
import { assertNoLeaks, snapshot } from '../../helpers/leaks.js';

const skip = rootOrSkip();
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The chapter whose layers the runner asked for (11, or 10 in the negative run). */
const CHAPTER = Number(process.env.DOCKLING_CHAPTER ?? 11);

// --- what this host has, read before any test: a door the kernel lacks is left out ---

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const read = (p: string) => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};
/** A cgroup v1 hierarchy with controllers: its root has a release_agent. */
const V1_HIERARCHY = (read('/proc/self/cgroup') ?? '').split('\n').some((l) => /^[1-9]\d*:[^:]+:/.test(l));
/**
 * Do we see a hierarchy's root, release_agent and all? (Not in a cgroup
 * namespace of our own, as in a CI job's container: the host process the
 * test starts is in ours.)
 */
const SEES_RELEASE_AGENT = (read('/proc/self/mountinfo') ?? '')
  .split('\n')
  .filter((l) => l.split(' - ')[1]?.startsWith('cgroup '))
  .some((l) => fs.existsSync(path.join(l.split(' ')[4], 'release_agent')));
/** Can root on the host open this device read-only? (Kernel lockdown refuses /dev/mem even to it.) */
const canOpen = (p: string) => {
  try {
    fs.closeSync(fs.openSync(p, 'r'));
    return true;
  } catch {
    return false;
  }
};
/**
 * A host device for the mknod door: the block device of the host's root
 * filesystem ("b:MAJOR:MINOR"), if the host itself may read it (some
 * sandboxes forbid even root that), else /dev/kmsg, the kernel's log.
 */
const HOST_DEVICE = (() => {
  const dev = Number(fs.statSync('/').dev);
  // glibc's encoding of dev_t (gnu_dev_major/minor).
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >> 12) & ~0xff);
  const name = /^DEVNAME=(.+)$/m.exec(read(`/sys/dev/block/${major}:${minor}/uevent`) ?? '')?.[1];
  if (!major || !name) return 'c:1:11';
  return canOpen(`/dev/${name}`) ? `b:${major}:${minor}` : 'c:1:11';
})();

interface Door {
  /** the probe's subcommand */
  name: string;
  /** what the door is, for the test's name */
  title: string;
  /** the probe's argument ("@" is the host process's PID, filled in inside) */
  arg?: () => string;
  /** CHAPTER 11: the line Docker's defaults give: "denied ERRNO STEP" (or the setuid door's "denied euid=1000") */
  closed: string;
  /** which defence of chapter 11 gives that */
  by: string;
  /** why this host cannot show the door, if it cannot */
  missing?: string | false;
}

let tmp: string;
let root: string;
let rootfs: string;
let handle: string;
let marker: string;

// #region doors
const DOORS: Door[] = [
  { name: 'shocker', title: 'open_by_handle_at through the bind-mounted /etc/hostname reads a host directory', arg: () => handle, closed: 'denied EPERM open_by_handle_at', by: 'capabilities (no DAC_READ_SEARCH); seccomp too' },
  { name: 'release-agent', title: 'the host’s cgroup namespace, joined through a host process, shows a hierarchy’s release_agent, open for writing', arg: () => '@', closed: 'denied EACCES open /proc/PID/ns/cgroup', by: 'capabilities (no SYS_PTRACE: the host process’s namespaces cannot be opened)', missing: (!V1_HIERARCHY && 'no cgroup v1 hierarchy on this host') || (!SEES_RELEASE_AGENT && 'no release_agent in sight: the tests run in a cgroup namespace of their own') || (!has('nsenter') && 'needs util-linux nsenter') },
  { name: 'remount-sys', title: '/sys remounted read-write', closed: 'denied EPERM mount', by: 'capabilities (no SYS_ADMIN); seccomp too' },
  { name: 'proc-sys', title: '/proc/sys remounted read-write, a host sysctl opened for writing', closed: 'denied EPERM mount', by: 'capabilities (no SYS_ADMIN); seccomp too' },
  { name: 'sysrq', title: '/proc/sysrq-trigger remounted read-write and opened for writing', closed: 'denied EPERM mount', by: 'capabilities (no SYS_ADMIN); seccomp too', missing: !fs.existsSync('/proc/sysrq-trigger') && 'no /proc/sysrq-trigger on this kernel' },
  { name: 'umount-masked', title: 'a masked path unmounted', closed: 'denied EPERM umount2', by: 'capabilities (no SYS_ADMIN); seccomp too' },
  { name: 'cgroup-limit', title: 'the container’s own pids.max rewritten (with its own value)', closed: 'denied EPERM mount', by: 'capabilities (no SYS_ADMIN); seccomp too' },
  { name: 'settime', title: 'settimeofday(NULL, NULL): the right to set the host’s clock', closed: 'denied EPERM settimeofday', by: 'capabilities (no SYS_TIME); seccomp too' },
  { name: 'mount', title: 'a tmpfs mounted', closed: 'denied EPERM mount', by: 'capabilities (no SYS_ADMIN); seccomp too' },
  { name: 'mknod', title: `mknod of a host device (${HOST_DEVICE}), opened and read`, arg: () => HOST_DEVICE, closed: 'denied EPERM open', by: 'the devices cgroup (mknod itself is allowed: MKNOD is one of the 14)' },
  { name: 'dev-mem', title: '/dev/mem (c 1:1) made and opened', closed: 'denied EPERM open', by: 'the devices cgroup; capabilities too (no SYS_RAWIO)', missing: !canOpen('/dev/mem') && 'the host’s root cannot open /dev/mem (no /dev/mem, or kernel lockdown)' },
  { name: 'module', title: 'finit_module passes the capability check (EBADF for fd -1; nothing loaded)', closed: 'denied EPERM finit_module', by: 'seccomp; capabilities too (no SYS_MODULE)', missing: (!fs.existsSync('/proc/modules') && 'a kernel without modules') || (read('/proc/sys/kernel/modules_disabled')?.trim() === '1' && 'module loading is disabled on this host') },
  { name: 'unshare', title: 'unshare of a new user and mount namespace', closed: 'denied EPERM unshare', by: 'seccomp (a user namespace needs no capability)' },
  { name: 'ptrace', title: 'ptrace of a host process in the container’s PID namespace, and a host file read through its root', arg: () => `@:${marker}`, closed: 'denied EPERM ptrace', by: 'capabilities (no SYS_PTRACE)', missing: !has('nsenter') && 'needs util-linux nsenter' },
  { name: 'keyctl', title: 'keyctl: the kernel’s keyrings, which no namespace separates', closed: 'denied EPERM keyctl', by: 'seccomp' },
  { name: 'raw-socket', title: 'a raw socket, with NET_RAW dropped at chapter 11 (--cap-drop NET_RAW)', closed: 'denied EPERM socket', by: 'capabilities (--cap-drop NET_RAW)' },
  { name: 'setuid-nnp', title: 'a setuid-root file run by uid 1000, with --security-opt no-new-privileges at chapter 11', closed: 'denied euid=1000 setuid bit ignored', by: 'no_new_privs (the setuid bit is ignored at execve)' },
];
// #endregion doors

// A door the host cannot show is left out (not skipped: test/run.ts counts
// a skipped test as one that passes without the chapter).
const SHOWN = DOORS.filter((d) => !d.missing);
for (const d of DOORS.filter((d) => d.missing)) console.log(`door ${d.name} left out: ${d.missing}`);

/** The flags of the run at the runner's chapter: only chapter 11 has them. */
const FLAGS_11 = ['--cap-drop', 'NET_RAW', '--security-opt', 'no-new-privileges'];

/** PROBE → its line ("ok …" / "denied …"), for each of the two runs. */
const results = new Map<'10' | 'runner', { lines: Map<string, string>; output: string }>();

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-test-ch11-escape-'));
  root = tempRoot('ch11-escape');
  const snap = snapshot(root);
  // The probe, static: busybox's rootfs has no libc to link against.
  const probe = path.join(tmp, 'probe');
  const cc = spawnSync('cc', ['-static', '-O2', '-o', probe, path.join(HERE, 'probes', 'doors.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
  rootfs = path.join(tmp, 'rootfs');
  const made = dockling(root, ['rootfs', 'busybox', rootfs]);
  assert.equal(made.code, 0, made.stderr);
  fs.copyFileSync(probe, path.join(rootfs, 'bin/probe'));
  fs.chmodSync(path.join(rootfs, 'bin/probe'), 0o755);
  // The setuid door's file: the same program, setuid root.
  fs.copyFileSync(probe, path.join(rootfs, 'bin/probe-suid'));
  fs.chmodSync(path.join(rootfs, 'bin/probe-suid'), 0o4755);
  // The host's side of the shocker and ptrace doors: a directory of the
  // test's own with a marker in it, and the directory's file handle.
  const hostDir = path.join(tmp, 'host');
  fs.mkdirSync(hostDir);
  const secret = `host-marker-${randomBytes(6).toString('hex')}`;
  marker = path.join(hostDir, 'marker');
  fs.writeFileSync(marker, secret + '\n');
  const h = spawnSync(probe, ['handle', hostDir], { encoding: 'utf8' });
  assert.equal(h.status, 0, `name_to_handle_at: ${h.stderr}`);
  handle = h.stdout.trim();

  results.set('10', await runSuite(['--chapter', '10'], []));
  results.set('runner', await runSuite([], CHAPTER >= 11 ? FLAGS_11 : []));
  await assertNoLeaks(root, snap);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/**
 * One container running every shown probe. For the ptrace and release_agent
 * doors a host process must be in the container's PID namespace: once the
 * probe is PID 1 inside, `nsenter -t PID -p -- sleep 600` starts `sleep`
 * there with the host's mounts, root, cgroups and all capabilities (the
 * situation of `docker run --pid container:…` beside a host tool, or of a
 * debugging helper). The probe waits for it to appear. The kernel kills it
 * when the container's PID 1 exits; we kill it by PID in any case.
 */
async function runSuite(chapterArgs: string[], flags: string[]): Promise<{ lines: Map<string, string>; output: string }> {
  const token = `suite-${randomBytes(6).toString('hex')}`;
  const specs = SHOWN.map((d) => (d.arg ? `${d.name}=${d.arg()}` : d.name));
  const run = docklingAsync(root, [...chapterArgs, 'run', '--rm', ...flags, '--rootfs', rootfs, '/bin/probe', 'suite', token, ...specs]);
  let ended = false;
  void run.done.then(() => (ended = true));
  let nsenter: ChildProcess | undefined;
  let sleepPid = 0;
  try {
    if (specs.some((s) => s.includes('@'))) {
      const init = await waitFor(() => (ended ? -1 : probePid(token)), 'the probe to start in the container');
      if (init > 0) {
        nsenter = spawn('nsenter', ['-t', String(init), '-p', '--', 'sleep', '600'], { stdio: 'ignore' });
        sleepPid = await waitFor(() => (ended ? -1 : childOf(nsenter!.pid!)), 'nsenter to start sleep');
      }
    }
    const timeout = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
    const r = await run.done;
    clearTimeout(timeout);
    const output = `exit status ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
    const lines = new Map<string, string>();
    for (const l of r.stdout.split('\n')) {
      const [name, ...rest] = l.split(' ');
      if (SHOWN.some((d) => d.name === name)) lines.set(name, rest.join(' '));
    }
    return { lines, output };
  } finally {
    if (sleepPid > 0) killPid(sleepPid);
    if (nsenter?.pid) killPid(nsenter.pid);
  }
}

/** The host PID of the process running `/bin/probe suite TOKEN …`, or 0. */
function probePid(token: string): number {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
    if (argv[0] === '/bin/probe' && argv[1] === 'suite' && argv[2] === token) return Number(pid);
  }
  return 0;
}

/** The first child of PID, or 0. */
function childOf(pid: number): number {
  return Number((read(`/proc/${pid}/task/${pid}/children`) ?? '').trim().split(' ')[0]) || 0;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Poll f until it gives a non-zero number (a negative one: give up). */
async function waitFor(f: () => number, what: string): Promise<number> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = f();
    if (v !== 0) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const d of SHOWN) {
  test(`escape 11: ${d.name}: ${d.title}`, { skip }, () => {
    const at10 = results.get('10')!;
    const atRunner = results.get('runner')!;
    // Open at chapter 10: root in the container is root on the host.
    const open = at10.lines.get(d.name);
    assert.match(open ?? '', /^ok /, `with --chapter 10 the ${d.name} door should be open (the probe demonstrates it):\n${at10.output}`);
    // CHAPTER-11 ASSERTION: closed, with what Docker's defaults give (${d.by}).
    const closed = atRunner.lines.get(d.name);
    assert.equal(closed, d.closed, `at chapter ${CHAPTER} the ${d.name} door should be closed by ${d.by} ("${d.closed}"):\n${atRunner.output}`);
  });
}
