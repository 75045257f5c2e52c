// The system calls Node has no API for, called straight from libc through an
// FFI (koffi). Each wrapper throws an Error naming the call, its argument and
// errno (e.g. "mount /x/proc: EPERM"), so a failed step says what the kernel
// refused. Nothing here decides anything: the init and the CLI do.
import { createRequire } from 'node:module';
import os from 'node:os';

// koffi and libc are loaded on the first call, not on import: commands that
// never make a system call (ps, images, logs…) must not pay for the FFI
// (~30 ms of start-up). Each wrapper binds its C function the first time.
type Koffi = typeof import('koffi');
let koffiModule: Koffi | undefined;
let libcLib: ReturnType<Koffi['load']> | undefined;
const koffi = (): Koffi => (koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi);
const libc = () => (libcLib ??= koffi().load('libc.so.6'));
type CFunction = ((...args: unknown[]) => any) & { async(...args: unknown[]): void };
function fn(decl: string, before?: () => void): CFunction {
  let f: CFunction | undefined;
  const bind = () => {
    if (!f) {
      before?.();
      f = libc().func(decl) as unknown as CFunction;
    }
    return f;
  };
  const call = ((...args: unknown[]) => bind()(...args)) as CFunction;
  call.async = (...args: unknown[]) => bind().async(...args);
  return call;
}

// koffi saves errno right after each call, before anything else can
// overwrite it; koffi.errno() reads that saved value.
function errno(): number {
  return koffi().errno();
}
function errnoName(n: number): string {
  for (const [name, v] of Object.entries(os.constants.errno)) if (v === n) return name;
  return `errno ${n}`;
}

/** An error from a system call, carrying errno (e.g. code "EPERM"). */
export class SyscallError extends Error {
  constructor(public call: string, public errno: number, public code: string, detail: string) {
    super(`${call} ${detail}: ${code}`);
  }
}

function check(ret: number | bigint, call: string, detail: string): number {
  if (Number(ret) < 0) {
    const e = errno();
    throw new SyscallError(call, e, errnoName(e), detail);
  }
  return Number(ret);
}

const _mount = fn('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const _umount2 = fn('int umount2(const char *target, int flags)');
const _sethostname = fn('int sethostname(const char *name, size_t len)');
const _mknod = fn('int mknod(const char *path, uint32 mode, uint64 dev)');
const _unshare = fn('int unshare(int flags)');
const _execve = fn('int execve(const char *path, const char **argv, const char **envp)');
const _fcntl = fn('int fcntl(int fd, int cmd, ...)');
const _ioctlInt = fn('int ioctl(int fd, unsigned long req, ...)');
const _syscall = fn('long syscall(long number, ...)');
const _setsid = fn('int setsid()');
const _socket = fn('int socket(int domain, int type, int protocol)');
const _socketpair = fn('int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const _close = fn('int close(int fd)');
const _umask = fn('uint32 umask(uint32 mask)');
const _lsetxattr = fn('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const _lgetxattr = fn('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const _llistxattr = fn('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)');
const _openat = fn('int openat(int dirfd, const char *path, int flags, uint32 mode)');
const _readlinkat = fn('long readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)');

// struct iovec and struct msghdr, declared once, before the first sendmsg/recvmsg
let msgTypes = false;
function declareMsgTypes(): void {
  if (msgTypes) return;
  msgTypes = true;
  const iovec = koffi().struct('dockling_iovec', { iov_base: 'void *', iov_len: 'size_t' });
  koffi().struct('dockling_msghdr', {
    msg_name: 'void *',
    msg_namelen: 'uint32',
    msg_iov: koffi().pointer(iovec),
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
}
const _sendmsg = fn('long sendmsg(int fd, const dockling_msghdr *msg, int flags)', declareMsgTypes);
const _recvmsg = fn('long recvmsg(int fd, _Inout_ dockling_msghdr *msg, int flags)', declareMsgTypes);

// --- constants from <sys/mount.h>, <sched.h>, <fcntl.h>, <asm/ioctls.h> ---

export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20,
  MANDLOCK: 0x40, DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800,
  BIND: 0x1000, MOVE: 0x2000, REC: 0x4000, SILENT: 0x8000, UNBINDABLE: 0x20000,
  PRIVATE: 0x40000, SLAVE: 0x80000, SHARED: 0x100000, RELATIME: 0x200000, STRICTATIME: 0x1000000,
} as const;

export const MNT_DETACH = 0x2;

export const CLONE = {
  NEWNS: 0x00020000, NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000,
  NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000,
} as const;

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;
const TIOCGPTPEER = 0x5441;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTN = 0x80045430;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

// glibc has no pivot_root() wrapper: call it by its system call number.
const SYS_PIVOT_ROOT: Record<string, number> = { x64: 155, arm64: 41 };

// --- the calls ---

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check(_mount(source, target, fstype, flags, data || null), 'mount', target);
}

export function umount2(target: string, flags: number): void {
  check(_umount2(target, flags), 'umount2', target);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const nr = SYS_PIVOT_ROOT[process.arch];
  if (nr === undefined) throw new Error(`pivot_root: no system call number known for ${process.arch}`);
  check(_syscall(nr, 'str', newRoot, 'str', putOld), 'pivot_root', newRoot);
}

export function sethostname(name: string): void {
  check(_sethostname(name, Buffer.byteLength(name)), 'sethostname', JSON.stringify(name));
}

/** makedev(3): pack a device's major and minor numbers like glibc. */
function makedev(major: number, minor: number): bigint {
  return (BigInt(major & 0xfff) << 8n) | (BigInt(major & ~0xfff) << 32n) |
    BigInt(minor & 0xff) | (BigInt(minor & ~0xff) << 12n);
}

/** Linux's dev_t → major, minor (the inverse of makedev). */
export function majorMinor(dev: bigint | number): [number, number] {
  const rdev = BigInt(dev);
  return [Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)), Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))];
}

