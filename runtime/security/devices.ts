// Chapter 11, devices: which device nodes root in the container may use.
//
// A device node is only a name for a pair of numbers (type, major:minor):
// with CAP_MKNOD, root in a container can make /tmp/sda for the host's disk
// (b 8:0) or /tmp/kmsg for the kernel's log (c 1:11), and the kernel opens
// the host's device for it. Chapter 1 made only harmless nodes in /dev;
// nothing stopped the container from making more. The devices cgroup does:
// the kernel asks the container's cgroups before every open and mknod of a
// device, and refuses (EPERM) what its rules do not allow.
//
//   v1       rules written to devices.deny and devices.allow of the container's devices cgroup
//   cgroup2  a BPF program attached to the container's cgroup, compiled here from the same rules
//
// A hybrid host (v1 hierarchies and a cgroup2 tree) checks both, so both
// are given. The work is done in the `limit` stage: chapter 2's stage made
// the cgroups and moved the init in; the init is waiting for its spec, so
// nothing of the container runs until both are in force.
import fs from 'node:fs';
import path from 'node:path';
import { Slot, type RunContext } from '../core/layer.js';
import type { DeviceSpec } from '../core/spec.js';
import { readConfig } from '../core/containers.js';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { recordHostConfig, type HardeningPart } from './part.js';
import { ALLOW_ALL, DEFAULT_DEVICE_RULES, ruleText, type DeviceRule } from './devices/rules.js';
import { allHostDevices, customDevice, parseDeviceFlag, type DeviceMapping } from './devices/host.js';
import { deviceFilter } from './devices/program.js';
import { attachDeviceProgram, loadDeviceProgram } from './devices/bpf.js';

const CH = 11;
const KEY = new Slot<DevicesState>('devices');

interface DevicesState {
  mappings: DeviceMapping[];
  nodes: DeviceSpec[];
  rules: DeviceRule[];
  privileged: boolean;
}

/** --device, checked and looked up on the host before anything is made. */
function validate(ctx: RunContext): void {
  const privileged = ctx.flags.get('privileged') === true;
  const mappings: DeviceMapping[] = [];
  const nodes: DeviceSpec[] = [];
  const rules = [...(privileged ? ALLOW_ALL : DEFAULT_DEVICE_RULES)];
  for (const v of (ctx.flags.get('device') as string[] | undefined) ?? []) {
    try {
      const m = parseDeviceFlag(v);
      const found = customDevice(m);
      mappings.push(m);
      nodes.push(...found.nodes);
      if (!privileged) rules.push(...found.rules);
    } catch (e) {
      throw new RunError(125, (e as Error).message, { cause: e });
    }
  }
  KEY.set(ctx, { mappings, nodes, rules, privileged });
}

// #region device-nodes
/**
 * The nodes the init makes in the container's fresh /dev: chapter 1's
 * harmless few, every host device with --privileged (Docker's choice: a
 * privileged container is meant to drive hardware), and each --device. One
 * node per path, the later winning; and none where chapter 1 puts a
 * symlink (/dev/ptmx leads to the container's own devpts).
 */
function prepare(ctx: RunContext): void {
  const st = KEY.get(ctx)!;
  const links = new Set(ctx.spec.symlinks.map(([, link]) => link));
  const byPath = new Map<string, DeviceSpec>();
  for (const d of [...ctx.spec.devices, ...(st.privileged ? allHostDevices() : []), ...st.nodes]) {
    if (!links.has(d.path)) byPath.set(d.path, d);
  }
  ctx.spec.devices = [...byPath.values()];
  recordHostConfig(ctx, { Devices: st.mappings });
}
// #endregion device-nodes

/** A cgroup file write of this chapter's, traced as chapter 2's are. */
function writeRule(file: string, value: string): void {
  trace.emit(CH, { op: 'write', path: file, value });
  try {
    fs.writeFileSync(file, value);
  } catch (e) {
    throw new Error(`cannot write "${value}" to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// #region devices-limit
function limit(ctx: RunContext): void {
  const st = KEY.get(ctx)!;
  const paths = readConfig(ctx.container.dir)?.CgroupPaths ?? {};
  // v1: the rules as lines, in order. A new devices cgroup starts with its
  // parent's list ("a *:* rwm"); "a" into devices.deny empties it.
  if (paths.devices) {
    for (const r of st.rules) writeRule(path.join(paths.devices, r.allow ? 'devices.allow' : 'devices.deny'), ruleText(r));
  }
  // cgroup2: the same rules as a program. With --privileged there is none:
  // a program that allows everything changes nothing (the programs of the
  // cgroups above run anyway).
  if (paths.unified && !st.privileged) {
    const insns = deviceFilter(st.rules);
    trace.emit(CH, { op: 'bpf', cmd: 'BPF_PROG_LOAD', prog: 'BPF_PROG_TYPE_CGROUP_DEVICE', target: '', instructions: insns.length });
    const prog = loadDeviceProgram(insns);
    try {
      trace.emit(CH, { op: 'bpf', cmd: 'BPF_PROG_ATTACH', prog: 'BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI', target: paths.unified, instructions: 0 });
      attachDeviceProgram(prog, paths.unified);
    } finally {
      fs.closeSync(prog); // the cgroup holds it now, until rmdir
    }
  }
}
// #endregion devices-limit

export const devices: HardeningPart = {
  name: 'devices',
  flags: [{ name: 'device', kind: 'stringArray', usage: 'Add a host device to the container (HOST[:CONTAINER][:PERMISSIONS])' }],
  validate,
  prepare,
  limit,
};
