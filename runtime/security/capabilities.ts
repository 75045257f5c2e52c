// Capabilities: root's power, split into 41 pieces (capabilities(7)).
//
// Until this chapter the container's root held every capability the host's
// root holds: CAP_SYS_ADMIN (mount, setns, bpf), CAP_SYS_MODULE, CAP_SYS_TIME,
// CAP_DAC_READ_SEARCH (open_by_handle_at, the "shocker" escape)… Docker keeps
// 14 of them, the ones a root that only manages its own files and processes
// needs (chown a file, bind port 80, become another user), and lets the user
// add or drop more with --cap-add and --cap-drop, or take them all with
// --privileged.
//
// This file decides the sets, on the host; the init applies them in its last
// steps before execve (init/capabilities.ts, in before-exec.ts's order), and
// nsenter applies them to every `exec`.
import fs from 'node:fs';
import type { FlagValue } from '../core/flags.js';
import type { ContainerConfig } from '../core/containers.js';
import { Slot, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import type { CapabilitySets } from '../core/spec.js';
import { CAPABILITIES, capabilityMask, capabilityNames } from './capabilities/names.js';
import { securityOpts } from './layer.js';
import { recordHostConfig, type HardeningPart } from './part.js';

// #region default-capabilities
/** Docker's default set (moby's oci/caps/defaults.go), in its order. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
// #endregion default-capabilities

/**
 * "All capabilities", as Docker counts them: those of this kernel that we,
 * the runtime, hold ourselves. A capability missing from our own set (here,
 * CAP_SYS_RESOURCE: this machine's root runs without it) cannot be given
 * away: capset(2) refuses to raise a capability its caller lacks. Docker ≥ 23
 * reads its own effective set the same way (moby's oci/caps initCaps);
 * older ones asked for all 41 and failed with "unable to apply caps".
 */
function allCapabilities(): string[] {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return eff ? capabilityNames(BigInt('0x' + eff[1])) : [...CAPABILITIES];
}

// #region normalize
/**
 * A --cap-add or --cap-drop value as Docker reads it: any case, with or
 * without "CAP_", or the word ALL (moby's NormalizeLegacyCapabilities).
 * `flag` is the HostConfig field named in the error, as Docker's daemon does.
 */
function normalize(given: string[], flag: 'CapAdd' | 'CapDrop'): string[] {
  const available = allCapabilities();
  return given.map((raw) => {
    let name = raw.toUpperCase();
    if (name === 'ALL') return name;
    if (!name.startsWith('CAP_')) name = 'CAP_' + name;
    const hint = ' (capabilities are named as in capabilities(7), with or without CAP_, e.g. NET_ADMIN, or ALL)';
    if (!(CAPABILITIES as readonly string[]).includes(name)) {
      throw new RunError(125, `Error response from daemon: invalid ${flag}: unknown capability: "${name}"${hint}`);
    }
    if (!available.includes(name)) {
      throw new RunError(125, `Error response from daemon: invalid ${flag}: capability not supported by your kernel or not available in the current environment: "${name}" (dockling itself does not hold it, so it cannot give it)`);
    }
    return name;
  });
}
// #endregion normalize

// #region tweak
/**
 * Docker's rules for --cap-add and --cap-drop (moby's TweakCapabilities):
 * --privileged gets everything; --cap-add ALL gets everything but what is
 * dropped; --cap-drop ALL keeps only what is added; otherwise the defaults,
 * minus the dropped ones, plus the added ones.
 */
export function tweakCapabilities(adds: string[], drops: string[], privileged: boolean): string[] {
  // The names are checked even with --privileged (moby's validateHostConfig
  // does so when the container is created).
  const add = normalize(adds, 'CapAdd');
  const drop = normalize(drops, 'CapDrop');
  if (privileged) return allCapabilities();
  if (adds.length === 0 && drops.length === 0) return DEFAULT_CAPABILITIES;
  let caps: string[];
  if (add.includes('ALL')) caps = allCapabilities().filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}
// #endregion tweak

// #region sets
/**
 * The five sets a process starts with (moby's oci.SetCapabilities). Root
 * gets the list as its bounding, permitted and effective sets. The
 * inheritable set stays empty: Docker ≤ 20.10.13 filled it too, and a
 * program with file capabilities in its inheritable set could then gain
 * them on execve even as a non-root user (CVE-2022-24769); 20.10.14 emptied
 * it. A non-root user gets only the bounding set, as execve gives a
 * non-root user nothing: its capabilities come from setuid-root or
 * file-capability programs, and never beyond the bounding set.
 */
export function capabilitySets(list: string[], uid: number): CapabilitySets {
  if (uid === 0) return { bounding: list, effective: list, permitted: list, inheritable: [], ambient: [] };
  return { bounding: list, effective: [], permitted: [], inheritable: [], ambient: [] };
}
// #endregion sets

const strings = (flags: Map<string, FlagValue>, name: string) => (flags.get(name) as string[] | undefined) ?? [];
/** The capability list validate settled on, for prepare. */
const chosen = new Slot<string[]>('capabilities');

/** The container's sets, from what its HostConfig recorded (for `exec`). */
function containerList(c: ContainerConfig): string[] | null {
  const h = c.HostConfig ?? {};
  if (!('Privileged' in h)) return null; // made before chapter 11: it has every capability
  return tweakCapabilities((h.CapAdd as string[] | null) ?? [], (h.CapDrop as string[] | null) ?? [], Boolean(h.Privileged));
}

/**
 * --user's UID, if a number was given. A name (or the container's own
 * USER) is resolved by nsenter inside the container, which then empties
 * the effective and permitted sets itself for any uid but 0.
 */
function uidOf(user: FlagValue | undefined): number {
  return typeof user === 'string' && /^\d+/.test(user) ? Number(/^\d+/.exec(user)![0]) : 0;
}

export const capabilities: HardeningPart = {
  name: 'capabilities',
  flags: [
    { name: 'cap-add', kind: 'stringArray', valueName: 'list', usage: 'Add Linux capabilities' },
    { name: 'cap-drop', kind: 'stringArray', valueName: 'list', usage: 'Drop Linux capabilities' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to this container' },
  ],
  validate(ctx: RunContext) {
    // Checked now, before anything is made: an unknown name is exit 125.
    const list = tweakCapabilities(strings(ctx.flags, 'cap-add'), strings(ctx.flags, 'cap-drop'), Boolean(ctx.flags.get('privileged')));
    chosen.set(ctx, list);
  },
  prepare(ctx: RunContext) {
    const list = chosen.get(ctx)!;
    // The sets for root. A USER or --user may name someone else, but only
    // the container's /etc/passwd says who, and the init reads it: the
    // init's capset (init/capabilities.ts) empties the effective and
    // permitted sets when the user it became is not root.
    ctx.spec.process.capabilities = capabilitySets(list, 0);
    ctx.spec.process.noNewPrivileges = securityOpts(ctx).noNewPrivileges;
    const given = securityOpts(ctx).given;
    // As Docker's inspect shows them: the names as typed, null when none.
    recordHostConfig(ctx, {
      CapAdd: strings(ctx.flags, 'cap-add').length ? strings(ctx.flags, 'cap-add') : null,
      CapDrop: strings(ctx.flags, 'cap-drop').length ? strings(ctx.flags, 'cap-drop') : null,
      Privileged: Boolean(ctx.flags.get('privileged')),
      SecurityOpt: given.length ? given : null,
    });
  },
  execFlags: [{ name: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' }],
  // #region exec
  /**
   * `exec` runs with the container's sets and no_new_privs (runc applies
   * the container's process settings to every exec'd process); `exec
   * --privileged` with every capability (moby's execSetPlatformOpt). A
   * non-root --user gets only the bounding set, as in `run`.
   */
  exec(c, flags, settings) {
    const list = flags.get('privileged') ? allCapabilities() : containerList(c);
    if (!list) return;
    const sets = capabilitySets(list, uidOf(flags.get('user')));
    settings.capabilities = {
      bounding: capabilityMask(sets.bounding), effective: capabilityMask(sets.effective), permitted: capabilityMask(sets.permitted),
      inheritable: capabilityMask(sets.inheritable), ambient: capabilityMask(sets.ambient),
    };
    const opts = (c.HostConfig?.SecurityOpt as string[] | null | undefined) ?? [];
    settings.noNewPrivileges = opts.some((o) => /^no-new-privileges([=:](1|t|T|TRUE|true|True))?$/.test(o));
  },
  // #endregion exec
};
