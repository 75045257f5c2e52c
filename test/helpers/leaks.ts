// "Nothing leaks": what a container may leave on the host, captured before a
// test and compared after it. Only what belongs to the test is compared (its
// state root, the namespaces created since), so test files running side by
// side do not see each other's containers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

export interface HostSnapshot {
  mounts: string[];
  namespaces: Set<string>;
  tmp: Set<string>;
}

/** Every mount point of this process's mount namespace (the host's), from /proc/self/mountinfo. */
function mountPoints(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p);
}

/** Mount points whose path mentions `needle`. */
export function mountsUnder(needle: string): string[] {
  return mountPoints().filter((p) => p.includes(needle));
}

/** Mount points strictly inside the directory `dir`. */
export function mountsInside(dir: string): string[] {
  return mountPoints().filter((p) => p.startsWith(dir + '/'));
}

/** The container directories (named by a 64-hex-digit ID) in the state root's store; none before the first run. */
export function containerDirs(root: string): string[] {
  try {
    return fs.readdirSync(`${root}/containers`).filter((f) => /^[0-9a-f]{64}$/.test(f));
  } catch {
    return []; // no store yet
  }
}

/**
 * What `run --rm` must have removed by the time it returns: no mount
 * inside the state root, no container directory.
 * (The demo tests check this after each step; assertNoLeaks checks more.)
 */
export function assertNoContainerLeft(root: string): void {
  assert.deepEqual(mountsInside(root), [], 'mounts of the container remain');
  assert.deepEqual(containerDirs(root), [], 'container directories remain');
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
  assert.deepEqual(containerDirs(root), [], 'container state directories remain');
  // Chapter 3's aufs server ends with the last mount it serves: give it the
  // moment the kernel takes to tell it the mount is gone.
  let servers: number[] = [];
  for (let i = 0; i < 100; i++) {
    servers = aufsServers(root);
    if (servers.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(servers, [], 'the aufs server outlived the mounts it served');
}

/** PIDs of chapter 3's aufs server processes serving this state root (named by the socket on their command line). */
export function aufsServers(root: string): number[] {
  const socket = path.join(root, 'aufs', 'server.sock');
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes(socket)) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
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
