// Chapter 1's layer: namespaces. It adds `run` and `rootfs`, the flags of a
// process (-e, -w, -h, -i, -t, --name, --rm, --rootfs), and the stages that
// make a container out of a directory: prepare (rootfs, spec, files), create
// (unshare + init), start, wait, cleanup.
import fs from 'node:fs';
import path from 'node:path';
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import type { FlagSpec } from '../core/flags.js';
import type { ContainerSpec } from '../core/spec.js';
import { RunError, MachineError } from '../core/pipeline.js';
import { createContainer, removeContainerDir, updateConfig } from '../core/containers.js';
import { shortId, validateName } from '../core/ids.js';
import { writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { DEFAULT_DEVICES, DEFAULT_MOUNTS, DEFAULT_SYMLINKS, MASKED_PATHS, READONLY_PATHS, hostsFile, resolvConf } from './defaults.js';
import { EnvError, mergeEnv, parseEnvEntry, parseEnvFile, processEnv, recordedEnv } from './env.js';
import { haveNsexec, launchInit, NSEXEC, type LaunchedInit } from './launch.js';
import { makeBusyboxRootfs } from './rootfs.js';
import { runCommand, rootfsCommand, warnIfUnhardened } from './commands.js';
import { versionCommand } from './version.js';
import { containerSource, inBackground, launcher, origin, stdinNotSent, type Origin, type PreparedContainer } from './slots.js';
import { nowRFC3339Nano } from '../core/time.js';

const CH = 1;

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'env', short: 'e', kind: 'stringArray', usage: 'Set environment variables' },
  { name: 'env-file', kind: 'stringArray', usage: 'Read in a file of environment variables' },
  { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  { name: 'hostname', short: 'h', kind: 'string', usage: 'Container host name' },
  { name: 'name', kind: 'string', usage: 'Assign a name to the container' },
  { name: 'rm', kind: 'bool', usage: 'Automatically remove the container when it exits (before chapter 3, every container is)' },
  { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open' },
  { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { name: 'rootfs', kind: 'string', valueName: 'dir', usage: 'Run a root filesystem directory instead of an image; all arguments are the command' },
];

/** Where `busybox` lives until images arrive in chapter 3. */
export const busyboxRootfsDir = (stateRoot: string) => path.join(stateRoot, 'rootfs', 'busybox');

// #region resolve-rootfs
/**
 * Chapter 1's source of root filesystems: the name "busybox" (made on first
 * use from the host's busybox-static), or any directory given with --rootfs.
 * Later chapters put an image store in front of this step.
 */
function resolveRootfs(ctx: RunContext): string {
  const dir = ctx.flags.get('rootfs') as string | undefined;
  if (dir !== undefined) {
    const abs = path.resolve(dir);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
      throw new RunError(125, `rootfs ${abs}: no such directory (make one with \`dockling rootfs busybox ${dir}\`)`);
    }
    return abs;
  }
  if (ctx.image !== 'busybox' && ctx.image !== 'busybox:latest') {
    throw new RunError(125, `Unable to find image '${ctx.image}' locally: chapter 1 knows only "busybox" (made from the host's busybox-static) and --rootfs DIR`);
  }
  const bb = busyboxRootfsDir(ctx.stateRoot);
  if (!fs.existsSync(path.join(bb, 'bin/busybox'))) makeBusyboxRootfs(bb);
  return bb;
}
// #endregion resolve-rootfs

/** Chapter 1's own origin: a rootfs directory, running `sh` unless told otherwise. */
function ownOrigin(ctx: RunContext): Origin {
  const bare = ctx.flags.has('rootfs');
  return { rootfs: resolveRootfs(ctx), image: bare ? '' : ctx.image, env: [], cmd: bare ? [] : ['sh'], entrypoint: null, workingDir: '' };
}

/** The user's -e and --env-file entries, checked (validate stage). */
function userEnv(ctx: RunContext): string[] {
  const files = (ctx.flags.get('env-file') as string[] | undefined) ?? [];
  const flags = (ctx.flags.get('env') as string[] | undefined) ?? [];
  try {
    const fromFiles = files.flatMap((f) => {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(f);
      } catch (e) {
        throw new EnvError(`open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, { cause: e });
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        throw new EnvError(`env file ${f} contains invalid utf8 bytes`);
      }
      return parseEnvFile(text, f, process.env);
    });
    const fromFlags = flags.map((e) => parseEnvEntry(e, process.env)).filter((e): e is string => e !== null);
    return mergeEnv(fromFiles, fromFlags);
  } catch (e) {
    if (e instanceof EnvError) throw new RunError(125, e.message, { cause: e });
    throw e;
  }
}

/** The container's environment: Docker's record of it (the image's and the user's), and the defaults each start adds. */
function containerEnv(ctx: RunContext, from: Origin, hostname: string, user: string[]): string[] {
  return processEnv(recordedEnv(from.env, user), hostname, Boolean(ctx.flags.get('tty')));
}

const checked = new Slot<Checked>('process');
interface Checked {
  /** -w, if given */
  cwd: string | undefined;
  name: string | undefined;
  hostname: string | undefined;
  env: string[];
}

/** Check everything chapter 1 is given before anything is made. */
function validate(ctx: RunContext): void {
  if (process.getuid?.() !== 0) throw new MachineError(125, 'dockling must run as root to create namespaces (try: sudo dockling …)');
  if (!haveNsexec()) throw new MachineError(125, `${NSEXEC} is missing: build dockling with \`npm run build\` (it needs a C compiler: apt-get install gcc)`);
  const cwd = ctx.flags.get('workdir') as string | undefined;
  if (cwd !== undefined && !cwd.startsWith('/')) throw new RunError(125, `the working directory '${cwd}' is invalid, it needs to be an absolute path`);
  const wantedName = ctx.flags.get('name') as string | undefined;
  let name: string | undefined;
  try {
    name = wantedName === undefined ? undefined : validateName(wantedName);
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
  const hostname = ctx.flags.get('hostname') as string | undefined;
  if (hostname !== undefined && (hostname.length === 0 || Buffer.byteLength(hostname) > 64)) {
    throw new RunError(125, `invalid hostname "${hostname}": it must be 1 to 64 bytes long`);
  }
  checked.set(ctx, { cwd, name, hostname, env: userEnv(ctx) });
}

// #region image-command
/**
 * What to run: the origin's entrypoint, then the arguments given after
 * IMAGE or else the origin's Cmd (chapter 1's is `sh`; an image's is its
 * CMD, chapter 4; chapter 5 adds --entrypoint and the whole table).
 */
export function commandParts(from: Origin, args: string[]): { entrypoint: string[] | null; cmd: string[] } {
  return { entrypoint: from.entrypoint, cmd: args.length > 0 ? args : from.cmd };
}

/** The command line itself: ENTRYPOINT followed by CMD. */
export function commandOf(from: Origin, args: string[]): string[] {
  const { entrypoint, cmd } = commandParts(from, args);
  return [...(entrypoint ?? []), ...cmd];
}

function commandToRun(ctx: RunContext, from: Origin): string[] {
  const command = commandOf(from, ctx.command);
  if (command.length === 0) {
    throw new RunError(125, ctx.flags.has('rootfs')
      ? 'no command given: name the program to run after --rootfs DIR'
      : 'No command specified: name the program after the image (the image gives no CMD or ENTRYPOINT to run)');
  }
  return command;
}
// #endregion image-command

/** A new container: its ID, name and config.v2.json, from the flags and its origin. */
function newContainer(ctx: RunContext): PreparedContainer {
  const { cwd: wantedCwd, name, hostname: wantedHost, env: user } = checked.get(ctx)!;
  const from = origin.get(ctx) ?? ownOrigin(ctx);
  // A root a later layer mounts (chapter 4's image) is not known until the
  // container exists.
  const rootfs = from.rootfs ?? '';
  const command = commandToRun(ctx, from);
  const cwd = wantedCwd ?? (from.workingDir || '/');

  const now = nowRFC3339Nano();
  let rec;
  try {
    rec = createContainer(ctx.stateRoot, name, (r) => ({
      ID: r.id, Name: '/' + r.name, Created: now, Path: command[0], Args: command.slice(1),
      State: { Status: 'created', Running: false, Pid: 0, ExitCode: 0, StartedAt: '', FinishedAt: '' },
      Config: {
        // Env and WorkingDir as Docker records them: what the image and the
        // user said ("" when neither gave a directory); the process gets
        // them with the defaults of each start (containerEnv, cwd "/").
        Hostname: wantedHost ?? shortId(r.id), Env: recordedEnv(from.env, user),
        // Docker keeps the two halves apart: Entrypoint, then Cmd (the
        // arguments given, or the origin's Cmd).
        Cmd: commandParts(from, ctx.command).cmd,
        Entrypoint: from.entrypoint,
        Image: from.image,
        WorkingDir: wantedCwd ?? from.workingDir, Tty: Boolean(ctx.flags.get('tty')), OpenStdin: Boolean(ctx.flags.get('interactive')),
      },
      // What every container gets (the spec below), in the words of
      // Docker's HostConfig: its own network namespace with only loopback
      // is Docker's --network none; "private" IPC and cgroup namespaces;
      // "" for PID and UTS is Docker's "a namespace of its own"; /dev/shm's
      // size=65536k and the masked and read-only /proc paths of defaults.ts.
      HostConfig: {
        NetworkMode: 'none', IpcMode: 'private', PidMode: '', UTSMode: '', CgroupnsMode: 'private',
        ShmSize: 64 * 1024 * 1024, MaskedPaths: [...MASKED_PATHS], ReadonlyPaths: [...READONLY_PATHS],
      },
      Rootfs: rootfs, Chapter: ctx.chapter, MonitorPid: process.pid,
    }));
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
  trace.emit(CH, { op: 'mkdir', path: rec.dir, mode: 0o710 });
  const hostname = wantedHost ?? shortId(rec.id);
  // (the same env went into config.v2.json when the container was made)
  return { rec, rootfs, command, cwd, hostname, env: containerEnv(ctx, from, hostname, user) };
}

function prepare(ctx: RunContext): void {
  // Docker refuses -it when its input is not a terminal: raw mode and ^D
  // mean nothing on a pipe, and the pty would never see the end of input.
  // (Not for a command run in the background: nothing is attached then.
  // Hence here, after every layer's validate, and before anything is made.)
  if (ctx.flags.get('tty') && ctx.flags.get('interactive') && !process.stdin.isTTY && !inBackground.get(ctx) && !stdinNotSent.get(ctx)) {
    throw new RunError(1, 'the input device is not a TTY (drop -t to pipe input into the container)');
  }
  const { rec, rootfs, command, cwd, hostname, env } = (containerSource.get(ctx) ?? newContainer)(ctx);
  ctx.container = rec;

  // The container's own /etc/hostname, /etc/hosts and /etc/resolv.conf live
  // in its state directory and are bind-mounted over the rootfs's, as Docker
  // does: the rootfs (shared by every busybox container) stays untouched.
  let hostResolv = '';
  try {
    hostResolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    /* a host without one */
  }
  const files: [string, string][] = [['hostname', hostname + '\n'], ['hosts', hostsFile(hostname)], ['resolv.conf', resolvConf(hostResolv)]];
  for (const [f, text] of files) {
    trace.emit(CH, { op: 'write', path: path.join(rec.dir, f), value: text.length > 40 ? text.slice(0, 37) + '...' : text });
    writeFileAtomic(path.join(rec.dir, f), text);
  }

  // #region build-spec
  const spec: ContainerSpec = {
    id: rec.id,
    root: { path: rootfs },
    hostname,
    process: {
      args: command, env, cwd, terminal: Boolean(ctx.flags.get('tty')),
      consoleSize: process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
    },
    namespaces: ['pid', 'mount', 'uts', 'ipc', 'network', 'cgroup'],
    mounts: [
      ...DEFAULT_MOUNTS,
      ...files.map(([f]) => ({ destination: `/etc/${f}`, type: 'bind', source: path.join(rec.dir, f), options: ['rbind', 'rprivate'] })),
    ],
    devices: DEFAULT_DEVICES,
    symlinks: DEFAULT_SYMLINKS,
    maskedPaths: MASKED_PATHS,
    readonlyPaths: READONLY_PATHS,
  };
  // #endregion build-spec
  ctx.spec = spec;
}

const initOf = (ctx: RunContext) => ctx.init as LaunchedInit | undefined;

async function create(ctx: RunContext): Promise<void> {
  warnIfUnhardened(ctx.chapter);
  ctx.init = await (launcher.get(ctx) ?? launchInit)({
    namespaces: ctx.spec.namespaces,
    joinNetwork: ctx.spec.joinNetwork,
    stdin: Boolean(ctx.flags.get('interactive')),
    terminal: ctx.spec.process.terminal,
  });
}

async function start(ctx: RunContext): Promise<void> {
  const init = initOf(ctx)!;
  // From here on, signals sent to dockling are meant for the container.
  const forward = (sig: NodeJS.Signals) => init.signal(sig);
  signalProxy.set(ctx, forward);
  for (const sig of PROXIED) process.on(sig, forward);
  if (ctx.spec.process.terminal && ctx.flags.get('interactive') && !stdinNotSent.get(ctx)) {
    const { enterRawMode } = await import('./terminal.js');
    terminalRestore.set(ctx, enterRawMode());
  }
  await init.start(ctx.spec);
  ctx.started = true;
  updateConfig(ctx.container, (c) => {
    c.State = { ...c.State, Status: 'running', Running: true, Pid: init.pid, StartedAt: nowRFC3339Nano() };
  });
}

// #region proxy-signals
// Docker's --sig-proxy: signals sent to the CLI are passed on to the
// container's PID 1. (The kernel lets PID 1 of a namespace ignore any signal
// it has no handler for, so a plain `sleep` as PID 1 ignores SIGTERM.)
const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
// #endregion proxy-signals

const signalProxy = new Slot<(sig: NodeJS.Signals) => void>('signal-proxy');
/** `wait` saw the command's end: its PID 1 is gone. */
const commandEnded = new Slot<boolean>('command-ended');
const terminalRestore = new Slot<() => void>('restore-terminal');

async function wait(ctx: RunContext): Promise<void> {
  if (inBackground.get(ctx)) return; // nothing to wait for here
  const init = initOf(ctx)!;
  let relay: import('./terminal.js').TerminalRelay | undefined;
  if (init.ptyMaster !== undefined) {
    const { relayTerminal } = await import('./terminal.js');
    relay = relayTerminal(init.ptyMaster, Boolean(ctx.flags.get('interactive')));
  }
  const status = await init.exited;
  commandEnded.set(ctx, true);
  if (relay) {
    await relay.drain();
    relay.restore();
  }
  restoreTerminal(ctx);
  if (inBackground.get(ctx)) {
    // Put in the background while we waited (chapter 5's detach keys): it
    // runs on, nothing ended.
    ctx.exitCode = 0;
    return;
  }
  trace.emit(CH, { op: 'exit', code: status.code, signal: status.signal });
  ctx.exitCode = status.code;
  // The init could not exec the command (126/127): say why, as Docker does.
  if (init.failure) ctx.failure = init.failure;
}

function restoreTerminal(ctx: RunContext): void {
  terminalRestore.get(ctx)?.();
}

async function cleanup(ctx: RunContext): Promise<void> {
  restoreTerminal(ctx);
  const forward = signalProxy.get(ctx);
  if (forward) for (const sig of PROXIED) process.off(sig, forward);
  // A container left to run on in someone else's care is theirs now.
  if (ctx.outcome === 'leave') return;
  const init = initOf(ctx);
  if (init && init.child.exitCode === null && init.child.signalCode === null) {
    // We are here because a later stage failed: the container must not
    // outlive its CLI. SIGKILL to PID 1 of a namespace kills all of it; and
    // if the init has not even said hello yet, killing nsexec takes it down
    // too (nsexec set PR_SET_PDEATHSIG on it).
    // #region hang-up
    // Under a supervisor (the `launcher` slot: chapter 5's monitor) nsexec
    // is the supervisor's child and does not die with us, so an init that
    // has not said hello (a stage failed before it had booted: we do not
    // know its PID) would wait for its spec forever, and our end of the
    // channel, still open, would keep this CLI alive too. Hanging up ends
    // that wait: the init reads end-of-file and exits.
    init.hangUp();
    // PID 1 is killed only if it may still be there. Once `wait` has seen
    // its end (a supervisor may linger a moment after it, so our child is
    // still running), PID 1 and its namespace are gone, and its number may
    // be another process's by now.
    if (!commandEnded.get(ctx)) init.signal('SIGKILL');
    init.child.kill('SIGKILL');
    // Wait for our child (nsexec, or its supervisor) itself: `init.exited`
    // of a command run in the background never resolves, and awaiting it
    // would leave Node with nothing to do but exit, 0, before the rest of
    // the cleanup and the error message.
    const child = init.child;
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    // #endregion hang-up
  }
  if (!ctx.container) return;
  // #region keep-or-remove
  // In chapter 1 a container is only its command: it is removed when the
  // command exits (as if --rm were always given). A later layer with
  // something worth keeping (chapter 4's writable layer) makes the outcome
  // 'keep': the container stays, stopped, with its exit code, until `rm`.
  if (ctx.outcome === 'keep') {
    // Stopped on purpose before its command (`create`): it stays as made, created.
    if (ctx.until && !ctx.started && !ctx.failure) return;
    const code = ctx.failure?.code ?? ctx.exitCode ?? 125;
    updateConfig(ctx.container, (c) => {
      c.State = { ...c.State, Status: 'exited', Running: false, Pid: 0, ExitCode: code, FinishedAt: nowRFC3339Nano() };
    });
    return;
  }
  trace.emit(CH, { op: 'remove', path: ctx.container.dir });
  removeContainerDir(ctx.container.dir);
  // #endregion keep-or-remove
}

// #region layer
export const namespacesLayer: Layer = {
  chapter: CH,
  name: 'namespaces',
  runFlags: RUN_FLAGS,
  commands: [runCommand, rootfsCommand, versionCommand],
  stages: { validate, prepare, create, start, wait, cleanup },
  // what makes the namespaces: nsexec, as runc does for Docker
  version: () => ({ Runtime: NSEXEC }),
};
// #endregion layer
