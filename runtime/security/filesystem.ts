// The container's files, hardened: a root it cannot write (--read-only),
// the tmpfs mounts that give such a container somewhere to write (--tmpfs),
// the size of its /dev/shm (--shm-size), and the kernel files it may not
// see or change (the masked and read-only paths of chapter 1, which
// --privileged and --security-opt systempaths=unconfined take away).
//
// Only the spec is changed here: the init carries it out (runtime/process/
// init.ts: the mounts in order, then the masked paths, then the root is
// remounted read-only).
//
// --tmpfs is here for --read-only's sake: a read-only container usually
// needs a writable /tmp. Chapter 7 (volumes) owns mounts in general and may
// take it over.
import path from 'node:path';
import { Slot, type RunContext } from '../core/layer.js';
import type { MountSpec } from '../core/spec.js';
import { RunError } from '../core/pipeline.js';
import { parseSize, UnitError } from '../cgroups/units.js';
import type { HardeningPart } from './part.js';
import { recordHostConfig } from './part.js';
import { securityOpts } from './layer.js';
import { tmpfsOptions } from '../volume/parse.js';
import { DEFAULT_SHM_SIZE, recordHostConfigDefaults } from './hostconfig.js';
import { MASKED_PATHS, READONLY_PATHS } from '../process/defaults.js';

interface FilesystemChoice {
  readOnly: boolean;
  /** --tmpfs, by destination: the options as given ("" for none) */
  tmpfs: Map<string, string>;
  /** bytes, or undefined for Docker's default (64 MiB) */
  shmSize?: number;
}
const KEY = new Slot<FilesystemChoice>('filesystem');

function parseTmpfs(values: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    // PATH[:OPTIONS], split at the first colon, as the docker CLI does.
    const i = v.indexOf(':');
    const [dest, opts] = i < 0 ? [v, ''] : [v.slice(0, i), v.slice(i + 1)];
    if (!path.isAbsolute(dest)) throw new RunError(125, `invalid mount path: '${dest}' mount path must be absolute`);
    if (path.posix.normalize(dest) === '/') throw new RunError(125, "invalid specification: destination can't be '/'");
    tmpfsOptions(opts, v); // refuse bad options now, before anything is made
    out.set(dest, opts);
  }
  return out;
}

function parseShmSize(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    const n = parseSize(v);
    return n === 0 ? undefined : n; // 0 means "the default", as in Docker
  } catch (e) {
    if (e instanceof UnitError) throw new RunError(125, `invalid argument "${v}" for "--shm-size" flag: ${e.message}`, { cause: e });
    throw e;
  }
}

function validate(ctx: RunContext): void {
  KEY.set(ctx, {
    readOnly: Boolean(ctx.flags.get('read-only')),
    tmpfs: parseTmpfs((ctx.flags.get('tmpfs') as string[] | undefined) ?? []),
    shmSize: parseShmSize(ctx.flags.get('shm-size') as string | undefined),
  } satisfies FilesystemChoice);
}

// #region read-only-root
// The mounts that stay writable in a read-only container, as in Docker:
// the kernel's own filesystems a program expects to write (a terminal, shared
// memory, message queues) are not part of "the root".
const WRITABLE_WITH_READONLY_ROOT = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']);

function readOnlyRoot(ctx: RunContext): void {
  ctx.spec.root.readonly = true;
  // Every other mount made for the container becomes read-only with it: the
  // bind-mounted /etc/hostname, /etc/hosts and /etc/resolv.conf too (Docker:
  // they are writable only when the root is). A mount with others inside it
  // is left alone: their mount points are made in it first (chapter 2's
  // cgroup v1 tmpfs, which a read-only path freezes after).
  for (const m of ctx.spec.mounts) {
    if (WRITABLE_WITH_READONLY_ROOT.has(m.destination) || m.options.includes('ro')) continue;
    if (ctx.spec.mounts.some((o) => o.destination.startsWith(m.destination + '/'))) continue;
    m.options = [...m.options, 'ro'];
  }
}
// #endregion read-only-root

