// npm run bench: `dockling run --rm busybox true` side by side with the floor
// (unshare + chroot + /bin/true), runc on the same rootfs, and Node's own
// start-up, measured in one run and printed as medians and ratios; then where
// dockling's time goes, from its own trace. See bench/README.md.
//
//   tsx bench/run.ts [--runs N] [--warmup N] [--trace-runs N] [--json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { BenchError, cgroupsNamed, checkHost, findTool, idleDocklingCgroups, makeScratch, mountsUnder, processesLeft, type Tools } from './host.js';
import { PHASES, parseTrace, phasesOf, gaps, type PhaseSample } from './phases.js';
import { formatText, REFERENCES, type Results, type RowResult } from './report.js';
import { deleteAll, makeBundle, runcContainers } from './runc.js';
import { Children, shown, timeRun, type Cmd } from './spawn.js';
import { median, summarize } from './stats.js';
import { storageRows, type StorageRow } from './storage.js';
import { containerRows, type ContainerRow } from './containers.js';
import { logRows } from './logs.js';
import { execRows } from './exec.js';
import { exportRows } from './export.js';
import { aufsRows, type AufsRow } from './aufs.js';
import { FIVE_ANONYMOUS, FIVE_VOLUMES, strayVolumes, volumeRatioRows } from './volumes.js';
import { buildRatioRows, makeBuildContexts } from './builds.js';
import { registryMissing, registryRows, type RegistryRow } from './registries.js';
import { dockerCmd, dockerMissing, DOCKER_IMAGE, networkRows, runRatioRows, startDocker, stopDocker, type DockerPeer, type NetworkRow } from './network.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/dockling.js');
const NSEXEC = path.join(REPO, 'dist/nsexec');
const NODE = process.execPath;

const USAGE = `Usage: npm run bench -- [--runs N] [--warmup N] [--trace-runs N] [--json]

  --runs N        timed runs of each row (default 20)
  --warmup N      untimed rounds first (default 3)
  --trace-runs N  runs with --trace-file for dockling's phases (default 10, at most --runs)
  --json          print the results as JSON instead of a table
`;

interface Options {
  runs: number;
  warmup: number;
  traceRuns: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        warmup: { type: 'string' },
        'trace-runs': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new BenchError(`${(e as Error).message}\n${USAGE}`);
  }
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, s: string | undefined, def: number, min: number) => {
    if (s === undefined) return def;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new BenchError(`--${name} ${s}: want a whole number ≥ ${min}`);
    return n;
  };
  const runs = int('runs', v.runs, 20, 1);
  return {
    runs,
    warmup: int('warmup', v.warmup, 3, 0),
    traceRuns: Math.min(runs, int('trace-runs', v['trace-runs'], 10, 1)),
    json: v.json ?? false,
  };
}

/** One row of the table: a command run N times. */
interface Row {
  key: string;
  label: string;
  env: string;
  cmd: () => Cmd;
  /** untimed work after each run (runc delete) */
  after?: (cmd: Cmd) => Promise<void>;
}

/** Everything the bench makes lives under one scratch directory. */
interface World {
  scratch: string;
  tools: Tools;
  stateRoot: string;
  rootfs: string;
  runcRoot: string;
  bundle: string;
  runcPrefix: string;
  runcIds: Set<string>;
  /** dockling's idle cgroups before the bench started (not ours) */
  cgroupsBefore: Set<string>;
  children: Children;
  /** the environment of every row: the caller's, without NODE_EXTRA_CA_CERTS */
  env: NodeJS.ProcessEnv;
  /** `ip`, for the network namespaces' lo */
  ip: string;
  /** the private dockerd of the docker rows (chapter 6), if it started */
  docker?: DockerPeer;
  /** why the docker rows are not run */
  dockerSkipped?: string;
  /** chapter 9's build contexts, one per side */
  buildContexts?: { dockling: string; docker: string };
}

