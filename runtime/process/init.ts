// The container's init: the first process inside the new namespaces.
//
// nsexec (nsexec.c) made the PID, mount, UTS, IPC and network namespaces
// and forked this Node process into them, so here we are PID 1
// of a fresh PID namespace, in a private copy of the host's mount table,
// still looking at the host's files. This file turns that into a container,
// in the order runc's rootfs_linux.go does, then execve()s the user's
// command, which replaces this process and so becomes PID 1 itself.
//
// It runs bundled JavaScript (dist/init.js), never through tsx: node alone
// starts in ~60 ms, through tsx ~200 ms, and this is on every `run`. The
// bundle's entry is runtime/cli/init.ts, which hands this file the steps
// later chapters add (InitHooks): this file does not know who they are.
import fs from 'node:fs';
import path from 'node:path';
import { CHANNEL_FD, CONSOLE_FD, type HostMessage, type InitMessage } from './channel.js';
import type { ContainerSpec, MountSpec } from '../core/spec.js';
import * as libc from '../sys/libc.js';
import { MS, MNT_DETACH, CLONE, O_PATH } from '../sys/libc.js';
import { flagNames, parseMountOptions } from './mount-options.js';
import { secureJoin } from './securejoin.js';
import { errnoOf, openDirCreating, openInRoot, rootMountRefusal } from './in-root.js';
import { envValue } from './env.js';
import { trace, jsonLinesSink } from '../trace/trace.js';
import type { TraceEvent } from '../trace/events.js';

const CH = 1; // every step here belongs to chapter 1's layer

/** A failure that maps to one of Docker's exit codes (125, 126, 127). */
class InitError extends Error {
  constructor(public code: number, message: string) {
    super(message);
  }
}

function send(m: InitMessage): void {
  fs.writeSync(CHANNEL_FD, JSON.stringify(m) + '\n');
}

function step(e: TraceEvent): void {
  trace.emit(CH, e);
}

/** Block until the host sends one line on the channel. */
function readLine(): string {
  const buf = Buffer.alloc(65536);
  let line = '';
  for (;;) {
    const n = fs.readSync(CHANNEL_FD, buf, 0, buf.length, null);
    if (n === 0) throw new InitError(125, 'the dockling CLI went away before starting the container');
    line += buf.toString('utf8', 0, n);
    const nl = line.indexOf('\n');
    if (nl >= 0) return line.slice(0, nl);
  }
}

// #region init-hooks
/**
 * Steps a later chapter's layer adds to the init, called at fixed points
 * without this file knowing what they do (chapter 11 drops privileges in
 * `beforeExec`). Each is given the spec, and a `step` that traces under
 * the hook's own chapter.
 */
export interface InitHooks {
  /**
   * After the root is built and the command found, its stdio set and every
   * other descriptor marked close-on-exec: the last thing before execve. A
   * hook that throws stops the container with exit code 125.
   */
  beforeExec: { chapter: number; run(spec: ContainerSpec, step: (e: TraceEvent) => void): void }[];
}
let hooks: InitHooks = { beforeExec: [] };
// #endregion init-hooks

// --- mounts ---------------------------------------------------------------

/** `shown`: the target as a path, for the trace, when `target` is a /proc/self/fd link */
function doMount(source: string, target: string, fstype: string, flags: number, data: string, shown = target): void {
  step({ op: 'mount', source, target: shown, fstype, flags: flagNames(flags), data });
  try {
    libc.mount(source, target, fstype, flags, data);
  } catch (e) {
    // Say where, as a path: /proc/self/fd/19 means nothing to the user.
    if (e instanceof Error && target !== shown) e.message = e.message.split(target).join(shown);
    throw e;
  }
}

// #region open-mount-point
/**
 * The mount point of `m`, made when missing (a file for a bind of a file,
 * else a directory), held as an O_PATH descriptor found inside the root by
 * the kernel (in-root.ts). secureJoin first says where a symlink in the
 * image leads (inside the root: `/data -> /etc` is the container's /etc,
 * which may not exist yet and is then made); each step of the walk that
 * follows is the kernel's, so a directory swapped for a symlink meanwhile
 * (by a container sharing a volume, running) still cannot lead out.
 */
