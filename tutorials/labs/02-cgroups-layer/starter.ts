// Lab: write chapter 2's layer yourself.
//
// Copy this file to work/layer.ts (the grader's default), fill in the five
// stages, and run the grader. It builds dockling with your file in place of
// runtime/cgroups/layer.ts and runs chapter 2's tests against it. Imports
// resolve as if this file were runtime/cgroups/layer.ts.
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { updateConfig, type ContainerConfig } from '../core/containers.js';
import fs from 'node:fs';
import { cgroupMode, detectDriver } from './detect.js';
import { limitsFromFlags, type Limits } from './limits.js';
import type { CgroupDriver, ContainerCgroup } from './driver.js';
import { topCommand, statsCommand } from './commands.js';
// bytesSize(33554432) is '32MiB', as Docker prints sizes: for the OOM message.
import { bytesSize } from './units.js';
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
  // TODO: if the cgroup's stats() count OOM kills (s.oomKills > 0), tell the
  // user on stderr, e.g. "dockling: the container was OOM-killed (memory limit
  // 32MiB)": the checks look for "OOM-killed" and the limit as bytesSize()
  // prints it (s.memoryLimit). Not when ctx.outcome is 'leave' (it runs on).
  void stateOf(ctx);
  void bytesSize;
}

/** Remove the cgroup, whatever happened. */
async function cleanup(ctx: RunContext): Promise<void> {
  // TODO: kill (SIGKILL) any process still in the cgroup, then destroy() it;
  // but not when ctx.outcome is 'leave' (the container runs on, chapter 5).
  void stateOf(ctx);
}

/** A container whose CLI was killed (SIGKILL: no cleanup ran): the next run reaps it. */
function reap(c: ContainerConfig): void {
  // TODO: if c.CgroupPaths is set, open that cgroup (detectDriver().open(…)),
  // kill (SIGKILL) what is left in it, then destroy() it. Why can cleanup()
  // not do this, and what must limit() have saved for it to work?
  void c;
}

export const cgroupsLayer: Layer = {
  chapter: 2,
  name: 'cgroups',
  runFlags: RUN_FLAGS,
  commands: [topCommand, statsCommand],
  stages: { validate, prepare, limit, wait, cleanup },
  reap,
  release: reap, // a stopped container has no cgroup (the next start makes it again)
  // Given: docker info's two cgroup lines, for version's Server block.
  version() {
    const mode = cgroupMode(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    return { CgroupDriver: mode === 'none' ? 'none' : 'cgroupfs', CgroupVersion: mode === 'v2' ? '2' : '1' };
  },
};
