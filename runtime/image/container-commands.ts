// Chapter 4's commands on a container's writable layer: diff, commit,
// export; rm to remove a stopped container with its layers; inspect.
// (Chapter 5 adds the rest of a container's life: ps, stop, start, logs…)
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { reportFailure } from '../core/failure.js';
import { alive, isRunning, removeContainerDir, resolveContainer, NoSuchContainerError, type ContainerConfig } from '../core/containers.js';
import { trace } from '../trace/trace.js';
import type { HistoryEntry, ImageConfig } from './config.js';
import { withChanges } from './change.js';
import { NoSuchImageError } from './image-store.js';
import { freeUnusedLayers, openStores, type Stores } from './open-stores.js';
import { ownedTempDir } from './leftovers.js';
import { writeOutput, writeTo } from './busybox.js';
import { checkFormat, formatFlag, imageInspect, parseRefOrFail, printInspect } from './commands.js';
import { thawAbandoned, whileFrozen } from '../cgroups/freezer.js';

const CH = 4;

function containerOrFail(stateRoot: string, ref: string): ContainerConfig {
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

// #region commit
/**
 * A new image = the container's image + one layer: the writable layer's
 * changes, packed as a tar (whiteouts in OCI form), registered on top of
 * the image's layers. The new config is the container's: its command
 * becomes the image's Cmd, as in Docker.
 */
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
      const created = new Date().toISOString();
      const step: HistoryEntry = { created, created_by: [c.Path, ...c.Args].join(' ') };
      if (opts.author) step.author = opts.author;
      if (opts.message) step.comment = opts.message;
      const config: ImageConfig = {
        ...base,
        created,
        container: c.ID,
        config: withChanges({ ...base.config, Env: imageEnv(c), Cmd: c.Config.Cmd, WorkingDir: c.Config.WorkingDir === '/' ? (base.config.WorkingDir ?? '') : c.Config.WorkingDir }, opts.changes ?? []),
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

/** The container's env as an image keeps it: without what each run adds anew. */
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
/** Remove a stopped container: its root unmounted, its layers and state deleted. */
export function removeContainer(s: Stores, c: ContainerConfig): void {
  const m = s.layers.getMount(c.ID);
  if (m) {
    s.images.locked(() => {
      s.layers.removeMount(c.ID);
      // An image removed with rmi -f while this container used it leaves
      // layers only this container held: they go with it.
      freeUnusedLayers(s, m.parent);
    });
  }
  const dir = path.join(s.root, 'containers', c.ID);
  trace.emit(CH, { op: 'remove', path: dir });
  removeContainerDir(dir);
}
// #endregion rm

const rmCommand: Command = {
  name: 'rm',
  aliases: ['container rm', 'container remove'],
  summary: 'Remove one or more containers',
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' }],
  minArgs: 1,
  async run(inv) {
    const s = openStores(inv.stateRoot);
    let code = 0;
    for (const ref of inv.args) {
      try {
        const c = containerOrFail(inv.stateRoot, ref);
        if (isRunning(c)) {
          if (!inv.flags.get('force')) {
            throw new RunError(1, `cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`);
          }
          // Until chapter 5's monitor, a running container belongs to the
          // CLI that runs it: kill its PID 1 and let that CLI clean up.
          // (A frozen task dies only once thawed: undo a killed commit's freeze first.)
          thawAbandoned(c.CgroupPaths, path.join(inv.stateRoot, 'containers', c.ID));
          process.kill(c.State.Pid, 'SIGKILL');
          for (let i = 0; i < 200 && (alive(c.State.Pid) || alive(c.MonitorPid)); i++) await new Promise((r) => setTimeout(r, 25));
        }
        removeContainer(s, c);
        process.stdout.write(ref + '\n');
      } catch (e) {
        if (!(e instanceof RunError)) throw e;
        reportFailure(e);
        code = 1;
      }
    }
    return code;
  },
};

/** A container, shaped like the first part of `docker inspect`'s (chapter 5 fills in the rest). */
function containerInspect(s: Stores, c: ContainerConfig): Record<string, unknown> {
  const m = s.layers.getMount(c.ID);
  return {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: { ...c.State, Running: isRunning(c) },
    Image: c.Image ?? '',
    Name: c.Name,
    Driver: c.Driver ?? '',
    GraphDriver: m ? { Data: s.driver.metadata(m.mountID), Name: s.driver.name } : null,
    HostConfig: c.HostConfig ?? {},
    Config: c.Config,
  };
}

const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Return low-level information on containers or images',
  usage: 'inspect [OPTIONS] NAME|ID [NAME|ID...]',
  flags: [formatFlag, { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type (container or image)' }],
  minArgs: 1,
  async run(inv) {
    checkFormat(inv.flags.get('format') as string | undefined);
    const s = openStores(inv.stateRoot);
    const type = inv.flags.get('type') as string | undefined;
    if (type && type !== 'container' && type !== 'image') throw new RunError(1, `"${type}" is not a valid value for --type`);
    const found: unknown[] = [];
    let code = 0;
    for (const ref of inv.args) {
      // Docker looks for a container first, then an image.
      try {
        if (type !== 'image') {
          try {
            found.push(containerInspect(s, resolveContainer(inv.stateRoot, ref)));
            continue;
          } catch (e) {
            if (!(e instanceof NoSuchContainerError) || type === 'container') throw e;
          }
        }
        found.push(imageInspect(s, s.images.resolve(ref)));
      } catch (e) {
        if (!(e instanceof NoSuchContainerError) && !(e instanceof NoSuchImageError)) throw e;
        process.stderr.write(`Error: No such object: ${ref}\n`);
        code = 1;
      }
    }
    printInspect(found, inv.flags.get('format') as string | undefined);
    return code;
  },
};

export const containerCommands: Command[] = [diffCommand, commitCommand, exportCommand, rmCommand, inspectCommand];
