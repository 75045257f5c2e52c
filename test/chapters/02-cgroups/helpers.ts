// What the chapter 2 tests share. Not a test file (no .test.ts): test/run.ts
// does not run it.
//
// Chapter 2's tests run real containers, as root, under memory, CPU and PID
// limits on this host's cgroups (v1 here; v2 on the Vagrant VM and in the
// guest of test/vm/). test/run.ts runs every file with layers 1..2 (every
// test must pass) and with layers 1..1 (every test must fail: the resource
// flags, `top` and `stats` do not exist there, and containers get no cgroup
// of their own).
//
// Each test file takes a state root from the shared helper (useStateRoot:
// the host is snapshotted before each test and checked after it) and runs
// each test with a Lab: it runs dockling with a trace file each time, so it
// knows every container the test made, checks that no cgroup dockling-<id>
// of them remains in any hierarchy, and, whatever happens, kills in its
// `finally` what the test started and removes what it made.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, docklingAsync, resolveAfter, rootOrSkip, until, type Result } from '../../helpers/dockling.ts';
import { useStateRoot } from '../../helpers/chapter.ts';
import { assertNoLeaks, snapshot, type HostSnapshot } from '../../helpers/leaks.ts';
import { containerCgroups } from '../../helpers/cgroups.ts';
import type { TraceRecord } from '../../../runtime/trace/events.ts';

export const skip = rootOrSkip();
export const NCPU = os.cpus().length;

// --- the host's cgroups, read independently of dockling's code ---

export const CG = '/sys/fs/cgroup';
const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
/** cgroup2 mounted at /sys/fs/cgroup itself: a unified (v2) host. */
export const V2 = mountinfo.some((l) => l.split(' ')[4] === CG && l.split(' - ')[1]?.startsWith('cgroup2 '));
/** v1: controller → where its hierarchy is mounted. */
export const V1_MOUNTS = new Map<string, string>();
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
export const SELF = procCgroup('self');
if (V2 && path.basename(SELF.get('') ?? '/') === 'dockling-caller') SELF.set('', path.dirname(SELF.get('')!));
/** The controllers a container's cgroup must have: v1 hierarchies by name, or v2's one tree. */
export const CONTROLLERS = V2 ? [''] : ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio'].filter((c) => V1_MOUNTS.has(c));
export const keyOf = (c: string) => (V2 ? 'unified' : c);

/** A cgroup's directory on the host: the hierarchy's mount, the path inside it. */
export const hostDir = (controller: string, cgPath: string) => path.join(V2 ? CG : V1_MOUNTS.get(controller)!, cgPath);

/**
 * Every hierarchy of the host (v1: each mount, name=systemd included; v2:
 * the one tree) with where this process is in it: where a parent named
 * relative to the caller would be made.
 */
export const HIERARCHIES: { mount: string; self: string }[] = V2
  ? [{ mount: CG, self: SELF.get('') ?? '/' }]
  : [...new Set(V1_MOUNTS.values())].map((mount) => {
      const c = [...V1_MOUNTS].find(([k, m]) => m === mount && SELF.has(k))?.[0];
      return { mount, self: (c && SELF.get(c)) ?? '/' };
    }).concat(
      // a hybrid host's cgroup2 tree: a hierarchy too, joined like the others
      mountinfo.filter((l) => l.split(' - ')[1]?.startsWith('cgroup2 ')).map((l) => ({ mount: l.split(' ')[4], self: SELF.get('') ?? '/' })),
    );
/** A cgroup-parent's directory in every hierarchy: relative ones under the caller, absolute ones at the root. */
export const everywhere = (parent: string) => HIERARCHIES.map((h) => path.join(h.mount, parent.startsWith('/') ? parent : path.join(h.self, parent)));

/** /proc/PID/cgroup of a host process: controller → path ("" for v2). */
export function procCgroup(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === '') out.set('', m[2]);
    else for (const c of m[1].split(',')) out.set(c, m[2]);
  }
  return out;
}

