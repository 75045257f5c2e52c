// Chapter 5, inside the container: who the command runs as. The image's
// USER, or `run --user`, names a user as the container knows it: "name",
// "uid", "name:group" or "uid:gid". The names mean what the container's
// own /etc/passwd and /etc/group say, never the host's.
//
// Docker looks them up in the daemon, in the container's root; runc then
// switches user in its init. We do both in the init, after pivot_root: the
// init is already in the container's mount namespace, its / is the
// container's root, so /etc/passwd can only be the container's file. A
// symlink the image planted there (to /etc/shadow, say) resolves inside
// the container too: the worst it can do is name the container's own
// files. Nothing on the host is read.
//
// Only node:fs and libc are imported: this is bundled into the init.
import fs from 'node:fs';
import type { ContainerSpec } from '../core/spec.js';
import type { TraceEvent } from '../trace/events.js';
import * as libc from '../sys/libc.js';

/** What a user spec resolves to (runc's ExecUser). */
export interface ExecUser {
  uid: number;
  gid: number;
  /** supplementary groups: the user's groups in /etc/group, then --group-add's */
  groups: number[];
  /** from the passwd entry; "/" when there is none (runc's default) */
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

// #region user-files
/** The container's /etc/passwd, line by line (a missing file has no entries). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 4 || line.trim().startsWith('#')) continue;
    if (!/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue; // a broken line is skipped, as runc does
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || line.trim().startsWith('#') || !/^\d+$/.test(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}
// #endregion user-files

const isNumber = (s: string) => /^\d+$/.test(s);
const MAX_ID = 2 ** 31 - 1;

function numeric(s: string, what: string): number {
  const n = Number(s);
  if (n > MAX_ID) throw new Error(`${what} ${s} is out of range`);
  return n;
}

// #region resolve-user
/**
 * runc's GetExecUser, Docker's rules: the user by name, or by number (a
 * number with no passwd entry is fine: uid as given, gid 0, home /); the
 * group likewise in /etc/group. Without an explicit group, the user's
 * supplementary groups are the groups that list it as a member. Then
 * --group-add's groups, by name or number.
 */
export function resolveUser(spec: string, groupAdd: string[], passwd: string, group: string): ExecUser {
  const [given, groupPart] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, undefined];
  const userPart = given === '' ? '0' : given; // no user (only --group-add, or ":group"): root, as runc
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const u: ExecUser = { uid: 0, gid: 0, groups: [], home: '/' };
  const entry = users.find((e) => (isNumber(userPart) ? e.uid === Number(userPart) : e.name === userPart));
  let name: string | undefined;
  if (entry) {
    Object.assign(u, { uid: entry.uid, gid: entry.gid, home: entry.home || '/' });
    name = entry.name;
  } else if (isNumber(userPart)) {
    u.uid = numeric(userPart, 'uid');
  } else {
    throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((e) => (isNumber(groupPart) ? e.gid === Number(groupPart) : e.name === groupPart));
    if (g) u.gid = g.gid;
    else if (isNumber(groupPart)) u.gid = numeric(groupPart, 'gid');
    else throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
  } else if (name !== undefined) {
    u.groups = groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  }
  for (const add of groupAdd) {
    const g = groups.find((e) => (isNumber(add) ? e.gid === Number(add) : e.name === add));
    if (g) u.groups.push(g.gid);
    else if (isNumber(add)) u.groups.push(numeric(add, 'gid'));
    else throw new Error(`Unable to find group ${add}: no matching entries in group file`);
  }
  return u;
}
// #endregion resolve-user

/**
 * A file of the container's, read from inside it (a missing one reads as
 * empty, as in runc). Opened without blocking and read only if it is a
 * regular file: a FIFO or a device planted there must not hang the init.
 */
function readInside(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`unable to read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`unable to read ${file}: not a regular file`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** The permitted set (CapPrm of /proc/self/status: the container's /proc, mounted by now). */
function permittedSet(): bigint {
  const m = /^CapPrm:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt('0x' + m[1]) : 0n;
}

/**
 * runc's fixStdioPermissions: the user must own its stdin, stdout and
 * stderr (with -t, the pty: or it could not reopen /dev/tty, nor would
 * `tty` and `ls -l $(tty)` look right). Only the owner changes; /dev/null
 * is left alone. EINVAL and EPERM (a file system that refuses) are
 * ignored, as runc ignores them: the descriptors stay usable either way.
 */
function ownStdio(uid: number): void {
  const devNull = fs.statSync('/dev/null').rdev;
  for (const fd of [0, 1, 2]) {
    const st = fs.fstatSync(fd);
    if (st.uid === uid || (st.isCharacterDevice() && st.rdev === devNull)) continue;
    try {
      fs.fchownSync(fd, uid, st.gid);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EPERM') throw e;
    }
  }
}

// #region switch-user
/**
 * The init's hook (before execve): look the user up and become it. The
 * order is runc's: setgroups first (it needs CAP_SETGID, which setgid to a
 * non-root group does not take away, but setuid would), then setgid, then
 * setuid last, once nothing else needs root. PR_SET_KEEPCAPS keeps the
 * permitted set across setuid, and capset makes it effective again, so
 * that chapter 11's steps after ours (the bounding set, capset, seccomp)
 * can still be carried out; its capset then leaves a non-root user none.
 * Without chapter 11, execve itself empties the sets of a non-root user.
 * HOME comes from the passwd entry unless the image or -e set one (runc's
 * rule; chapter 1's default HOME=/root is only for root).
 */
export function switchUser(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  const wanted = spec.process.user;
  if (!wanted) return;
  const u = resolveUser(wanted.spec, wanted.groupAdd, readInside('/etc/passwd'), readInside('/etc/group'));
  if (wanted.home) {
    // In place: the init hands this same array to execve.
    const env = spec.process.env;
    const i = env.findIndex((e) => e.startsWith('HOME='));
    if (i >= 0) env.splice(i, 1);
    env.push(`HOME=${u.home}`);
  }
  ownStdio(u.uid);
  const permitted = permittedSet();
  libc.setKeepCaps();
  step({ op: 'setid', call: 'setgroups', arg: `[${u.groups.join(', ')}]` });
  libc.setgroups(u.groups);
  step({ op: 'setid', call: 'setgid', arg: String(u.gid) });
  libc.setgid(u.gid);
  step({ op: 'setid', call: 'setuid', arg: String(u.uid) });
  libc.setuid(u.uid);
  if (u.uid !== 0) libc.capset(permitted, permitted, 0n);
}
// #endregion switch-user