function makeRows(w: World): Row[] {
  const { tools, env } = w;
  let n = 0;
  const rows: Row[] = [
    {
      // Not a container at all: what starting any process from this harness costs.
      key: 'true',
      label: 'harness: spawn /bin/true',
      env: 'clean',
      cmd: () => ({ file: '/bin/true', args: [], env }),
    },
    {
      key: 'floor',
      label: 'floor: unshare … chroot ROOTFS /bin/true',
      env: 'clean',
      cmd: () => ({ file: tools.unshare, args: ['--fork', '--pid', '--mount', '--uts', '--ipc', '--net', tools.chroot, w.rootfs, '/bin/true'], env }),
    },
    {
      key: 'runc',
      label: 'runc run (same rootfs as a bundle)',
      env: 'clean',
      cmd: () => {
        const id = `${w.runcPrefix}${++n}`;
        w.runcIds.add(id);
        return { file: tools.runc, args: ['--root', w.runcRoot, 'run', '--bundle', w.bundle, id], env };
      },
      // Not timed: runc run removes a container that has exited; this is the belt to those braces.
      after: async (cmd) => {
        const id = cmd.args.at(-1)!;
        await timeRun({ file: tools.runc, args: ['--root', w.runcRoot, 'delete', '--force', id], env }, w.children);
        w.runcIds.delete(id);
      },
    },
    {
      // The same floor, with dockling's own namespace helper in place of
      // util-linux unshare(1): what chapter 1's choice of helper costs.
      key: 'floor-nsexec',
      label: 'floor with dockling nsexec … chroot ROOTFS /bin/true',
      env: 'clean',
      cmd: () => ({ file: NSEXEC, args: ['pmuin', tools.chroot, w.rootfs, '/bin/true'], env }),
    },
    { key: 'node', label: 'node -e 0', env: 'clean', cmd: () => ({ file: NODE, args: ['-e', '0'], env }) },
    {
      // The guide's start-up: from spawn until its first screen (chapter 1's
      // first step) is drawn, Ink and React loaded; against `node -e 0` above.
      // The size comes from the environment, as a terminal's ioctl would give
      // it (without one, Ink would ask tput, twice per frame).
      key: 'guide',
      label: 'guide start-up: walkthrough --first-frame 1 (first screen drawn)',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, 'walkthrough', '--first-frame', '1'], env: { ...env, COLUMNS: '80', LINES: '24' } }),
    },
  ];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    rows.push({
      key: 'node-caller-env',
      label: 'node -e 0, caller env (NODE_EXTRA_CA_CERTS)',
      env: 'caller',
      cmd: () => ({ file: NODE, args: ['-e', '0'], env: { ...env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } }),
    });
  }
  rows.push(
    {
      // Chapter 4: the image's layers, an init and a writable layer, the
      // overlay mount; against the row below, chapter 1's plain directory.
      key: 'dockling',
      // Chapter 6 on, this is also the default bridge: veth pair, lease, rules.
      label: 'dockling run --rm busybox true (overlay2, default bridge)',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'run', '--rm', 'busybox', 'true'], env }),
    },
    {
      // Chapter 11's cost: the same run without the hardening layer
      // (capabilities, seccomp compiled and installed, devices cgroup).
      key: 'dockling-ch10',
      label: 'dockling --chapter 10 run --rm busybox true (no hardening)',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, '--chapter', '10', 'run', '--rm', 'busybox', 'true'], env }),
    },
    {
      key: 'dockling-ch1',
      label: 'dockling --chapter 1 run --rm busybox true (directory rootfs)',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, '--chapter', '1', 'run', '--rm', 'busybox', 'true'], env }),
    },
    {
      // Chapter 2's cost when limits are given: cgroup dirs made, limits
      // written, the init joined, and all of it removed again, per container.
      key: 'dockling-limits',
      label: 'dockling run --rm -m 64m --cpus 1 --pids-limit 100 busybox true',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'run', '--rm', '-m', '64m', '--cpus', '1', '--pids-limit', '100', 'busybox', 'true'], env }),
    },
    {
      // Chapter 7's cost: five named volumes (made by the first run, then
      // found) bind-mounted by the init, against the row 'dockling' (none).
      key: 'dockling-volumes5',
      label: 'dockling run --rm -v bv1:/v1 … -v bv5:/v5 busybox true',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'run', '--rm', ...FIVE_VOLUMES, 'busybox', 'true'], env }),
    },
    {
      // …and five anonymous ones, made and removed (with --rm) by every run.
      key: 'dockling-anon5',
      label: 'dockling run --rm -v /a1 … -v /a5 busybox true',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'run', '--rm', ...FIVE_ANONYMOUS, 'busybox', 'true'], env }),
    },
    {
      // Chapter 9: a 5-step build, every step made (two RUN containers, a
      // COPY layer, three config steps), then the same build from the cache.
      key: 'dockling-build-nocache',
      label: 'dockling build --no-cache -q (5 steps: 2 RUN, COPY, ENV, CMD)',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'build', '--no-cache', '-q', '-t', 'bench/nocache', w.buildContexts!.dockling], env }),
    },
    {
      key: 'dockling-build-cached',
      label: 'dockling build -q, all 5 steps from the cache',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'build', '-q', '-t', 'bench/cached', w.buildContexts!.dockling], env }),
    },
    {
      // Chapter 6's cost: the row 'dockling' is on the default bridge (veth
      // pair, IPAM lease, /etc/hosts); this one has only lo.
      key: 'dockling-none',
      label: 'dockling run --rm --network none busybox true',
      env: 'clean',
      cmd: () => ({ file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'run', '--rm', '--network', 'none', 'busybox', 'true'], env }),
    },
  );
  const d = w.docker;
  if (d) {
    // The peer: dockerd 20.10 (its own netns, started by the bench), the same busybox files.
    rows.push(
      { key: 'docker-bridge', label: 'docker run --rm busybox true (its bridge, dockerd 20.10)', env: 'clean', cmd: () => dockerCmd(d, ['run', '--rm', DOCKER_IMAGE, 'true']) },
      { key: 'docker-none', label: 'docker run --rm --network none busybox true', env: 'clean', cmd: () => dockerCmd(d, ['run', '--rm', '--network', 'none', DOCKER_IMAGE, 'true']) },
      { key: 'docker-volumes5', label: 'docker run --rm -v bv1:/v1 … -v bv5:/v5 busybox true', env: 'clean', cmd: () => dockerCmd(d, ['run', '--rm', ...FIVE_VOLUMES, DOCKER_IMAGE, 'true']) },
      { key: 'docker-build-nocache', label: 'DOCKER_BUILDKIT=0 docker build --no-cache -q (the same 5 steps)', env: 'clean', cmd: () => classicBuild(d, ['--no-cache', '-q', '-t', 'bench/nocache', w.buildContexts!.docker]) },
      { key: 'docker-build-cached', label: 'DOCKER_BUILDKIT=0 docker build -q, all from the cache', env: 'clean', cmd: () => classicBuild(d, ['-q', '-t', 'bench/cached', w.buildContexts!.docker]) },
    );
  }
  return rows;
}

