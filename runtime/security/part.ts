// Chapter 11 is one layer made of a few independent defences, each in a
// file of its own: capabilities, seccomp, devices, the filesystem's
// read-only parts and limits, user namespaces. Each is a "part" with the
// same shape as a layer's stages, and layer.ts runs them in a fixed order.
import type { FlagSpec } from '../core/flags.js';
import { Slot, type Command, type RunContext } from '../core/layer.js';
import type { FlagValue } from '../core/flags.js';
import type { ContainerConfig } from '../core/containers.js';
import type { ExecSettings } from '../core/spec.js';
import { updateConfig } from '../core/containers.js';
import { readSavedRun, hostconfigFile } from '../container/state.js';
import { writeFileAtomic } from '../core/files.js';

export interface HardeningPart {
  name: string;
  /** the flags it adds to `run` */
  flags: FlagSpec[];
  /** check its flags; nothing is made yet */
  validate?(ctx: RunContext): void;
  /** write what it decided into ctx.spec (and the container's HostConfig) */
  prepare?(ctx: RunContext): void;
  /** host-side work once the init exists and is in its cgroups */
  limit?(ctx: RunContext): void | Promise<void>;
  /** undo what it made on the host */
  cleanup?(ctx: RunContext): void | Promise<void>;
  /** commands it adds (e.g. one that prints the seccomp program) */
  commands?: Command[];
  /** flags it adds to `exec` */
  execFlags?: FlagSpec[];
  /** what an `exec` in container c gets from this part (see Layer.exec) */
  exec?(c: ContainerConfig, flags: Map<string, FlagValue>, settings: ExecSettings): void;
  /** its lines under `info`'s "Security Options:" */
  info?(stateRoot: string): string[];
}

/**
 * Record fields in the container's HostConfig, as `inspect` shows them
 * (CapAdd, Privileged, SecurityOpt…). Each part records its own during
 * prepare; the layer writes them all at once when every part is done
 * (`writeHostConfig`): each write is an fsync'd file, and seven parts
 * writing two files each cost a run ~20 ms.
 */
export function recordHostConfig(ctx: RunContext, fields: Record<string, unknown>): void {
  PENDING.set(ctx, { ...(PENDING.get(ctx) ?? {}), ...fields });
}

/** Fields shown when nothing (no part, no earlier `run` of this container) has set them. */
export function recordHostConfigUnder(ctx: RunContext, defaults: Record<string, unknown>): void {
  DEFAULTS.set(ctx, defaults);
}

const PENDING = new Slot<Record<string, unknown>>('hostconfig-fields');
const DEFAULTS = new Slot<Record<string, unknown>>('hostconfig-defaults');

/**
 * Write what the parts recorded: in config.v2.json, and in the
 * hostconfig.json that chapter 5 keeps when there is one. A field already
 * there from an earlier `run` of the same container (`start`) stays unless
 * a part set it again.
 */
export function writeHostConfig(ctx: RunContext): void {
  const fields = PENDING.get(ctx) ?? {};
  const defaults = DEFAULTS.get(ctx) ?? {};
  updateConfig(ctx.container, (c) => {
    c.HostConfig = { ...defaults, ...(c.HostConfig ?? {}), ...fields };
  });
  const saved = readSavedRun(ctx.container.dir);
  if (saved) writeFileAtomic(hostconfigFile(ctx.container.dir), JSON.stringify({ ...saved, HostConfig: { ...defaults, ...saved.HostConfig, ...fields } }));
}
