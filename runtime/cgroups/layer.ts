// Chapter 2's layer: cgroups. It adds the resource flags of `run`, puts every
// container in a cgroup of its own (limits or not: `top` and `stats` read
// it), shows that cgroup to the container at /sys/fs/cgroup, reports OOM
// kills, and removes the cgroup when the container is gone.
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { updateConfig, type ContainerConfig } from '../core/containers.js';
import fs from 'node:fs';
import { cgroupMode, detectDriver } from './detect.js';
import { limitsFromFlags, type Limits } from './limits.js';
import type { CgroupDriver, ContainerCgroup } from './driver.js';
import { bytesSize, parseNanoCpus } from './units.js';
import { topCommand, statsCommand } from './commands.js';
import { RUN_FLAGS } from './flags.js';


interface CgroupState {
  driver: CgroupDriver;
  limits: Limits;
  parent: string | undefined;
  cgroup?: ContainerCgroup;
}
const cgroupState = new Slot<CgroupState>('cgroups');
const stateOf = (ctx: RunContext) => cgroupState.get(ctx);

/**
 * --cgroup-parent names a cgroup, not a host path: an absolute name starts at
 * the hierarchy's root, a relative one under the caller's cgroup. ".." could
 * lead out of /sys/fs/cgroup altogether, so it is refused.
 */
function cgroupParent(ctx: RunContext): string | undefined {
  const p = ctx.flags.get('cgroup-parent') as string | undefined;
  if (p === undefined) return undefined;
  if (p === '' || p.split('/').some((part) => part === '..' || part === '.')) {
    throw new RunError(125, `invalid --cgroup-parent "${p}": name a cgroup like /mygroup or mygroup/sub, without "." or ".."`);
  }
  return p;
}

