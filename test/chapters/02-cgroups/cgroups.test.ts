// Chapter 2, for real, as root: containers under memory, CPU and PID limits
// on this host's cgroups (v1 here; v2 on the Vagrant VM), `top` and `stats`,
// the cgroup as the container sees it, where the cgroup lives, Docker's
// errors, the trace of every cgroup write, and that nothing is left behind.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
//
// Each test starts from a snapshot of the host, and ends by checking that no
// process, mount, temp file, container directory or cgroup of its containers
// remains. Whatever happens, a test's `finally` kills what it started and
// removes what it made.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, tempRoot, until, type Result } from '../../helpers/dockling.ts';
import { assertNoLeaks, snapshot, type HostSnapshot } from '../../helpers/leaks.ts';
import { containerCgroups } from '../../helpers/cgroups.ts';
import type { TraceRecord } from '../../../runtime/trace/events.ts';

const skip = rootOrSkip();
const NCPU = os.cpus().length;

// A temporary directory of this file's own, for its state root and as the
// TMPDIR of every dockling it runs: the leak check's "no new temp entry" then
// looks at what these containers made, not at what other test runs on the
// same host make in /tmp meanwhile (nor do they see ours: no "dockling" in
// the name).
const hostTmp = os.tmpdir();
const privateTmp = fs.mkdtempSync(path.join(hostTmp, 'ch2-cgroups-'));
process.env.TMPDIR = privateTmp;
let root: string;
before(() => {
  root = tempRoot('ch2');
});
after(() => {
  fs.rmSync(privateTmp, { recursive: true, force: true });
  process.env.TMPDIR = hostTmp;
});

// --- the host's cgroups, read independently of dockling's code ---

const CG = '/sys/fs/cgroup';
const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
/** cgroup2 mounted at /sys/fs/cgroup itself: a unified (v2) host. */
const V2 = mountinfo.some((l) => l.split(' ')[4] === CG && l.split(' - ')[1]?.startsWith('cgroup2 '));
/** v1: controller → where its hierarchy is mounted. */
const V1_MOUNTS = new Map<string, string>();
for (const l of mountinfo) {
  const [pre, post] = l.split(' - ');
  if (!post?.startsWith('cgroup ')) continue;
  for (const opt of post.split(' ')[2].split(',')) V1_MOUNTS.set(opt, pre.split(' ')[4]);
}
/**
 * This process's cgroup: controller → path ("" for v2). The CLI it starts
 * inherits it. On v2, the first container moves the caller's processes (this
 * one among them) into the leaf <own>/dockling-caller, and the caller's own
 * cgroup is then that leaf's parent: an earlier test file may have done so.
 */
const SELF = procCgroup('self');
if (V2 && path.basename(SELF.get('') ?? '/') === 'dockling-caller') SELF.set('', path.dirname(SELF.get('')!));
/** The controllers a container's cgroup must have: v1 hierarchies by name, or v2's one tree. */
const CONTROLLERS = V2 ? [''] : ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio'].filter((c) => V1_MOUNTS.has(c));
const keyOf = (c: string) => (V2 ? 'unified' : c);

/** A cgroup's directory on the host: the hierarchy's mount, the path inside it. */
const hostDir = (controller: string, cgPath: string) => path.join(V2 ? CG : V1_MOUNTS.get(controller)!, cgPath);

/**
 * Every hierarchy of the host (v1: each mount, name=systemd included; v2:
 * the one tree) with where this process is in it: where a parent named
 * relative to the caller would be made.
 */
const HIERARCHIES: { mount: string; self: string }[] = V2
  ? [{ mount: CG, self: SELF.get('') ?? '/' }]
  : [...new Set(V1_MOUNTS.values())].map((mount) => {
      const c = [...V1_MOUNTS].find(([k, m]) => m === mount && SELF.has(k))?.[0];
      return { mount, self: (c && SELF.get(c)) ?? '/' };
    }).concat(
      // a hybrid host's cgroup2 tree: a hierarchy too, joined like the others
      mountinfo.filter((l) => l.split(' - ')[1]?.startsWith('cgroup2 ')).map((l) => ({ mount: l.split(' ')[4], self: SELF.get('') ?? '/' })),
    );
/** A cgroup-parent's directory in every hierarchy: relative ones under the caller, absolute ones at the root. */
const everywhere = (parent: string) => HIERARCHIES.map((h) => path.join(h.mount, parent.startsWith('/') ? parent : path.join(h.self, parent)));

/** /proc/PID/cgroup of a host process: controller → path ("" for v2). */
function procCgroup(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === '') out.set('', m[2]);
    else for (const c of m[1].split(',')) out.set(c, m[2]);
  }
  return out;
}

const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
/** Is this host process still running (not gone, not a zombie)? */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const rand = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every directory under /sys/fs/cgroup (all hierarchies) named dockling-<id> for these ids. */
const cgroupsOf = (ids: Iterable<string>) => containerCgroups([CG], ids);

