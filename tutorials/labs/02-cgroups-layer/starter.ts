// Lab: write chapter 2's layer yourself.
//
// Copy this file to work/layer.ts (the grader's default), fill in the five
// stages, and run the grader. It builds dockling with your file in place of
// runtime/cgroups/layer.ts and runs chapter 2's tests against it. Imports
// resolve as if this file were runtime/cgroups/layer.ts.
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { updateConfig } from '../core/containers.js';
import { detectDriver } from './detect.js';
import { limitsFromFlags, type Limits } from './limits.js';
import type { CgroupDriver, ContainerCgroup } from './driver.js';
import { topCommand, statsCommand } from './commands.js';
// The flags are given: they are Docker's, and the tests use them.
import { RUN_FLAGS } from './flags.js';


interface CgroupState {
  driver: CgroupDriver;
  limits: Limits;
  parent: string | undefined;
  cgroup?: ContainerCgroup;
}
// This layer's own slot in the run's context (core/layer.ts explains slots).
const cgroupState = new Slot<CgroupState>('cgroups');
const stateOf = (ctx: RunContext) => cgroupState.get(ctx);

/** Check the flags before anything is made (limitsFromFlags does Docker's checks). */
function validate(ctx: RunContext): void {
  // TODO: read the limits (limitsFromFlags), refuse a --cgroup-parent with
  // "." or ".." in it (RunError 125), pick the driver (detectDriver), and keep
  // all three in this layer's slot (cgroupState.set(ctx, …)).
  void limitsFromFlags;
  void detectDriver;
  throw new RunError(125, 'lab: validate() is not written yet');
}

/** Show the container its own cgroup at /sys/fs/cgroup. */
function prepare(ctx: RunContext): void {
  // TODO: add the driver's mounts() to ctx.spec.mounts; on cgroup v1, also
  // make /sys/fs/cgroup read-only (ctx.spec.readonlyPaths).
  void stateOf(ctx);
}

/** Make the cgroup, write the limits, then move the init in. */
async function limit(ctx: RunContext): Promise<void> {
  // TODO: driver.create(`dockling-${ctx.container.id}`, parent); save its paths
  // in the container's config (updateConfig … c.CgroupPaths) so that top and
  // stats can find it; apply the limits; then await ctx.init!.ready for the
  // init's PID and join it. Why must the limits be written before the join?
  void updateConfig;
}

/** The command has exited: was it the OOM killer? */
function wait(ctx: RunContext): void {
  // TODO: if the cgroup's stats() count OOM kills, tell the user on stderr
  // that the container was OOM-killed.
  void stateOf(ctx);
}

/** Remove the cgroup, whatever happened. */
async function cleanup(ctx: RunContext): Promise<void> {
  // TODO: kill (SIGKILL) any process still in the cgroup, then destroy() it;
  // but not when ctx.outcome is 'leave' (the container runs on, chapter 5).
  void stateOf(ctx);
}

export const cgroupsLayer: Layer = {
  chapter: 2,
  name: 'cgroups',
  runFlags: RUN_FLAGS,
  commands: [topCommand, statsCommand],
  stages: { validate, prepare, limit, wait, cleanup },
};
