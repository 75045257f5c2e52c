// Starting the init: the host side of process creation.
//
// Node cannot make PID or mount namespaces for itself: unshare(2) of a PID
// namespace only applies to the caller's future children, and Node cannot
// fork() without exec(); a mount namespace made by one thread of a
// multithreaded process would leave its other threads (libuv's pool) behind.
// So, like runc (whose nsexec is C for the same reason in Go), we make the
// namespaces around a fresh process: the small C helper nsexec (nsexec.c)
// creates them, forks, and execs a new Node running init.js inside them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { CHANNEL_FD, lineSplitter, type HostMessage, type InitMessage } from './channel.js';
import type { ContainerSpec, IdMapping, NamespaceName } from '../core/spec.js';
import type { InitHandle } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { decodeRecord } from '../trace/events.js';
import { trace } from '../trace/trace.js';

const INIT_JS = fileURLToPath(new URL('./init.js', import.meta.url));
export const NSEXEC = fileURLToPath(new URL('./nsexec', import.meta.url));

// #region unshare-flags
// nsexec's letter for each namespace, and the clone flag it stands for. The
// cgroup namespace is left to the init (see init.ts): it must be made after
// the init has joined its cgroup.
const UNSHARE_FLAG: Partial<Record<NamespaceName, [string, string]>> = {
  pid: ['p', 'CLONE_NEWPID'],
  mount: ['m', 'CLONE_NEWNS'],
  uts: ['u', 'CLONE_NEWUTS'],
  ipc: ['i', 'CLONE_NEWIPC'],
  network: ['n', 'CLONE_NEWNET'],
};
// #endregion unshare-flags

export interface LaunchOptions {
  namespaces: NamespaceName[];
  /**
   * A network namespace to join rather than make (spec.joinNetwork): nsexec
   * is started under util-linux's `nsenter --net=PATH`, which setns(2)es
   * and then execs it, so nsexec and everything after it live there.
   */
  joinNetwork?: string;
  /** give the command the caller's stdin (-i) */
  stdin: boolean;
  /** -t: the init will send a pty master over fd 4 */
  terminal: boolean;
  /**
   * Start nsexec under this supervisor's command line, which then holds
   * the container's stdio, pty and exit status and outlives the CLI
   * (chapter 5's monitor), instead of as the CLI's own child with the
   * CLI's stdio.
   */
  supervisor?: string[];
  /**
   * Chapter 11 (--userns-remap): a user namespace too, with these maps
   * (spec.uidMappings and gidMappings), written by nsexec's mapper.
   */
  idMappings?: { uid: IdMapping[]; gid: IdMapping[] };
}