/** docker's classic builder (the one dockling's output follows), not BuildKit. */
function classicBuild(d: DockerPeer, args: string[]) {
  const c = dockerCmd(d, ['build', ...args]);
  return { ...c, env: { ...c.env, DOCKER_BUILDKIT: '0' } };
}

/** Set when SIGINT/SIGTERM/SIGHUP arrives: stop after the running command. */
let interrupted: NodeJS.Signals | null = null;

class Interrupted extends Error {}

function checkInterrupted(): void {
  if (interrupted) throw new Interrupted();
}

async function runChecked(label: string, cmd: Cmd, w: World, opts: { stdout?: boolean } = {}) {
  checkInterrupted();
  const r = await timeRun(cmd, w.children, opts);
  checkInterrupted();
  if (r.code !== 0) {
    const err = r.stderr.trim().split('\n').slice(-5).join('\n  ');
    throw new BenchError(`${label} failed with status ${r.code}${err ? `:\n  ${err}` : ''}\n  command: ${shown(cmd)}`);
  }
  return r;
}

async function setUp(w: World): Promise<void> {
  fs.mkdirSync(path.join(w.scratch, 'tmp'));
  // ROOTFS: made by dockling itself, where `dockling run busybox` looks for it,
  // so the floor, runc and dockling all run the very same directory.
  await runChecked('dockling rootfs busybox', { file: NODE, args: ['--', BIN, '--root', w.stateRoot, 'rootfs', 'busybox', w.rootfs], env: w.env }, w);
  await makeBundle(w.tools.runc, w.bundle, w.rootfs, w.env, w.children);
  // Chapter 6's peer: a dockerd of the bench's own. Missing or broken, it
  // costs the docker rows, not the bench.
  w.dockerSkipped = dockerMissing() ?? undefined;
  if (!w.dockerSkipped) {
    try {
      w.docker = await startDocker(path.join(w.scratch, 'docker'), w.rootfs, w.tools.unshare, w.ip, w.env);
    } catch (e) {
      w.dockerSkipped = `dockerd did not start: ${(e as Error).message}`;
    }
  }
  if (w.dockerSkipped) process.stderr.write(`bench: the docker rows are skipped: ${w.dockerSkipped}\n`);
  w.buildContexts = makeBuildContexts(path.join(w.scratch, 'builds'), DOCKER_IMAGE);
}

