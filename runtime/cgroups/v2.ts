// cgroup v2: one tree, mounted at /sys/fs/cgroup. A controller works in a
// cgroup only if its parent has enabled it for its children, by writing
// "+memory" into cgroup.subtree_control, and that is done level by level from
// the root down. One rule shapes everything: a cgroup with processes of its
// own cannot hand controllers to children ("no internal processes"), so the
// container's parent must be a cgroup without processes of its own.
import fs from 'node:fs';
import path from 'node:path';
import type { MountSpec } from '../core/spec.js';
import type { Limits } from './limits.js';
import { sharesToWeight } from './units.js';
import {
  makeCgroupDirs, parseProcCgroup, readCgroupFile, readKeyed, removeCgroupDir, writeCgroupFile, ParentRegistry,
  type CgroupDriver, type CgroupStats, type ContainerCgroup,
} from './driver.js';

export const V2_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'pids'];

class V2Cgroup implements ContainerCgroup {
  constructor(private dir: string, private registry: ParentRegistry) {}

  get paths() {
    return { unified: this.dir };
  }

  // #region v2-apply
  apply(l: Limits): void {
    const f = (name: string) => path.join(this.dir, name);
    if (l.memory !== undefined) writeCgroupFile(f('memory.max'), String(l.memory));
    // v2 limits swap alone (memory.swap.max), v1 memory + swap together.
    if (l.memorySwap !== undefined && l.memory !== undefined && fs.existsSync(f('memory.swap.max'))) {
      writeCgroupFile(f('memory.swap.max'), l.memorySwap < 0 ? 'max' : String(l.memorySwap - l.memory));
    }
    if (l.memoryReservation !== undefined) writeCgroupFile(f('memory.low'), String(l.memoryReservation));
    if (l.cpuQuota !== undefined || l.cpuPeriod !== undefined) {
      // "max" is v2's "no quota" (v1 takes -1 for it; cpu.max takes no negatives).
      const quota = l.cpuQuota !== undefined && l.cpuQuota > 0 ? String(l.cpuQuota) : 'max';
      writeCgroupFile(f('cpu.max'), `${quota} ${l.cpuPeriod ?? 100000}`);
    }
    if (l.cpuShares) writeCgroupFile(f('cpu.weight'), String(sharesToWeight(l.cpuShares)));
    if (l.cpusetCpus !== undefined) writeCgroupFile(f('cpuset.cpus'), l.cpusetCpus);
    if (l.pidsLimit !== undefined) writeCgroupFile(f('pids.max'), l.pidsLimit > 0 ? String(l.pidsLimit) : 'max');
  }
  // #endregion v2-apply

  join(pid: number): void {
    writeCgroupFile(path.join(this.dir, 'cgroup.procs'), String(pid));
  }

  pids(): number[] {
    return (readCgroupFile(path.join(this.dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  stats(): CgroupStats {
    const f = (name: string) => path.join(this.dir, name);
    const max = readCgroupFile(f('memory.max'));
    const pmax = readCgroupFile(f('pids.max'));
    let read = 0;
    let write = 0;
    for (const line of (readCgroupFile(f('io.stat')) ?? '').split('\n')) {
      read += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
      write += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
    }
    return {
      cpuNs: (readKeyed(f('cpu.stat')).get('usage_usec') ?? 0) * 1000,
      memoryUsage: Math.max(0, Number(readCgroupFile(f('memory.current')) ?? 0) - (readKeyed(f('memory.stat')).get('inactive_file') ?? 0)),
      memoryLimit: max && max !== 'max' ? Number(max) : null,
      pids: Number(readCgroupFile(f('pids.current')) ?? 0),
      pidsLimit: pmax && pmax !== 'max' ? Number(pmax) : null,
      oomKills: readKeyed(f('memory.events')).get('oom_kill') ?? 0,
      blkioRead: read,
      blkioWrite: write,
    };
  }

  destroy(): void {
    removeCgroupDir(this.dir);
    // Parents made for --cgroup-parent go too, once no container is in them.
    this.registry.removeUnusedAbove(this.dir);
  }
}

export class V2Driver implements CgroupDriver {
  version = 2 as const;
  private self: string;

  /** root: where the unified hierarchy is mounted (a fake tree in tests) */
  constructor(
    private root = '/sys/fs/cgroup',
    procSelfCgroup = fs.readFileSync('/proc/self/cgroup', 'utf8'),
    private registry = new ParentRegistry(),
  ) {
    this.self = parseProcCgroup(procSelfCgroup).get('') ?? '/';
  }

  // #region v2-create
  create(name: string, parent: string | undefined, record?: (paths: Record<string, string>) => void): ContainerCgroup {
    // A relative --cgroup-parent is taken from where the container would go
    // by default: the caller's own cgroup usually holds processes (dockling).
    const base = parent === undefined ? this.defaultParent() : parent.startsWith('/') ? parent : path.join(this.defaultParent(), parent);
    const parentDir = path.join(this.root, base);
    const dir = path.join(parentDir, name);
    record?.({ unified: dir });
    const made = makeCgroupDirs(parentDir, this.root);
    // Enable the controllers on every level from the root down to our parent.
    const levels = [this.root];
    for (const part of path.relative(this.root, parentDir).split('/').filter(Boolean)) levels.push(path.join(levels[levels.length - 1], part));
    for (const level of levels) {
      const available = (readCgroupFile(path.join(level, 'cgroup.controllers')) ?? '').split(/\s+/);
      const enabled = (readCgroupFile(path.join(level, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      const wanted = V2_CONTROLLERS.filter((c) => available.includes(c) && !enabled.includes(c));
      if (wanted.length === 0) continue;
      try {
        writeCgroupFile(path.join(level, 'cgroup.subtree_control'), wanted.map((c) => '+' + c).join(' '));
      } catch (e) {
        if (/EBUSY/.test((e as Error).message)) {
          throw new Error(
            `cgroup v2: ${level} has processes of its own, so it cannot hand controllers to a container's cgroup ("no internal processes" rule): give --cgroup-parent an empty cgroup, e.g. --cgroup-parent /dockling`,
          );
        }
        throw e;
      }
    }
    this.registry.add(made);
    makeCgroupDirs(dir, this.root);
    return new V2Cgroup(dir, this.registry);
  }
  // #endregion v2-create

  /**
   * The caller's cgroup, if it can have children with controllers. On a
   * systemd host the caller is a login shell's session scope, which holds
   * processes, so by the "no internal processes" rule it cannot: then the
   * nearest ancestor without processes of its own (the user's slice) is
   * the parent instead. (The root is exempt from the rule.)
   */
  private defaultParent(): string {
    let base = this.self;
    const procs = (b: string) => (readCgroupFile(path.join(this.root, b, 'cgroup.procs')) ?? '').trim() !== '';
    const delegates = (b: string) => (readCgroupFile(path.join(this.root, b, 'cgroup.subtree_control')) ?? '').trim() !== '';
    while (base !== '/' && procs(base) && !delegates(base)) base = path.dirname(base);
    return base;
  }

  open(paths: Record<string, string>): ContainerCgroup {
    return new V2Cgroup(paths.unified, this.registry);
  }

  mounts(): MountSpec[] {
    return [{ destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['ro', 'nosuid', 'noexec', 'nodev'] }];
  }
}