/** mknod(2) for a character device. */
export function mknodChar(path: string, mode: number, major: number, minor: number): void {
  check(_mknod(path, 0o020000 | mode, makedev(major, minor)), 'mknod', path);
}

/** mknod(2) for a character ('c') or block ('b') device or a FIFO ('p'); the umask applies to mode. */
export function mknod(path: string, kind: 'c' | 'b' | 'p', mode: number, major = 0, minor = 0): void {
  const type = kind === 'c' ? 0o020000 : kind === 'b' ? 0o060000 : 0o010000;
  check(_mknod(path, type | (mode & 0o7777), makedev(major, minor)), 'mknod', path);
}

// --- extended attributes (chapters 3-4: overlayfs keeps "this directory is
// opaque" in trusted.overlay.opaque; layer tars carry xattrs such as
// security.capability). The l* calls act on a symlink itself, never its target.

export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(_lsetxattr(path, name, value, value.length, 0), 'lsetxattr', `${path} ${name}`);
}

/** The attribute's value, or null when the file has no such attribute. */
export function lgetxattr(path: string, name: string): Buffer | null {
  const buf = Buffer.alloc(65536);
  const n = Number(_lgetxattr(path, name, buf, buf.length));
  if (n < 0) {
    const e = errno();
    if (e === os.constants.errno.ENODATA || e === os.constants.errno.ENOTSUP) return null;
    throw new SyscallError('lgetxattr', e, errnoName(e), `${path} ${name}`);
  }
  return Buffer.from(buf.subarray(0, n));
}

/** The names of a file's extended attributes. */
export function llistxattr(path: string): string[] {
  const buf = Buffer.alloc(65536);
  const n = Number(_llistxattr(path, buf, buf.length));
  if (n < 0) {
    const e = errno();
    if (e === os.constants.errno.ENOTSUP) return [];
    throw new SyscallError('llistxattr', e, errnoName(e), path);
  }
  return buf.subarray(0, n).toString('latin1').split('\0').filter(Boolean);
}

// --- walking a tree a container can change under us (chapter 4: export,
// commit). openat() resolves a name relative to a directory descriptor, so a
// walk that opens one component at a time never goes through a path again.

