// `pause` and `unpause`: every process of a container stopped where it
// stands, and let go again. Docker does it with the cgroup freezer (runc's
// `pause`), as chapter 4's `commit` already does for the moment it packs
// the layer (cgroups/freezer.ts): v1 writes FROZEN to freezer.state, v2
// writes 1 to cgroup.freeze. A frozen process is not sent SIGSTOP: it does
// not see anything happen, its parent is told nothing (no SIGCHLD, no
// "stopped" state in wait()), and it runs on from the same instruction when
// it is thawed. Only its clocks moved on.
//
// dockerd records Paused in the container's state. dockling has no daemon
// that outlives the command, and the kernel keeps the record already: the
// cgroup's freezer state. That record cannot go stale: it goes with the
// cgroup when the container exits, and a container started again has a new
// cgroup, thawed. So "paused" below is read from the cgroup (state.ts,
// isPaused), never from a file of ours.
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { freeze, hasFreezer, thaw } from '../cgroups/freezer.js';
import { eachArgument } from '../image/container-commands.js';
import { containerOrFail } from '../image/container-commands.js';
import { isPaused, isRunning, refreshState } from './state.js';
import type { ContainerConfig } from '../core/containers.js';

// #region pause
const pauseCommand: Command = {
  name: 'pause',
  summary: 'Pause all processes within one or more containers',
  usage: 'pause CONTAINER [CONTAINER...]',
  flags: [],
  minArgs: 1,
  async run(inv) {
    // Docker's order of checks (daemon/pause.go): not running, then already paused.
    return eachArgument(inv.args, async (ref) => {
      const c = refreshState(inv.stateRoot, containerOrFail(inv.stateRoot, ref));
      if (!isRunning(c)) throw new RunError(1, `Error response from daemon: Container ${c.ID} is not running`);
      if (isPaused(c)) throw new RunError(1, `Error response from daemon: Container ${c.ID} is already paused`);
      if (!hasFreezer(c.CgroupPaths)) throw new RunError(1, `Error response from daemon: Cannot pause container ${c.ID}: its cgroup has no freezer`);
      try {
        await freeze(c.CgroupPaths);
      } catch (e) {
        throw new RunError(1, `Error response from daemon: Cannot pause container ${c.ID}: ${(e as Error).message}`, { cause: e });
      }
    });
  },
};

const unpauseCommand: Command = {
  name: 'unpause',
  summary: 'Unpause all processes within one or more containers',
  usage: 'unpause CONTAINER [CONTAINER...]',
  flags: [],
  minArgs: 1,
  async run(inv) {
    // Docker asks only whether it is paused (daemon/unpause.go): a stopped
    // container is "not paused" too.
    return eachArgument(inv.args, async (ref) => {
      const c = refreshState(inv.stateRoot, containerOrFail(inv.stateRoot, ref));
      if (!isPaused(c)) throw new RunError(1, `Error response from daemon: Container ${c.ID} is not paused`);
      thaw(c.CgroupPaths);
    });
  },
};
// #endregion pause

// #region thaw-to-end
/**
 * Before the signal that ends a container (stop's, kill's SIGKILL, rm -f's):
 * a paused container is thawed right after the signal is sent, as dockerd
 * does (daemon/kill.go: the kill, then Resume), so that the signal is acted
 * on. On v1 a frozen task does not even die of SIGKILL until it is thawed;
 * on v2 it would, but a handler for SIGTERM would never run. Any other
 * signal (`kill -s HUP`) waits, pending, for `unpause`, as in Docker.
 */
export function thawAfterSignal(c: ContainerConfig): void {
  if (isPaused(c)) thaw(c.CgroupPaths);
}
// #endregion thaw-to-end

export const pauseCommands: Command[] = [pauseCommand, unpauseCommand];
