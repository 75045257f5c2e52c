// The host around the bench: what it needs installed, the one temp directory
// everything goes into, and the checks that nothing is left behind (mounts,
// processes, cgroups) once it is done.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A one-line error for the user (no stack trace). */
export class BenchError extends Error {}

/** Look a program up on PATH, and in the sbin directories root's PATH may lack. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface Tools {
  unshare: string;
  chroot: string;
  runc: string;
}

/**
 * Everything the bench runs, with the Debian package that provides it. All
 * that is missing is named on one line, with the apt-get command that fixes it.
 */
export function checkHost(repo: string): Tools {
  if (process.getuid?.() !== 0) throw new BenchError('the bench must run as root (namespaces and runc need it): sudo npm run bench');
  const wanted: [keyof Tools | 'busybox', string][] = [
    ['unshare', 'util-linux'],
    ['chroot', 'coreutils'],
    ['runc', 'runc'],
    ['busybox', 'busybox-static'],
  ];
  const found: Partial<Record<string, string>> = {};
  const missing: [string, string][] = [];
  for (const [tool, pkg] of wanted) {
    const p = tool === 'busybox' ? ['/bin/busybox', '/usr/bin/busybox'].find((f) => fs.existsSync(f)) : findTool(tool);
    if (p) found[tool] = p;
    else missing.push([tool, pkg]);
  }
  if (missing.length > 0) {
    throw new BenchError(
      `${missing.map(([t]) => t).join(', ')} not found: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
    );
  }
  if (!fs.existsSync(path.join(repo, 'dist/main.js'))) {
    throw new BenchError('the CLI is not built (dist/main.js is missing): run `npm run build`, or `npm run bench`, which builds first');
  }
  return { unshare: found.unshare!, chroot: found.chroot!, runc: found.runc! };
}

/** The bench's one temp directory: every file it makes lives under it. */
export function makeScratch(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-bench-')));
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');

/** Mount points (in the bench's own mount namespace) at or under dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => unescape(l.split(' ')[4]))
    .filter((m) => under(m, dir))
    .sort((a, b) => b.length - a.length);
}

export interface LeftProcess {
  pid: number;
  cmdline: string;
  why: string;
}

/**
 * Processes the bench started that are still there: members of a process
 * group it made, or any process whose command line, working directory or
 * root lies in the scratch directory (a container's init after pivot_root).
 */
export function processesLeft(groups: ReadonlySet<number>, dir: string): LeftProcess[] {
  const left: LeftProcess[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const link = (l: string) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/${l}`);
        } catch {
          return '';
        }
      };
      let why = '';
      if (groups.has(pgid)) why = `in process group ${pgid}, which the bench started`;
      else if (cmdline.includes(dir)) why = 'its command line names the bench directory';
      else if (under(link('root'), dir)) why = 'its root is in the bench directory';
      else if (under(link('cwd'), dir)) why = 'its working directory is in the bench directory';
      if (why) left.push({ pid, cmdline, why });
    } catch {
      /* exited while we looked */
    }
  }
  return left;
}

/**
 * The directories of the cgroups the bench's own process is in, one per
 * mounted hierarchy: runc nests a container's cgroups under its caller's.
 */
export function ownCgroupDirs(): string[] {
  const own = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, ctrl, p] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
      return { ctrl: ctrl ? ctrl.split(',') : [], path: p ?? '/' };
    });
  const dirs: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const f = pre.split(' ');
    const [fstype, , superopts] = post.split(' ');
    const root = f[3];
    const mnt = f[4];
    const opts = new Set((superopts ?? '').split(','));
    const match = own.find((o) => (fstype === 'cgroup2' ? o.ctrl.length === 0 : fstype === 'cgroup' && o.ctrl.length > 0 && o.ctrl.every((c) => opts.has(c))));
    if (!match || !under(match.path, root)) continue;
    dirs.push(path.join(mnt, path.relative(root, match.path)));
  }
  return [...new Set(dirs)];
}

/** cgroup directories next to (under) the bench's own cgroups whose name matches. */
export function cgroupsNamed(match: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const d of ownCgroupDirs()) {
    try {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory() && match(e.name)) found.push(path.join(d, e.name));
    } catch {
      /* not readable */
    }
  }
  return found;
}

/** dockling's container cgroups (dockling-<id>) that hold no process. */
export function idleDocklingCgroups(): string[] {
  return cgroupsNamed((n) => /^dockling-[0-9a-f]{64}$/.test(n)).filter((d) => {
    try {
      return fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').trim() === '';
    } catch {
      return false; // gone meanwhile
    }
  });
}
