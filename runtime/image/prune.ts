// Chapter 4's housekeeping: `image prune` and `system df`. Both read what
// the stores already know: which images have names, which images a
// container is made from, how many bytes each layer added, and (system df)
// how much a container wrote into its own layer.
import fs from 'node:fs';
import type { Command } from '../core/layer.js';
import { listContainers, isRunning, type ContainerConfig } from '../core/containers.js';
import { chainIDs } from '../core/digest.js';
import { ago, humanDuration, humanSize, table } from '../core/format.js';
import { treeSize } from '../storage/walk.js';
import { isFrozen } from '../cgroups/freezer.js';
import { freeUnusedLayers, type Stores } from './open-stores.js';
import { storesWithBusybox } from './busybox.js';
import { parseReference } from './reference.js';

// #region confirm
/**
 * The docker CLI's prompt before a prune: the warning, then "[y/N]" on
 * stdin; anything but y or yes is no. (Without a terminal it reads the
 * first line of whatever stdin holds: `echo y | docker image prune`.)
 */
export async function confirmed(warning: string): Promise<boolean> {
  process.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    process.stdin.once('data', (d) => resolve(String(d)));
    process.stdin.once('end', () => resolve(''));
  });
  process.stdin.pause();
  return /^y(es)?$/i.test(answer.trim());
}
// #endregion confirm

/**
 * The bytes a container wrote into its own layer (Docker's SizeRw): the
 * sizes of what its writable layer holds, directories not counted, a file
 * with several hard links once, as moby's directory.Size counts them.
 * Walked by descriptors (storage/walk.ts): the container may be running
 * and changing that directory under us.
 */
export function writableLayerSize(s: Stores, containerID: string): number {
  const m = s.layers.getMount(containerID);
  if (!m || !s.driver.exists(m.mountID)) return 0;
  return treeSize(s.driver.layerDir(m.mountID));
}

// #region image-prune
/** The images prune may take: with `all`, every image no container is made from; else only the dangling ones (no name, no child). */
function pruneCandidates(s: Stores, all: boolean): string[] {
  const used = new Set(listContainers(s.root).map((c) => c.Image));
  const images = s.images.list();
  const hasChild = new Set(images.map((id) => s.images.parent(id)).filter(Boolean));
  return images.filter((id) => !used.has(id) && !hasChild.has(id) && (all || s.images.tagsOf(id).length === 0));
}

/**
 * Remove dangling images (or, with `all`, every image no container uses),
 * as dockerd's ImagesPrune: an image is removed whole (its names, then
 * itself, then the layers nothing else stands on). Removing a child can
 * leave its parent a candidate in turn, so it goes round until none is
 * left. Returns the CLI's lines ("untagged: …", "deleted: …") and the
 * bytes freed.
 */
export async function pruneImages(s: Stores, all: boolean): Promise<{ lines: string[]; reclaimed: number }> {
  const lines: string[] = [];
  let reclaimed = 0;
  await s.images.lockedAsync(async () => {
    for (let ids = pruneCandidates(s, all); ids.length; ids = pruneCandidates(s, all)) {
      for (const id of ids) {
        for (const n of s.images.namesOf(id)) {
          s.images.untag(parseReference(n));
          lines.push(`untagged: ${n}`);
        }
        const top = chainIDs(s.images.get(id).rootfs.diff_ids).at(-1) ?? null;
        // Sizes read before the layers go.
        const sizes = new Map(chainIDs(s.images.get(id).rootfs.diff_ids).map((c) => [c, s.layers.get(c)?.size ?? 0]));
        s.images.delete(id);
        lines.push(`deleted: ${id}`);
        for (const chain of freeUnusedLayers(s, top)) {
          lines.push(`deleted: ${chain}`);
          reclaimed += sizes.get(chain) ?? 0;
        }
      }
    }
  });
  return { lines, reclaimed };
}

/** The report of one prune, as the docker CLI prints it: a heading and its lines, then a blank line. */
export const pruneReport = (heading: string, lines: string[]) => (lines.length ? `${heading}\n${lines.join('\n')}\n\n` : '');

export const DANGLING_WARNING = 'WARNING! This will remove all dangling images.';
export const ALL_IMAGES_WARNING = 'WARNING! This will remove all images without at least one container associated to them.';

const imagePruneCommand: Command = {
  name: 'image prune',
  summary: 'Remove unused images',
  usage: 'image prune [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(inv) {
    const all = Boolean(inv.flags.get('all'));
    if (!inv.flags.get('force') && !(await confirmed(all ? ALL_IMAGES_WARNING : DANGLING_WARNING))) return 0;
    const s = await storesWithBusybox(inv.stateRoot);
    const { lines, reclaimed } = await pruneImages(s, all);
    process.stdout.write(`${pruneReport('Deleted Images:', lines)}Total reclaimed space: ${humanSize(reclaimed)}\n`);
    return 0;
  },
};
// #endregion image-prune

// #region system-df
/**
 * `system df`: what the images and containers take, and what a prune
 * would give back, with the docker CLI's arithmetic:
 * - Images: SIZE is every image layer once; an image is ACTIVE when a
 *   container (in any state) is made from it; RECLAIMABLE is SIZE less the
 *   unique size (the layers no other image has) of the active images.
 * - Containers: SIZE is what they wrote into their own layers; RECLAIMABLE
 *   is the part of it that the ones not running wrote.
 * - Local Volumes (chapter 7's, asked of the layers): ACTIVE are those a
 *   container uses; RECLAIMABLE the size of the others.
 * - Build Cache (chapter 9): none yet.
 */
