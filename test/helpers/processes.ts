// A container's processes, as the host sees them. Tests that start dockling
// in the background need them twice: to look at the container from outside
// (its namespaces, its /proc/PID files), and to make sure that a container
// that does not end by itself cannot outlive the test. For the latter they
// kill the container, not the CLI: the CLI is what removes the container's
// mounts and state once it has ended, so it must live to see that end.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** The namespace (`pid`, `mnt`, `net`…) a process is in, as /proc names it; undefined once it is gone. */
export function nsOf(pid: number | 'self', ns = 'pid'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
}

/** SIGKILL, unless the process is already gone: cleanup races the process's own exit. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}

/**
 * Host PIDs of the processes below `ancestor` (the CLI, or a script(1) that
 * runs it) that are in another PID namespace than this one: the container's.
 * Found by walking every process's parent up, as /proc/PID/stat names it;
 * the command name in stat may hold spaces and parentheses, so the fields
 * are counted from the last ")".
 */
export function containerProcesses(ancestor: number): number[] {
  const hostNs = nsOf('self');
  return descendants(ancestor).filter((pid) => nsOf(pid) !== undefined && nsOf(pid) !== hostNs);
}

/** Every process below `ancestor`, by the parent links in /proc/PID/stat. */
export function descendants(ancestor: number): number[] {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  return [...parent.keys()].filter((pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === ancestor) return true;
    return false;
  });
}

/**
 * Wait for a process started in the background. If it is not done within
 * `timeoutMs`, kill its container (SIGKILL to every process of it), so that
 * the process ends, the test does not hang and nothing is left; `timedOut`
 * says whether that was needed. With a timeout of 0 it is the cleanup of a
 * `finally`: whatever still runs is killed at once.
 */
export async function finish<R extends object>(p: { child: ChildProcess; done: Promise<R> }, timeoutMs = 10_000): Promise<R & { timedOut: boolean }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const pid of containerProcesses(p.child.pid!)) killQuietly(pid);
  }, timeoutMs);
  const r = await p.done;
  clearTimeout(timer);
  return { ...r, timedOut };
}