function openMountPoint(rootfs: string, rootFd: number, m: MountSpec): { fd: number; rel: string } {
  const rel = '/' + path.relative(rootfs, secureJoin(rootfs, m.destination));
  // A symlink in the image that leads to the root itself (/data -> ../..):
  // mounted there, the mount would cover the whole container, and what the
  // init makes next (/dev's nodes) would land in the mount's source.
  if (rel === '/') throw new InitError(125, rootMountRefusal(m.destination));
  try {
    return { fd: openInRoot(rootFd, rel, true), rel };
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  const isFile = m.type === 'bind' && fs.existsSync(m.source) && !fs.statSync(m.source).isDirectory();
  const parent = openDirCreating(rootFd, path.posix.dirname(rel));
  const at = `/proc/self/fd/${parent}/${path.posix.basename(rel)}`;
  try {
    // Neither call follows a symlink in the last name: a name that is one
    // now (EEXIST) is opened inside the root below, as the walk would.
    if (isFile) fs.closeSync(fs.openSync(at, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644));
    else fs.mkdirSync(at, { mode: 0o755 });
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
  } finally {
    fs.closeSync(parent);
  }
  return { fd: openInRoot(rootFd, rel, true), rel };
}
// #endregion open-mount-point

// #region mount-entry
/**
 * One of the spec's mounts, onto its mount point inside the root: through
 * /proc/self/fd/N of the descriptor openMountPoint holds, so the kernel
 * mounts on what was found, not on whatever the path names by then.
 */
function mountEntry(rootfs: string, rootFd: number, m: MountSpec): void {
  const { flags, propagation, data, recursiveReadonly } = parseMountOptions(m.options);
  const first = openMountPoint(rootfs, rootFd, m);
  const shown = path.join(rootfs, first.rel); // for the trace: where it lands, as a path
  // After the first mount, the descriptor still names the directory
  // underneath it: a remount or a propagation change is for the new mount,
  // found by walking to it again (inside the root).
  const onTop = (fn: (target: string) => void) => {
    const fd = openInRoot(rootFd, first.rel, true);
    try {
      fn(`/proc/self/fd/${fd}`);
    } finally {
      fs.closeSync(fd);
    }
  };
  try {
    const target = `/proc/self/fd/${first.fd}`;
    if (flags & MS.BIND) {
      // A bind mount ignores MS_RDONLY and friends on the first call: the
      // kernel only applies them on a second, MS_REMOUNT call.
      doMount(m.source, target, '', flags, data, shown);
      if (flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC)) {
        onTop((t) => doMount('', t, '', flags | MS.REMOUNT, data, shown));
      }
      // The remount made this one mount read-only; the host's mounts a
      // recursive bind took along under it stay writable, unless each is
      // made so too: mount_setattr(AT_RECURSIVE), as Docker 25+ does for :ro.
      if (recursiveReadonly) {
        onTop((t) => {
          step({ op: 'mount_setattr', target: shown, set: ['MOUNT_ATTR_RDONLY'], flags: ['AT_RECURSIVE'] });
          // false: a kernel before 5.12, where only the top mount is read-only (Docker's best effort too)
          libc.mountSetattrRecursive(Number(t.slice('/proc/self/fd/'.length)), libc.MOUNT_ATTR_RDONLY, shown);
        });
      }
    } else {
      doMount(m.source, target, m.type, flags, data, shown);
    }
    if (propagation) onTop((t) => doMount('', t, '', propagation, '', shown));
  } finally {
    fs.closeSync(first.fd);
  }
}
// #endregion mount-entry

