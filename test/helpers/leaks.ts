// "Nothing leaks": what a container may leave on the host, captured before a
// test and compared after it. Only what belongs to the test is compared (its
// state root, the namespaces created since), so test files running side by
// side do not see each other's containers.
import fs from 'node:fs';
import os from 'node:os';
import assert from 'node:assert/strict';

export interface HostSnapshot {
  mounts: string[];
  namespaces: Set<string>;
  tmp: Set<string>;
}

/** Mount points (from /proc/self/mountinfo) whose path mentions `needle`. */
export function mountsUnder(needle: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p && p.includes(needle));
}

/**
 * Every PID and mount namespace a process on the host is in. A container
 * process left behind shows up as a namespace that was not there before.
 */
export function liveNamespaces(): Set<string> {
  const out = new Set<string>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    for (const ns of ['pid', 'mnt']) {
      try {
        out.add(fs.readlinkSync(`/proc/${pid}/ns/${ns}`));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

export function snapshot(root: string): HostSnapshot {
  return { mounts: mountsUnder(root), namespaces: liveNamespaces(), tmp: new Set(fs.readdirSync(os.tmpdir())) };
}

/**
 * Assert nothing of a container remains: no mount under the state root, no
 * process in a namespace made since `before`, no new temp entry, no
 * container directory.
 */
export async function assertNoLeaks(root: string, before: HostSnapshot): Promise<void> {
  // A container's processes are gone when `run` returns; allow the kernel a
  // moment to finish tearing a namespace down.
  let leftNs: string[] = [];
  for (let i = 0; i < 50; i++) {
    const now = liveNamespaces();
    leftNs = [...now].filter((n) => !before.namespaces.has(n));
    if (leftNs.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // Namespaces of other test files may appear meanwhile: only processes
  // whose root is a directory under our state root count as ours.
  const ours = leftNs.length ? holdersUnder(leftNs, root) : [];
  assert.deepEqual(ours, [], 'processes of the container are still running');
  assert.deepEqual(mountsUnder(root).filter((m) => !before.mounts.includes(m)), [], 'mounts of the container remain');
  const newTmp = fs.readdirSync(os.tmpdir()).filter((f) => !before.tmp.has(f) && /dockling|busybox/.test(f));
  assert.deepEqual(newTmp, [], 'temporary files remain');
  let containers: string[] = [];
  try {
    containers = fs.readdirSync(`${root}/containers`).filter((f) => /^[0-9a-f]{64}$/.test(f));
  } catch {
    /* no store yet */
  }
  assert.deepEqual(containers, [], 'container state directories remain');
}

/**
 * Processes in the given namespaces whose root filesystem lies under `root`.
 * After pivot_root, /proc/PID/root reads as "/", but the process's own
 * mountinfo still names, for its "/" mount, the directory it came from.
 */
function holdersUnder(nss: string[], root: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const ns = [fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${pid}/ns/mnt`)];
      if (!ns.some((n) => nss.includes(n))) continue;
      const mountinfo = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
      if (!mountinfo.split('\n').some((l) => (l.split(' ')[3] ?? '').startsWith(root))) continue;
      out.push(`${pid}: ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  return out;
}