function diskUsage(s: Stores): { images: ImageUsage[]; layersSize: number; containers: { c: ContainerConfig; size: number; running: boolean }[] } {
  // Docker counts a container active when its state is "running": a paused one (its cgroup frozen) is not.
  const containers = listContainers(s.root).map((c) => ({ c, size: c.Image ? writableLayerSize(s, c.ID) : 0, running: isRunning(c) && !isFrozen(c.CgroupPaths) }));
  const ids = s.images.list();
  const chainsOf = new Map(ids.map((id) => [id, chainIDs(s.images.get(id).rootfs.diff_ids)]));
  const holders = new Map<string, number>();
  for (const chains of chainsOf.values()) for (const ch of chains) holders.set(ch, (holders.get(ch) ?? 0) + 1);
  const sizeOf = (ch: string) => s.layers.get(ch)?.size ?? 0;
  const images = ids.map((id) => {
    const chains = chainsOf.get(id)!;
    const size = chains.reduce((n, ch) => n + sizeOf(ch), 0);
    const shared = chains.filter((ch) => holders.get(ch)! > 1).reduce((n, ch) => n + sizeOf(ch), 0);
    return { id, size, shared, containers: containers.filter((x) => x.c.Image === id).length };
  });
  const layersSize = [...holders.keys()].reduce((n, ch) => n + sizeOf(ch), 0);
  return { images, layersSize, containers };
}
interface ImageUsage {
  id: string;
  size: number;
  shared: number;
  containers: number;
}

/** A container's volumes of the local driver (chapter 7 records its mount points; none before it). */
function localVolumeCount(c: ContainerConfig): number {
  const points = (c as ContainerConfig & { MountPoints?: Record<string, { Driver?: string }> | null }).MountPoints ?? {};
  return Object.values(points).filter((p) => p.Driver === 'local').length;
}

/** "11.6MB (70%)": the docker CLI prints the share only when the total is not zero, rounded down. */
const reclaimable = (part: number, total: number) => (total > 0 ? `${humanSize(part)} (${Math.floor((part * 100) / total)}%)` : humanSize(part));

const systemDfCommand: Command = {
  name: 'system df',
  summary: 'Show docker disk usage',
  usage: 'system df [OPTIONS]',
  maxArgs: 0,
  flags: [{ name: 'verbose', short: 'v', kind: 'bool', usage: 'Show detailed information on space usage' }],
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    const { images, layersSize, containers } = diskUsage(s);
    const volumes = inv.layers.flatMap((l) => l.localVolumes?.(inv.stateRoot) ?? []);
    const volumesSize = volumes.reduce((n, v) => n + v.size, 0);
    const volumesIdle = volumes.filter((v) => v.links === 0).reduce((n, v) => n + v.size, 0);
    const used = images.filter((i) => i.containers > 0).reduce((n, i) => n + i.size - i.shared, 0);
    const rwTotal = containers.reduce((n, x) => n + x.size, 0);
    const rwIdle = containers.filter((x) => !x.running).reduce((n, x) => n + x.size, 0);
    if (!inv.flags.get('verbose')) {
      process.stdout.write(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [
        ['Images', String(images.length), String(images.filter((i) => i.containers > 0).length), humanSize(layersSize), reclaimable(layersSize - used, layersSize)],
        ['Containers', String(containers.length), String(containers.filter((x) => x.running).length), humanSize(rwTotal), reclaimable(rwIdle, rwTotal)],
        ['Local Volumes', String(volumes.length), String(volumes.filter((v) => v.links > 0).length), humanSize(volumesSize), reclaimable(volumesIdle, volumesSize)],
        ['Build Cache', '0', '0', '0B', '0B'],
      ]));
      return 0;
    }
    // -v: one table per kind, as `docker system df -v` prints them.
    const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
    const imageRows = images.flatMap((i) => {
      const names = s.images.tagsOf(i.id);
      return (names.length ? names : ['<none>:<none>']).map((n) => {
        const at = n.lastIndexOf(':');
        return [n.slice(0, at), n.slice(at + 1), short(i.id), ago(s.images.get(i.id).created), humanSize(i.size), humanSize(i.shared), humanSize(i.size - i.shared), String(i.containers)];
      });
    });
    // as ps shows it: quoted, cut at 20 characters with an ellipsis
    const command = (line: string) => `"${line.length <= 20 ? line : line.slice(0, 19) + '…'}"`;
    const status = (c: ContainerConfig, running: boolean) =>
      running || isRunning(c) ? `Up ${humanDuration(Date.now() - Date.parse(c.State.StartedAt))}${running ? '' : ' (Paused)'}` : c.State.Status === 'created' ? 'Created' : `Exited (${c.State.ExitCode}) ${ago(c.State.FinishedAt)}`;
    const containerRows = containers.map(({ c, size, running }) => [
      short(c.ID), c.Config.Image, command([c.Path, ...c.Args].join(' ')), String(localVolumeCount(c)), humanSize(size), ago(c.Created), status(c, running), c.Name.slice(1),
    ]);
    process.stdout.write([
      `Images space usage:\n\n${table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'], imageRows)}`,
      `Containers space usage:\n\n${table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'], containerRows)}`,
      `Local Volumes space usage:\n\n${table(['VOLUME NAME', 'LINKS', 'SIZE'], volumes.map((v) => [v.name, String(v.links), humanSize(v.size)]))}`,
      'Build cache usage: 0B\n',
    ].join('\n'));
    return 0;
  },
};
// #endregion system-df

export const pruneCommands: Command[] = [imagePruneCommand, systemDfCommand];