// #region rootfs
function prepareRootfs(spec: ContainerSpec): void {
  const rootfs = spec.root.path;
  // #lab 01-rootfs-pivot-root TODO 1: make the root a mount point of its own, in a mount table of our own.
  // #todo First every mount private (a slave when spec.rootfsPropagation is 'rslave'),
  // #todo recursively, so that nothing mounted here reaches the host; then bind-mount
  // #todo rootfs onto itself (recursively): pivot_root wants the new root a mount point.
  // #todo doMount(source, target, fstype, MS flags, data) traces and mounts.
  // #starter throw new InitError(125, 'lab 01-rootfs-pivot-root: TODO 1, the root a mount point, is not written yet');
  // 1. Our mount namespace starts as a copy of the host's, and copies stay
  //    connected through "shared" propagation: a mount made here would
  //    appear on the host. Making every mount private cuts that link.
  //    (A bind mount that asks for propagation from the host, chapter 7's
  //    -v SRC:DST:rslave, needs "/" a slave instead: the host's mounts then
  //    still reach us, and ours still never reach the host.)
  doMount('', '/', '', MS.REC | (spec.rootfsPropagation === 'rslave' ? MS.SLAVE : MS.PRIVATE), '');
  // 2. pivot_root needs the new root to be a mount point of its own, and a
  //    plain directory is not one: bind-mount it onto itself.
  doMount(rootfs, rootfs, '', MS.BIND | MS.REC, '');
  // #endlab
  // 3. /proc, /dev, /sys, /etc/hosts, volumes…: the spec's mounts, in
  //    order, each onto a mount point the kernel finds inside the root.
  const rootFd = fs.openSync(rootfs, fs.constants.O_DIRECTORY | O_PATH);
  try {
    for (const m of spec.mounts) mountEntry(rootfs, rootFd, m);
  } finally {
    fs.closeSync(rootFd);
  }
  // 4. Device nodes on the fresh /dev tmpfs, and the usual symlinks.
  for (const d of spec.devices) {
    const p = secureJoin(rootfs, d.path);
    if (spec.uidMappings) {
      bindDevice(d.hostPath ?? d.path, p);
      continue;
    }
    step({ op: 'mknod', path: p, kind: d.type, major: d.major, minor: d.minor, mode: d.fileMode });
    fs.mkdirSync(path.dirname(p), { recursive: true }); // /dev/net/tun, /dev/dri/card0…: a node may sit in a folder
    libc.mknod(p, d.type, d.fileMode, d.major, d.minor);
    fs.chmodSync(p, d.fileMode); // mknod's mode is filtered by the umask
  }
  for (const [target, link] of spec.symlinks) {
    const p = secureJoin(rootfs, link);
    step({ op: 'symlink', target, path: p });
    fs.symlinkSync(target, p);
  }
}
// #endregion rootfs

// #region bind-device
/**
 * In a user namespace (chapter 11, --userns-remap) mknod(2) of a device is
 * refused (EPERM: only CAP_MKNOD over the initial namespace allows it, and
 * a tmpfs mounted there would not open devices anyway: SB_I_NODEV). So, as
 * runc does for rootless containers, the host's own node is bind-mounted
 * onto an empty file: the same device, with the host's permissions.
 */
function bindDevice(hostPath: string, target: string): void {
  fs.closeSync(fs.openSync(target, 'a', 0o600)); // the mount point
  doMount(hostPath, target, '', MS.BIND, '');
}
// #endregion bind-device

// #region pivot-root
function pivotRoot(rootfs: string): void {
  // pivot_root(new, old) makes `new` the root and moves the old root to
  // `old`. Passing "." for both (from inside the new root) stacks the old
  // root on top of the new one, so no directory has to be made for it in
  // the rootfs; unmounting "." then takes the old root away. MNT_DETACH
  // because the host's filesystems are busy: they go once nothing in this
  // namespace uses them, which is now.
  // #lab 01-rootfs-pivot-root TODO 2: pivot into rootfs and take the host's root away.
  // #todo chdir into rootfs, pivot_root('.', '.') (libc.pivotRoot), detach the old root
  // #todo now stacked on "." (libc.umount2 with MNT_DETACH), chdir to "/". Trace each
  // #todo step (step({ op: 'pivot_root', … }), see runtime/trace/events.ts).
  // #starter throw new InitError(125, 'lab 01-rootfs-pivot-root: TODO 2, pivot_root, is not written yet');
  step({ op: 'chdir', path: rootfs });
  process.chdir(rootfs);
  step({ op: 'pivot_root', newRoot: '.', putOld: '.' });
  libc.pivotRoot('.', '.');
  step({ op: 'umount', target: '.', flags: ['MNT_DETACH'] });
  libc.umount2('.', MNT_DETACH);
  step({ op: 'chdir', path: '/' });
  process.chdir('/');
  // #endlab
}
// #endregion pivot-root

// #region protect-paths
/** Hide and freeze the kernel files a container must not use (after pivot). */
function protectPaths(spec: ContainerSpec): void {
  for (const p of spec.maskedPaths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue; // not on this kernel
    }
    if (st.isDirectory()) doMount('tmpfs', p, 'tmpfs', MS.RDONLY, '');
    else doMount('/dev/null', p, '', MS.BIND, '');
  }
  for (const p of spec.readonlyPaths) {
    if (!fs.existsSync(p)) continue;
    doMount(p, p, '', MS.BIND | MS.REC, '');
    // A remount sets all the flags anew: keep the nosuid/nodev/noexec that
    // /proc and /sys were mounted with.
    doMount(p, p, '', MS.BIND | MS.REC | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, '');
  }
}
// #endregion protect-paths

