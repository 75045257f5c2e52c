// What the differential tests share (chapter 5's and chapter 6's): a private
// dockerd started for one test file, and the step-by-step comparison of
// dockling's outputs with its. Not a test file.
//
// The daemon: docker.io's 20.10, with the /usr/bin/docker client of the
// same package, in a network namespace of its own (`unshare --net`: its
// bridge and iptables rules, if it is given any, never touch the machine),
// with every path it writes inside the file's temporary directory
// (--data-root, --exec-root, --pidfile, its -H unix socket). Both sides get
// the same busybox image (dockling's, `dockling save busybox | docker load`).
//
// Each step's exit code, stdout and stderr are compared after normalising
// what must differ (IDs, times, sizes, column widths, "docker"/"dockling",
// Docker's "Error response from daemon: " prefix). Every other difference
// must be listed in the file's tables with its reason; an entry whose
// difference has gone fails too ("remove it").
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, resolveAfter, rootOrSkip, withoutWarning } from './dockling.js';
import { mountsInside } from './leaks.js';
import { holdLockAsync } from '../../runtime/core/files.js';
import { cgroupDirs } from './cgroups.js';
import { inPrivateNetns, NOT_PRIVATE } from './netns.js';

export const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
// The docker.io package's client, the same version as its daemon (a newer
// docker CLI may come first on PATH).
export const DOCKER = '/usr/bin/docker';
const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((p) => fs.existsSync(p));

/** Why this file cannot run here (a reason to skip), or false. CI never skips. */
export function whyNoDockerd(): string | false {
  const root = rootOrSkip();
  if (root) return root;
  const missing = [!DOCKERD && 'dockerd', !fs.existsSync(DOCKER) && DOCKER, !UNSHARE && 'unshare'].filter(Boolean);
  if (missing.length === 0) return false;
  const why = `no ${missing.join(', ')} (apt-get install docker.io util-linux)`;
  if (process.env.CI) throw new Error(`the differential test needs a dockerd, and CI must run it: ${why}`);
  return why;
}

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

// What dockerd 20.10 writes outside the paths it is given (its trust key,
// its plugin directory, containerd's shim sockets): removed afterwards
// where this file's daemon made them, left where they were already there.
const FIXED_PATHS = ['/etc/docker/key.json', '/run/docker', '/run/containerd'];
/** Held while a private dockerd runs (see `before`): a directory lock, broken if its holder died. */
const MACHINE_LOCK = '/run/lock/dockling-test-dockerd';

export interface PrivateDockerd {
  /** the daemon's temporary directory (valid from `before` to `after`) */
  tmp(): string;
  /** run the docker client against this daemon */
  docker(args: string[], input?: Buffer | string): Out;
  env(): NodeJS.ProcessEnv;
  /** the daemon's log so far (stdout and stderr) */
  log(): string;
}

/**
 * Start ONE dockerd for the test file (in `before`) and stop it by its PID
 * (in `after`), removing its directory, the fixed paths it made, and the
 * cgroups of its --cgroup-parent. `networkArgs`: how its network is set up
 * (chapter 5: none at all; chapter 6: its docker0 and iptables, which live
 * in its own namespace). `root()`: the dockling state root whose busybox is
 * loaded into it.
 */
