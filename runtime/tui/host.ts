// The guide's "host" pane (h): the state on the host that a step's trace
// points at, read when the learner asks, as they would read it themselves:
// the cgroup directories the step made and their files, the container's
// /proc/PID/ns links beside the host's own, the network links, the storage
// directories in the scratch state root. A step names the parts it is
// about (DemoStep's hostView): the pane opens on those.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TraceRecord } from '../trace/events.js';
import type { HostPart } from '../../chapters/demo.js';

const CGROUP_FILES = /^(memory\.(limit_in_bytes|max|usage_in_bytes|current)|pids\.(max|current)|cpu\.(max|cfs_quota_us|cfs_period_us)|cpuset\.cpus|cgroup\.procs)$/;

/** A few of a cgroup directory's files, with their values; or that --rm removed it. */
function cgroupLines(dir: string): string[] {
  if (!fs.existsSync(dir)) return [`${dir}`, '  (removed when the container ended)'];
  const out = [dir];
  for (const f of fs.readdirSync(dir).filter((f) => CGROUP_FILES.test(f)).sort()) {
    let v: string;
    try {
      v = fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').join(' ');
    } catch (e) {
      v = `(${(e as NodeJS.ErrnoException).code})`;
    }
    out.push(`  ${f} = ${v}`);
  }
  return out;
}

/** The running containers of the state root: name and PID 1, from their config.v2.json. */
function running(root: string): { name: string; pid: number }[] {
  const dir = path.join(root, 'containers');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((id) => {
    try {
      const c = JSON.parse(fs.readFileSync(path.join(dir, id, 'config.v2.json'), 'utf8'));
      const pid = c.State?.Pid;
      return c.State?.Running && pid > 0 && fs.existsSync(`/proc/${pid}`) ? [{ name: String(c.Name ?? id.slice(0, 12)).replace(/^\//, ''), pid }] : [];
    } catch {
      return [];
    }
  });
}

/** /proc/PID/ns against this process's: the namespaces it does not share with the host. */
function namespaceLines(name: string, pid: number): string[] {
  const out = [`${name} (PID ${pid}): /proc/${pid}/ns against the host's`];
  for (const ns of ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup', 'user']) {
    try {
      const theirs = fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
      const ours = fs.readlinkSync(`/proc/self/ns/${ns}`);
      out.push(`  ${ns.padEnd(6)} ${theirs.padEnd(22)} ${theirs === ours ? 'shared with the host' : `own (host ${ours})`}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Each part of the host pane, read when asked. */
const PARTS: Record<HostPart, (root: string, trace: TraceRecord[], asked: boolean) => string[]> = {
  cgroup(_root, trace, asked) {
    const dirs = [...new Set(trace.flatMap((e) => (e.op === 'mkdir' && /\/sys\/fs\/cgroup\/.*dockling-[0-9a-f]{64}$/.test(e.path) ? [e.path] : [])))];
    if (dirs.length) return ['cgroups the step made:', ...dirs.flatMap(cgroupLines), ''];
    return asked ? ['cgroups: this run of the step made none (a container it started earlier keeps its own)', ''] : [];
  },
  ns(root, _trace, asked) {
    const all = running(root).flatMap((c) => [...namespaceLines(c.name, c.pid), '']);
    return all.length || !asked ? all : ['namespaces: no container of the state root is running now', ''];
  },
  links(_root, trace, asked) {
    if (!asked && !trace.some((e) => e.op === 'ip' || e.op === 'ifup' || e.op === 'iptables')) return [];
    const ip = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' });
    return ['ip -br link (the host):', ...(ip.stdout ?? '').trim().split('\n').map((l) => `  ${l}`), ''];
  },
  storage(root) {
    const out: string[] = [];
    for (const driver of ['overlay2', 'aufs/diff']) {
      const d = path.join(root, driver);
      if (!fs.existsSync(d)) continue;
      const layers = fs.readdirSync(d).filter((f) => f !== 'l');
      out.push(`${d}: ${layers.length} director${layers.length === 1 ? 'y' : 'ies'}`, ...layers.slice(0, 8).map((l) => `  ${l}`), '');
    }
    return out;
  },
};

/**
 * The host pane's lines: first the parts the step is about (its
 * `hostView`, each said even when there is nothing to show), then any
 * other part the trace or the state root has something for.
 */
export function hostView(root: string, trace: TraceRecord[], about: HostPart[] = []): string[] {
  const rest = (Object.keys(PARTS) as HostPart[]).filter((p) => !about.includes(p));
  const first = about.flatMap((p) => PARTS[p](root, trace, true));
  const others = rest.flatMap((p) => PARTS[p](root, trace, false));
  const out = about.length && others.length ? [...first, 'also:', ...others] : [...first, ...others];
  if (out.length === 0) out.push('Nothing on the host to show for this step: run it first, or its container is gone.');
  return out;
}
