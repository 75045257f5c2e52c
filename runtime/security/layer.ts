// Chapter 11's layer: hardening. Until now a container changed what its
// processes *see* (namespaces), how much they may *use* (cgroups) and where
// their files come from (layers); root inside it could still do anything
// root on the host can. This layer limits what root inside may *do*, with
// the defences Docker turns on by default, each a part of its own:
//
//   userns.ts        a user namespace: root inside is an unprivileged uid outside (--userns-remap)
//   capabilities.ts  Docker's 14 capabilities instead of all 41 (--cap-add, --cap-drop, --privileged)
//   filesystem.ts    a read-only root, tmpfs mounts, /dev/shm's size (--read-only, --tmpfs, --shm-size)
//   ulimits.ts       resource limits of the process (--ulimit)
//   devices.ts       only the harmless device nodes, enforced by the devices cgroup (--device)
//   seccomp.ts       a system call filter, compiled to BPF here (--security-opt seccomp=…)
//
// The parts run in that order: seccomp last, because which system calls
// Docker's profile allows depends on the capabilities chosen before it.
import type { FlagSpec } from '../core/flags.js';
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { writeHostConfig, type HardeningPart } from './part.js';
import { parseSecurityOpts, type SecurityOpts } from './security-opt.js';
import { userns } from './userns.js';
import { capabilities } from './capabilities.js';
import { filesystem } from './filesystem.js';
import { ulimits } from './ulimits.js';
import { devices } from './devices.js';
import { seccomp } from './seccomp.js';

const CH = 11;

// #region hardening-parts
const PARTS: HardeningPart[] = [userns, capabilities, filesystem, ulimits, devices, seccomp];
// #endregion hardening-parts

const RUN_FLAGS: FlagSpec[] = [
  { name: 'security-opt', kind: 'stringArray', usage: 'Security Options (seccomp=unconfined|PROFILE.json, no-new-privileges, systempaths=unconfined)' },
  ...PARTS.flatMap((p) => p.flags),
];

/** --security-opt, parsed once in validate, for every part. */
export const parsedSecurityOpts = new Slot<SecurityOpts>('security-opt');

/** This run's --security-opt, as validate parsed it. */
export function securityOpts(ctx: RunContext): SecurityOpts {
  return parsedSecurityOpts.get(ctx)!;
}

function validate(ctx: RunContext): void {
  parsedSecurityOpts.set(ctx, parseSecurityOpts((ctx.flags.get('security-opt') as string[] | undefined) ?? []));
  for (const p of PARTS) p.validate?.(ctx);
}

function prepare(ctx: RunContext): void {
  for (const p of PARTS) p.prepare?.(ctx);
  writeHostConfig(ctx); // what the parts recorded for `inspect`, in one write
}

async function limit(ctx: RunContext): Promise<void> {
  for (const p of PARTS) {
    try {
      await p.limit?.(ctx);
    } catch (e) {
      if (e instanceof RunError) throw e;
      throw new RunError(125, `${p.name}: ${(e as Error).message}`, { cause: e });
    }
  }
}

async function cleanup(ctx: RunContext): Promise<void> {
  for (const p of [...PARTS].reverse()) await p.cleanup?.(ctx);
}

// #region layer
export const hardeningLayer: Layer = {
  chapter: CH,
  name: 'hardening',
  runFlags: RUN_FLAGS,
  commands: PARTS.flatMap((p) => p.commands ?? []),
  stages: { validate, prepare, limit, cleanup },
  execFlags: PARTS.flatMap((p) => p.execFlags ?? []),
  exec(c, flags, settings) {
    for (const p of PARTS) p.exec?.(c, flags, settings);
  },
  info(stateRoot) {
    return PARTS.flatMap((p) => p.info?.(stateRoot) ?? []);
  },
};
// #endregion layer
