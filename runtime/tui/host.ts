// The guide's "host" pane (h): the state on the host that a step's trace
// points at, read when the learner asks, as they would read it themselves:
// the cgroup directories the step made and their files, the container's
// /proc/PID/ns links beside the host's own, the network links, the storage
// directories in the scratch state root.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TraceRecord } from '../trace/events.js';

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

export function hostView(root: string, trace: TraceRecord[]): string[] {
  const out: string[] = [];
  const cgroups = [...new Set(trace.flatMap((e) => (e.op === 'mkdir' && /\/sys\/fs\/cgroup\/.*dockling-[0-9a-f]{64}$/.test(e.path) ? [e.path] : [])))];
  if (cgroups.length) out.push('cgroups the step made:', ...cgroups.flatMap(cgroupLines), '');
  for (const c of running(root)) out.push(...namespaceLines(c.name, c.pid), '');
  if (trace.some((e) => e.op === 'ip' || e.op === 'ifup' || e.op === 'iptables')) {
    const ip = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' });
    out.push('ip -br link (the host):', ...(ip.stdout ?? '').trim().split('\n').map((l) => `  ${l}`), '');
  }
  for (const driver of ['overlay2', 'aufs/diff']) {
    const d = path.join(root, driver);
    if (!fs.existsSync(d)) continue;
    const layers = fs.readdirSync(d).filter((f) => f !== 'l');
    out.push(`${d}: ${layers.length} director${layers.length === 1 ? 'y' : 'ies'}`, ...layers.slice(0, 8).map((l) => `  ${l}`), '');
  }
  if (out.length === 0) out.push('Nothing on the host to show for this step: run it first, or its container is gone.');
  return out;
}