// #region readonly-root
/**
 * A read-only root (--read-only, chapter 11), made last of the mounts, as
 * runc does: after pivot_root, because before it "/" is the host's root;
 * after every mount into the root, whose mount points may have to be made
 * in it. The mounts on top of it (/dev, /dev/shm, a --tmpfs) keep their own
 * flags: a mount's read-only bit is its own, not its parent's.
 */
function remountRootReadonly(): void {
  // MS_BIND|MS_REMOUNT changes this one mount's flags only. A remount
  // without MS_BIND would change the filesystem itself (the overlay the host
  // sees too). And it sets all of the mount's flags at once: one not passed
  // is cleared. So pass the ones "/" has now (nosuid, noatime…): clearing
  // one is not what was asked, and in a user namespace the kernel refuses
  // (EPERM) to clear a flag the mount was locked with.
  const keep = libc.statfsMountFlags('/');
  doMount('', '/', '', MS.BIND | MS.REMOUNT | MS.RDONLY | keep, '');
}
// #endregion readonly-root

// #region terminal
/**
 * With -t: open a pseudo-terminal in the container's own devpts, send the
 * master to the CLI (it relays between it and the user's terminal), and keep
 * the slave to become the command's stdin, stdout and stderr.
 */
function openTerminal(rootfs: string, size: { rows: number; cols: number } | undefined): number {
  const master = fs.openSync(path.join(rootfs, 'dev/pts/ptmx'), fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const { slaveFd, index } = libc.openPtySlave(master);
  step({ op: 'pty', master: '/dev/pts/ptmx', slave: `/dev/pts/${index}` });
  // The size of the user's terminal, before the command can ask for it.
  if (size) libc.setWindowSize(slaveFd, size.rows, size.cols);
  libc.sendFd(CONSOLE_FD, master);
  fs.closeSync(master);
  // /dev/console is the pty too, as in Docker: programs that write to the
  // console (init systems, kernels of old habits) write to the user.
  const console = secureJoin(rootfs, '/dev/console');
  fs.closeSync(fs.openSync(console, 'a', 0o600)); // the mount point
  doMount(path.join(rootfs, `dev/pts/${index}`), console, '', MS.BIND, '');
  return slaveFd;
}
// #endregion terminal

// #region find-command
/**
 * Find the command the way runc does: a name with a "/" is a path; any other
 * name is looked up in the container's $PATH (not the host's). The failures
 * map to the shell's exit codes, which Docker uses too: 127 not found,
 * 126 found but cannot be executed.
 */
function findCommand(name: string, env: string[]): string {
  const candidates = name.includes('/')
    ? [name]
    : (envValue(env, 'PATH') ?? '').split(':').filter(Boolean).map((d) => path.join(d, name));
  for (const c of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(c);
    } catch {
      continue; // not in this $PATH directory: the next one may have it
    }
    if (st.isDirectory()) throw new InitError(126, `exec: "${name}": is a directory`);
    if ((st.mode & 0o111) === 0) throw new InitError(126, `exec: "${name}": permission denied`);
    return c;
  }
  if (name.includes('/')) throw new InitError(127, `exec: "${name}": stat ${name}: no such file or directory`);
  throw new InitError(127, `exec: "${name}": executable file not found in $PATH`);
}
// #endregion find-command