/** open(2) flags the Node API leaves out. O_PATH: a handle on the inode, without opening the file itself. */
export const O_PATH = 0o10000000;

/** openat(2) of one name in the directory `dirfd`; throws a SyscallError (code ENOENT, ENOTDIR…). */
export function openat(dirfd: number, name: string, flags: number): number {
  return check(_openat(dirfd, name, flags, 0), 'openat', name);
}

/** readlinkat(2) of a symlink opened with O_PATH|O_NOFOLLOW: its target, read from the descriptor itself. */
export function readlinkFd(fd: number): string {
  const buf = Buffer.alloc(4096); // PATH_MAX: a symlink's target is never longer
  const n = check(_readlinkat(fd, '', buf, buf.length), 'readlinkat', `fd ${fd}`);
  return buf.subarray(0, n).toString();
}

/** openat2(2)'s RESOLVE_* flags (linux/openat2.h): how the whole path may be resolved. */
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;
// A system call new enough (Linux 5.6) to have one number on every architecture.
const SYS_OPENAT2 = 437;

/**
 * openat2(2): open `name` relative to `dirfd` with `resolve` rules the
 * kernel enforces on every component. With RESOLVE.IN_ROOT, `dirfd` is the
 * root for this one lookup: "/" and ".." stop at it and absolute symlinks
 * start from it, atomically (no window between checking a component and
 * using it). EAGAIN (a rename elsewhere raced the lookup) is retried.
 */
