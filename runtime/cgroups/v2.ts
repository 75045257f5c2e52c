// cgroup v2: one tree, mounted at /sys/fs/cgroup. A controller works in a
// cgroup only if its parent has enabled it for its children, by writing
// "+memory" into cgroup.subtree_control, and that is done level by level from
// the root down. One rule shapes everything: a cgroup with processes of its
// own cannot hand controllers to children ("no internal processes"), so the
// container's parent must be a cgroup without processes of its own.
import fs from 'node:fs';
import path from 'node:path';
import type { MountSpec } from '../core/spec.js';
import { withLock } from '../core/files.js';
import type { Limits } from './limits.js';
import { sharesToWeight } from './units.js';
import {
  makeCgroupDirs, parseProcCgroup, readCgroupFile, readKeyed, removeCgroupDir, writeCgroupFile, ParentRegistry,
  type CgroupDriver, type CgroupStats, type ContainerCgroup,
} from './driver.js';

export const V2_CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'pids'];

/** The leaf the caller's processes are moved into, below the caller's own cgroup. */
export const CALLER_LEAF = 'dockling-caller';

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
    // An absolute --cgroup-parent starts at the root; a relative one, and no
    // --cgroup-parent at all, start at the caller's own cgroup.
    const own = this.ownCgroup();
    const base = parent === undefined ? own : parent.startsWith('/') ? parent : path.join(own, parent);
    const parentDir = path.join(this.root, base);
    const dir = path.join(parentDir, name);
    record?.({ unified: dir });
    // Below the caller's own cgroup: it must have no processes of its own.
    if (!this.exempt(own) && (base === own || own === '/' || base.startsWith(own + '/'))) this.vacate(own);
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
            { cause: e },
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

  // #region v2-own-cgroup
  /**
   * The cgroup that is the caller's own. It is where /proc/self/cgroup puts
   * the caller, unless that is the leaf an earlier dockling moved the
   * caller's processes into (see vacate): then it is the leaf's parent, and
   * containers keep going beside the leaf, not inside it.
   */
  private ownCgroup(): string {
    return path.basename(this.self) === CALLER_LEAF ? path.dirname(this.self) : this.self;
  }

  /**
   * v2's "no internal processes" rule: a cgroup (other than the root) that
   * has processes cannot enable controllers for its children. The caller's
   * cgroup has at least one, the caller. So, as a delegated cgroup's owner
   * does under systemd, move every process of the caller's cgroup into a
   * leaf of its own, <own>/dockling-caller: the caller's cgroup becomes an
   * inner node with the caller's processes and its containers below it.
   * A process can fork while we move the others: read again until none is left.
   */
  private vacate(own: string): void {
    const ownDir = path.join(this.root, own);
    const leaf = path.join(ownDir, CALLER_LEAF);
    const procs = () => (readCgroupFile(path.join(ownDir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
    if (procs().length === 0) return; // the usual case after the first container
    // One dockling at a time: another one starting now must not read our
    // init in the list, then move it back out of its container's cgroup.
    // Once the caller's cgroup hands controllers down, no process can enter it again.
    const lock = path.join(path.dirname(this.registry.file), 'caller-leaf.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    withLock(lock, () => {
      const moved = new Set<number>();
      for (let round = 0; round < 100; round++) {
        const pids = procs().filter((p) => !moved.has(p));
        if (pids.length === 0) return;
        makeCgroupDirs(leaf, this.root);
        for (const pid of pids) {
          moved.add(pid);
          try {
            // one PID a write: the kernel reads one number from each
            writeCgroupFile(path.join(leaf, 'cgroup.procs'), String(pid));
          } catch (e) {
            if (!/ESRCH/.test((e as Error).message)) throw e; // it exited meanwhile
          }
        }
      }
    });
  }

  /**
   * The root cgroup is exempt from the rule. Inside a cgroup namespace "/"
   * may be any cgroup (Docker-in-Docker's, say), which is not: only the
   * real root lacks cgroup.type.
   */
  private exempt(own: string): boolean {
    return own === '/' && !fs.existsSync(path.join(this.root, 'cgroup.type'));
  }
  // #endregion v2-own-cgroup

  open(paths: Record<string, string>): ContainerCgroup {
    return new V2Cgroup(paths.unified, this.registry);
  }

  mounts(): MountSpec[] {
    return [{ destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['ro', 'nosuid', 'noexec', 'nodev'] }];
  }
}
