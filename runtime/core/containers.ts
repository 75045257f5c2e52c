// The container store: one directory per container under <root>/containers,
// named by its full ID, as in Docker. config.v2.json holds what dockling
// knows about it (ID, Name, State…); hostname, hosts and resolv.conf are the
// files bind-mounted over the container's /etc ones.
//
// Two dockling processes may create containers at once, so creating one (and
// checking its name is free) happens under the store's lock.
import fs from 'node:fs';
import path from 'node:path';
import { newContainerId, generateName } from './ids.js';
import { writeFileAtomic, withLock } from './files.js';

export interface ContainerState {
  Status: 'created' | 'running' | 'exited';
  Running: boolean;
  Pid: number;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
}

export interface ContainerConfig {
  ID: string;
  Name: string; // with Docker's leading "/"
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Config: { Hostname: string; Env: string[]; Cmd: string[]; Entrypoint?: string[] | null; Image: string; WorkingDir: string; Tty: boolean; OpenStdin: boolean };
  /** the directory the container's root is made from */
  Rootfs: string;
  /** the image's ID, when made from an image (chapter 4) */
  Image?: string;
  /** the storage driver holding its writable layer (chapter 4) */
  Driver?: string;
  /** which chapter's runtime made it */
  Chapter: number;
  /** the process that watches the container and records its exit (the CLI, until chapter 5) */
  MonitorPid: number;
  /** the container's cgroup directories, by controller (chapter 2) */
  CgroupPaths?: Record<string, string>;
  /** what each layer applied, in Docker's HostConfig names: namespaces (chapter 1), limits (chapter 2)… */
  HostConfig?: Record<string, unknown>;
}

export interface ContainerRecord {
  id: string;
  name: string;
  dir: string;
}

export const containersDir = (root: string) => path.join(root, 'containers');

export function readConfig(dir: string): ContainerConfig | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'config.v2.json'), 'utf8')) as ContainerConfig;
  } catch {
    return null; // no config.v2.json: not (or no longer, or not yet) a container
  }
}

export function listContainers(root: string): ContainerConfig[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(containersDir(root));
  } catch {
    return []; // no containers/ yet: none made
  }
  return ids
    .filter((id) => /^[0-9a-f]{64}$/.test(id))
    .map((id) => readConfig(path.join(containersDir(root), id)))
    .filter((c): c is ContainerConfig => c !== null);
}

/** Is this process still there? (signal 0 checks without sending anything) */
export function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers signal 0 too, but it has exited: it only waits for its
  // parent to collect its status (state "Z" in /proc/PID/stat).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // no /proc entry: it exited and was reaped since the signal 0
  }
}

export class NameConflictError extends Error {}

/**
 * Make a new container's directory, with a unique ID and a free name, under
 * the store's lock. A name held by a container whose process is gone (its
 * CLI was killed) is stale and is reclaimed: until chapter 5 nothing else
 * could ever remove it.
 */