export function openat2(dirfd: number, name: string, flags: number, resolve: number): number {
  const how = Buffer.alloc(24); // struct open_how { u64 flags; u64 mode; u64 resolve; }
  how.writeBigUInt64LE(BigInt(flags), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  for (let attempt = 0; ; attempt++) {
    const fd = _syscall(SYS_OPENAT2, 'int', dirfd, 'str', name, 'void *', how, 'size_t', how.length);
    if (Number(fd) >= 0 || attempt === 20 || errno() !== os.constants.errno.EAGAIN) return check(fd, 'openat2', name);
  }
}

const SYS_MOUNT_SETATTR = 442; // the same number on x86_64 and arm64 (the new, shared syscall table)
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
export const MOUNT_ATTR_RDONLY = 0x1;

/**
 * mount_setattr(2) on the mount `fd` (an O_PATH descriptor of it) and, with
 * AT_RECURSIVE, every mount under it: set the MOUNT_ATTR_* bits in `set`.
 * (Linux 5.12+; a remount with MS_RDONLY changes one mount only.) Returns
 * false where the kernel has no such call (ENOSYS), for the caller to say so.
 */
export function mountSetattrRecursive(fd: number, set: number, what: string): boolean {
  const attr = Buffer.alloc(32); // struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; }
  attr.writeBigUInt64LE(BigInt(set), 0);
  const r = _syscall(SYS_MOUNT_SETATTR, 'int', fd, 'str', '', 'uint', AT_EMPTY_PATH | AT_RECURSIVE, 'void *', attr, 'size_t', attr.length);
  if (Number(r) < 0 && errno() === os.constants.errno.ENOSYS) return false;
  check(r, 'mount_setattr', what);
  return true;
}

export function unshare(flags: number): void {
  check(_unshare(flags), 'unshare', '0x' + flags.toString(16));
}

/** Let fd survive execve (Node opens everything close-on-exec, even 0-2). */
export function clearCloexec(fd: number): void {
  const f = check(_fcntl(fd, F_GETFD), 'fcntl', `F_GETFD ${fd}`);
  check(_fcntl(fd, F_SETFD, 'int', f & ~FD_CLOEXEC), 'fcntl', `F_SETFD ${fd}`);
}

export function setCloexec(fd: number): void {
  check(_fcntl(fd, F_SETFD, 'int', FD_CLOEXEC), 'fcntl', `F_SETFD ${fd}`);
}

/** execve(2): on success it never returns; on failure it throws with errno. */
export function execve(path: string, argv: string[], env: string[]): never {
  _execve(path, [...argv, null], [...env, null]);
  const e = errno();
  throw new SyscallError('execve', e, errnoName(e), path);
}

export function setsid(): void {
  check(_setsid(), 'setsid', '');
}

/** Make fd (a terminal) the controlling terminal of this session. */
export function setControllingTerminal(fd: number): void {
  check(_ioctlInt(fd, TIOCSCTTY, 'int', 0), 'ioctl', 'TIOCSCTTY');
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  check(_ioctlInt(fd, TIOCSWINSZ, 'void *', ws), 'ioctl', 'TIOCSWINSZ');
}

/**
 * Unlock a freshly opened pty master and open its slave. TIOCGPTPEER opens
 * the slave through the master itself (no path lookup, so no race with
 * another devpts); the number is read for the trace and /dev/console.
 */
export function openPtySlave(masterFd: number): { slaveFd: number; index: number } {
  const zero = Buffer.alloc(4);
  check(_ioctlInt(masterFd, TIOCSPTLCK, 'void *', zero), 'ioctl', 'TIOCSPTLCK');
  const n = Buffer.alloc(4);
  check(_ioctlInt(masterFd, TIOCGPTN, 'void *', n), 'ioctl', 'TIOCGPTN');
  const O_RDWR = 2;
  const O_NOCTTY = 0o400;
  const slaveFd = check(_ioctlInt(masterFd, TIOCGPTPEER, 'int', O_RDWR | O_NOCTTY), 'ioctl', 'TIOCGPTPEER');
  return { slaveFd, index: n.readUInt32LE(0) };
}

/** Bring a network interface up (SIOCGIFFLAGS, set IFF_UP, SIOCSIFFLAGS). */
export function interfaceUp(name: string): void {
  const s = check(_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket', 'AF_INET');
  try {
    // struct ifreq: 16 bytes of name, then a union whose first short is flags.
    const ifr = Buffer.alloc(40);
    ifr.write(name, 0, 15, 'latin1');
    check(_ioctlInt(s, SIOCGIFFLAGS, 'void *', ifr), 'ioctl', `SIOCGIFFLAGS ${name}`);
    ifr.writeUInt16LE(ifr.readUInt16LE(16) | IFF_UP, 16);
    check(_ioctlInt(s, SIOCSIFFLAGS, 'void *', ifr), 'ioctl', `SIOCSIFFLAGS ${name}`);
  } finally {
    _close(s);
  }
}

export function socketpair(): [number, number] {
  const sv = [0, 0];
  check(_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 'socketpair', 'AF_UNIX');
  return [sv[0], sv[1]];
}

export function close(fd: number): void {
  _close(fd);
}

export function umask(mask: number): number {
  return _umask(mask) as number;
}

/** Send one file descriptor over a unix socket (SCM_RIGHTS), with one byte. */
export function sendFd(sock: number, fd: number): void {
  // struct cmsghdr { size_t len; int level; int type; } + one int, padded to 8
  const ctl = Buffer.alloc(24);
  ctl.writeBigUInt64LE(20n, 0);
  ctl.writeInt32LE(SOL_SOCKET, 8);
  ctl.writeInt32LE(SCM_RIGHTS, 12);
  ctl.writeInt32LE(fd, 16);
  const byte = Buffer.from('F');
  const msg = {
    msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: byte, iov_len: 1 }], msg_iovlen: 1,
    msg_control: ctl, msg_controllen: ctl.length, msg_flags: 0,
  };
  check(_sendmsg(sock, msg, 0), 'sendmsg', 'SCM_RIGHTS');
}

/** Receive one file descriptor sent with sendFd (blocks on a worker thread). */
export async function recvFd(sock: number): Promise<number> {
  const byte = Buffer.alloc(1);
  const ctl = Buffer.alloc(24);
  const msg = {
    msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: byte, iov_len: 1 }], msg_iovlen: 1,
    msg_control: ctl, msg_controllen: ctl.length, msg_flags: 0,
  };
  const n: number = await new Promise((resolve, reject) =>
    _recvmsg.async(sock, msg, 0, (err: unknown, res: number) => (err ? reject(err) : resolve(Number(res)))),
  );
  if (n <= 0 || ctl.readInt32LE(12) !== SCM_RIGHTS) {
    throw new Error('the container init closed its console socket without sending the terminal');
  }
  return ctl.readInt32LE(16);
}