export function privateDockerd(opts: {
  skip: string | false;
  label: string;
  networkArgs: string[];
  root: () => string;
  /**
   * Run the daemon in the test file's own network namespace instead of a
   * new one (chapter 8: it must reach the file's registry on 127.0.0.1).
   * Only where test/run.ts gave the file a namespace of its own.
   */
  shareNetns?: boolean;
}): PrivateDockerd {
  let tmpDir: string | undefined;
  const tmp = () => tmpDir!;
  // A cgroup parent of this run's own, so its leftovers are ours to remove.
  const cgroupParent = `dockling-${opts.label}-${process.pid}`;
  let madeHere: string[] = [];
  let daemon: ReturnType<typeof spawn> | undefined;
  let daemonExited: Promise<void> | undefined;
  let daemonLog = '';
  let releaseMachine: (() => void) | undefined;
  const sock = () => path.join(tmp(), 'docker.sock');
  const env = () => ({ ...process.env, DOCKER_HOST: `unix://${sock()}`, DOCKER_CONFIG: path.join(tmp(), 'client') });
  const docker = (args: string[], input?: Buffer | string): Out => {
    const r = spawnSync(DOCKER, args, { env: env(), encoding: 'utf8', input, timeout: 60_000 });
    return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  };

  before(async () => {
    if (opts.skip) return;
    // The directory first, before any await: node 20 does not wait for one
    // top-level `before` hook to end before it starts the next, and the
    // test files' own hooks use tmp() at once.
    const t = (tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-dockerd-')));
    // One private dockerd on the machine at a time: suites may run side by
    // side (test/run.ts, DOCKLING_TEST_LANES), and every dockerd makes and
    // uses /run/docker and /run/containerd, which the first to end would
    // remove under the other. A chapter's differential file waits its turn.
    releaseMachine = await holdLockAsync(MACHINE_LOCK, 20 * 60_000);
    madeHere = FIXED_PATHS.filter((p) => !fs.existsSync(p));
    if (opts.shareNetns && !inPrivateNetns()) throw new Error(NOT_PRIVATE);
    const ownNetns = opts.shareNetns
      ? []
      : [
          '--net',
          '--',
          'sh',
          '-c',
          // lo up: the containers' own loopback does not need it, dockerd's
          // healthchecks of its containerd (a unix socket) neither; but a namespace
          // with lo down surprises whatever assumes 127.0.0.1 works.
          'ip link set lo up 2>/dev/null; exec "$@"',
          'sh',
        ];
    const child = spawn(
      opts.shareNetns ? DOCKERD! : UNSHARE!,
      [
        ...ownNetns,
        ...(opts.shareNetns ? [] : [DOCKERD!]),
        `--data-root=${t}/data`,
        `--exec-root=${t}/exec`,
        `--pidfile=${t}/dockerd.pid`,
        `--host=unix://${t}/docker.sock`,
        ...opts.networkArgs,
        `--cgroup-parent=${cgroupParent}`,
        // Its own containerd, under exec-root (not a system one, if any).
        `--containerd-namespace=dockling-${opts.label}`,
        `--containerd-plugins-namespace=dockling-${opts.label}-plugins`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: false },
    );
    daemon = child;
    daemonExited = new Promise((resolve) => child.on('exit', () => resolve()));
    child.stdout!.on('data', (d) => (daemonLog += d));
    child.stderr!.on('data', (d) => (daemonLog += d));
    // (Its own loop, not until(): starting dockerd is the scene, not the
    // layer's work, and a dockerd stopped half-way through its start-up is
    // not what the negative run's shorter waits are for.)
    for (const end = Date.now() + 30_000; docker(['version', '--format', '{{.Server.Version}}']).code !== 0; ) {
      if (Date.now() > end) throw new Error(`timed out waiting for dockerd to answer; its log:\n${daemonLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The same image on both sides: dockling's busybox, loaded into dockerd.
    const save = spawnSync(process.execPath, ['--', BIN, '--root', opts.root(), 'save', 'busybox'], { maxBuffer: 1 << 30 });
    assert.equal(save.status, 0, `dockling save busybox: ${save.stderr}`);
    const load = spawnSync(DOCKER, ['load'], { input: save.stdout, env: env(), encoding: 'utf8' });
    assert.equal(load.status, 0, `docker load: ${load.stderr}`);
  });

  after(async () => {
    try {
      await stopDaemon();
    } finally {
      releaseMachine?.();
      releaseMachine = undefined;
    }
  });

  async function stopDaemon(): Promise<void> {
    if (tmpDir === undefined) return;
    if (daemon?.pid !== undefined && daemon.exitCode === null && daemon.signalCode === null) {
      // Its containers first (none should be left: each test removes its own).
      const left = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (left.length) docker(['rm', '-f', ...left]);
      // dockerd: SIGTERM to its PID (unshare exec'd sh, which exec'd dockerd:
      // the child's PID is dockerd's); it stops its containerd and unmounts.
      daemon.kill('SIGTERM');
      const stopped = await Promise.race([daemonExited!.then(() => true), resolveAfter(30_000, false)]);
      if (!stopped) {
        daemon.kill('SIGKILL');
        await daemonExited;
      }
    }
    // Whatever it left mounted under its data root, so that the directory can go.
    for (const m of mountsInside(tmpDir).reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(tmpDir, { recursive: true, force: true });
    for (const p of madeHere) fs.rmSync(p, { recursive: true, force: true });
    // The empty cgroups its --cgroup-parent made, in every hierarchy.
    for (const dir of cgroupDirs(cgroupParent)) removeCgroupTree(dir);
  }

  return { tmp, docker, env, log: () => daemonLog };
}

function removeCgroupTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    /* busy: a process of dockerd's still in it; nothing of ours to kill */
  }
}

// --- the steps ---------------------------------------------------------------

export type Field = 'code' | 'stdout' | 'stderr';

export interface Step {
  /** a unique name: the key of the tables */
  id: string;
  args: string[];
  /** the stdout piped into this tool's command (both sides run their own), or `tar t` */
  pipe?: { tar: true } | { args: string[] };
  /** a normaliser of the step's own, after the common one */
  norm?: (s: string) => string;
  /** compare IDs as they are: where both sides must agree (the same image) */
  keepIds?: boolean;
  /** run until its normalised stdout matches (a log that is still being written) */
  until?: RegExp;
}

/** Known differences: step id, then the field; value: the reason. */
export type Table = Record<string, Partial<Record<Field, string>>>;

/** What must differ: IDs, times, sizes, the program's name, column widths. */
export function normalise(s: string, keepIds = false): string {
  if (!keepIds) s = s.replace(/\bsha256:[0-9a-f]{64}\b/g, 'sha256:<ID>').replace(/\b[0-9a-f]{64}\b/g, '<ID>').replace(/\b[0-9a-f]{12}\b/g, '<id>');
  return (
    s
      // dockerd's warning about networking when its host has no forwarding
      // (chapter 5's daemon has no bridge: not what is compared).
      .replace(/^WARNING: IPv4 forwarding is disabled\. Networking will not work\.\n/gm, '')
      .replace(/\bdockling\b/g, 'docker')
      .replace(/Error response from daemon: /g, '')
      // How an error line starts: docker's CLI says "docker: " for run,
      // "Error: " for some commands and nothing for others; dockling says
      // "dockling: " for all. The words after it are compared.
      .replace(/^(docker: |Error: )/gm, '')
      .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\b/g, '<TIME>')
      // "Up 3 seconds", "Exited (0) Less than a second ago", "2 minutes ago", "7 months ago"
      .replace(/\b(Less than a second|About an? \w+|\d+ (second|minute|hour|day|week|month|year)s?)\b/g, '<AGO>')
      .replace(/\b\d+(\.\d+)?\s?(B|kB|KB|MB|MiB|KiB|GB|GiB)\b/g, '<SIZE>')
      // Table columns are as wide as their widest cell, which the above changed.
      .replace(/ {2,}/g, '  ')
      .replace(/[ \t]+$/gm, '')
  );
}

/** `tar t` of a stream: its sorted member names. */
function tarList(data: Buffer): string {
  const r = spawnSync('tar', ['-t', '-f', '-'], { input: data, encoding: 'utf8' });
  return `tar exit ${r.status}\n${r.stdout.split('\n').filter(Boolean).sort().join('\n')}\n${r.stderr}`;
}

/** What differed, or was listed and did not. */
export interface Report {
  unexpected: string[];
  stale: string[];
  differences: string[];
}
export const newReport = (): Report => ({ unexpected: [], stale: [], differences: [] });

/**
 * The two sides of a comparison: dockerd (through its client) and dockling
 * (its state root), with the tables of known differences.
 */
export function differential(d: PrivateDockerd, root: () => string, tables: Table[]) {
  const runSide = (side: 'docker' | 'dockling', step: Step): Out => {
    const exe = side === 'docker' ? DOCKER : process.execPath;
    const pre = side === 'docker' ? [] : ['--', BIN, '--root', root()];
    const env = side === 'docker' ? d.env() : process.env;
    const r = spawnSync(exe, [...pre, ...step.args], { env, timeout: 60_000, maxBuffer: 1 << 30 });
    const stderr = r.stderr.toString('utf8');
    const out: Out = { code: r.status ?? 128, stdout: r.stdout.toString('utf8'), stderr: side === 'docker' ? stderr : withoutWarning(stderr) };
    if (step.pipe && 'tar' in step.pipe) out.stdout = tarList(r.stdout);
    else if (step.pipe) {
      const p = spawnSync(exe, [...pre, ...step.pipe.args], { env, input: r.stdout, timeout: 60_000 });
      out.stdout = `${p.status}\n${p.stdout}`;
      out.stderr += side === 'docker' ? p.stderr.toString('utf8') : withoutWarning(p.stderr.toString('utf8'));
    }
    return out;
  };

  const norm = (step: Step, s: string) => (step.norm ? step.norm(normalise(s, step.keepIds)) : normalise(s, step.keepIds));

  async function compare(steps: Step[], report: Report): Promise<void> {
    for (const step of steps) {
      const sides = {} as Record<'docker' | 'dockling', Out>;
      for (const side of ['docker', 'dockling'] as const) {
        let r = runSide(side, step);
        if (step.until) {
          const end = Date.now() + 10_000;
          while (!step.until.test(norm(step, r.stdout)) && Date.now() < end) {
            await new Promise((res) => setTimeout(res, 100));
            r = runSide(side, step);
          }
        }
        sides[side] = r;
      }
      const { docker: dk, dockling: k } = sides;
      for (const field of ['code', 'stdout', 'stderr'] as const) {
        const a = field === 'code' ? String(dk.code) : norm(step, dk[field]);
        const b = field === 'code' ? String(k.code) : norm(step, k[field]);
        const listed = tables.map((t) => t[step.id]?.[field]).find(Boolean);
        if (a === b) {
          if (listed) report.stale.push(`${step.id} ${field}: listed ("${listed}") but the same now: remove it`);
          continue;
        }
        const what = `${step.id} (${step.args.join(' ')}) ${field}:\n  docker:   ${JSON.stringify(a)}\n  dockling: ${JSON.stringify(b)}`;
        report.differences.push(what);
        if (!listed) report.unexpected.push(what);
      }
    }
  }

  /** Run a cleanup command on both sides (not compared). */
  const both = (args: string[]): void => {
    d.docker(args);
    spawnSync(process.execPath, ['--', BIN, '--root', root(), ...args], { timeout: 60_000 });
  };

  return { compare, both, runSide };
}

/** Fail on every unexpected difference and every stale entry (DOCKLING_DIFFERENTIAL_PRINT=1: print all differences). */
export function check(report: Report): void {
  if (process.env.DOCKLING_DIFFERENTIAL_PRINT) for (const d of report.differences) console.log(`# ${d.replace(/\n/g, '\n# ')}`);
  assert.deepEqual([...report.unexpected, ...report.stale], [], 'dockling and dockerd differ where no table allows it');
}