export function createContainer(root: string, wanted: string | undefined, make: (rec: ContainerRecord) => ContainerConfig): ContainerRecord {
  const dir = containersDir(root);
  fs.mkdirSync(dir, { recursive: true, mode: 0o710 });
  return withLock(path.join(dir, '.lock'), () => {
    const all = listContainers(root);
    const holder = (n: string) => all.find((c) => c.Name === '/' + n);
    if (wanted) {
      const h = holder(wanted);
      if (h && abandoned(h)) {
        removeContainerDir(path.join(dir, h.ID));
      } else if (h) {
        throw new NameConflictError(
          `Conflict. The container name "/${wanted}" is already in use by container "${h.ID}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
    }
    const name = wanted ?? generateName((n) => holder(n) !== undefined);
    let id = newContainerId();
    while (all.some((c) => c.ID === id)) id = newContainerId();
    const rec = { id, name, dir: path.join(dir, id) };
    // Made whole under a temporary name, then renamed into place: a CLI
    // killed half-way leaves a ".creating-PID-…" directory the next run
    // reaps, never a container directory without its config.
    const tmp = path.join(dir, `.creating-${process.pid}-${id}`);
    fs.mkdirSync(tmp, { mode: 0o710 });
    writeFileAtomic(path.join(tmp, 'config.v2.json'), JSON.stringify(make(rec)));
    fs.renameSync(tmp, rec.dir);
    return rec;
  });
}

/**
 * Remove a container's directory: renamed out of the store first (one
 * step), then deleted. A CLI killed while deleting leaves a
 * ".removing-PID-…" directory (reaped later), never a half container.
 */
export function removeContainerDir(dir: string): void {
  const gone = path.join(path.dirname(dir), `.removing-${process.pid}-${path.basename(dir)}`);
  try {
    fs.renameSync(dir, gone);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // removed already
    throw e;
  }
  fs.rmSync(gone, { recursive: true, force: true });
}

/** ".creating-PID-…" and ".removing-PID-…" directories whose process is gone. */
export function strandedDirs(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(containersDir(root));
  } catch {
    return []; // no containers/ yet: none made
  }
  return names.flatMap((n) => {
    const m = /^\.(?:creating|removing)-(\d+)-/.exec(n);
    return m && !alive(Number(m[1])) ? [path.join(containersDir(root), n)] : [];
  });
}

/**
 * Read, change and write back a container's config.v2.json, under the
 * container's own lock: two dockling commands changing one container at
 * once (a rename and a stop, say) must not lose one of the changes.
 */
export function updateConfig(rec: ContainerRecord, change: (c: ContainerConfig) => void): void {
  if (!fs.existsSync(rec.dir)) return;
  try {
    withLock(path.join(rec.dir, '.lock'), () => {
      const c = readConfig(rec.dir);
      if (!c) return;
      change(c);
      writeFileAtomic(path.join(rec.dir, 'config.v2.json'), JSON.stringify(c));
    });
  } catch (e) {
    // The container was removed meanwhile (rm, --rm): nothing left to change.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export class NoSuchContainerError extends Error {}

/**
 * Find a container by name, full ID or unique ID prefix, as Docker does:
 * an exact name or ID wins; a prefix must match exactly one container.
 */
export function resolveContainer(root: string, ref: string): ContainerConfig {
  const all = listContainers(root);
  const exact = all.find((c) => c.ID === ref || c.Name === '/' + ref.replace(/^\//, ''));
  if (exact) return exact;
  const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((c) => c.ID.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new NoSuchContainerError(`Multiple IDs found with provided prefix: ${ref}`);
  throw new NoSuchContainerError(`No such container: ${ref}`);
}

/** Running means: marked running, and its PID 1 is still there. */
export function isRunning(c: ContainerConfig): boolean {
  return c.State.Running && alive(c.State.Pid);
}

// #region abandoned
/**
 * The lock held by whoever will clean up after a container that has
 * ended: a foreground CLI from the moment it tells the monitor "I clean
 * up" (chapter 5) until its cleanup is over, or a command reaping it. A
 * reaper only takes a container whose lock is free, so it never races a
 * live CLI still in its teardown, nor another reaper.
 */
export const ownerLock = (dir: string) => path.join(dir, '.owner');

/**
 * What the next command must do for a container that nobody looks after
 * any more (its PID 1 and its monitor, or its CLI before chapter 5, are
 * gone), or null:
 *
 * - "remove": it was never to be kept. Before chapter 5 every container
 *   not marked exited (the CLI was killed before or during its cleanup);
 *   from chapter 5 one still "created" (killed while setting it up), and
 *   a --rm one past its end (its CLI or monitor was killed before or
 *   while removing it).
 * - "release": a kept container (chapter 5, no --rm) still marked
 *   running: its monitor was killed (nsexec and PID 1 die with it), so
 *   nobody recorded the end nor released the cgroups and the mount.
 */
export function abandonment(c: ContainerConfig): 'remove' | 'release' | null {
  if (alive(c.MonitorPid) || alive(c.State.Pid)) return null;
  if (c.Chapter < 5) return c.State.Status !== 'exited' ? 'remove' : null;
  // A created container with no CLI (MonitorPid 0) was made by `create` on purpose: it waits for `start`.
  if (c.State.Status === 'created') return c.MonitorPid !== 0 ? 'remove' : null;
  if (c.HostConfig?.AutoRemove) return 'remove';
  return c.State.Status === 'running' ? 'release' : null;
}
// #endregion abandoned

/**
 * Containers whose CLI and PID 1 are both gone though their state is still
 * here: the CLI was killed with SIGKILL and could not clean up. Until
 * chapter 5 gives containers a monitor, nothing else would ever remove them.
 */
export function abandonedContainers(root: string): ContainerConfig[] {
  return listContainers(root).filter((c) => abandonment(c) === 'remove');
}

/**
 * A name held by a container that never ran to its end, and whose CLI is
 * gone, is free: nothing but its directory is left to remove. (A --rm one
 * past its end may still hold a mount and cgroups: the reaper takes those,
 * under their owner lock, before the name is looked up.)
 */
function abandoned(c: ContainerConfig): boolean {
  if (alive(c.MonitorPid) || alive(c.State.Pid)) return false;
  return c.Chapter < 5 ? c.State.Status !== 'exited' : c.State.Status === 'created' && c.MonitorPid !== 0;
}