const _dup2 = fn('int dup2(int oldfd, int newfd)');

/** dup2(2): make newfd a copy of oldfd (closing what newfd was). */
export function dup2(oldfd: number, newfd: number): void {
  check(_dup2(oldfd, newfd), 'dup2', `${oldfd} → ${newfd}`);
}

const _signal = fn('void *signal(int sig, void *handler)');
const _sigprocmask = fn('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *old)');
const _closeRange = fn('int close_range(unsigned int first, unsigned int last, int flags)');
const CLOSE_RANGE_CLOEXEC = 1 << 2;
const SIG_SETMASK = 2;

/**
 * Give every signal its default action and unblock them all. Handlers are
 * reset by execve anyway, but "ignored" survives it, and Node ignores
 * SIGPIPE: without this, `yes | head -1` in the container would never end
 * `yes` with SIGPIPE.
 */
export function resetSignals(): void {
  for (let sig = 1; sig < 65; sig++) {
    if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue; // KILL, STOP, glibc's own
    _signal(sig, null);
  }
  check(_sigprocmask(SIG_SETMASK, Buffer.alloc(128), null), 'sigprocmask', 'SIG_SETMASK');
}

/** Mark every descriptor from `first` up close-on-exec (close_range(2)). */
export function cloexecFrom(first: number): void {
  check(_closeRange(first, 0xffffffff, CLOSE_RANGE_CLOEXEC), 'close_range', `${first}..`);
}

const _prctl = fn('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
const PR_SET_DUMPABLE = 4;
/**
 * prctl(PR_SET_DUMPABLE, 0): only a process with CAP_SYS_PTRACE over us may
 * then open our /proc/PID/{exe,fd,mem} or ptrace us (proc(5)). execve of a
 * readable file sets it back to 1.
 */
export function setNotDumpable(): void {
  check(_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 'prctl', 'PR_SET_DUMPABLE 0');
}

// --- bpf(2) (chapter 11: the device program of a cgroup2 tree) ---

// glibc has no bpf() wrapper either.
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

/**
 * bpf(cmd, attr, sizeof attr): attr is the command's part of union
 * bpf_attr, laid out by the caller; pointers in it are addresses from
 * `addressOf`, of buffers the caller keeps alive across the call.
 * Returns what the command returns (a new fd for BPF_PROG_LOAD, else 0).
 */
export function bpf(cmd: number, attr: Buffer, what: string): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new Error(`bpf: no system call number known for ${process.arch}`);
  return check(_syscall(nr, 'int', cmd, 'void *', attr, 'uint32', attr.length), 'bpf', what);
}

/** The address of a buffer's bytes, for a pointer field of a struct passed as bytes. */
export function addressOf(b: Buffer): bigint {
  return koffi().address(b);
}

// --- chapter 11: capabilities and no_new_privs ------------------------------
// All of these change the calling thread only (see security/init/capabilities.ts).
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const _capset = fn('int capset(void *header, void *data)');

/** prctl(PR_SET_NO_NEW_PRIVS, 1): from now on execve never grants privileges. */
export function setNoNewPrivs(): void {
  check(_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'prctl', 'PR_SET_NO_NEW_PRIVS 1');
}

/** Is capability `cap` in the bounding set? null if the kernel has no such capability. */
export function capbsetRead(cap: number): boolean | null {
  const r = Number(_prctl(PR_CAPBSET_READ, cap, 0, 0, 0));
  if (r < 0 && errno() === os.constants.errno.EINVAL) return null;
  return check(r, 'prctl', `PR_CAPBSET_READ ${cap}`) === 1;
}

/** prctl(PR_CAPBSET_DROP, cap): gone for good, for us and every program we exec. */
export function capbsetDrop(cap: number): void {
  check(_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), 'prctl', `PR_CAPBSET_DROP ${cap}`);
}