// #region userns-args
/** A map as nsexec takes it: uid_map's "INSIDE OUTSIDE COUNT" lines, joined by ','. */
const mapArg = (maps: IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join(',');

/** nsexec's arguments before PROGRAM: the flag letters, then the two maps with "U". */
function nsexecArgs(letters: string, idMappings: LaunchOptions['idMappings']): string[] {
  if (!idMappings) return [letters];
  return [letters + 'U', mapArg(idMappings.uid), mapArg(idMappings.gid)];
}

/** The maps as nsexec's mapper writes them, once nsexec has unshared. */
function traceIdMaps(idMappings: LaunchOptions['idMappings']): void {
  if (!idMappings) return;
  for (const [file, maps] of [['uid_map', idMappings.uid], ['gid_map', idMappings.gid]] as const) {
    trace.emit(11, { op: 'write', path: `/proc/<nsexec>/${file}`, value: mapArg(maps).replaceAll(',', '\n') });
  }
}
// #endregion userns-args

export interface LaunchedInit extends InitHandle {
  /** with -t, the pty master once `start` has resolved */
  ptyMaster?: number;
  /** what the init reported when it could not run the command */
  readonly failure: { code: number; message: string } | undefined;
  child: ChildProcess;
  /** let the CLI exit while the child (a supervisor) goes on: drop our hold on it */
  release(): void;
  /**
   * close our end of the channel: an init still waiting for its spec reads
   * end-of-file and exits (init.ts), even one whose PID we never learnt
   */
  hangUp(): void;
}

export async function launchInit(opts: LaunchOptions): Promise<LaunchedInit> {
  const flags = opts.namespaces.map((n) => UNSHARE_FLAG[n]).filter((f) => f !== undefined);
  // "D": nsexec's parent is a supervisor. It still dies with it, and the
  // container with them: nobody else could hold its output.
  const letters = flags.map((f) => f[0]).join('') + (opts.supervisor ? 'D' : '');
  const userns = opts.idMappings ? ['CLONE_NEWUSER'] : [];
  // (a full path: the monitor execv(2)s its PROGRAM without a PATH search)
  const nsenter = ['/usr/bin/nsenter', '/bin/nsenter'].find((p) => fs.existsSync(p)) ?? 'nsenter';
  const join = opts.joinNetwork ? [nsenter, `--net=${opts.joinNetwork}`, '--'] : [];
  const argv = [...(opts.supervisor ?? []), ...join, NSEXEC, ...nsexecArgs(letters, opts.idMappings), process.execPath, INIT_JS];
  // In the order they happen: we start nsexec, nsexec makes the namespaces
  // (and, with a user namespace, its mapper writes the maps). nsexec reports
  // nothing itself; we tell its steps for it, after the spawn that causes them.
  trace.emit(1, { op: 'spawn', argv });
  trace.emit(1, { op: 'unshare', flags: [...userns, ...flags.map((f) => f[1])], by: 'nsexec' });
  traceIdMaps(opts.idMappings);

  // With -t, a socketpair for the console (SCM_RIGHTS needs a unix socket,
  // and koffi is only loaded on this path).
  let consolePair: [number, number] | undefined;
  let libc: typeof import('../sys/libc.js') | undefined;
  if (opts.terminal && !opts.supervisor) {
    libc = await import('../sys/libc.js');
    consolePair = libc.socketpair();
  }
  // #region spawn-init
  const child = spawn(argv[0], argv.slice(1), {
    stdio: opts.supervisor
      ? ['ignore', 'ignore', 'ignore', 'pipe']
      : [opts.stdin && !opts.terminal ? 'inherit' : 'ignore', 'inherit', 'inherit', 'pipe', ...(consolePair ? [consolePair[1]] : [])],
    // The init needs no environment; NODE_OPTIONS or NODE_EXTRA_CA_CERTS
    // from the caller would only slow its start (the latter by ~40 ms).
    env: {},
    // A session of its own: ^C typed at the terminal reaches only the CLI,
    // which passes it on once (as Docker's CLI does), not the container too.
    detached: true,
  });
  if (consolePair) libc!.close(consolePair[1]);
  // #endregion spawn-init

  const channel = child.stdio[CHANNEL_FD] as import('node:net').Socket;
  const exited = new Promise<{ code: number; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? 128 + (os.constants.signals[signal!] ?? 0), signal })),
  );
  let failure: { code: number; message: string } | undefined;
  let onHello: (pid: number) => void = () => {};
  let onExec: () => void = () => {};
  channel.on('data', lineSplitter((line) => {
    const rec = decodeRecord(line);
    if (rec) return trace.forward(rec);
    const m = JSON.parse(line) as InitMessage;
    if (m.msg === 'hello') onHello(m.pid);
    else if (m.msg === 'exec') onExec();
    else if (m.msg === 'error') failure = { code: m.code, message: m.message };
  }));
  channel.on('error', () => {}); // the init may be gone; `exited` reports it

  // Rejects once the init has exited: raced against each step we wait for,
  // so that a dead init ends the wait with its reason instead of hanging.
  const died = exited.then((e) => {
    const f = failure ?? { code: 125, message: `the container's init exited before starting the command (status ${e.code})` };
    throw new RunError(f.code, f.message);
  });
  died.catch(() => {}); // on the good path nobody awaits it
  const failed = () => died;

  const hello = new Promise<number>((resolve) => (onHello = resolve));
  child.on('error', (e) => {
    failure = { code: 125, message: `cannot start ${NSEXEC}: ${e.message} (run \`npm run build\`)` };
  });
  const ready = Promise.race([hello, failed()]);
  ready.catch(() => {}); // awaited by the stages that need it

  const handle: LaunchedInit = {
    pid: 0,
    ready,
    child,
    exited,
    get failure() {
      return failure;
    },
    release() {
      channel.destroy();
      child.unref();
    },
    hangUp() {
      channel.destroy();
    },
    signal(sig) {
      const pid = handle.pid;
      if (!pid) return;
      trace.emit(1, { op: 'signal', pid, signal: sig });
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    },
    async start(spec: ContainerSpec) {
      await ready;
      const msg: HostMessage = { msg: 'start', spec, trace: trace.enabled, traceOrigin: trace.origin };
      const execed = new Promise<void>((resolve) => (onExec = resolve));
      channel.write(JSON.stringify(msg) + '\n');
      if (consolePair) {
        handle.ptyMaster = await Promise.race([libc!.recvFd(consolePair[0]), failed()]);
        libc!.close(consolePair[0]);
      }
      await Promise.race([execed, failed()]);
    },
  };
  void ready.then((pid) => (handle.pid = pid), () => {});
  return handle;
}

/** Is the nsexec helper built? (`npm run build` compiles nsexec.c) */
export function haveNsexec(): boolean {
  try {
    fs.accessSync(NSEXEC, fs.constants.X_OK);
    return true;
  } catch {
    return false; // not there, or not executable: not built
  }
}