/** Spread k traced runs evenly over n rounds. */
const tracedRound = (i: number, k: number, n: number) => Math.floor(((i + 1) * k) / n) > Math.floor((i * k) / n);

async function measure(w: World, opts: Options, progress: (s: string) => void) {
  const rows = makeRows(w);
  const samples = new Map<string, number[]>(rows.map((r) => [r.key, []]));
  const phaseSamples: PhaseSample[] = [];
  const steps: Map<string, number>[] = [];
  const nodeBoot: number[] = [];
  const argvs = new Map<string, string[]>();
  const traceProblems = new Set<string>();
  let traceNo = 0;

  // A traced dockling run, and a `node -e` that reports its clock's start, so
  // that the part of Node's boot before t=0 can be told apart.
  const tracedRun = async () => {
    const file = path.join(w.scratch, `trace-${++traceNo}.jsonl`);
    const cmd: Cmd = { file: NODE, args: ['--', BIN, '--root', w.stateRoot, '--trace-file', file, 'run', '--rm', 'busybox', 'true'], env: w.env };
    const r = await runChecked('dockling --trace-file run --rm busybox true', cmd, w);
    const records = parseTrace(fs.readFileSync(file, 'utf8'));
    fs.rmSync(file);
    // A trace that cannot be split (the runtime changed its events) costs the
    // phase table, not the whole bench.
    try {
      phaseSamples.push(phasesOf(records, r.ms));
      steps.push(gaps(records, w.scratch));
    } catch (e) {
      if (!(e instanceof BenchError)) throw e;
      traceProblems.add(e.message);
    }
  };
  const probe = async () => {
    const cmd: Cmd = { file: NODE, args: ['-e', 'process.stdout.write(String(performance.timeOrigin))'], env: w.env };
    const r = await runChecked('node -e (timeOrigin probe)', cmd, w, { stdout: true });
    nodeBoot.push(Number(r.stdout) - r.startEpoch);
  };

  const total = opts.warmup + opts.runs;
  for (let round = 0; round < total; round++) {
    const warm = round < opts.warmup;
    const i = round - opts.warmup;
    progress(warm ? `warm-up ${round + 1}/${opts.warmup}` : `round ${i + 1}/${opts.runs}`);
    type Task = () => Promise<void>;
    const tasks: Task[] = rows.map((row) => async () => {
      const cmd = row.cmd();
      if (!argvs.has(row.key)) argvs.set(row.key, [cmd.file, ...cmd.args]);
      const r = await runChecked(row.label, cmd, w);
      if (!warm) samples.get(row.key)!.push(r.ms);
      await row.after?.(cmd);
    });
    if (!warm && tracedRound(i, opts.traceRuns, opts.runs)) tasks.push(tracedRun, probe);
    // Rotate the order every round, so that no row always follows the same one.
    const start = round % tasks.length;
    for (let k = 0; k < tasks.length; k++) await tasks[(start + k) % tasks.length]();
  }
  return { rows, samples, phaseSamples, steps, nodeBoot, argvs, traceProblems };
}