/**
 * capset(2), _LINUX_CAPABILITY_VERSION_3: each set as two 32-bit words
 * (capabilities 0-31, then 32-63), in struct __user_cap_data_struct order:
 * effective, permitted, inheritable.
 */
export function capset(effective: bigint, permitted: bigint, inheritable: bigint): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x20080522, 0); // _LINUX_CAPABILITY_VERSION_3
  header.writeInt32LE(0, 4); // pid 0: this thread
  const data = Buffer.alloc(24);
  const lo = (m: bigint) => Number(m & 0xffffffffn);
  const hi = (m: bigint) => Number((m >> 32n) & 0xffffffffn);
  [effective, permitted, inheritable].forEach((m, i) => {
    data.writeUInt32LE(lo(m), i * 4);
    data.writeUInt32LE(hi(m), 12 + i * 4);
  });
  check(_capset(header, data), 'capset', `effective=${effective.toString(16)} permitted=${permitted.toString(16)} inheritable=${inheritable.toString(16)}`);
}

/** PR_CAP_AMBIENT_CLEAR_ALL, then raise each capability given. */
export function setAmbient(caps: number[]): void {
  check(_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 'prctl', 'PR_CAP_AMBIENT_CLEAR_ALL');
  for (const cap of caps) check(_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), 'prctl', `PR_CAP_AMBIENT_RAISE ${cap}`);
}

// --- chapter 11: a read-only root (statfs) and resource limits (setrlimit) ---

const _statfs = fn('int statfs(const char *path, _Out_ uint8_t *buf)');
// struct statfs on 64-bit Linux: f_flags is the 11th 8-byte word. Its ST_*
// bits, and the MS_* bit each stands for in a mount(2) call.
const STATFS_SIZE = 120;
const STATFS_FLAGS_OFFSET = 80;
const ST_TO_MS: [number, number][] = [
  [0x2, MS.NOSUID], [0x4, MS.NODEV], [0x8, MS.NOEXEC], [0x10, MS.SYNCHRONOUS], [0x40, MS.MANDLOCK],
  [0x400, MS.NOATIME], [0x800, MS.NODIRATIME], [0x1000, MS.RELATIME], [0x2000, MS.NOSYMFOLLOW],
];
/** The per-mount flags of the mount holding `path` (statfs(2)'s f_flags), as MS_* bits, read-only aside. */
export function statfsMountFlags(path: string): number {
  const buf = Buffer.alloc(STATFS_SIZE);
  check(_statfs(path, buf), 'statfs', path);
  const st = Number(buf.readBigUInt64LE(STATFS_FLAGS_OFFSET));
  let ms = 0;
  for (const [stBit, msBit] of ST_TO_MS) if (st & stBit) ms |= msBit;
  return ms;
}

const _setrlimit = fn('int setrlimit(int resource, const void *rlim)');
/** RLIM_INFINITY: "unlimited" (Docker's -1). */
export const RLIM_INFINITY = 0xffffffffffffffffn;
/** setrlimit(2): struct rlimit is two 64-bit words, the soft limit then the hard one. */
export function setrlimit(resource: number, name: string, soft: bigint, hard: bigint): void {
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64LE(soft, 0);
  buf.writeBigUInt64LE(hard, 8);
  check(_setrlimit(resource, buf), 'setrlimit', name);
}

// --- chapter 11: seccomp(2) ---

// struct sock_fprog { unsigned short len; struct sock_filter *filter; }
let fprogType = false;
function declareFprog(): void {
  if (fprogType) return;
  fprogType = true;
  koffi().struct('dockling_sock_fprog', { len: 'uint16', filter: 'void *' });
}
const _seccomp = fn('long syscall(long number, unsigned int op, unsigned int flags, const dockling_sock_fprog *prog)', declareFprog);
// glibc has no seccomp() wrapper: call it by its system call number.
const SYS_SECCOMP: Record<string, number> = { x64: 317, arm64: 277 };
const SECCOMP_SET_MODE_FILTER = 1;

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): attach a classic BPF
 * program (an array of 8-byte struct sock_filter) to the calling thread,
 * or with SECCOMP_FILTER_FLAG_TSYNC (1) to all its threads.
 */
