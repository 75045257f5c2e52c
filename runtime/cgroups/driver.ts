// One interface, two kernels' ways of grouping processes.
//
// cgroup v1 has one tree per controller (memory, cpu, pids…), each mounted on
// its own directory, and a process has a place in each tree. cgroup v2 has a
// single tree where every controller applies, enabled level by level. A
// container's cgroup is "the same place" in every tree either way, and the
// rest of dockling only talks to this interface.
import fs from 'node:fs';
import path from 'node:path';
import type { MountSpec } from '../core/spec.js';
import type { Limits } from './limits.js';
import { trace } from '../trace/trace.js';
import { withLock, writeFileAtomic } from '../core/files.js';

export interface CgroupStats {
  /** total CPU time used, nanoseconds */
  cpuNs: number;
  /** memory in use, minus inactive page cache (what `docker stats` shows) */
  memoryUsage: number;
  /** the limit in bytes, or null when unlimited */
  memoryLimit: number | null;
  pids: number;
  pidsLimit: number | null;
  /** times the OOM killer killed a process of this cgroup */
  oomKills: number;
  blkioRead: number;
  blkioWrite: number;
}

export interface ContainerCgroup {
  /** the directory of the container's cgroup in each hierarchy it uses */
  paths: Record<string, string>;
  apply(limits: Limits): void;
  /** move a process (and so all its future children) into the cgroup */
  join(pid: number): void;
  /** the processes in the cgroup now */
  pids(): number[];
  stats(): CgroupStats;
  /** remove the cgroup directories (and the parents this container made) */
  destroy(): void;
}

export interface CgroupDriver {
  version: 1 | 2;
  /**
   * make the container's cgroup, named after it, under `parent` or the
   * caller's cgroup; `record` is told the directories before any is made,
   * so that a CLI killed half-way leaves cgroups its reaper can find
   */
  create(name: string, parent: string | undefined, record?: (paths: Record<string, string>) => void): ContainerCgroup;
  /** open a container's cgroup again from its saved paths (for top, stats) */
  open(paths: Record<string, string>): ContainerCgroup;
  /** what the container should see at /sys/fs/cgroup */
  mounts(): MountSpec[];
}

// --- helpers both drivers use ---

const CH = 2;

// #region write-cgroup-file
/** Write a value into a cgroup file: each write is a trace event, as it is what the kernel is told. */
export function writeCgroupFile(file: string, value: string): void {
  trace.emit(CH, { op: 'write', path: file, value });
  try {
    fs.writeFileSync(file, value);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`cgroup: cannot write "${value}" to ${file}: ${code}`, { cause: e });
  }
}
// #endregion write-cgroup-file

export function readCgroupFile(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null; // no such file: the cgroup is gone, or this kernel has no such controller file
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → map. */
export function readKeyed(file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (readCgroupFile(file) ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

/** mkdir -p, tracing and remembering each directory made (to remove them later). */
export function makeCgroupDirs(dir: string, stopAt: string): string[] {
  const made: string[] = [];
  const missing: string[] = [];
  for (let d = dir; d.length > stopAt.length && !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    trace.emit(CH, { op: 'mkdir', path: d, mode: 0o755 });
    try {
      fs.mkdirSync(d);
      made.push(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return made;
}

// #region remove-cgroup-dir
/**
 * rmdir a cgroup. The kernel refuses (EBUSY) while a process is still in it,
 * and a killed process leaves its cgroup a moment after it is reaped: retry
 * briefly.
 */
export function removeCgroupDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  trace.emit(CH, { op: 'rmdir', path: dir });
  for (let i = 0; ; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 200) throw new Error(`cgroup: cannot remove ${dir}: ${code}`, { cause: e });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
// #endregion remove-cgroup-dir

/** Parse /proc/<pid>/cgroup: hierarchy controllers ("memory", "cpu,cpuacct", "" for v2) → path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const parts = line.split(':');
    if (parts.length < 3) continue;
    m.set(parts[1], parts.slice(2).join(':'));
  }
  return m;
}

// #region parent-registry
/**
 * Parent cgroups dockling made for --cgroup-parent, machine-wide. A parent
 * made for container A may hold container B by the time A ends, so A cannot
 * remove it then, and B did not make it: the list remembers "dockling made
 * this" until the last container under it is gone. It lives in /run, which,
 * like the cgroup tree itself, starts empty at every boot.
 */
export const PARENT_REGISTRY = '/run/dockling/cgroup-parents.json';

export class ParentRegistry {
  constructor(public file = PARENT_REGISTRY) {}

  private change(fn: (dirs: Set<string>) => void): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    withLock(this.file + '.lock', () => {
      let dirs = new Set<string>();
      try {
        dirs = new Set(JSON.parse(fs.readFileSync(this.file, 'utf8')) as string[]);
      } catch {
        /* none yet */
      }
      fn(dirs);
      if (dirs.size) writeFileAtomic(this.file, JSON.stringify([...dirs].sort()));
      else fs.rmSync(this.file, { force: true });
    });
  }

  add(dirs: string[]): void {
    if (dirs.length) this.change((set) => dirs.forEach((d) => set.add(d)));
  }

  /** Remove the registered ancestors of `dir` that are empty now, deepest first. */
  removeUnusedAbove(dir: string): void {
    this.change((set) => {
      for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
        if (!set.has(d)) continue;
        trace.emit(CH, { op: 'rmdir', path: d });
        try {
          fs.rmdirSync(d);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // another container is in it
        }
        set.delete(d);
      }
    });
  }
}
// #endregion parent-registry
