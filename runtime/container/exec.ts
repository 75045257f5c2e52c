// `exec` runs another process in a running container; `attach` connects the
// terminal to the container's main process again.
//
// exec needs no monitor and no Node init: nsenter.c joins the container's
// cgroups, enters its namespaces with setns(2) (the mount namespace last,
// so that the paths before it are the host's), forks (a PID namespace
// applies to children only), and execs the command found in the
// container's own PATH. With -t it opens a pty from the container's devpts
// and sends us the master, as the init does for `run -t`. Without -t the
// command's stdio are pipes that we copy (relayStdio): never our own
// descriptors, which would hand it the caller's terminal or files.
//
// From chapter 11 on, each layer's `exec` hook says what the exec'd process
// is held to (the container's capabilities, no_new_privs, rlimits, seccomp
// filter) and nsenter applies it inside the container, just before execve:
// a process that enters from outside must not be freer than PID 1.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Command } from '../core/layer.js';
import type { ExecSettings } from '../core/spec.js';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { findContainer } from './lifecycle.js';
import { containerDir, isPaused, isRunning } from './state.js';
import { FRAME, attach } from './attach.js';
import { detachKeyFilter } from './launch.js';
import { mergeEnv, processEnv } from '../process/env.js';

const CH = 5;
export const NSENTER = fileURLToPath(new URL('./nsenter', import.meta.url));

function parseEnvFlag(e: string): string | null {
  if (e.includes('=')) return e;
  const v = process.env[e];
  return v === undefined ? null : `${e}=${v}`;
}