/** rmdir a tree of (cgroup) directories, deepest first, killing what is in them. */
function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  for (let i = 0; i < 100; i++) {
    try {
      for (const pid of read(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } catch {
      /* not a cgroup directory */
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

interface Config {
  ID: string;
  Name: string;
  State: { Running: boolean; Pid: number };
  CgroupPaths?: Record<string, string>;
}

interface Background {
  child: ReturnType<typeof docklingAsync>['child'];
  done: Promise<Result>;
  errors: () => string;
  output: () => string;
  traceFile: string;
  exit?: Result;
  /** the container's PID 1 on the host, once it runs */
  pid?: number;
}

/**
 * One test's containers: runs dockling with a trace file each time (the
 * trace names every container made, even one that failed early), starts
 * containers in the background, stops them, checks for leaks, and cleans up
 * whatever a failing test left.
 */
class Lab {
  ids = new Set<string>();
  background: Background[] = [];
  /** directories to remove at the end whatever happens (cgroup parents, escape targets) */
  cgroupTrees: string[] = [];
  tmpDirs: string[] = [];
  before: HostSnapshot = snapshot(root);
  private n = 0;

  private traceFile(): string {
    return path.join(root, `trace-${process.pid}-${Date.now()}-${this.n++}.jsonl`);
  }

  readTrace(file: string): TraceRecord[] {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    // The CLI may be writing a line right now: only whole lines (up to the last newline) are read.
    const recs = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceRecord);
    for (const r of recs) {
      const p = (r as { path?: string }).path ?? '';
      const m = /\/containers\/([0-9a-f]{64})$/.exec(p) ?? /\/dockling-([0-9a-f]{64})(\/|$)/.exec(p);
      if (m) this.ids.add(m[1]);
    }
    return recs;
  }

  /** dockling ARGS…, to the end. */
  run(args: string[]): Result & { trace: TraceRecord[] } {
    const tf = this.traceFile();
    const r = dockling(root, ['--trace-file', tf, ...args], { killSignal: 'SIGKILL' });
    return { ...r, trace: this.readTrace(tf) };
  }

  /** dockling ARGS… in the background (a container that runs until told to stop). */
  start(args: string[]): Background {
    const traceFile = this.traceFile();
    const p = docklingAsync(root, ['--trace-file', traceFile, ...args]);
    const bg: Background = { child: p.child, done: p.done, errors: p.errors, output: p.output, traceFile };
    p.done.then((r) => (bg.exit = r));
    this.background.push(bg);
    return bg;
  }

  /** The container's config once it runs (fails at once if dockling exits first). */
  async running(bg: Background): Promise<Config> {
    let cfg: Config | null = null;
    await until(
      () => {
        if (bg.exit) throw new Error(`dockling exited with ${bg.exit.code} before the container ran:\n${bg.exit.stderr}`);
        const id = this.readTrace(bg.traceFile)
          .map((r) => /\/containers\/([0-9a-f]{64})$/.exec((r as { path?: string }).path ?? '')?.[1])
          .find(Boolean);
        if (!id) return false;
        try {
          cfg = JSON.parse(fs.readFileSync(path.join(root, 'containers', id, 'config.v2.json'), 'utf8')) as Config;
        } catch {
          return false;
        }
        return cfg.State.Running && cfg.State.Pid > 0;
      },
      20_000,
      'the container to run',
    );
    bg.pid = (cfg as Config | null)?.State.Pid;
    return cfg!;
  }

  /** Tell a container to stop as a user would: SIGTERM to its CLI (passed on to PID 1). */
  async stop(bg: Background, timeoutMs = 15_000): Promise<Result> {
    // Again every half second: a shell that has not yet run its `trap` ignores the first.
    // But not once PID 1 has ended: the CLI is cleaning up then, which can
    // take longer than half a second on a slow machine (the v2 guest), and a
    // user would not signal it again either.
    const end = Date.now() + timeoutMs;
    while (!bg.exit && Date.now() < end) {
      if (bg.pid === undefined || alive(bg.pid)) bg.child.kill('SIGTERM');
      await Promise.race([bg.done, sleep(500)]);
    }
    const r = await Promise.race([bg.done, sleep(100).then(() => null)]);
    if (r) return r;
    await this.kill(bg);
    throw new Error(`the container did not stop within ${timeoutMs} ms of SIGTERM`);
  }

  /** Last resort: SIGKILL the container's PID 1 (the whole PID namespace goes), then its CLI. */
  private async kill(bg: Background): Promise<void> {
    if (bg.exit) return;
    for (const id of this.ids) {
      try {
        const cfg = JSON.parse(fs.readFileSync(path.join(root, 'containers', id, 'config.v2.json'), 'utf8')) as Config;
        if (cfg.State.Pid) process.kill(cfg.State.Pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (await Promise.race([bg.done, sleep(5000).then(() => null)])) return;
    bg.child.kill('SIGKILL');
    await Promise.race([bg.done, sleep(5000)]);
  }

  /** Nothing of this test's containers remains on the host. */
  async assertNoLeaks(): Promise<void> {
    for (const bg of this.background) assert.ok(bg.exit, 'a dockling process of this test is still running');
    await assertNoLeaks(root, this.before);
    // the CLI removes the cgroup in its cleanup, which ends before it exits
    assert.deepEqual(cgroupsOf(this.ids), [], 'cgroups of the container remain');
  }

  /** Whatever the test did or failed to do: nothing it started runs on, nothing it made stays. */
  async cleanup(): Promise<void> {
    for (const bg of this.background) {
      if (bg.exit) continue;
      bg.child.kill('SIGTERM');
      if (!(await Promise.race([bg.done, sleep(5000).then(() => null)]))) await this.kill(bg);
    }
    for (const d of cgroupsOf(this.ids)) removeCgroupTree(d);
    for (const d of this.cgroupTrees) removeCgroupTree(d);
    for (const d of this.tmpDirs) fs.rmSync(d, { recursive: true, force: true });
    for (const id of this.ids) fs.rmSync(path.join(root, 'containers', id), { recursive: true, force: true });
  }
}

/** A test with a Lab that is always cleaned up. */
function labTest(name: string, fn: (lab: Lab, t: TestContext) => Promise<void> | void): void {
  test(name, { skip }, async (t) => {
    const lab = new Lab();
    try {
      await fn(lab, t);
    } finally {
      await lab.cleanup();
    }
  });
}

/** The container's cgroup directory for a controller, from its config (chapter 2 writes CgroupPaths). */
function cgroupDir(cfg: Config, controller: string): string {
  assert.ok(cfg.CgroupPaths, 'the container has no cgroup (no CgroupPaths in its config.v2.json)');
  const d = cfg.CgroupPaths[keyOf(controller)];
  assert.ok(d, `no ${controller || 'unified'} cgroup in ${JSON.stringify(cfg.CgroupPaths)}`);
  return d;
}

/** A cgroup file of the container, named the v1 or the v2 way. */
const cgFile = (cfg: Config, controller: string, v1: string, v2: string) => path.join(cgroupDir(cfg, controller), V2 ? v2 : v1);

/** CPU time the container's cgroup has used, in ns (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
function cpuUsageNs(cfg: Config): number {
  if (V2) return Number(/^usage_usec (\d+)$/m.exec(read(cgFile(cfg, '', '', 'cpu.stat')))![1]) * 1000;
  return Number(read(cgFile(cfg, 'cpuacct', 'cpuacct.usage', '')));
}

/** The PIDs in the container's cgroup, read by the test from the host. */
const cgroupProcs = (cfg: Config) => read(cgFile(cfg, 'pids', 'cgroup.procs', 'cgroup.procs')).split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);

/** Host PIDs in the same PID namespace as the container's PID 1 (works without cgroups, at any chapter). */
function namespacePids(cfg: Config): number[] {
  const ns = fs.readlinkSync(`/proc/${cfg.State.Pid}/ns/pid`);
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readlinkSync(`/proc/${p}/ns/pid`) === ns) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out.sort((a, b) => a - b);
}
const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();

/**
 * A sh script for PID 1 that starts background jobs (`body` ends with "&")
 * and waits for them, ending cleanly on SIGTERM (PID 1 ignores signals it
 * has no handler for).
 */
const untilTerm = (body: string) => `trap "exit 0" TERM; ${body} wait`;

// --- limits that hold ---

labTest('a memory hog under -m 32m is OOM-killed: exit 137, and dockling says it was OOM-killed', (lab) => {
  // dd fills one 64 MiB buffer, twice the limit, as PID 1: killed, 128 + SIGKILL.
  // (Bounded, so that a limit that does not hold cannot take the host's
  // memory: at --chapter 1, where -m is ignored, it copies 64 MiB and ends.)
  const r = lab.run(['run', '--rm', '-m', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
  assert.equal(r.code, 137, `exit code\n--- stderr\n${r.stderr}`);
  assert.match(r.stderr, /OOM-killed/, 'dockling must say the container was OOM-killed');
  assert.match(r.stderr, /32MiB/, 'and name the limit');
  return lab.assertNoLeaks();
});

labTest('a fork bomb under --pids-limit 16 never has more than 16 tasks, and the container still stops cleanly on SIGTERM', async (lab) => {
  // Every bomb process blocks on a FIFO after forking two more, so the
  // cgroup fills up to its limit and stays there. Depth-bounded (at most
  // 511 processes), so that a limit that does not hold cannot take the host.
  // On SIGTERM, PID 1's trap kills every other process and exits 0.
  const script = [
    'trap "kill -9 -1; exit 0" TERM',
    'mkfifo /dev/shm/hold',
    'exec 3<>/dev/shm/hold',
    'bomb() { [ $1 -lt 8 ] && { bomb $(($1+1)) | bomb $(($1+1)) & }; read x <&3; }',
    'bomb 0 &',
    'while :; do read x <&3; done',
  ].join('\n');
  const bg = lab.start(['run', '--rm', '--pids-limit', '16', 'busybox', 'sh', '-c', script]);
  const cfg = await lab.running(bg);
  const current = cgFile(cfg, 'pids', 'pids.current', 'pids.current');
  const events = cgFile(cfg, 'pids', 'pids.events', 'pids.events');
  assert.equal(read(cgFile(cfg, 'pids', 'pids.max', 'pids.max')), '16');
  // The bomb reaches the limit: the kernel counts refused forks in pids.events.
  const refused = () => Number(/^max (\d+)$/m.exec(read(events))?.[1] ?? 0);
  let max = 0;
  await until(() => {
    max = Math.max(max, Number(read(current)));
    return refused() > 0;
  }, 20_000, 'the fork bomb to hit --pids-limit');
  // Watch it push against the limit for two seconds.
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    max = Math.max(max, Number(read(current)));
    await sleep(2);
  }
  const peakFile = cgFile(cfg, 'pids', 'pids.peak', 'pids.peak');
  const peak = fs.existsSync(peakFile) ? Number(read(peakFile)) : max;
  assert.ok(max <= 16, `pids.current reached ${max}`);
  assert.ok(peak <= 16, `pids.peak is ${peak}`);
  assert.ok(max >= 12, `the bomb only got to ${max} tasks: it did not push against the limit`);
  assert.ok(refused() > 0, 'no fork was refused');

  const r = await lab.stop(bg);
  assert.equal(r.code, 0, `the container did not exit cleanly on SIGTERM:\n${r.stderr.split('\n').filter((l) => !/can't fork/.test(l)).join('\n')}`);
  await lab.assertNoLeaks();
});

labTest('a busy loop under --cpus 0.5 gets between 0.35 and 0.65 of a CPU (from the cgroup\'s usage counter)', async (lab) => {
  const bg = lab.start(['run', '--rm', '--cpus', '0.5', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do :; done']);
  const cfg = await lab.running(bg);
  if (V2) assert.equal(read(cgFile(cfg, 'cpu', '', 'cpu.max')), '50000 100000');
  else {
    assert.equal(read(cgFile(cfg, 'cpu', 'cpu.cfs_quota_us', '')), '50000');
    assert.equal(read(cgFile(cfg, 'cpu', 'cpu.cfs_period_us', '')), '100000');
  }
  await until(() => cpuUsageNs(cfg) > 0, 10_000, 'the loop to use CPU');
  await sleep(300);
  const u0 = cpuUsageNs(cfg);
  const t0 = process.hrtime.bigint();
  await sleep(3000);
  const u1 = cpuUsageNs(cfg);
  const t1 = process.hrtime.bigint();
  const share = (u1 - u0) / Number(t1 - t0);
  assert.ok(share >= 0.35 && share <= 0.65, `the loop got ${share.toFixed(3)} of a CPU`);

  // stats shows the same: about 50% (of one CPU), from two readings of the counter.
  const s = lab.run(['stats', '--no-stream', cfg.ID.slice(0, 12)]);
  assert.equal(s.code, 0, s.stderr);
  const row = s.stdout.trim().split('\n')[1]?.split(/\s{2,}/) ?? [];
  const pct = parseFloat(row[2]);
  assert.ok(pct >= 25 && pct <= 75, `stats says CPU ${row[2]} for a loop held to half a CPU`);

  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  await lab.assertNoLeaks();
});

// --- top and stats ---

/** Start a named container with a shell (PID 1) and two sleeps; wait until all three run. */
async function threeProcesses(lab: Lab, name: string, extra: string[] = []) {
  const bg = lab.start(['run', '--rm', '--name', name, ...extra, 'busybox', 'sh', '-c', untilTerm('sleep 1001 & sleep 1002 &')]);
  const cfg = await lab.running(bg);
  let pids: number[] = [];
  await until(() => {
    pids = namespacePids(cfg);
    const cmds = pids.map(cmdline);
    return pids.length === 3 && cmds.includes('sleep 1001') && cmds.includes('sleep 1002');
  }, 10_000, 'the two sleeps');
  return { bg, cfg, pids };
}

/** ps output → the PIDs in its PID column. */
function psPids(out: string): number[] {
  const [header, ...rows] = out.trimEnd().split('\n');
  const col = header.trim().split(/\s+/).indexOf('PID');
  assert.ok(col >= 0, `no PID column in ${JSON.stringify(header)}`);
  return rows.map((r) => Number(r.trim().split(/\s+/)[col])).sort((a, b) => a - b);
}

labTest('top NAME lists exactly the container\'s processes: those in its cgroup, and no host process', async (lab) => {
  const name = `ch2-top-${rand()}`;
  const { bg, cfg, pids } = await threeProcesses(lab, name);
  const r = lab.run(['top', name]);
  assert.equal(r.code, 0, r.stderr);
  const [header] = r.stdout.split('\n');
  assert.match(header, /\bUID\b.*\bPID\b.*\bPPID\b.*\bCMD\b/, 'ps -ef\'s header, as docker top shows by default');
  const listed = psPids(r.stdout);
  assert.deepEqual(listed, cgroupProcs(cfg), 'top must list what the cgroup holds');
  assert.deepEqual(listed, pids, 'top must list the container\'s three processes');
  assert.ok(listed.includes(cfg.State.Pid), 'PID 1 of the container is listed');
  for (const host of [process.pid, bg.child.pid!]) assert.ok(!listed.includes(host), `host process ${host} is listed`);
  assert.match(r.stdout, /sleep 1001/);
  assert.match(r.stdout, /sleep 1002/);

  // ps options pass through; by short ID as well as by name
  const o = lab.run(['top', cfg.ID.slice(0, 12), '-o', 'pid,args']);
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stdout.split('\n')[0], /^\s*PID\s+COMMAND\s*$/);
  assert.deepEqual(psPids(o.stdout), pids);

  const s = await lab.stop(bg);
  assert.equal(s.code, 0, s.stderr);
  await lab.assertNoLeaks();
});

labTest('top and stats of an unknown container: "No such container" and a non-zero exit', async (lab) => {
  const t = lab.run(['top', 'no-such-container-ch2']);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /No such container: no-such-container-ch2/);
  assert.equal(t.stdout, '');
  const s = lab.run(['stats', '--no-stream', 'no-such-container-ch2']);
  assert.notEqual(s.code, 0);
  assert.match(s.stderr, /No such container: no-such-container-ch2/);
  await lab.assertNoLeaks();
});

const STATS_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

labTest('stats --no-stream: Docker\'s columns, the memory limit that was set, the PIDs in the cgroup', async (lab) => {
  const name = `ch2-stats-${rand()}`;
  const { bg, cfg } = await threeProcesses(lab, name, ['-m', '64m']);
  const r = lab.run(['stats', '--no-stream', name]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.deepEqual(lines[0].trim().split(/\s{2,}/), STATS_HEADER);
  const row = lines[1].trim().split(/\s{2,}/);
  assert.equal(row.length, STATS_HEADER.length, lines[1]);
  const [id, rowName, cpu, mem, memPct, , , pidsCol] = row;
  assert.equal(id, cfg.ID.slice(0, 12));
  assert.equal(rowName, name);
  assert.match(cpu, /^\d+\.\d\d%$/);
  assert.match(mem, /^[\d.]+(B|KiB|MiB) \/ 64MiB$/, 'the limit that was set: 64MiB');
  assert.match(memPct, /^\d+\.\d\d%$/);
  assert.ok(parseFloat(memPct) < 100);
  assert.equal(pidsCol, '3');
  assert.equal(Number(pidsCol), Number(read(cgFile(cfg, 'pids', 'pids.current', 'pids.current'))));

  // without names: every running container of this state root, the same row
  const all = lab.run(['stats', '--no-stream']);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.stdout.trimEnd().split('\n')[0].trim().split(/\s{2,}/), STATS_HEADER);
  assert.ok(all.stdout.split('\n').some((l) => l.startsWith(cfg.ID.slice(0, 12)) && l.includes(name) && l.includes('/ 64MiB')), all.stdout);

  const s = await lab.stop(bg);
  assert.equal(s.code, 0, s.stderr);
  await lab.assertNoLeaks();
});

labTest('stats without --no-stream redraws the table every second until interrupted', async (lab) => {
  const name = `ch2-live-${rand()}`;
  const { bg, cfg } = await threeProcesses(lab, name, ['-m', '64m']);
  const live = lab.start(['stats', name]);
  const frames = () => live.output().split('\x1b[2J\x1b[H').slice(1);
  await until(() => {
    if (live.exit) throw new Error(`stats exited with ${live.exit.code}:\n${live.exit.stderr}`);
    return frames().length >= 3;
  }, 10_000, 'three frames of stats');
  for (const f of frames().slice(0, 3)) {
    const lines = f.trimEnd().split('\n');
    assert.deepEqual(lines[0].trim().split(/\s{2,}/), STATS_HEADER);
    assert.ok(lines[1]?.startsWith(cfg.ID.slice(0, 12)) && lines[1].includes('/ 64MiB'), JSON.stringify(f));
  }
  live.child.kill('SIGINT');
  await Promise.race([live.done, sleep(5000)]);
  assert.ok(live.exit, 'stats did not end on SIGINT');
  assert.equal((await lab.stop(bg)).code, 0);
  await lab.assertNoLeaks();
});

// --- the cgroup, from inside and from the host ---

labTest('inside, /sys/fs/cgroup shows the container\'s own cgroup as the root, with its limits, read-only', (lab) => {
  const script = V2
    ? [
        'cat /proc/self/cgroup',
        'echo "memory=$(cat /sys/fs/cgroup/memory.max)"',
        'echo "pids=$(cat /sys/fs/cgroup/pids.max)"',
        'if mkdir /sys/fs/cgroup/escape 2>/dev/null; then echo mkdir=made; else echo mkdir=refused; fi',
        'if echo max > /sys/fs/cgroup/pids.max; then echo write=done; else echo write=refused; fi',
      ]
    : [
        'cat /proc/self/cgroup',
        'echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
        'echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"',
        'if mkdir /sys/fs/cgroup/memory/escape 2>/dev/null; then echo mkdir=made; else echo mkdir=refused; fi',
        'if echo max > /sys/fs/cgroup/pids/pids.max; then echo write=done; else echo write=refused; fi',
      ];
  const r = lab.run(['run', '--rm', '-m', '64m', '--pids-limit', '20', 'busybox', 'sh', '-c', script.join('; ')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const cgLines = lines.filter((l) => /^\d+:[^:]*:/.test(l));
  for (const c of V2 ? [''] : ['memory', 'cpu', 'pids']) {
    const line = cgLines.find((l) => (c === '' ? l.split(':')[1] === '' : l.split(':')[1].split(',').includes(c)));
    assert.ok(line, `no ${c || 'unified'} line in /proc/self/cgroup:\n${cgLines.join('\n')}`);
    assert.equal(line.split(':').slice(2).join(':'), '/', `the ${c || 'unified'} cgroup inside is not "/": ${line}`);
  }
  assert.ok(lines.includes('memory=67108864'), `the memory limit inside:\n${r.stdout}`);
  assert.ok(lines.includes('pids=20'), `the pids limit inside:\n${r.stdout}`);
  assert.ok(lines.includes('mkdir=refused'), `a cgroup could be made inside:\n${r.stdout}`);
  assert.ok(lines.includes('write=refused'), `the container could change its own limit:\n${r.stdout}`);
  return lab.assertNoLeaks();
});

labTest('the container\'s cgroup is dockling-<id>, under the cgroup of the process that ran dockling, and its processes are in it', async (lab) => {
  // No limit flags: every container gets a cgroup of its own (top and stats read it).
  const bg = lab.start(['run', '--rm', 'busybox', 'sh', '-c', untilTerm('sleep 1003 &')]);
  const cfg = await lab.running(bg);
  const leaf = `dockling-${cfg.ID}`;
  const dirs: string[] = [];
  for (const c of CONTROLLERS) {
    const own = SELF.get(c) ?? '/';
    const want = hostDir(c, path.join(own, leaf));
    assert.equal(cgroupDir(cfg, c), want, `${c || 'unified'}: the cgroup must be under the caller's ${own}`);
    assert.ok(fs.statSync(want).isDirectory(), want);
    dirs.push(want);
  }
  await until(() => namespacePids(cfg).length === 2, 10_000, 'the sleep');
  // PID 1 and its child, as the host sees them, are in the container's cgroup
  for (const pid of namespacePids(cfg)) {
    const cg = procCgroup(pid);
    for (const c of CONTROLLERS) assert.equal(cg.get(c), path.join(SELF.get(c) ?? '/', leaf), `${cmdline(pid)}: ${c || 'unified'}`);
  }
  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} remains`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent: a relative parent nests under the caller\'s cgroup, an absolute one at the root; the parents dockling made are removed', async (lab) => {
  const rel = `ch2-parent-${rand()}`;
  const abs = `/ch2-parent-${rand()}`;
  lab.cgroupTrees.push(...everywhere(rel), ...everywhere(abs));

  const bg = lab.start(['run', '--rm', '--cgroup-parent', `${rel}/sub`, 'busybox', 'sh', '-c', untilTerm('sleep 1004 &')]);
  const cfg = await lab.running(bg);
  const leaf = `dockling-${cfg.ID}`;
  for (const c of CONTROLLERS) {
    const want = path.join(SELF.get(c) ?? '/', rel, 'sub', leaf);
    assert.equal(cgroupDir(cfg, c), hostDir(c, want));
    assert.equal(procCgroup(cfg.State.Pid).get(c), want, `PID 1's ${c || 'unified'} cgroup`);
  }
  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  for (const d of everywhere(rel)) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);

  // absolute: from the hierarchy's root; the limit holds there too
  const memFile = V2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const a = lab.run(['run', '--rm', '--cgroup-parent', abs, '-m', '64m', 'busybox', 'cat', memFile]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout.trim(), '67108864');
  const made = a.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2).map((e) => (e as { path: string }).path);
  const id = [...lab.ids].find((i) => i !== cfg.ID)!;
  for (const c of CONTROLLERS) assert.ok(made.includes(hostDir(c, path.join(abs, `dockling-${id}`))), `${c || 'unified'}: not made under ${abs}:\n${made.join('\n')}`);
  for (const d of everywhere(abs)) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent that already exists is used and left in place', async (lab) => {
  const mine = `ch2-own-${rand()}`;
  const c0 = CONTROLLERS.includes('memory') ? 'memory' : CONTROLLERS[0];
  const ownDir = hostDir(c0, path.join(SELF.get(c0) ?? '/', mine));
  lab.cgroupTrees.push(...everywhere(mine));
  fs.mkdirSync(ownDir);
  const r = lab.run(['run', '--rm', '--cgroup-parent', mine, '-m', '64m', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  const made = r.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2).map((e) => (e as { path: string }).path);
  assert.ok(made.some((p) => p.startsWith(ownDir + '/dockling-')), `no cgroup made in ${ownDir}`);
  assert.ok(fs.existsSync(ownDir), 'a parent dockling did not make was removed');
  for (const d of everywhere(mine)) if (d !== ownDir) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent shared by two containers is removed when the last of them ends', async (lab) => {
  const shared = `ch2-shared-${rand()}`;
  const dirs = everywhere(shared);
  lab.cgroupTrees.push(...dirs);
  const a = lab.start(['run', '--rm', '--cgroup-parent', shared, 'busybox', 'sh', '-c', untilTerm('sleep 1005 &')]);
  const ca = await lab.running(a);
  const b = lab.start(['run', '--rm', '--cgroup-parent', shared, 'busybox', 'sh', '-c', untilTerm('sleep 1006 &')]);
  const cb = await lab.running(b);
  assert.equal(path.dirname(cgroupDir(ca, CONTROLLERS[0])), path.dirname(cgroupDir(cb, CONTROLLERS[0])));
  assert.equal((await lab.stop(a)).code, 0);
  assert.ok(fs.existsSync(cgroupDir(cb, CONTROLLERS[0])), 'B\'s cgroup went with A');
  assert.equal((await lab.stop(b)).code, 0);
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d}, made by dockling for the first container, remains after both ended`);
  await lab.assertNoLeaks();
});

labTest('a CLI killed with SIGKILL leaves its cgroup and state behind, and the next run reaps them', async (lab) => {
  const a = lab.start(['run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', untilTerm('sleep 1007 &')]);
  const ca = await lab.running(a);
  const dir = cgroupDir(ca, CONTROLLERS[0]);
  a.child.kill('SIGKILL'); // no cleanup stage runs: the CLI is gone at once
  await a.done;
  // nsexec's PR_SET_PDEATHSIG takes the container down with its CLI...
  await until(() => { try { process.kill(ca.State.Pid, 0); return fs.readFileSync(`/proc/${ca.State.Pid}/stat`, 'utf8').includes(') Z'); } catch { return true; } }, 10_000, 'the container to die with its CLI');
  // ...but its cgroup and state directory are still there,
  assert.ok(fs.existsSync(dir), 'the cgroup was removed although no cleanup ran');
  assert.ok(fs.existsSync(path.join(root, 'containers', ca.ID)));
  // until the next dockling run reaps them.
  const r = lab.run(['run', '--rm', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(dir), false, 'the abandoned cgroup was not reaped');
  assert.equal(fs.existsSync(path.join(root, 'containers', ca.ID)), false, 'the abandoned state directory was not reaped');
  assert.ok(r.trace.some((e) => e.op === 'remove' && e.chapter === 0 && (e as { path: string }).path.endsWith(ca.ID)), 'the reaping is traced');
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent cannot lead out of /sys/fs/cgroup with ".."', (lab) => {
  const outside = `/tmp/ch2-escape-${rand()}-outside-the-cgroup-tree`;
  lab.tmpDirs.push(outside);
  const r = lab.run(['run', '--rm', '--cgroup-parent', `/../../../..${outside}`, '-m', '64m', 'busybox', 'true']);
  assert.doesNotMatch(r.stderr, /unknown flag/);
  assert.equal(fs.existsSync(outside), false, `dockling made ${outside}: a "cgroup" outside the cgroup tree, where no limit holds`);
  const cgEvents = r.trace.filter((e) => e.chapter === 2 && (e.op === 'mkdir' || e.op === 'write'));
  for (const e of cgEvents) assert.ok((e as { path: string }).path.startsWith(CG + '/'), `${e.op} outside ${CG}: ${(e as { path: string }).path}`);
  // Refused before anything is made, with a message naming the flag.
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /cgroup-parent/, 'the refusal must name --cgroup-parent');
  assert.deepEqual(cgEvents, [], 'refused, yet cgroups were made');
  return lab.assertNoLeaks();
});

// --- the trace ---

labTest('every cgroup write is a trace event: the limits first, then the init joins, before the command runs', (lab) => {
  const r = lab.run(['run', '--rm', '-m', '64m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  const writes = r.trace.map((e, i) => ({ e, i })).filter(({ e }) => e.op === 'write' && e.chapter === 2) as { e: Extract<TraceRecord, { op: 'write' }>; i: number }[];
  const dirs = r.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2 && /\/dockling-[0-9a-f]{64}$/.test(e.path)).map((e) => (e as { path: string }).path);
  assert.ok(dirs.length >= CONTROLLERS.length, `the container's cgroup directories are not in the trace: ${dirs}`);
  const find = (file: string) => writes.find(({ e }) => path.basename(e.path) === file && dirs.includes(path.dirname(e.path)));
  const expect = V2
    ? [['memory.max', '67108864'], ['cpu.max', '50000 100000'], ['pids.max', '20']]
    : [['memory.limit_in_bytes', '67108864'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '50000'], ['pids.max', '20']];
  for (const [file, value] of expect) {
    const w = find(file);
    assert.ok(w, `no traced write to ${file}`);
    assert.equal(w.e.value, value, file);
    assert.equal(w.e.side, 'host');
  }
  // the init joins: its PID into cgroup.procs of each directory, after every limit
  const joins = writes.filter(({ e }) => path.basename(e.path) === 'cgroup.procs');
  assert.deepEqual(new Set(joins.map(({ e }) => path.dirname(e.path))), new Set(dirs), 'cgroup.procs of each cgroup directory');
  assert.equal(new Set(joins.map(({ e }) => e.value)).size, 1, 'one PID joins');
  assert.match(joins[0].e.value, /^[1-9]\d*$/);
  const firstJoin = Math.min(...joins.map(({ i }) => i));
  for (const [file] of expect) assert.ok(find(file)!.i < firstJoin, `${file} was written after the init joined`);
  const exec = r.trace.findIndex((e) => e.op === 'exec');
  assert.ok(exec > Math.max(...joins.map(({ i }) => i)), 'the command ran before the init was in its cgroup');
  // and each directory made is removed
  const rmdirs = r.trace.filter((e) => e.op === 'rmdir').map((e) => (e as { path: string }).path);
  for (const d of dirs) assert.ok(rmdirs.includes(d), `no rmdir of ${d}`);
  return lab.assertNoLeaks();
});

// --- Docker's errors ---

const ERRORS: [string[], string][] = [
  [['-m', '4m'], 'Minimum memory limit allowed is 6MB'],
  [['-m', 'foo'], `invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'`],
  [['-m', '64m', '--memory-swap', '32m'], 'Minimum memoryswap limit should be larger than memory limit, see usage'],
  [['--cpus', '0.001'], `Range of CPUs is from 0.01 to ${NCPU}.00, as there are only ${NCPU} CPUs available`],
  [['--cpus', String(NCPU + 1)], `Range of CPUs is from 0.01 to ${NCPU}.00, as there are only ${NCPU} CPUs available`],
  [['--cpus', '0.5', '--cpu-period', '100000'], 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
  [['--cpuset-cpus', '0-99'], `Requested CPUs are not available - requested 0-99, available: ${NCPU === 1 ? '0' : `0-${NCPU - 1}`}`],
  [['--cpu-period', '10'], 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)'],
  // Values the kernel refuses (EINVAL): once a write failure, then a hang forever (issue 9).
  [['--pids-limit', '5000000'], 'invalid --pids-limit 5000000: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit'],
  [['--pids-limit', '9223372036854775807'], 'invalid --pids-limit: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit'],
  [['--cpu-quota', '17592186044416'], "CPU cfs quota can not be larger than 17592186044415 (the kernel's limit, about 203 days)"],
  [['--cpuset-cpus', '0-4000000000'], `Requested CPUs are not available - requested 0-4000000000, available: ${NCPU === 1 ? '0' : `0-${NCPU - 1}`}`],
];

for (const [flags, message] of ERRORS) {
  labTest(`run ${flags.join(' ')}: exit 125, "${message}", and nothing is made`, (lab) => {
    const r = lab.run(['run', '--rm', ...flags, 'busybox', 'echo', 'the command ran']);
    assert.equal(r.code, 125, r.stderr);
    assert.ok(r.stderr.includes(`dockling: ${message}\n`), `stderr:\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /the command ran/);
    assert.deepEqual(r.trace.filter((e) => e.chapter === 2), [], 'cgroups were touched for a refused run');
    return lab.assertNoLeaks();
  });
}

// #region limit-stage-failure
// A cgroup write the kernel refuses although every flag is valid: a
// --cgroup-parent (made by the test) limited to CPU 0, and --cpuset-cpus 1,
// which a child of it may not have (EACCES on v1). The limit stage fails:
// exit 125 with the kernel's refusal, promptly (spawnSync's timeout would
// turn a hang into 137), and the init, its namespaces, the cgroups and the
// container's directory are gone.
labTest('a limit the kernel refuses at the limit stage: exit 125 with the failed write named, no hang, nothing left', (lab, t) => {
  // v2 takes any cpuset.cpus in a child (it only narrows the effective set): nothing to refuse there.
  if (V2 || NCPU < 2) return t.skip('needs cgroup v1 and two CPUs');
  const parent = `/ch2-cpu0-${rand()}`;
  const dir = path.join(V1_MOUNTS.get('cpuset')!, parent);
  lab.cgroupTrees.push(dir);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'cpuset.cpus'), '0');
  fs.writeFileSync(path.join(dir, 'cpuset.mems'), read(path.join(V1_MOUNTS.get('cpuset')!, 'cpuset.mems')).split(/[-,]/)[0]);
  const r = lab.run(['run', '--rm', '--cgroup-parent', parent, '--cpuset-cpus', '1', 'busybox', 'echo', 'the command ran']);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /cgroup: cannot write "1" to \S+\/cpuset\.cpus: E[A-Z]+/);
  assert.doesNotMatch(r.stdout, /the command ran/);
  assert.ok(fs.existsSync(dir), 'the --cgroup-parent that existed before must stay');
  return lab.assertNoLeaks();
});
// #endregion limit-stage-failure