export const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
/** Is this host process still running (not gone, not a zombie)? */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
export const rand = () => randomBytes(4).toString('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every directory under /sys/fs/cgroup (all hierarchies) named dockling-<id> for these ids. */
export const cgroupsOf = (ids: Iterable<string>) => containerCgroups([CG], ids);

/** rmdir a tree of (cgroup) directories, deepest first, killing what is in them. */
export function removeCgroupTree(dir: string): void {
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

export interface Config {
  ID: string;
  Name: string;
  State: { Running: boolean; Pid: number };
  CgroupPaths?: Record<string, string>;
}

export interface Background {
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
export class Lab {
  ids = new Set<string>();
  background: Background[] = [];
  /** directories to remove at the end whatever happens (cgroup parents, escape targets) */
  cgroupTrees: string[] = [];
  tmpDirs: string[] = [];
  before: HostSnapshot;
  private n = 0;

  /** `root`: the test file's state root (useStateRoot's). */
  constructor(readonly root: string) {
    this.before = snapshot(this.root);
  }

  private traceFile(): string {
    return path.join(this.root, `trace-${process.pid}-${Date.now()}-${this.n++}.jsonl`);
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
    const r = dockling(this.root, ['--trace-file', tf, ...args], { killSignal: 'SIGKILL' });
    return { ...r, trace: this.readTrace(tf) };
  }

  /** dockling ARGS… in the background (a container that runs until told to stop). */
  start(args: string[]): Background {
    const traceFile = this.traceFile();
    const p = docklingAsync(this.root, ['--trace-file', traceFile, ...args]);
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
          cfg = JSON.parse(fs.readFileSync(path.join(this.root, 'containers', id, 'config.v2.json'), 'utf8')) as Config;
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
      await Promise.race([bg.done, resolveAfter(500, null)]);
    }
    const r = await Promise.race([bg.done, resolveAfter(100, null)]);
    if (r) return r;
    await this.kill(bg);
    throw new Error(`the container did not stop within ${timeoutMs} ms of SIGTERM`);
  }

  /** Last resort: SIGKILL the container's PID 1 (the whole PID namespace goes), then its CLI. */
  private async kill(bg: Background): Promise<void> {
    if (bg.exit) return;
    for (const id of this.ids) {
      try {
        const cfg = JSON.parse(fs.readFileSync(path.join(this.root, 'containers', id, 'config.v2.json'), 'utf8')) as Config;
        if (cfg.State.Pid) process.kill(cfg.State.Pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (await Promise.race([bg.done, resolveAfter(5000, null)])) return;
    bg.child.kill('SIGKILL');
    await Promise.race([bg.done, resolveAfter(5000, null)]);
  }

  /** Nothing of this test's containers remains on the host. */
  async assertNoLeaks(): Promise<void> {
    for (const bg of this.background) assert.ok(bg.exit, 'a dockling process of this test is still running');
    await assertNoLeaks(this.root, this.before);
    // the CLI removes the cgroup in its cleanup, which ends before it exits
    assert.deepEqual(cgroupsOf(this.ids), [], 'cgroups of the container remain');
  }

  /** Whatever the test did or failed to do: nothing it started runs on, nothing it made stays. */
  async cleanup(): Promise<void> {
    for (const bg of this.background) {
      if (bg.exit) continue;
      bg.child.kill('SIGTERM');
      if (!(await Promise.race([bg.done, resolveAfter(5000, null)]))) await this.kill(bg);
    }
    for (const d of cgroupsOf(this.ids)) removeCgroupTree(d);
    for (const d of this.cgroupTrees) removeCgroupTree(d);
    for (const d of this.tmpDirs) fs.rmSync(d, { recursive: true, force: true });
    for (const id of this.ids) fs.rmSync(path.join(this.root, 'containers', id), { recursive: true, force: true });
  }
}

/**
 * A chapter 2 test file's set-up: a temporary directory of its own (see
 * below), the state root in it with the shared leak check around each test
 * (useStateRoot), and `labTest`, a test with a Lab that is always cleaned up.
 * Call it once, at the top of the file.
 */
export function chapter2(label: string) {
  // A temporary directory of this file's own, for its state root and as the
  // TMPDIR of every dockling it runs: the leak check's "no new temp entry"
  // then looks at what these containers made, not at what other test runs on
  // the same host make in /tmp meanwhile (nor do they see ours: no
  // "dockling" in the name). Set while the file loads, so that the state
  // root, made in useStateRoot's before(), is made in it.
  const hostTmp = os.tmpdir();
  const privateTmp = fs.mkdtempSync(path.join(hostTmp, `${label}-`));
  process.env.TMPDIR = privateTmp;
  after(() => {
    fs.rmSync(privateTmp, { recursive: true, force: true });
    process.env.TMPDIR = hostTmp;
  });
  const root = useStateRoot(label);

  /** A test with a Lab that is always cleaned up. */
  function labTest(name: string, fn: (lab: Lab, t: TestContext) => Promise<void> | void): void {
    test(name, { skip }, async (t) => {
      const lab = new Lab(root());
      try {
        await fn(lab, t);
      } finally {
        await lab.cleanup();
      }
    });
  }
  return { root, labTest };
}

/** The container's cgroup directory for a controller, from its config (chapter 2 writes CgroupPaths). */
export function cgroupDir(cfg: Config, controller: string): string {
  assert.ok(cfg.CgroupPaths, 'the container has no cgroup (no CgroupPaths in its config.v2.json)');
  const d = cfg.CgroupPaths[keyOf(controller)];
  assert.ok(d, `no ${controller || 'unified'} cgroup in ${JSON.stringify(cfg.CgroupPaths)}`);
  return d;
}

/** A cgroup file of the container, named the v1 or the v2 way. */
export const cgFile = (cfg: Config, controller: string, v1: string, v2: string) => path.join(cgroupDir(cfg, controller), V2 ? v2 : v1);

/** CPU time the container's cgroup has used, in ns (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
export function cpuUsageNs(cfg: Config): number {
  if (V2) return Number(/^usage_usec (\d+)$/m.exec(read(cgFile(cfg, '', '', 'cpu.stat')))![1]) * 1000;
  return Number(read(cgFile(cfg, 'cpuacct', 'cpuacct.usage', '')));
}

/** The PIDs in the container's cgroup, read by the test from the host. */
export const cgroupProcs = (cfg: Config) => read(cgFile(cfg, 'pids', 'cgroup.procs', 'cgroup.procs')).split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);

/** Host PIDs in the same PID namespace as the container's PID 1 (works without cgroups, at any chapter). */
export function namespacePids(cfg: Config): number[] {
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
export const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();

/**
 * A sh script for PID 1 that starts background jobs (`body` ends with "&")
 * and waits for them, ending cleanly on SIGTERM (PID 1 ignores signals it
 * has no handler for).
 */
export const untilTerm = (body: string) => `trap "exit 0" TERM; ${body} wait`;