function validate(ctx: RunContext): void {
  // #lab 02-cgroups-layer TODO 1: check the flags before anything is made.
  // #todo Read the limits (limitsFromFlags: Docker's checks), the --cgroup-parent
  // #todo (cgroupParent above), pick the driver (detectDriver, a failure is a
  // #todo RunError 125), and keep all three in this layer's slot (cgroupState.set).
  // #starter throw new RunError(125, 'lab 02-cgroups-layer: TODO 1, validate(), is not written yet');
  const limits = limitsFromFlags(ctx.flags);
  const parent = cgroupParent(ctx);
  let driver: CgroupDriver;
  try {
    driver = detectDriver();
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
  cgroupState.set(ctx, { driver, limits, parent });
  // #endlab
}

function prepare(ctx: RunContext): void {
  const { driver, limits } = stateOf(ctx)!;
  // #lab 02-cgroups-layer TODO 2: show the container its own cgroup at /sys/fs/cgroup.
  // #todo Add the driver's mounts() to ctx.spec.mounts; on cgroup v1, also make
  // #todo /sys/fs/cgroup read-only (ctx.spec.readonlyPaths).
  // #starter void driver;
  // The container sees its own cgroup at /sys/fs/cgroup, read-only.
  ctx.spec.mounts.push(...driver.mounts());
  if (driver.version === 1) ctx.spec.readonlyPaths = [...ctx.spec.readonlyPaths, '/sys/fs/cgroup'];
  // #endlab
  const cpus = ctx.flags.get('cpus') as string | undefined;
  updateConfig(ctx.container, (c) => {
    // As Docker records them: --cpus as NanoCpus (the period and quota it
    // becomes are the kernel's business), --cpu-period/--cpu-quota as given.
    c.HostConfig = {
      ...c.HostConfig,
      Memory: limits.memory ?? 0, MemorySwap: limits.memorySwap ?? 0, MemoryReservation: limits.memoryReservation ?? 0,
      CpuShares: limits.cpuShares ?? 0, NanoCpus: cpus === undefined ? 0 : parseNanoCpus(cpus), // (checked in validate)
      CpuPeriod: (ctx.flags.get('cpu-period') as number | undefined) ?? 0, CpuQuota: (ctx.flags.get('cpu-quota') as number | undefined) ?? 0,
      CpusetCpus: limits.cpusetCpus ?? '', PidsLimit: limits.pidsLimit ?? null, CgroupParent: ctx.flags.get('cgroup-parent') ?? '',
    };
  });
}

// #region limit-stage
/**
 * The init has been started and will wait for its spec: make the cgroup,
 * write the limits, then, once the init has said hello with its PID, move it
 * in. Everything the init then starts, the user's command included, is born
 * inside the cgroup: no process of the container runs outside its limits.
 */
async function limit(ctx: RunContext): Promise<void> {
  // #lab 02-cgroups-layer TODO 3: make the cgroup, write the limits, then move the init in.
  // #todo driver.create(`dockling-${ctx.container.id}`, parent, onPaths): onPaths
  // #todo saves the paths in the container's config (updateConfig … c.CgroupPaths)
  // #todo for top, stats and the reaper; apply the limits; then await
  // #todo ctx.init!.ready for the init's PID and join it. A failure is a RunError
  // #todo 125. Why must the limits be written before the join?
  // #starter
  const st = stateOf(ctx)!;
  try {
    // Made while Node is still booting in the init: only the join needs its PID.
    // Recorded before they are made: the reaper of a killed CLI finds them.
    st.cgroup = st.driver.create(`dockling-${ctx.container.id}`, st.parent, (paths) => updateConfig(ctx.container, (c) => (c.CgroupPaths = paths)));
    st.cgroup.apply(st.limits);
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
  const pid = await ctx.init!.ready;
  try {
    st.cgroup.join(pid);
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
  // #endlab
}
// #endregion limit-stage

// #region oom-check
/** After the command exited: was it the OOM killer? */
function wait(ctx: RunContext): void {
  // #lab 02-cgroups-layer TODO 4: the command has exited: was it the OOM killer?
  // #todo If the cgroup's stats() count OOM kills (s.oomKills > 0), tell the user on
  // #todo stderr, e.g. "dockling: the container was OOM-killed (memory limit 32MiB)":
  // #todo the checks look for "OOM-killed" and the limit as bytesSize() prints it
  // #todo (s.memoryLimit). Not when ctx.outcome is 'leave' (it runs on).
  // #starter
  const cg = stateOf(ctx)?.cgroup;
  if (!cg || ctx.outcome === 'leave') return; // it runs on: nothing to check yet
  const s = cg.stats();
  if (s.oomKills > 0) {
    const limitText = s.memoryLimit ? ` (memory limit ${bytesSize(s.memoryLimit)})` : '';
    process.stderr.write(`dockling: the container was OOM-killed: the kernel's OOM killer ended ${s.oomKills} process${s.oomKills > 1 ? 'es' : ''}${limitText}\n`);
    updateConfig(ctx.container, (c) => ((c.State as unknown as Record<string, unknown>).OOMKilled = true));
  }
  // #endlab
}
// #endregion oom-check

// #region cgroup-cleanup
async function cleanup(ctx: RunContext): Promise<void> {
  // #lab 02-cgroups-layer TODO 5: remove the cgroup, whatever happened.
  // #todo Kill (SIGKILL) any process still in it, then destroy() it; but not when
  // #todo ctx.outcome is 'leave' (the container runs on, chapter 5).
  // #starter
  const cg = stateOf(ctx)?.cgroup;
  if (!cg) return;
  if (ctx.outcome === 'leave') return; // it runs on: whoever holds it removes the cgroup at its end
  // Normally empty by now (PID 1's exit took the whole PID namespace with
  // it). If a stage failed, end what is left before removing the cgroup.
  for (const pid of cg.pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited since cgroup.procs was read */
    }
  }
  cg.destroy();
  // #endlab
}
// #endregion cgroup-cleanup

/** A container whose CLI was killed: kill what is left in its cgroup, remove it. */
function reap(c: ContainerConfig): void {
  // #lab 02-cgroups-layer TODO 5: a container whose CLI was killed (SIGKILL: no cleanup ran).
  // #todo If c.CgroupPaths is set, open that cgroup (detectDriver().open(…)), kill
  // #todo (SIGKILL) what is left in it, then destroy() it. Why can cleanup() not do
  // #todo this, and what must limit() have saved for it to work?
  // #starter
  if (!c.CgroupPaths) return;
  const cg = detectDriver().open(c.CgroupPaths);
  for (const pid of cg.pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited since cgroup.procs was read */
    }
  }
  cg.destroy();
  // #endlab
}

export const cgroupsLayer: Layer = {
  chapter: 2,
  name: 'cgroups',
  runFlags: RUN_FLAGS,
  commands: [topCommand, statsCommand],
  stages: { validate, prepare, limit, wait, cleanup },
  reap,
  release: reap, // a stopped container has no cgroup (the next start makes it again)
  // docker info's two cgroup lines, for version's Server block
  version() {
    const mode = cgroupMode(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    return { CgroupDriver: mode === 'none' ? 'none' : 'cgroupfs', CgroupVersion: mode === 'v2' ? '2' : '1' };
  },
};