export function seccompSetModeFilter(program: Buffer, flags: number): void {
  const nr = SYS_SECCOMP[process.arch];
  if (nr === undefined) throw new Error(`seccomp: no system call number known for ${process.arch}`);
  const ret = Number(_seccomp(nr, SECCOMP_SET_MODE_FILTER, flags, { len: program.length / 8, filter: program }));
  if (ret < 0) {
    const e = errno();
    throw new SyscallError('seccomp', e, errnoName(e), `SECCOMP_SET_MODE_FILTER (${program.length / 8} instructions)`);
  }
  // With TSYNC, a positive return is the ID of a thread that could not be synchronized.
  if (ret > 0) throw new Error(`seccomp SECCOMP_SET_MODE_FILTER: thread ${ret} could not take the filter (SECCOMP_FILTER_FLAG_TSYNC)`);
}

// --- chapter 5: the container's user (USER, run --user) ---

const PR_SET_KEEPCAPS = 8;
const _setgroups = fn('int setgroups(size_t size, const uint32_t *list)');
const _setgid = fn('int setgid(uint32_t gid)');
const _setuid = fn('int setuid(uint32_t uid)');
const _getuid = fn('uint32_t getuid(void)');

/**
 * setgroups(2): the supplementary groups. glibc's setgroups, setgid and
 * setuid change every thread of the process (its "setxid" broadcast), not
 * only the calling one: Node's other threads become the user too.
 */
export function setgroups(gids: number[]): void {
  const list = Buffer.alloc(Math.max(4, gids.length * 4));
  gids.forEach((g, i) => list.writeUInt32LE(g, i * 4));
  check(_setgroups(gids.length, list), 'setgroups', gids.join(',') || '(none)');
}
export function setgid(gid: number): void {
  check(_setgid(gid), 'setgid', String(gid));
}
export function setuid(uid: number): void {
  check(_setuid(uid), 'setuid', String(uid));
}
export function getuid(): number {
  return Number(_getuid());
}
/** prctl(PR_SET_KEEPCAPS, 1): setuid away from 0 keeps the permitted set (execve resets it). */
export function setKeepCaps(): void {
  check(_prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 'prctl', 'PR_SET_KEEPCAPS 1');
}

// --- chapter 3's FUSE server: a unix socket that carries descriptors, a
// pipe, and the xattr call the others lack.

const _lremovexattr = fn('int lremovexattr(const char *path, const char *name)');
const _bind = fn('int bind(int fd, const uint8_t *addr, uint32 len)');
const _listen = fn('int listen(int fd, int backlog)');
const _connect = fn('int connect(int fd, const uint8_t *addr, uint32 len)');
const _accept4 = fn('int accept4(int fd, void *addr, void *len, int flags)');
const _shutdown = fn('int shutdown(int fd, int how)');
const _pipe2 = fn('int pipe2(_Out_ int *fds, int flags)');
const SOCK_SEQPACKET = 5;

export function lremovexattr(path: string, name: string): void {
  check(_lremovexattr(path, name), 'lremovexattr', `${path} ${name}`);
}

/** struct sockaddr_un for a path (at most 107 bytes). */
function unixAddress(path: string): Buffer {
  const p = Buffer.from(path);
  if (p.length > 107) throw new Error(`unix socket path too long (${p.length} bytes, at most 107): ${path}`);
  const a = Buffer.alloc(110);
  a.writeUInt16LE(AF_UNIX, 0);
  p.copy(a, 2);
  return a;
}

/**
 * A listening SOCK_SEQPACKET unix socket at `path`: each send is one
 * message, kept whole, and a message may carry descriptors (SCM_RIGHTS).
 */
export function unixListen(path: string): number {
  const fd = check(_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 'socket', 'AF_UNIX SOCK_SEQPACKET');
  const addr = unixAddress(path);
  try {
    check(_bind(fd, addr, addr.length), 'bind', path);
    check(_listen(fd, 64), 'listen', path);
  } catch (e) {
    _close(fd);
    throw e;
  }
  return fd;
}