// #region exec
export const execCommand: Command = {
  name: 'exec',
  aliases: ['container exec'],
  summary: 'Execute a command in a running container',
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  flags: [
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
    { name: 'env', short: 'e', kind: 'stringArray', usage: 'Set environment variables' },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
    { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  ],
  stopAtFirstArg: true,
  minArgs: 2,
  async run(inv) {
    const [ref, ...command] = inv.args;
    const c = findContainer(inv.stateRoot, ref);
    if (!isRunning(c)) throw new RunError(1, `container ${c.ID} is not running`);
    if (isPaused(c)) throw new RunError(1, `Error response from daemon: Container ${ref} is paused, unpause the container before exec`);
    const tty = Boolean(inv.flags.get('tty'));
    const interactive = Boolean(inv.flags.get('interactive'));
    if (tty && interactive && !process.stdin.isTTY) throw new RunError(1, 'the input device is not a TTY');
    // -u, else the container's own user (its USER or run --user), as
    // Docker's exec does; nsenter looks it up inside the container.
    const user = (inv.flags.get('user') as string | undefined) ?? (c.Config as { User?: string }).User ?? '';
    const groupAdd = ((c.HostConfig?.GroupAdd as string[] | null | undefined) ?? []);
    const given = ((inv.flags.get('env') as string[] | undefined) ?? []).map(parseEnvFlag).filter((e): e is string => e !== null);
    // Docker's exec: the container's recorded env with the defaults of a
    // start (TERM with exec's -t), then exec's -e.
    const env = mergeEnv(processEnv(c.Config.Env, c.Config.Hostname, tty), given);
    // HOME=/root is the default for root that processEnv added when nobody
    // set HOME: another user gets its own home from its passwd entry, as
    // runc sets it.
    const home = user !== '' && ![...c.Config.Env, ...given].some((e) => e.startsWith('HOME='));
    // What later layers hold the exec'd process to (chapter 11: the
    // container's capabilities, no_new_privs, rlimits, seccomp filter).
    const settings: ExecSettings = {};
    for (const l of inv.layers) l.exec?.(c, inv.flags, settings);
    const argv = [
      NSENTER,
      ...(tty ? ['--tty'] : []),
      '--cwd', (inv.flags.get('workdir') as string | undefined) ?? (c.Config.WorkingDir || '/'),
      ...(user || groupAdd.length ? ['--user', user, ...(home ? ['--home'] : []), ...groupAdd.flatMap((g) => ['--group-add', g])] : []),
      ...Object.values(c.CgroupPaths ?? {}).flatMap((p) => ['--cgroup', path.join(p, 'cgroup.procs')]),
      ...settingsArgs(settings),
      String(c.State.Pid), '--', ...command,
    ];
    trace.emit(CH, { op: 'spawn', argv });
    let libc: typeof import('../sys/libc.js') | undefined;
    let pair: [number, number] | undefined;
    if (tty) {
      libc = await import('../sys/libc.js');
      pair = libc.socketpair();
    }
    const detach = Boolean(inv.flags.get('detach'));
    // Never our own descriptors (see relayStdio): pipes, or 'ignore' (our
    // /dev/null, which nsenter swaps for the container's own).
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [
        interactive && !tty && !detach ? 'pipe' : 'ignore', detach ? 'ignore' : 'pipe', detach ? 'ignore' : 'pipe', 'pipe',
        pair ? pair[1] : 'ignore', ...(settings.seccomp ? ['pipe' as const] : []),
      ],
      env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      detached: true,
    });
    if (pair) libc!.close(pair[1]);
    // The seccomp program goes through a pipe of its own (fd 5), which
    // nsenter reads to the end before it enters the container: never a file
    // path, which inside the container would be the container's to forge.
    if (settings.seccomp) {
      const fd5 = (child.stdio as unknown as Writable[])[SECCOMP_FD];
      fd5.on('error', () => {}); // nsenter died early: its own message says why
      fd5.end(Buffer.from(settings.seccomp.program, 'base64'));
    }
    const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? 128 + (os.constants.signals[sig!] ?? 0))));
    child.on('error', (e) => process.stderr.write(`dockling: cannot start ${NSENTER}: ${e.message} (run \`npm run build\`)\n`));
    // nsenter tells us the exec'd process's host PID: signals go to it.
    let pid = 0;
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (pid = Number(String(d).trim()) || pid));
    const forward = (sig: NodeJS.Signals) => pid && process.kill(pid, sig);
    if (detach) {
      child.unref();
      (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
      return 0;
    }
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, forward);
    const relayed = relayStdio(child);
    let relay: import('../process/terminal.js').TerminalRelay | undefined;
    let restore = () => {};
    if (pair) {
      const { enterRawMode, relayTerminal } = await import('../process/terminal.js');
      // Awaited even if the command has already exited: its output waits in
      // the pty for us. recvFd fails only if nsenter sent nothing at all.
      const master = await libc!.recvFd(pair[0]).catch(() => -1);
      libc!.close(pair[0]);
      if (master >= 0) {
        if (interactive) restore = enterRawMode();
        relay = relayTerminal(master, interactive);
      }
    }
    const code = await exited;
    await relayed;
    if (relay) {
      await relay.drain();
      relay.restore();
    }
    restore();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, forward);
    return code;
  },
};
// #endregion exec

// #region exec-settings
/** The fd on which nsenter reads the seccomp program (see nsenter.c). */
const SECCOMP_FD = 5;

/**
 * ExecSettings as nsenter's options: capability sets as hexadecimal masks
 * (bit N = capability N, as /proc/PID/status prints them), rlimits by name.
 */