// #region system-paths
/**
 * systempaths=unconfined: Docker's masked and read-only kernel files as they
 * are (a path another layer froze, as chapter 2's cgroup v1 tmpfs, stays so:
 * in Docker that is a read-only mount, not a "system path").
 * --privileged: none at all, and a writable /sys and cgroup filesystem
 * (Docker clears "ro" on both: a privileged container may retune the host).
 */
function unconfinePaths(ctx: RunContext, privileged: boolean): void {
  if (!privileged) {
    ctx.spec.maskedPaths = ctx.spec.maskedPaths.filter((p) => !MASKED_PATHS.includes(p));
    ctx.spec.readonlyPaths = ctx.spec.readonlyPaths.filter((p) => !READONLY_PATHS.includes(p));
    return;
  }
  ctx.spec.maskedPaths = [];
  ctx.spec.readonlyPaths = [];
  for (const m of ctx.spec.mounts) {
    if (m.destination === '/sys' || m.type === 'cgroup' || m.type === 'cgroup2') {
      m.options = m.options.filter((o) => o !== 'ro');
    }
  }
}
// #endregion system-paths

function tmpfsMount(destination: string, given: string): MountSpec {
  return { destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(given) };
}

/**
 * Put a user's mount among the others. One on a default mount's destination
 * (--tmpfs /dev/shm) replaces it, as in Docker. And it goes before any mount
 * inside it (--tmpfs /etc before the /etc/hosts bind), which it would
 * otherwise hide: mounts are made in order, parents first.
 */
function placeMount(mounts: MountSpec[], m: MountSpec): void {
  const dest = path.posix.normalize(m.destination);
  const same = mounts.findIndex((o) => path.posix.normalize(o.destination) === dest);
  if (same >= 0) mounts.splice(same, 1);
  const inside = mounts.findIndex((o) => path.posix.normalize(o.destination).startsWith(dest + '/'));
  const at = [same, inside].filter((i) => i >= 0);
  mounts.splice(at.length ? Math.min(...at) : mounts.length, 0, m);
}

function prepare(ctx: RunContext): void {
  recordHostConfigDefaults(ctx);
  const choice = KEY.get(ctx)!;
  const privileged = Boolean(ctx.flags.get('privileged'));
  const unconfined = securityOpts(ctx).unconfinedPaths;
  if (choice.shmSize !== undefined) {
    const shm = ctx.spec.mounts.find((m) => m.destination === '/dev/shm');
    if (shm) shm.options = [...shm.options.filter((o) => !o.startsWith('size=')), `size=${choice.shmSize}`];
  }
  if (choice.readOnly) readOnlyRoot(ctx);
  // After the read-only root, as Docker does: --privileged --read-only still has a writable /sys.
  if (privileged || unconfined) unconfinePaths(ctx, privileged);
  // The user's tmpfs mounts, writable whatever the root is.
  for (const [dest, opts] of choice.tmpfs) placeMount(ctx.spec.mounts, tmpfsMount(dest, opts));
  recordHostConfig(ctx, {
    ReadonlyRootfs: choice.readOnly,
    ShmSize: choice.shmSize ?? DEFAULT_SHM_SIZE,
    ...(choice.tmpfs.size ? { Tmpfs: Object.fromEntries(choice.tmpfs) } : {}),
    // Docker's lists as the daemon fills them in (a layer's additions, as
    // chapter 2's /sys/fs/cgroup on cgroup v1, are the runtime's, not shown);
    // none under --privileged (null), empty ones for systempaths=unconfined.
    MaskedPaths: privileged ? null : unconfined ? [] : [...MASKED_PATHS],
    ReadonlyPaths: privileged ? null : unconfined ? [] : [...READONLY_PATHS],
  });
}

export const filesystem: HardeningPart = {
  name: 'filesystem',
  flags: [
    { name: 'read-only', kind: 'bool', usage: "Mount the container's root filesystem as read only" },
    { name: 'tmpfs', kind: 'stringArray', valueName: 'list', usage: 'Mount a tmpfs directory' },
    { name: 'shm-size', kind: 'string', valueName: 'bytes', usage: 'Size of /dev/shm' },
  ],
  validate,
  prepare,
};
