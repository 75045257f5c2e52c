// cgroup v1: one hierarchy per controller, each mounted at
// /sys/fs/cgroup/<controller>. The container's cgroup is a directory with the
// same relative path in each hierarchy, and joining it means writing the PID
// into cgroup.procs in every one of them.
import fs from 'node:fs';
import path from 'node:path';
import type { MountSpec } from '../core/spec.js';
import type { Limits } from './limits.js';
import {
  makeCgroupDirs, parseProcCgroup, readCgroupFile, readKeyed, removeCgroupDir, writeCgroupFile, ParentRegistry,
  type CgroupDriver, type CgroupStats, type ContainerCgroup,
} from './driver.js';

// #region v1-every-hierarchy
/**
 * The cgroup v1 controllers the kernel knows (Documentation/admin-guide/
 * cgroup-v1). A v1 mount's super options name its controllers among other
 * options (rw, xattr, clone_children, release_agent=…), and a named
 * hierarchy with no controller at all, like systemd's, is "name=systemd".
 */
const KNOWN_V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);
const isController = (opt: string) => KNOWN_V1_CONTROLLERS.has(opt) || opt.startsWith('name=');

interface Hierarchy {
  /** where it is mounted, e.g. /sys/fs/cgroup/memory */
  mountPoint: string;
  /** its controllers as mounted together, e.g. ["cpu", "cpuacct"], or ["name=systemd"] */
  controllers: string[];
}

/**
 * EVERY v1 hierarchy mounted on this host, from mountinfo, not only those
 * dockling sets limits in. A container is put in all of them, as runc does:
 * in a hierarchy it is not placed in, its cgroup namespace's root is the
 * caller's cgroup there (often the hierarchy's root), and root in the
 * container can `mount -t cgroup -o freezer x /mnt` and find the host's
 * release_agent, a file naming a program the kernel runs as root on the
 * host when a cgroup empties.
 */
export function v1Hierarchies(mountinfo: string): Hierarchy[] {
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOptions] = post.split(' ');
    if (fstype !== 'cgroup') continue;
    const controllers = superOptions.split(',').filter(isController);
    // The same hierarchy mounted twice (a bind elsewhere) is one hierarchy.
    const key = controllers.join(',');
    if (controllers.length && !seen.has(key)) {
      seen.add(key);
      out.push({ mountPoint: pre.split(' ')[4], controllers });
    }
  }
  return out;
}

/**
 * A hybrid host also mounts a cgroup2 tree (at /sys/fs/cgroup/unified) with
 * no controllers in it. It is a hierarchy all the same: left in the
 * caller's place there, the container could mount cgroup2 and see the
 * host's processes in cgroup.procs, move them, freeze them (cgroup.freeze)
 * or kill them (cgroup.kill). So it is joined too, under the key
 * "unified" that the v2 driver uses for its one tree.
 */
export function unifiedHierarchy(mountinfo: string): Hierarchy | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return { mountPoint: pre.split(' ')[4], controllers: ['unified'] };
  }
  return undefined;
}
// #endregion v1-every-hierarchy

// #region v1-devices
// The container's devices cgroup is made and joined here like every other
// hierarchy (that is what keeps the host's release_agent out of reach), but
// its device list is left as the kernel makes it: inherited from the
// parent, normally "a *:* rwm", every device allowed. Which devices a
// container may open is a question of privilege, not of resources, and
// chapter 11 (runtime/security/devices.ts) answers it, with Docker's list
// here and a BPF program in the cgroup2 tree.
// #endregion v1-devices

// Sentinel the kernel reports for "no limit" (PAGE_COUNTER_MAX × page size).
const UNLIMITED = 2 ** 62;

class V1Cgroup implements ContainerCgroup {
  constructor(public paths: Record<string, string>, private registry: ParentRegistry) {}

  private dirs(): string[] {
    return [...new Set(Object.values(this.paths))];
  }