function settingsArgs(s: ExecSettings): string[] {
  const hex = (mask: bigint) => mask.toString(16);
  const c = s.capabilities;
  return [
    ...(c ? ['--caps', [c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map(hex).join(':')] : []),
    ...(s.noNewPrivileges ? ['--no-new-privs'] : []),
    ...(s.rlimits ?? []).flatMap((r) => ['--rlimit', `${r.type}=${r.soft}:${r.hard}`]),
    ...(s.seccomp ? ['--seccomp-fd', String(SECCOMP_FD)] : []),
  ];
}
// #endregion exec-settings

// #region exec-relay
/*
 * The command's stdio are pipes that we copy, never our own descriptors.
 * Handed our terminal, root in the container could push keystrokes into the
 * host shell that ran us (ioctl TIOCSTI), or reopen /proc/self/fd/1 and so
 * reach a host file; handed a file, it could fchmod, truncate or read it
 * past what we meant to give. Docker's CLI copies streams the same way (over
 * the daemon's socket). stream.pipe() keeps the backpressure: a slow reader
 * of our stdout slows the command down instead of filling our memory. When
 * our stdin ends, the command's stdin pipe is closed (EOF inside).
 */
function relayStdio(child: ChildProcess): Promise<void> {
  const copied = (from: Readable | null, to: NodeJS.WritableStream) =>
    new Promise<void>((resolve) => {
      if (!from) return resolve();
      from.pipe(to, { end: false });
      // Whoever reads our output went away (EPIPE): keep draining the
      // command's pipe, so that it does not block on a full one.
      to.on('error', () => {
        from.unpipe(to);
        from.resume();
      });
      from.on('close', resolve);
    });
  if (child.stdin) {
    // The command may exit, or close its stdin, before we are done: EPIPE.
    child.stdin.on('error', () => {});
    process.stdin.pipe(child.stdin);
  }
  return Promise.all([copied(child.stdout, process.stdout), copied(child.stderr, process.stderr)]).then(() => {
    if (child.stdin) {
      process.stdin.unpipe(child.stdin);
      process.stdin.pause();
    }
  });
}
// #endregion exec-relay

/** --detach-keys: "ctrl-p,ctrl-q" (Docker's default) → the bytes 0x10 0x11. */
export function parseDetachKeys(s: string): Buffer {
  const out: number[] = [];
  for (const k of s.split(',')) {
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const ch = m[1].toLowerCase();
      const code = ch === '@' ? 0 : ch === '[' ? 27 : ch === '\\' ? 28 : ch === ']' ? 29 : ch === '^' ? 30 : ch === '_' ? 31 : /[a-z]/.test(ch) ? ch.charCodeAt(0) - 96 : -1;
      if (code < 0) throw new RunError(1, `Unknown character: '${k}'`);
      out.push(code);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    } else {
      throw new RunError(1, `Unknown character: '${k}'`);
    }
  }
  return Buffer.from(out);
}

// #region attach
export const attachCommand: Command = {
  name: 'attach',
  aliases: ['container attach'],
  summary: "Attach local standard input, output, and error streams to a running container",
  usage: 'attach [OPTIONS] CONTAINER',
  flags: [
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container (default "ctrl-p,ctrl-q")' },
    { name: 'no-stdin', kind: 'bool', usage: 'Do not attach STDIN' },
    { name: 'sig-proxy', kind: 'bool', usage: 'Proxy all received signals to the process (default true)' },
  ],
  minArgs: 1,
  async run(inv) {
    const c = findContainer(inv.stateRoot, inv.args[0]);
    if (!isRunning(c)) throw new RunError(1, 'You cannot attach to a stopped container, start it first');
    if (isPaused(c)) throw new RunError(1, 'You cannot attach to a paused container, unpause it first');
    const dir = containerDir(inv.stateRoot, c.ID);
    if (!fs.existsSync(path.join(dir, 'attach.sock'))) throw new RunError(1, `container ${inv.args[0]} has no monitor to attach to (it was not started by chapter 5, or its monitor is gone)`);
    const keys = parseDetachKeys((inv.flags.get('detach-keys') as string | undefined) ?? 'ctrl-p,ctrl-q');
    const a = await attach(dir, { stdout: process.stdout, stderr: process.stderr });
    let detached = false;
    let restore = () => {};
    if (!inv.flags.get('no-stdin') && c.Config.OpenStdin) {
      if (c.Config.Tty && process.stdin.isTTY) {
        const { enterRawMode } = await import('../process/terminal.js');
        restore = enterRawMode();
        const resize = () => a.send(FRAME.resize, `${process.stdout.rows} ${process.stdout.columns}`);
        resize();
        process.on('SIGWINCH', resize);
      }
      const typed = detachKeyFilter(keys, () => {
        detached = true;
        a.close();
      });
      process.stdin.on('data', (d: Buffer) => {
        const out = typed(d);
        if (out.length && !detached) a.send(FRAME.stdin, out);
      });
      process.stdin.on('end', () => a.send(FRAME.closeStdin, ''));
      process.stdin.resume();
    }
    const code = await a.exit;
    restore();
    process.stdin.pause();
    if (detached) return 0;
    if (code === null) {
      process.stderr.write("dockling: the container's monitor went away\n");
      return 1;
    }
    return code;
  },
};
// #endregion attach
