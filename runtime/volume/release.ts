// What a container's end does to its volumes. Docker removes a container's
// anonymous volumes with it when it was run with --rm, or removed with
// `rm -v`; never a named one, and never one another container still
// mounts (--volumes-from shares it): that one stays, as Docker leaves it.
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { readConfig } from '../core/containers.js';
import { containerDir } from '../container/state.js';
import { mountPointsOf, removeVolume, volumeUsers } from './store.js';

// #region remove-anonymous
/**
 * Remove these anonymous volumes, each unless a container other than
 * `owner` (the container being removed) still has it among its mount
 * points. A failure is said and the
 * rest go on: the container's removal does not fail for a volume.
 */
export function removeAnonymousVolumes(stateRoot: string, names: string[], owner: string | undefined): void {
  for (const name of names) {
    if (volumeUsers(stateRoot, name).some((c) => c.ID !== owner)) continue; // shared (--volumes-from): it stays
    try {
      removeVolume(stateRoot, name, { force: true, owner });
    } catch (e) {
      // In use after all (a container made meanwhile): kept, as Docker keeps it.
      if (/volume is in use/.test((e as Error).message)) continue;
      process.stderr.write(`dockling: removing the anonymous volume ${name}: ${(e as Error).message}\n`);
    }
  }
}
// #endregion remove-anonymous

/**
 * `volume release CONTAINER`: dockling's own plumbing, run by a detached
 * --rm container's monitor (chapter 5's release file, "run" step) before
 * it removes the container: its anonymous volumes go.
 */
export const releaseVolumesCommand: Command = {
  name: 'volume release',
  hidden: true,
  summary: "Remove a --rm container's anonymous volumes (run by its monitor)",
  usage: 'volume release CONTAINER',
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const id = inv.args[0];
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RunError(1, `volume release: expected a full container ID, got ${JSON.stringify(id)}`);
    const c = readConfig(containerDir(inv.stateRoot, id));
    if (!c) return 0; // removed already
    removeAnonymousVolumes(inv.stateRoot, mountPointsOf(c).filter((p) => p.Anonymous).map((p) => p.Name), c.ID);
    return 0;
  },
};