  // #region v1-apply
  apply(l: Limits): void {
    const p = this.paths;
    if (p.cpuset) {
      // A new v1 cpuset has no CPUs and no memory nodes, and no process can
      // join it until both are set: copy them down from the parent, from the
      // highest new directory to ours.
      const empty: string[] = [];
      for (let d = p.cpuset; d !== '/' && !readCgroupFile(path.join(d, 'cpuset.cpus')); d = path.dirname(d)) empty.unshift(d);
      for (const d of empty) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          writeCgroupFile(path.join(d, f), readCgroupFile(path.join(path.dirname(d), f)) ?? '');
        }
      }
      if (l.cpusetCpus !== undefined) writeCgroupFile(path.join(p.cpuset, 'cpuset.cpus'), l.cpusetCpus);
    }
    if (p.memory) {
      if (l.memory !== undefined) writeCgroupFile(path.join(p.memory, 'memory.limit_in_bytes'), String(l.memory));
      // memory.memsw.* exists only when the kernel accounts swap; it limits
      // memory + swap together and may never be below memory.limit_in_bytes.
      const memsw = path.join(p.memory, 'memory.memsw.limit_in_bytes');
      if (l.memorySwap !== undefined && fs.existsSync(memsw)) writeCgroupFile(memsw, String(l.memorySwap));
      if (l.memoryReservation !== undefined) writeCgroupFile(path.join(p.memory, 'memory.soft_limit_in_bytes'), String(l.memoryReservation));
    }
    if (p.cpu) {
      if (l.cpuShares) writeCgroupFile(path.join(p.cpu, 'cpu.shares'), String(l.cpuShares));
      if (l.cpuPeriod !== undefined) writeCgroupFile(path.join(p.cpu, 'cpu.cfs_period_us'), String(l.cpuPeriod));
      if (l.cpuQuota !== undefined) writeCgroupFile(path.join(p.cpu, 'cpu.cfs_quota_us'), String(l.cpuQuota));
    }
    if (p.pids && l.pidsLimit !== undefined) {
      writeCgroupFile(path.join(p.pids, 'pids.max'), l.pidsLimit > 0 ? String(l.pidsLimit) : 'max');
    }
  }
  // #endregion v1-apply

  join(pid: number): void {
    for (const d of this.dirs()) writeCgroupFile(path.join(d, 'cgroup.procs'), String(pid));
  }

  pids(): number[] {
    const d = this.paths.pids ?? this.paths.memory ?? this.dirs()[0];
    return (readCgroupFile(path.join(d, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  stats(): CgroupStats {
    const p = this.paths;
    const num = (f: string | undefined) => (f ? Number(readCgroupFile(f) ?? 0) : 0);
    const mstat = p.memory ? readKeyed(path.join(p.memory, 'memory.stat')) : new Map<string, number>();
    const usage = num(p.memory && path.join(p.memory, 'memory.usage_in_bytes'));
    const limit = num(p.memory && path.join(p.memory, 'memory.limit_in_bytes'));
    const pidsMax = p.pids ? readCgroupFile(path.join(p.pids, 'pids.max')) : null;
    const oom = p.memory ? readKeyed(path.join(p.memory, 'memory.oom_control')) : new Map<string, number>();
    let read = 0;
    let write = 0;
    if (p.blkio) {
      for (const line of (readCgroupFile(path.join(p.blkio, 'blkio.throttle.io_service_bytes')) ?? '').split('\n')) {
        const [, op, n] = line.split(' ');
        if (op === 'Read') read += Number(n);
        if (op === 'Write') write += Number(n);
      }
    }
    return {
      cpuNs: num(p.cpuacct && path.join(p.cpuacct, 'cpuacct.usage')),
      memoryUsage: Math.max(0, usage - (mstat.get('total_inactive_file') ?? 0)),
      memoryLimit: limit && limit < UNLIMITED ? limit : null,
      pids: num(p.pids && path.join(p.pids, 'pids.current')),
      pidsLimit: pidsMax && pidsMax !== 'max' ? Number(pidsMax) : null,
      oomKills: oom.get('oom_kill') ?? 0,
      blkioRead: read,
      blkioWrite: write,
    };
  }

  destroy(): void {
    for (const d of this.dirs()) removeCgroupDir(d);
    // Parents made for --cgroup-parent go too, once no container is in them.
    for (const d of this.dirs()) this.registry.removeUnusedAbove(d);
  }
}

export class V1Driver implements CgroupDriver {
  version = 1 as const;
  private hierarchies: Hierarchy[];
  private self: Map<string, string>;

  constructor(
    mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8'),
    procSelfCgroup = fs.readFileSync('/proc/self/cgroup', 'utf8'),
    private registry = new ParentRegistry(),
  ) {
    const unified = unifiedHierarchy(mountinfo);
    this.hierarchies = [...v1Hierarchies(mountinfo), ...(unified ? [unified] : [])];
    this.self = parseProcCgroup(procSelfCgroup);
  }

  /** The caller's cgroup in a hierarchy: /proc/self/cgroup names it by the same controllers. */
  private callerIn(h: Hierarchy): string {
    if (h.controllers[0] === 'unified') return this.self.get('') ?? '/'; // the "0::/path" line
    for (const [controllers, p] of this.self) {
      if (controllers.split(',').some((c) => h.controllers.includes(c))) return p;
    }
    return '/';
  }

  // #region v1-create
  create(name: string, parent: string | undefined, record?: (paths: Record<string, string>) => void): ContainerCgroup {
    const paths: Record<string, string> = {};
    const dirs: [string, string][] = [];
    for (const h of this.hierarchies) {
      // Where the caller is in this hierarchy ("/process_api/…" or "/"):
      // the container's cgroup goes under it, never at a root it does not own.
      const callers = this.callerIn(h);
      const base = parent === undefined ? callers : parent.startsWith('/') ? parent : path.join(callers, parent);
      const dir = path.join(h.mountPoint, base, name);
      dirs.push([dir, h.mountPoint]);
      for (const c of h.controllers) paths[c] = dir;
    }
    record?.(paths);
    const made: string[] = [];
    for (const [dir, mountPoint] of dirs) made.push(...makeCgroupDirs(dir, mountPoint).filter((d) => d !== dir));
    this.registry.add(made);
    return new V1Cgroup(paths, this.registry);
  }
  // #endregion v1-create

  open(paths: Record<string, string>): ContainerCgroup {
    return new V1Cgroup(paths, this.registry);
  }

  // #region v1-mounts
  mounts(): MountSpec[] {
    // A tmpfs to hold one mount per hierarchy. With the cgroup namespace,
    // each shows the container's own cgroup as its root.
    return [
      { destination: '/sys/fs/cgroup', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'nodev', 'mode=755'] },
      ...this.hierarchies.map((h) => ({
        destination: path.join('/sys/fs/cgroup', path.basename(h.mountPoint)),
        ...(h.controllers[0] === 'unified'
          ? { type: 'cgroup2', source: 'cgroup2', options: ['ro', 'nosuid', 'noexec', 'nodev'] }
          : { type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev', ...h.controllers] }),
      })),
    ];
  }
  // #endregion v1-mounts
}