/** Stop, remove and check everything the bench made. Returns what could not be removed. */
async function cleanUp(w: World): Promise<string[]> {
  const left: string[] = [];
  if (w.children.live.size > 0) {
    w.children.signalAll('SIGTERM');
    if (!(await w.children.drain(3000))) {
      w.children.signalAll('SIGKILL');
      await w.children.drain(2000);
    }
  }
  await deleteAll(w.tools.runc, w.runcRoot, w.runcIds, w.children);
  for (const id of await runcContainers(w.tools.runc, w.runcRoot, w.children)) left.push(`runc container ${id} (state in ${w.runcRoot})`);

  let procs = processesLeft(w.children.all, w.scratch);
  if (procs.length > 0) {
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) left.push(`process ${p.pid} (${p.cmdline}): ${p.why}; killed`);
    procs = processesLeft(w.children.all, w.scratch);
    for (const p of procs) left.push(`process ${p.pid} (${p.cmdline}) is still running: ${p.why}`);
  }

  for (const cg of cgroupsNamed((n) => n.startsWith(w.runcPrefix))) {
    try {
      fs.rmdirSync(cg);
      left.push(`cgroup ${cg} (removed)`);
    } catch (e) {
      left.push(`cgroup ${cg}: ${(e as Error).message}`);
    }
  }

  // dockling's own cgroups (chapter 2 on): new idle ones that stay. Another
  // dockling on this machine (a test run) may be tearing one down right now,
  // so look twice, and leave them be: the bench cannot tell whose they are.
  const fresh = () => idleDocklingCgroups().filter((d) => !w.cgroupsBefore.has(d));
  if (fresh().length > 0) await new Promise((r) => setTimeout(r, 1000));
  for (const cg of fresh()) left.push(`cgroup ${cg}: idle, appeared during the bench (from its dockling runs, or another dockling running meanwhile)`);

  for (const m of mountsUnder(w.scratch)) {
    left.push(`mount ${m} (lazily unmounted)`);
    await timeRun({ file: 'umount', args: ['--lazy', m], env: process.env }, w.children).catch(() => {});
  }

  // dockling's own leftovers in its state root (the rootfs stays until the end)
  // and in TMPDIR, which points into the scratch directory for every row
  const containers = path.join(w.stateRoot, 'containers');
  if (fs.existsSync(containers)) for (const c of fs.readdirSync(containers)) left.push(`dockling container directory ${c} (--rm did not remove it)`);
  const tmp = path.join(w.scratch, 'tmp');
  if (fs.existsSync(tmp)) for (const f of fs.readdirSync(tmp)) left.push(`temp file ${f} in TMPDIR`);

  const still = mountsUnder(w.scratch);
  if (still.length === 0) await fs.promises.rm(w.scratch, { recursive: true, force: true });
  else left.push(`kept ${w.scratch}: still mounted: ${still.join(', ')}`);
  return left;
}

// #region bench-netns
/** Set on the re-exec below: this process is in the network namespace the bench made. */
const NETNS_ENV = 'DOCKLING_BENCH_NETNS';

/**
 * dockling run (chapter 6) makes the dockling0 bridge, turns on ip_forward
 * and writes NAT rules in the network namespace it runs in. So that the
 * bench never does that to the machine's own network, it runs itself again
 * in a network namespace of its own holding only lo: every row (and the
 * docker peer's own namespace) lives and dies in there.
 */