// #region init-main
function buildContainer(spec: ContainerSpec): never {
  const rootfs = spec.root.path;
  // 1. The cgroup namespace.
  // #region cgroup-namespace
  // The cgroup namespace is made here rather than by nsexec: its root is the
  // cgroup we are in when it is made, and by now the host side has moved us
  // into the container's cgroup (chapter 2).
  if (spec.namespaces.includes('cgroup')) {
    step({ op: 'unshare', flags: ['CLONE_NEWCGROUP'], by: 'init' });
    libc.unshare(CLONE.NEWCGROUP);
  }
  // #endregion cgroup-namespace
  // 2. The root: the mount table made private, the rootfs made a mount
  //    point, the spec's mounts and device nodes in it (prepareRootfs).
  prepareRootfs(spec);
  // 3. With -t: a pseudo-terminal from the devpts just mounted in step 2.
  const slave = spec.process.terminal ? openTerminal(rootfs, spec.process.consoleSize) : -1;
  // 4. What a new network and UTS namespace start without: loopback up,
  //    the container's host name.
  if (spec.namespaces.includes('network')) {
    // A new network namespace has only a loopback interface, and it is down.
    step({ op: 'ifup', name: 'lo' });
    libc.interfaceUp('lo');
  }
  if (spec.namespaces.includes('uts')) {
    step({ op: 'sethostname', name: spec.hostname });
    libc.sethostname(spec.hostname);
  }
  // 5. Into the new root, the host's mounts gone; then the kernel files
  //    the container must not use masked or made read-only.
  pivotRoot(rootfs);
  protectPaths(spec);

  // 6. The working directory, and with --read-only the root made read-only.
  const { args, env, cwd } = spec.process;
  // Docker makes a missing working directory rather than failing (before
  // the root may become read-only).
  fs.mkdirSync(cwd, { recursive: true });
  if (spec.root.readonly) remountRootReadonly();
  process.chdir(cwd);
  // 7. The command, looked up in the container's $PATH, not the host's.
  const file = findCommand(args[0], env);

  // 8. What the command inherits: with -t the pty as its terminal and its
  //    0, 1 and 2; no other descriptor; default signals; later chapters'
  //    last steps (the hooks).
  if (slave >= 0) {
    // A new session with the pty as its controlling terminal: ^C typed by the
    // user becomes SIGINT for the command, job control works in a shell.
    libc.setsid();
    libc.setControllingTerminal(slave);
    for (const fd of [0, 1, 2]) libc.dup2(slave, fd);
    fs.closeSync(slave);
  }
  // Node opens every descriptor close-on-exec, 0-2 included: without this the
  // command would start with no stdin, stdout or stderr at all.
  for (const fd of [0, 1, 2]) libc.clearCloexec(fd);
  // Everything else must not reach the command: our channel, and any
  // descriptor whoever ran dockling left open (an open directory of the
  // host would be a way out of the new root).
  libc.cloexecFrom(3);
  libc.resetSignals();
  for (const hook of hooks.beforeExec) hook.run(spec, (e) => trace.emit(hook.chapter, e));
  // 9. Tell the CLI, and become the command (or say why not: 126, 127).
  step({ op: 'exec', path: file, argv: args, cwd });
  send({ msg: 'exec' });
  try {
    libc.execve(file, args, env);
  } catch (e) {
    const code = (e as libc.SyscallError).code;
    throw new InitError(code === 'ENOENT' ? 127 : 126, `exec: "${args[0]}": ${describeErrno(code)}`);
  }
}
// #endregion init-main

function describeErrno(code: string): string {
  const text: Record<string, string> = {
    EACCES: 'permission denied', ENOENT: 'no such file or directory', ENOEXEC: 'exec format error',
    ETXTBSY: 'text file busy', EISDIR: 'is a directory',
  };
  return text[code] ?? code;
}

// #region init-hello
/** The init's whole life: called once by the bundle's entry (runtime/cli/init.ts). */
export function runInit(withHooks: InitHooks): void {
  hooks = withHooks;
  trace.side = 'init';
  // Not dumpable while we are still Node: our /proc/1/exe is the host's node
  // binary until we exec the command (chapter 5, "CVE-2019-5736: a helper
  // the container cannot overwrite"). The exec makes us dumpable again.
  libc.setNotDumpable();
  // Our PID as the host sees it: /proc is still the host's here, and
  // /proc/self resolves in the PID namespace of that /proc mount.
  try {
    // (inside the try: a CLI that already hung up makes this write fail,
    // EPIPE, and the init just exits, without a stack trace)
    send({ msg: 'hello', pid: Number(fs.readlinkSync('/proc/self')) });
    const start = JSON.parse(readLine()) as HostMessage;
    if (start.trace) {
      trace.origin = start.traceOrigin;
      trace.attach(jsonLinesSink((line) => fs.writeSync(CHANNEL_FD, line)));
    }
    buildContainer(start.spec);
  } catch (e) {
    const code = e instanceof InitError ? e.code : 125;
    try {
      send({ msg: 'error', code, message: (e as Error).message });
    } catch {
      /* the CLI is gone: the exit code is all that is left to say */
    }
    process.exit(code);
  }
}
// #endregion init-hello
