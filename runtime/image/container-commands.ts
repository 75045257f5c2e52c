// Chapter 4's commands on a container's writable layer: diff, commit,
// export; rm to remove a stopped container with its layers; inspect.
// (Chapter 5 adds the rest of a container's life: ps, stop, start, logs…)
import fs from 'node:fs';
import path from 'node:path';
import type { Command, Layer } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { reportFailure } from '../core/failure.js';
import { alive, containersDir, isRunning, removeContainerDir, resolveContainer, NoSuchContainerError, type ContainerConfig } from '../core/containers.js';
import { trace } from '../trace/trace.js';
import type { HistoryEntry, ImageConfig, RunConfig } from './config.js';
import { withChanges } from './change.js';
import { NoSuchImageError } from './image-store.js';
import { openStores, type Stores } from './open-stores.js';
import { ownedTempDir } from './leftovers.js';
import { writeOutput, writeTo } from './busybox.js';
import { checkFormat, formatFlag, imageInspectOrNull, inspectEach, parseRefOrFail } from './commands.js';
import { thawAbandoned, whileFrozen } from '../cgroups/freezer.js';
import { goTime, nowRFC3339Nano } from '../core/time.js';

const CH = 3;

/** A container by name, ID or unique ID prefix; not found is the user's error (exit 1, Docker's message). */
export function containerOrFail(stateRoot: string, ref: string): ContainerConfig {
  try {
    return resolveContainer(stateRoot, ref);
  } catch (e) {
    if (e instanceof NoSuchContainerError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

/** The container's layers, or a clear error for a --rootfs container. */
function mountOf(s: Stores, c: ContainerConfig) {
  const m = s.layers.getMount(c.ID);
  if (!m) throw new RunError(1, `container ${c.Name.slice(1)} has no image layers (it was run from a directory with --rootfs): there is no writable layer to look at`);
  return m;
}

// #region diff
const diffCommand: Command = {
  name: 'diff',
  aliases: ['container diff'],
  summary: "Inspect changes to files or directories on a container's filesystem",
  usage: 'diff CONTAINER',
  flags: [],
  minArgs: 1,
  async run(inv) {
    const s = openStores(inv.stateRoot);
    const c = containerOrFail(inv.stateRoot, inv.args[0]);
    const m = mountOf(s, c);
    const changes = s.driver.changes(m.mountID, m.initID);
    process.stdout.write(changes.map((ch) => `${ch.kind} ${ch.path}\n`).join(''));
    return 0;
  },
};
// #endregion diff

// #region commit
/**
 * A new image = the container's image + one layer: the writable layer's
 * changes, packed as a tar (whiteouts in OCI form), registered on top of
 * the image's layers. The new config is the container's: its command
 * becomes the image's Cmd, as in Docker.
 */
/**
 * Docker's commit merges the container's anonymous volumes (its
 * Config.Volumes, which chapter 7 records: `-v /data`, the image's own)
 * into the new image's, so a container of the image gets them too. Their
 * content is not in the image: a volume is not the container's layer.
 */
function committedVolumes(base: RunConfig, c: ContainerConfig): { Volumes?: Record<string, object> } {
  const volumes = { ...(base.Volumes ?? {}), ...(((c.Config as Record<string, unknown>).Volumes as Record<string, object> | null | undefined) ?? {}) };
  return Object.keys(volumes).length ? { Volumes: volumes } : {};
}

async function commit(s: Stores, c: ContainerConfig, opts: { author?: string; message?: string; changes?: string[]; pause: boolean }): Promise<string> {
  const m = mountOf(s, c);
  if (!c.Image) throw new RunError(1, `container ${c.Name.slice(1)} has no image`);
  let base: ImageConfig;
  try {
    base = s.images.get(c.Image);
  } catch (e) {
    if (e instanceof NoSuchImageError) throw new RunError(1, `the image of container ${c.Name.slice(1)} (${c.Image}) was removed: cannot commit on top of it`, { cause: e });
    throw e;
  }
  const dir = ownedTempDir(s.root, 'commit'); // owner-tagged: reaped if commit is killed (leftovers.ts)
  try {
    const tarFile = path.join(dir, 'layer.tar');
    // #region commit-pause
    // Docker pauses a running container for the commit (--pause, default
    // true): frozen by its cgroup's freezer, it cannot change a file while
    // the walk reads its layer, so the image is one moment of it. The walk
    // never trusts the tree anyway (pack.ts): --pause=false is safe, only
    // not a snapshot.
    const pack = () => writeTo(tarFile, (out) => s.driver.diff(m.mountID, m.initID, out));
    const containerDir = path.join(s.root, 'containers', c.ID);
    thawAbandoned(c.CgroupPaths, containerDir);
    if (opts.pause && isRunning(c)) await whileFrozen(c.CgroupPaths, containerDir, pack);
    else await pack();
    // #endregion commit-pause
    return await s.images.lockedAsync(async () => {
      const layer = await s.layers.register(tarFile, m.parent);
      const created = nowRFC3339Nano();
      const step: HistoryEntry = { created, created_by: [c.Path, ...c.Args].join(' ') };
      if (opts.author) step.author = opts.author;
      if (opts.message) step.comment = opts.message;
      const config: ImageConfig = {
        ...base,
        created,
        container: c.ID,
        container_config: { ...c.Config }, // as Docker's commit keeps it: image inspect's ContainerConfig
        config: withChanges({ ...base.config, Env: imageEnv(c), Cmd: c.Config.Cmd, WorkingDir: c.Config.WorkingDir === '/' ? (base.config.WorkingDir ?? '') : c.Config.WorkingDir, ...committedVolumes(base.config, c) }, opts.changes ?? []),
        rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, layer.diffID] },
        history: [...base.history, step],
      };
      if (opts.author) config.author = opts.author;
      if (opts.message) config.comment = opts.message;
      return s.images.put(config, c.Image);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion commit

/**
 * The container's env as an image keeps it: Config.Env is Docker's record
 * (env.ts), without what each start adds anew. (A container made before
 * the record was kept this way holds its process's env: HOSTNAME and the
 * default HOME are left out of that.)
 */
function imageEnv(c: ContainerConfig): string[] {
  return c.Config.Env.filter((e) => !e.startsWith('HOSTNAME=') && e !== 'HOME=/root');
}

const commitCommand: Command = {
  name: 'commit',
  aliases: ['container commit'],
  summary: "Create a new image from a container's changes",
  usage: 'commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  flags: [
    { name: 'author', short: 'a', kind: 'string', usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Commit message' },
    { name: 'change', short: 'c', kind: 'stringArray', usage: 'Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, …)' },
    { name: 'pause', short: 'p', kind: 'bool', usage: 'Pause container during commit (default true)' },
  ],
  minArgs: 1,
  async run(inv) {
    const s = openStores(inv.stateRoot);
    // The name and the changes are checked before anything is looked up or packed.
    const ref = inv.args[1] === undefined ? null : parseRefOrFail(inv.args[1]);
    const changes = (inv.flags.get('change') as string[] | undefined) ?? [];
    withChanges({}, changes);
    const c = containerOrFail(inv.stateRoot, inv.args[0]);
    const id = await commit(s, c, { author: inv.flags.get('author') as string | undefined, message: inv.flags.get('message') as string | undefined, changes, pause: inv.flags.get('pause') !== false });
    if (ref) await s.images.lockedAsync(async () => s.images.tag(id, ref));
    process.stdout.write(id + '\n');
    return 0;
  },
};

const exportCommand: Command = {
  name: 'export',
  aliases: ['container export'],
  summary: "Export a container's filesystem as a tar archive",
  usage: 'export [OPTIONS] CONTAINER',
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  async run(inv) {
    const s = openStores(inv.stateRoot);
    const c = containerOrFail(inv.stateRoot, inv.args[0]);
    const m = mountOf(s, c);
    const file = inv.flags.get('output') as string | undefined;
    if (!file && process.stdout.isTTY) throw new RunError(1, 'Cowardly refusing to save to a terminal. Use the -o flag or redirect');
    // The merged view, flattened: a running container's root is mounted
    // already; a stopped one's is mounted for the export and unmounted after.
    const wasMounted = s.driver.mounted(m.mountID);
    const merged = s.driver.get(m.mountID);
    try {
      const { packLayer } = await import('../storage/pack.js');
      await writeOutput(file, (out) => packLayer(merged, out, { whiteouts: 'none' }));
    } finally {
      if (!wasMounted) s.driver.put(m.mountID);
    }
    return 0;
  },
};

// #region rm
/**
 * Remove a stopped container: what each layer made for it, newest chapter
 * first (its reap: chapter 4's takes its layers off and frees the image
 * layers nothing else holds), then its state directory. Chapter 5's `rm`
 * and `container prune` remove a container the same way.
 */
export function removeContainer(stateRoot: string, layers: Layer[], c: ContainerConfig, opts: { volumes?: boolean } = {}): void {
  for (const layer of [...layers].sort((a, b) => b.chapter - a.chapter)) layer.reap?.(c, stateRoot, opts);
  const dir = path.join(containersDir(stateRoot), c.ID);
  trace.emit(CH, { op: 'remove', path: dir });
  removeContainerDir(dir);
}
// #endregion rm

/** Docker's refusal to remove a running container without -f (moby's daemon/delete.go). */
export const removeRunningRefusal = (c: ContainerConfig) => `cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`;

/**
 * Run `fn` for each argument of a command that takes several containers
 * (rm; chapter 5's stop, start, kill…), as the docker CLI does: print it
 * (or what `fn` returns; nothing when it returns null) on success, the error
 * on failure and go on; exit 1 if any failed.
 */
/**
 * `rm -f` of a container that does not exist is not a failure: the docker
 * CLI prints "No such container" when forced but goes on, and exits 0 (the
 * wanted end state, no such container, holds). An ambiguous ID prefix is
 * still an error.
 */
export function isGone(stateRoot: string, ref: string): boolean {
  try {
    resolveContainer(stateRoot, ref);
    return false;
  } catch (e) {
    // Not found means gone; "Multiple IDs found" is the caller's to report.
    if (!(e instanceof NoSuchContainerError) || !e.message.startsWith('No such container')) return false;
    reportFailure(e);
    return true;
  }
}

export async function eachArgument(args: string[], fn: (ref: string) => Promise<string | void | null>): Promise<number> {
  let code = 0;
  for (const ref of args) {
    try {
      const out = await fn(ref);
      if (out !== null) process.stdout.write((out ?? ref) + '\n');
    } catch (e) {
      if (!(e instanceof RunError)) throw e;
      reportFailure(e);
      code = 1;
    }
  }
  return code;
}

export const rmCommand: Command = {
  name: 'rm',
  aliases: ['container rm', 'container remove'],
  summary: 'Remove one or more containers',
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' }],
  minArgs: 1,
  async run(inv) {
    return eachArgument(inv.args, async (ref) => {
      if (inv.flags.get('force') && isGone(inv.stateRoot, ref)) return null;
      const c = containerOrFail(inv.stateRoot, ref);
      if (isRunning(c)) {
        if (!inv.flags.get('force')) throw new RunError(1, removeRunningRefusal(c));
        // Until chapter 5's monitor, a running container belongs to the
        // CLI that runs it: kill its PID 1 and let that CLI clean up.
        // (A frozen task dies only once thawed: undo a killed commit's freeze first.)
        thawAbandoned(c.CgroupPaths, path.join(inv.stateRoot, 'containers', c.ID));
        process.kill(c.State.Pid, 'SIGKILL');
        for (let i = 0; i < 200 && (alive(c.State.Pid) || alive(c.MonitorPid)); i++) await new Promise((r) => setTimeout(r, 25));
      }
      removeContainer(inv.stateRoot, inv.layers, c);
    });
  },
};

// #region container-inspect
/**
 * A container, shaped like the first part of `docker inspect`'s: what
 * chapter 4 knows of it (its config and its layers). Chapter 5 adds the
 * rest to this same document (container/inspect.ts).
 */
export function containerInspect(s: Stores, c: ContainerConfig): Record<string, unknown> {
  const m = s.layers.getMount(c.ID);
  return {
    Id: c.ID,
    Created: goTime(c.Created), // Go's form: nanoseconds, no trailing zeros (core/time.ts)
    Path: c.Path,
    Args: c.Args,
    State: { ...c.State, Running: isRunning(c), StartedAt: goTime(c.State.StartedAt), FinishedAt: goTime(c.State.FinishedAt) },
    Image: c.Image ?? '',
    Name: c.Name,
    Driver: c.Driver ?? '',
    // A --rootfs container has no layers: Docker's empty GraphDriver then.
    GraphDriver: m ? { Data: s.driver.metadata(m.mountID), Name: s.driver.name } : { Data: null, Name: '' },
    HostConfig: c.HostConfig ?? {},
    Config: c.Config,
  };
}
// #endregion container-inspect

/**
 * `inspect NAME|ID...`: Docker looks for a container first, then an image.
 * `inspectContainer` finds a container by reference (or throws
 * NoSuchContainerError) and shows it: chapter 4's from its config here,
 * chapter 5's with the state its monitor recorded.
 */
export function inspectCommandWith(inspectContainer: (s: Stores, stateRoot: string, ref: string) => Record<string, unknown>): Command {
  return {
    name: 'inspect',
    summary: 'Return low-level information on containers or images',
    usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
    flags: [formatFlag, { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type (container or image)' }],
    minArgs: 1,
    async run(inv) {
      const format = inv.flags.get('format') as string | undefined;
      checkFormat(format);
      const s = openStores(inv.stateRoot);
      const type = inv.flags.get('type') as string | undefined;
      if (type && type !== 'container' && type !== 'image') throw new RunError(1, `"${type}" is not a valid value for --type`);
      return inspectEach(inv.args, format, 'object', (ref) => {
        if (type !== 'image') {
          try {
            return inspectContainer(s, inv.stateRoot, ref);
          } catch (e) {
            if (!(e instanceof NoSuchContainerError)) throw e;
            if (type === 'container') return null;
          }
        }
        return imageInspectOrNull(s, ref);
      });
    },
  };
}

const inspectCommand = inspectCommandWith((s, stateRoot, ref) => containerInspect(s, resolveContainer(stateRoot, ref)));

export const containerCommands: Command[] = [diffCommand, commitCommand, exportCommand, rmCommand, inspectCommand];