/** Connect to a SOCK_SEQPACKET unix socket (throws a SyscallError: ENOENT, ECONNREFUSED…). */
export function unixConnect(path: string): number {
  const fd = check(_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), 'socket', 'AF_UNIX SOCK_SEQPACKET');
  const addr = unixAddress(path);
  try {
    check(_connect(fd, addr, addr.length), 'connect', path);
  } catch (e) {
    _close(fd);
    throw e;
  }
  return fd;
}

/** accept(2) on a worker thread: the next connection's descriptor. */
export function acceptAsync(fd: number): Promise<number> {
  return new Promise((resolve, reject) =>
    _accept4.async(fd, null, null, SOCK_CLOEXEC, (err: unknown, res: number) => {
      if (err) return reject(err);
      if (Number(res) < 0) {
        const e = errno();
        return reject(new SyscallError('accept4', e, errnoName(e), `fd ${fd}`));
      }
      resolve(Number(res));
    }),
  );
}

/** Send one message with descriptors attached (SCM_RIGHTS). */
export function sendMessage(sock: number, data: Buffer, fds: number[]): void {
  const ctl = Buffer.alloc(fds.length ? 16 + 8 * Math.ceil((fds.length * 4) / 8) : 0);
  if (fds.length) {
    ctl.writeBigUInt64LE(BigInt(16 + 4 * fds.length), 0);
    ctl.writeInt32LE(SOL_SOCKET, 8);
    ctl.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((f, i) => ctl.writeInt32LE(f, 16 + 4 * i));
  }
  const msg = {
    msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: data, iov_len: data.length }], msg_iovlen: 1,
    msg_control: fds.length ? ctl : null, msg_controllen: ctl.length, msg_flags: 0,
  };
  check(_sendmsg(sock, msg, 0), 'sendmsg', `fd ${sock}`);
}

/** Receive one message and the descriptors that came with it (on a worker thread); null at end of stream. */
export async function receiveMessage(sock: number, max = 65536): Promise<{ data: Buffer; fds: number[] } | null> {
  const data = Buffer.alloc(max);
  const ctl = Buffer.alloc(16 + 4 * 8);
  const msg = {
    msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: data, iov_len: data.length }], msg_iovlen: 1,
    msg_control: ctl, msg_controllen: ctl.length, msg_flags: 0,
  };
  const n: number = await new Promise((resolve, reject) =>
    _recvmsg.async(sock, msg, 0x40000000 /* MSG_CMSG_CLOEXEC */, (err: unknown, res: number) => {
      if (err) return reject(err);
      if (Number(res) < 0) {
        const e = errno();
        return reject(new SyscallError('recvmsg', e, errnoName(e), `fd ${sock}`));
      }
      resolve(Number(res));
    }),
  );
  if (n <= 0) return null;
  const fds: number[] = [];
  const len = Number(ctl.readBigUInt64LE(0));
  if (len > 16 && ctl.readInt32LE(8) === SOL_SOCKET && ctl.readInt32LE(12) === SCM_RIGHTS) {
    for (let off = 16; off + 4 <= len; off += 4) fds.push(ctl.readInt32LE(off));
  }
  return { data: data.subarray(0, n), fds };
}

/**
 * shutdown(2) both ways. On a listening socket this wakes an accept(2)
 * blocked in a worker thread (close(2) does not): Node joins its worker
 * threads when it exits, and would wait for that accept forever.
 */
export function shutdown(fd: number): void {
  _shutdown(fd, 2);
}

/** pipe2(2) with O_CLOEXEC (and O_NONBLOCK if asked): [read end, write end]. */
export function pipe(nonBlocking = false): [number, number] {
  const fds = [0, 0];
  check(_pipe2(fds, 0o2000000 | (nonBlocking ? 0o4000 : 0)), 'pipe2', 'O_CLOEXEC');
  return [fds[0], fds[1]];
}
