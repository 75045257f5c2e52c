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
// --tmpfs, which gives a read-only container somewhere to write, is
// chapter 7's (volumes, runtime/volume/parse.ts), with the other mounts a
// user asks for.
import { Slot, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { parseSize, UnitError } from '../cgroups/units.js';
import type { HardeningPart } from './part.js';
import { recordHostConfig } from './part.js';
import { securityOpts } from './layer.js';
import { DEFAULT_SHM_SIZE, recordHostConfigDefaults } from './hostconfig.js';
import { MASKED_PATHS, READONLY_PATHS } from '../process/defaults.js';
import { userMounts } from '../volume/layer.js';

interface FilesystemChoice {
  readOnly: boolean;
  /** bytes, or undefined for Docker's default (64 MiB) */
  shmSize?: number;
}
const KEY = new Slot<FilesystemChoice>('filesystem');


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
  const user = userMounts.get(ctx); // volumes, binds, tmpfs (chapter 7): read-only only if asked so
  for (const m of ctx.spec.mounts) {
    if (WRITABLE_WITH_READONLY_ROOT.has(m.destination) || m.options.includes('ro') || user?.has(m)) continue;
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
  recordHostConfig(ctx, {
    ReadonlyRootfs: choice.readOnly,
    ShmSize: choice.shmSize ?? DEFAULT_SHM_SIZE,
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
    { name: 'shm-size', kind: 'string', valueName: 'bytes', usage: 'Size of /dev/shm' },
  ],
  validate,
  prepare,
};