function reexecInOwnNetns(tools: Tools, ip: string): Promise<number> {
  const child = spawn(
    tools.unshare,
    ['--net', '--', 'sh', '-c', `${ip} link set lo up && exec "$@"`, 'sh', NODE, ...process.execArgv, process.argv[1], ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, [NETNS_ENV]: '1' } },
  );
  // Ctrl-C reaches both (one process group); a signal to this process alone is passed on.
  const pass = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, pass);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new BenchError(`cannot start ${tools.unshare}: ${e.message}`)));
    child.on('exit', (code, sig) => resolve(code ?? 128 + (os.constants.signals[sig!] ?? 0)));
  });
}
// #endregion bench-netns

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const tools = checkHost(REPO);
  const ip = findTool('ip');
  if (!ip) throw new BenchError('ip not found: apt-get install iproute2');
  if (!process.env[NETNS_ENV]) return reexecInOwnNetns(tools, ip);
  const scratch = makeScratch();
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(scratch, 'tmp') };
  delete env.NODE_EXTRA_CA_CERTS;
  const w: World = {
    scratch,
    tools,
    stateRoot: path.join(scratch, 'state'),
    rootfs: path.join(scratch, 'state/rootfs/busybox'),
    runcRoot: path.join(scratch, 'runc'),
    bundle: path.join(scratch, 'bundle'),
    runcPrefix: `dockling-bench-${process.pid}-`,
    runcIds: new Set(),
    cgroupsBefore: new Set(idleDocklingCgroups()),
    children: new Children(),
    env,
    ip,
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    process.stderr.write(`\n${sig}: stopping the running command and cleaning up…\n`);
    w.children.signalAll('SIGTERM');
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  const tty = process.stderr.isTTY;
  const progress = (s: string) => {
    if (tty) process.stderr.write(`\r\x1b[Kbench: ${s}`);
  };

  let measured: Awaited<ReturnType<typeof measure>> | undefined;
  let storage: StorageRow[] = [];
  let aufs: AufsRow[] = [];
  let containers: ContainerRow[] = [];
  let network: NetworkRow[] = [];
  let registries: RegistryRow[] = [];
  const noRegistry = registryMissing();
  let failure: unknown;
  try {
    progress('setting up');
    await setUp(w);
    measured = await measure(w, opts, progress);
    progress('storage rows');
    storage = await storageRows(w.stateRoot, w.rootfs, w.scratch, opts.runs);
    storage.push(...(await exportRows(BIN, w.stateRoot, w.env, w.scratch, opts.runs)));
    progress('aufs rows');
    aufs = await aufsRows(BIN, w.scratch, w.env, opts.runs);
    progress('container rows');
    containers = await containerRows(BIN, w.stateRoot, w.env, opts.runs);
    progress('log rows');
    containers.push(...(await logRows(BIN, w.stateRoot, w.env, opts.runs)));
    progress('exec rows');
    containers.push(...(await execRows(BIN, w.stateRoot, w.env, opts.runs)));
    progress('network rows');
    network = await networkRows(BIN, w.stateRoot, w.env, opts.runs, w.docker);
    if (!noRegistry) {
      progress('registry rows');
      registries = await registryRows(BIN, w.stateRoot, w.env, w.scratch, opts.runs);
    }
  } catch (e) {
    failure = e;
  }
  progress('cleaning up');
  const leftBehind: string[] = [];
  // dockerd first, by its PID, after its containers: cleanUp would kill it as a leftover.
  if (w.docker) leftBehind.push(...(await stopDocker(w.docker).catch((e) => [`dockerd ${w.docker!.pid}: ${(e as Error).message}`])));
  leftBehind.push(...strayVolumes(w.stateRoot));
  leftBehind.push(...(await cleanUp(w)));
  if (tty) process.stderr.write('\r\x1b[K');

  if (interrupted || failure instanceof Interrupted) {
    if (leftBehind.length) process.stderr.write(`left behind:\n${leftBehind.map((l) => '  ' + l).join('\n')}\n`);
    else process.stderr.write('interrupted; everything the bench made is removed\n');
    return 128 + (os.constants.signals[interrupted ?? 'SIGINT'] ?? 2);
  }
  if (failure) {
    if (leftBehind.length) process.stderr.write(`left behind:\n${leftBehind.map((l) => '  ' + l).join('\n')}\n`);
    throw failure;
  }

  const m = measured!;
  const med = (key: string) => summarize(m.samples.get(key) ?? []).median;
  const floor = med('floor');
  const runc = med('runc');
  const rowResults: RowResult[] = m.rows.map((row) => {
    const s = summarize(m.samples.get(row.key)!);
    return {
      key: row.key,
      label: row.label,
      argv: (m.argvs.get(row.key) ?? []).map((a) => a.split(w.scratch).join('$BENCH')),
      env: row.env === 'clean' ? 'caller env without NODE_EXTRA_CA_CERTS' : 'caller env',
      samples: m.samples.get(row.key)!.map((x) => Math.round(x * 100) / 100),
      summary: s,
      xFloor: s.median / floor,
      xRunc: s.median / runc,
    };
  });

  const phaseMedian: Record<string, number> = {};
  const phaseP90: Record<string, number> = {};
  for (const { key } of PHASES) {
    const s = summarize(m.phaseSamples.map((p) => p[key]));
    phaseMedian[key] = s.median;
    phaseP90[key] = s.p90;
  }
  // the steps that take longest, by median over the traced runs
  const stepKeys = new Set(m.steps.flatMap((s) => [...s.keys()]));
  const slowestSteps = [...stepKeys]
    .map((step) => ({ step, median: median(m.steps.map((s) => s.get(step)).filter((x): x is number => x !== undefined)) }))
    .sort((a, b) => b.median - a.median)
    .slice(0, 6);

  const notes: string[] = [];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const d = med('node-caller-env') - med('node');
    notes.push(
      `NODE_EXTRA_CA_CERTS is set in your environment; it costs ${d.toFixed(1)} ms at every Node start-up here (node -e 0 with and without it). ` +
        'All other rows run without it; dockling itself starts its init with an empty environment.',
    );
  }
  if (w.dockerSkipped) notes.push(`the docker rows are skipped: ${w.dockerSkipped}`);
  if (noRegistry) notes.push(`the registry rows are skipped: ${noRegistry}`);
  for (const p of m.traceProblems) notes.push(`phases: ${p}`);
  if (process.env.NODE_OPTIONS) notes.push(`NODE_OPTIONS is set (${process.env.NODE_OPTIONS}); it applies to the node and dockling rows.`);
  notes.push(`every row includes the harness's own cost of starting a process from Node (the /bin/true row, ${med('true').toFixed(1)} ms)`);

  const results: Results = {
    meta: {
      node: process.version,
      kernel: os.release(),
      cpus: os.cpus().length,
      runs: opts.runs,
      warmup: opts.warmup,
      traceRuns: m.phaseSamples.length,
      loadavg: os.loadavg(),
      notes,
    },
    rows: rowResults,
    phases: {
      runs: m.phaseSamples.length,
      median: phaseMedian,
      p90: phaseP90,
      nodeBootBeforeTimeOrigin: median(m.nodeBoot),
      slowestSteps: slowestSteps.map((s) => ({ step: s.step.replace(/^\d+ /, ''), median: s.median })),
    },
    references: REFERENCES,
    storage,
    aufs,
    containers,
    network: [...runRatioRows(med, w.docker !== undefined), ...network],
    volumes: volumeRatioRows(med, w.docker !== undefined),
    builds: buildRatioRows(med, w.docker !== undefined),
    registries,
    leftBehind,
  };
  process.stdout.write(opts.json ? JSON.stringify(results, null, 2) + '\n' : formatText(results));
  return leftBehind.length === 0 ? 0 : 1;
}

// `npm run bench -- --json | head`: a reader that goes away is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(e instanceof BenchError ? `dockling bench: ${e.message}\n` : `dockling bench: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
