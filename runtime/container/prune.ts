// Chapter 5's prunes: `container prune` (every stopped container) and
// `system prune`, which is the prunes of every chapter in one go, in the
// docker CLI's order: containers first (so that their images become
// unused), then images. Networks (chapter 6), volumes (chapter 7) and the
// build cache (chapter 9) join it when those chapters are written.
import type { Command, Invocation, Layer } from '../core/layer.js';
import { listContainers } from '../core/containers.js';
import { humanSize } from '../core/format.js';
import { removeContainer } from '../image/container-commands.js';
import { openStores } from '../image/open-stores.js';
import { confirmed, pruneImages, pruneReport, writableLayerSize } from '../image/prune.js';
import { storesWithBusybox } from '../image/busybox.js';
import { canRemove, refreshState } from './state.js';

// #region container-prune
/**
 * Remove every container that `rm` would remove without -f (created,
 * exited, dead; never a running or paused one), as dockerd's
 * ContainersPrune. Returns their IDs and what their writable layers held.
 */
export function pruneStoppedContainers(inv: Invocation): { ids: string[]; reclaimed: number } {
  const s = openStores(inv.stateRoot);
  const ids: string[] = [];
  let reclaimed = 0;
  for (const c of listContainers(inv.stateRoot).map((x) => refreshState(inv.stateRoot, x))) {
    if (!canRemove(c, false)) continue;
    const size = c.Image ? writableLayerSize(s, c.ID) : 0; // read before its layer goes
    removeContainer(inv.stateRoot, inv.layers, c);
    ids.push(c.ID);
    reclaimed += size;
  }
  return { ids, reclaimed };
}

const forceFlag = { name: 'force', short: 'f', kind: 'bool' as const, usage: 'Do not prompt for confirmation' };

export const containerPruneCommand: Command = {
  name: 'container prune',
  summary: 'Remove all stopped containers',
  usage: 'container prune [OPTIONS]',
  maxArgs: 0,
  flags: [forceFlag],
  async run(inv) {
    if (!inv.flags.get('force') && !(await confirmed('WARNING! This will remove all stopped containers.'))) return 0;
    const { ids, reclaimed } = pruneStoppedContainers(inv);
    process.stdout.write(`${pruneReport('Deleted Containers:', ids)}Total reclaimed space: ${humanSize(reclaimed)}\n`);
    return 0;
  },
};
// #endregion container-prune

// #region system-prune
/**
 * The docker CLI lists what `system prune` removes before it asks; this
 * list says what dockling's removes at this chapter: later layers add
 * their part (chapter 6: networks; the build cache comes with chapter 9).
 */
function systemWarning(all: boolean, parts: NonNullable<Layer['systemPrune']>[]): string {
  const what = ['all stopped containers', ...parts.map((p) => p.what), all ? 'all images without at least one container associated to them' : 'all dangling images'];
  return `WARNING! This will remove:\n${what.map((w) => `  - ${w}`).join('\n')}\n`;
}

const systemPruneCommand: Command = {
  name: 'system prune',
  summary: 'Remove unused data',
  usage: 'system prune [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images not just dangling ones' },
    forceFlag,
    { name: 'volumes', kind: 'bool', usage: 'Prune anonymous volumes (chapter 7)' },
  ],
  async run(inv) {
    const all = Boolean(inv.flags.get('all'));
    // A layer's part that waits for a flag (chapter 7's volumes: --volumes) is left out without it.
    const parts = inv.layers.flatMap((l) => (l.systemPrune && (!l.systemPrune.flag || inv.flags.get(l.systemPrune.flag)) ? [l.systemPrune] : []));
    if (!inv.flags.get('force') && !(await confirmed(systemWarning(all, parts)))) return 0;
    const gone = pruneStoppedContainers(inv);
    let bytes = 0;
    const others = parts.map((p) => {
      const r = p.run(inv.stateRoot);
      const names = Array.isArray(r) ? r : r.names;
      if (!Array.isArray(r)) bytes += r.bytes;
      return pruneReport(p.title, names);
    });
    const images = await pruneImages(await storesWithBusybox(inv.stateRoot), all);
    process.stdout.write(
      pruneReport('Deleted Containers:', gone.ids) + others.join('') + pruneReport('Deleted Images:', images.lines) +
        `Total reclaimed space: ${humanSize(gone.reclaimed + bytes + images.reclaimed)}\n`,
    );
    return 0;
  },
};
// #endregion system-prune

export const pruneCommands: Command[] = [containerPruneCommand, systemPruneCommand];
