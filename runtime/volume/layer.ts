// Chapter 7's layer: volumes. Until now everything a container wrote went
// into its writable layer (chapter 4), and went with it. This layer gives a
// container directories that are not part of it: a volume (a directory
// dockling keeps under volumes/<name>/_data, named or anonymous), a bind
// mount of a host directory, a tmpfs. Each is one more mount in the
// container's spec: the init (chapter 1) makes it inside the container's
// mount namespace, onto a mount point it finds inside the root, so nothing
// of it is in the host's mount table and no symlink in the image can aim it
// at the host. It adds -v, --mount, --tmpfs and --volumes-from to `run`,
// and the `volume` commands.
import fs from 'node:fs';
import path from 'node:path';
import type { FlagSpec } from '../core/flags.js';
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import type { MountSpec } from '../core/spec.js';
import { RunError } from '../core/pipeline.js';
import { abandonment, NoSuchContainerError, readConfig, resolveContainer, updateConfig, type ContainerConfig } from '../core/containers.js';
import { writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { releaseFirst } from '../container/layer.js';
import { existingContainer } from '../container/lifecycle.js';
import { DOCKLING_BIN } from '../container/launch.js';
import { imageOf } from '../image/layer.js';
import { openStores } from '../image/open-stores.js';
import type { MountPoint, MountRequest } from './model.js';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom } from './parse.js';
import { createVolume, getVolume, listVolumes, mountPointsOf, pruneVolumes, volumeMountSource, volumeSize, volumeUsers, withVolumesLock } from './store.js';
import { copyUp } from './copy-up.js';
import { rootPropagationFor } from './propagation.js';
import { releaseVolumesCommand, removeAnonymousVolumes } from './release.js';
import { volumeCommands } from './volume-commands.js';

const CH = 7;

const RUN_FLAGS: FlagSpec[] = [
  { name: 'volume', short: 'v', kind: 'stringArray', valueName: 'list', usage: 'Bind mount a volume' },
  { name: 'mount', kind: 'stringArray', valueName: 'mount', usage: 'Attach a filesystem mount to the container' },
  { name: 'tmpfs', kind: 'stringArray', valueName: 'list', usage: 'Mount a tmpfs directory' },
  { name: 'volumes-from', kind: 'stringArray', valueName: 'list', usage: 'Mount volumes from the specified container(s)' },
  { name: 'volume-driver', kind: 'string', valueName: 'string', usage: 'Optional volume driver for the container' },
];

/**
 * The mounts this layer put in the spec. Chapter 11's read-only root
 * leaves them as they are: a volume, a bind or a tmpfs is writable under
 * --read-only unless it was asked read-only itself, as in Docker.
 */
export const userMounts = new Slot<Set<MountSpec>>('user-mounts');

interface Plan {
  /** -v, --mount and --tmpfs, in the order given */
  requests: MountRequest[];
  /** --volumes-from: the containers, and the mode asked (undefined: each mount's own) */
  from: { c: ContainerConfig; readOnly: boolean | undefined; text: string }[];
}
const planOf = new Slot<Plan>('volume-plan');
/** anonymous volumes made by this run, for a run that fails before it records them */
const madeHere = new Slot<string[]>('volumes-made');

const list = (ctx: RunContext, name: string) => (ctx.flags.get(name) as string[] | undefined) ?? [];

// #region validate
/**
 * Read every mount flag before anything is made, as `docker run` does:
 * a bad one, two mounts on one destination, or a --volumes-from container
 * that does not exist stops the run with 125 and nothing made.
 */
function validate(ctx: RunContext): void {
  if (existingContainer.get(ctx)) return; // started again: its mounts are recorded (prepare)
  // Only the local driver exists here: a plugin's name is not found, as Docker says when none is installed.
  const driver = ctx.flags.get('volume-driver') as string | undefined;
  if (driver && driver !== 'local') throw new RunError(125, `Error response from daemon: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  const requests = [...list(ctx, 'volume').map((v) => parseVolumeFlag(v)), ...list(ctx, 'mount').map((v) => parseMountFlag(v)), ...list(ctx, 'tmpfs').map((v) => parseTmpfsFlag(v))];
  const seen = new Set<string>();
  for (const r of requests) {
    if (seen.has(r.destination)) throw new RunError(125, `Error response from daemon: Duplicate mount point: ${r.destination}`);
    seen.add(r.destination);
  }
  const from = list(ctx, 'volumes-from').map((text) => {
    const { container, readOnly } = parseVolumesFrom(text);
    try {
      return { c: resolveContainer(ctx.stateRoot, container), readOnly, text };
    } catch (e) {
      if (e instanceof NoSuchContainerError) throw new RunError(125, `Error response from daemon: ${e.message}`, { cause: e });
      throw e;
    }
  });
  planOf.set(ctx, { requests, from });
}
// #endregion validate

// #region mount-points
/**
 * The container's mount points, by destination, in Docker's order of
 * precedence (moby's registerMountPoints): the image's VOLUMEs, then what
 * --volumes-from shares, then the user's own -v, --mount and --tmpfs; a
 * later one on the same destination replaces an earlier one. Volumes are
 * made here (a new anonymous one for `-v /data` and for each image VOLUME
 * nobody mounted), and a new, empty one is filled from the image (copy-up).
 */
async function makeMountPoints(ctx: RunContext): Promise<Map<string, MountPoint>> {
  const plan = planOf.get(ctx)!;
  const points = new Map<string, MountPoint>();
  const image = imageOf.get(ctx);
  const imageVolumes = image ? Object.keys(openStores(ctx.stateRoot).images.get(image.id).config.Volumes ?? {}) : [];
  // An image VOLUME that the user or --volumes-from mounts something on gets no volume of its own (moby: IsDestinationMounted).
  const covered = new Set([...plan.requests.map((r) => r.destination), ...plan.from.flatMap(({ c }) => mountPointsOf(c).map((p) => p.Destination))]);
  for (const destination of imageVolumes) {
    const dest = path.posix.normalize(destination);
    if (covered.has(dest)) continue;
    points.set(dest, await volumePoint(ctx, { type: 'volume', source: '', destination: dest, readOnly: false, mode: '', from: { flag: 'image', text: destination } }));
  }
  for (const { c, readOnly } of plan.from) {
    // Shared as they are: the same volume or host directory, never copied
    // into (CopyData false in moby), and not this container's to remove.
    for (const p of mountPointsOf(c)) {
      if (p.Type === 'tmpfs') continue; // a tmpfs is the other container's memory, not something to share
      // :ro makes each read-only; :rw cannot make one writable that was not (Docker ands the two).
      const { Anonymous: _, ...shared } = p;
      points.set(p.Destination, { ...shared, RW: p.RW && !readOnly, Mode: readOnly ? 'ro' : p.Mode });
    }
  }
  for (const r of plan.requests) {
    if (r.type === 'volume') points.set(r.destination, await volumePoint(ctx, r));
    else if (r.type === 'bind') points.set(r.destination, bindPoint(r));
    else points.set(r.destination, tmpfsPoint(r));
  }
  return points;
}

async function volumePoint(ctx: RunContext, r: MountRequest): Promise<MountPoint> {
  const anonymous = r.source === '';
  // Made and recorded as the container's in one step under the store's
  // lock: from then on the volume is in use, and `volume rm` refuses it
  // while copy-up fills it.
  let point: MountPoint;
  let source: ReturnType<typeof volumeMountSource>;
  let hasOptions: boolean;
  try {
    [point, source, hasOptions] = withVolumesLock(ctx.stateRoot, () => {
      const { record } = createVolume(ctx.stateRoot, {
        ...(anonymous ? { anonymous: true } : { name: r.source }),
        ...(r.volumeLabels ? { labels: r.volumeLabels } : {}),
        ...(r.volumeOptions ? { options: r.volumeOptions } : {}),
      });
      if (anonymous) madeHere.set(ctx, [...(madeHere.get(ctx) ?? []), record.Name]);
      const src = volumeMountSource(ctx.stateRoot, record);
      const p: MountPoint = {
        Type: 'volume', Name: record.Name, Source: src.source, Destination: r.destination, Driver: 'local',
        // Docker shows "z" for a named volume given no mode (its default relabel), "" for an anonymous one
        Mode: r.mode || (anonymous ? '' : 'z'), RW: !r.readOnly, Propagation: '', ...(anonymous ? { Anonymous: true } : {}),
      };
      updateConfig(ctx.container, (x) => {
        const c = x as ContainerConfig & { MountPoints?: Record<string, MountPoint> };
        c.MountPoints = { ...(c.MountPoints ?? {}), [p.Destination]: p };
      });
      return [p, src, Boolean(record.Options)] as const;
    });
  } catch (e) {
    // The store's refusal is the daemon's (exit 1); `run` reports it as its own failure, 125.
    if (e instanceof RunError) throw new RunError(125, e.message, { cause: e });
    throw e;
  }
  // Docker fills a volume from the image only while it is empty, so only
  // once; a volume of the local driver's options (a tmpfs, a bind of a
  // device) is made inside the container only, and is not filled.
  if (!r.noCopy && source.type === 'bind' && !hasOptions) await copyUp(ctx.spec.root.path, r.destination, source.source);
  return point;
}

function bindPoint(r: MountRequest): MountPoint {
  // `-v /host:/path` makes a missing host directory (Docker's old, kept
  // behaviour); --mount refused it already (parse.ts). The host path is
  // the user's own: it is not inside any container.
  if (r.createSource && !fs.existsSync(r.source)) {
    trace.emit(CH, { op: 'mkdir', path: r.source, mode: 0o755 });
    fs.mkdirSync(r.source, { recursive: true, mode: 0o755 });
  }
  return {
    Type: 'bind', Name: '', Source: r.source, Destination: r.destination, Driver: '',
    Mode: r.mode, RW: !r.readOnly, Propagation: r.propagation ?? 'rprivate',
    ...(r.bindRecursive === 'disabled' ? { NonRecursive: true } : {}),
    ...(r.bindRecursive === 'writable' ? { ReadOnlyNonRecursive: true } : {}),
  };
}

function tmpfsPoint(r: MountRequest): MountPoint {
  return {
    Type: 'tmpfs', Name: '', Source: '', Destination: r.destination, Driver: '', Mode: r.mode, RW: !r.readOnly,
    Propagation: '', Options: r.tmpfsOptions ?? [], ...(r.from.flag === 'tmpfs' ? { TmpfsFlag: true } : {}),
  };
}
// #endregion mount-points

// #region mount-spec
/**
 * A mount point as the spec's mount, for the init to make: a volume and a
 * bind are bind mounts (recursive, as Docker's; read-only by a second,
 * remounting call, which the init makes: the kernel enforces :ro), a tmpfs
 * is a fresh tmpfs.
 */
function mountSpecOf(stateRoot: string, p: MountPoint): MountSpec {
  const ro = p.RW ? 'rw' : 'ro';
  if (p.Type === 'tmpfs') return { destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: [...(p.Options ?? []), ...(p.RW ? [] : ['ro'])] };
  if (p.Type === 'volume') {
    const src = volumeMountSource(stateRoot, getVolume(stateRoot, p.Name));
    if (src.type === 'tmpfs') return { destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: [...src.options, ...(p.RW ? [] : ['ro'])] };
    return { destination: p.Destination, type: 'bind', source: src.source, options: ['rbind', ro, 'rprivate', ...src.options] };
  }
  // bind-nonrecursive: the directory alone, not what is mounted under it on
  // the host. :ro of a recursive bind is read-only all the way down ("rro",
  // Docker 25+), unless bind-recursive=writable asked for the top only.
  const recursive = !p.NonRecursive;
  const readOnly = p.RW ? 'rw' : recursive && !p.ReadOnlyNonRecursive ? 'rro' : 'ro';
  return { destination: p.Destination, type: 'bind', source: p.Source, options: [recursive ? 'rbind' : 'bind', readOnly, p.Propagation || 'rprivate'] };
}

/**
 * Put a user's mount among the others. One on a default mount's destination
 * (--tmpfs /dev/shm) replaces it, as in Docker. And it goes before any mount
 * inside it (--tmpfs /etc before the /etc/hosts bind), which it would
 * otherwise hide: mounts are made in order, parents first.
 */
export function placeMount(mounts: MountSpec[], m: MountSpec): void {
  const dest = path.posix.normalize(m.destination);
  const same = mounts.findIndex((o) => path.posix.normalize(o.destination) === dest);
  if (same >= 0) mounts.splice(same, 1);
  const inside = mounts.findIndex((o) => path.posix.normalize(o.destination).startsWith(dest + '/'));
  const at = [same, inside].filter((i) => i >= 0);
  mounts.splice(at.length ? Math.min(...at) : mounts.length, 0, m);
}
// #endregion mount-spec

/** Docker's HostConfig and Config entries for what was asked. */
function record(ctx: RunContext, points: Map<string, MountPoint>): void {
  const plan = planOf.get(ctx)!;
  const binds = plan.requests.filter((r) => r.from.flag === 'volume' && r.source !== '').map((r) => r.from.text);
  const mounts = plan.requests.filter((r) => r.from.flag === 'mount').map((r) => ({
    Type: r.type, Source: r.source, Target: r.destination, ...(r.readOnly ? { ReadOnly: true } : {}),
    ...(r.type === 'tmpfs' && r.tmpfsOptions ? { TmpfsOptions: r.tmpfsOptions } : {}),
  }));
  const tmpfs = plan.requests.filter((r) => r.from.flag === 'tmpfs');
  const anonymous = [...points.values()].filter((p) => p.Anonymous).map((p) => p.Destination);
  updateConfig(ctx.container, (x) => {
    const c = x as ContainerConfig & { MountPoints?: Record<string, MountPoint> };
    c.MountPoints = Object.fromEntries(points);
    c.HostConfig = {
      ...(c.HostConfig ?? {}),
      Binds: binds.length ? binds : null,
      ...(mounts.length ? { Mounts: mounts } : {}),
      ...(tmpfs.length ? { Tmpfs: Object.fromEntries(tmpfs.map((r) => [r.destination, r.from.text.slice(r.from.text.indexOf(':') + 1 || r.from.text.length)])) } : {}),
      VolumesFrom: plan.from.length ? plan.from.map((f) => f.text) : null,
    };
    (c.Config as Record<string, unknown>).Volumes = anonymous.length ? Object.fromEntries(anonymous.map((d) => [d, {}])) : null;
  });
}

// #region prepare
/**
 * The root is mounted (chapter 4): make the volumes, fill new ones from the
 * image, record the mount points, and add their mounts to the spec. A
 * container started again mounts what it recorded the first time.
 */
async function prepare(ctx: RunContext): Promise<void> {
  let points: Map<string, MountPoint>;
  if (existingContainer.get(ctx)) {
    points = new Map(mountPointsOf(readConfig(ctx.container.dir)!).map((p) => [p.Destination, p]));
  } else {
    points = await makeMountPoints(ctx);
    record(ctx, points);
  }
  // A bind that asks to hear of the host's mounts: its source checked, the root a slave (propagation.ts).
  const rootPropagation = rootPropagationFor([...points.values()]);
  if (rootPropagation) ctx.spec.rootfsPropagation = rootPropagation;
  const mine = new Set<MountSpec>();
  // Parents before children (Docker sorts by depth): /data before /data/logs.
  const depth = (p: string) => p.split('/').length;
  for (const p of [...points.values()].sort((a, b) => depth(a.Destination) - depth(b.Destination))) {
    const m = mountSpecOf(ctx.stateRoot, p);
    placeMount(ctx.spec.mounts, m);
    mine.add(m);
  }
  userMounts.set(ctx, mine);
  // A detached --rm container is removed by its monitor (chapter 5), with
  // no CLI left to run this layer's cleanup: it runs `volume release`.
  if (ctx.flags.get('rm') && [...points.values()].some((p) => p.Anonymous)) {
    const argv = [process.execPath, DOCKLING_BIN, '--root', ctx.stateRoot, '--chapter', String(ctx.chapter), 'volume', 'release', ctx.container.id];
    writeFileAtomic(path.join(ctx.container.dir, 'volume-release'), argv.join('\0'));
    releaseFirst.set(ctx, [...(releaseFirst.get(ctx) ?? []), `run ${path.join(ctx.container.dir, 'volume-release')}`]);
  }
}
// #endregion prepare

// #region cleanup
/**
 * A removed container's anonymous volumes go with it when it was run with
 * --rm (Docker's rule; `rm -v` is the other way, see reap). Named volumes
 * are never removed by a container's end.
 */
function cleanup(ctx: RunContext): void {
  if (ctx.outcome !== 'remove') return;
  const c = ctx.container ? readConfig(ctx.container.dir) : null;
  const names = c ? mountPointsOf(c).filter((p) => p.Anonymous).map((p) => p.Name) : [];
  removeAnonymousVolumes(ctx.stateRoot, [...new Set([...names, ...(madeHere.get(ctx) ?? [])])], ctx.container?.id);
}
// #endregion cleanup

export const volumesLayer: Layer = {
  chapter: CH,
  name: 'volumes',
  runFlags: RUN_FLAGS,
  commands: [...volumeCommands, releaseVolumesCommand],
  stages: { validate, prepare, cleanup },
  // `system prune --volumes`: the unused anonymous volumes, as Docker 23+ prunes them
  systemPrune: { what: 'all anonymous volumes not used by at least one container', title: 'Deleted Volumes:', flag: 'volumes', run: (root) => pruneVolumes(root, new Map()) },
  localVolumes: (root) => listVolumes(root).map((v) => ({ name: v.Name, links: volumeUsers(root, v.Name).length, size: volumeSize(root, v.Name) })),
  // `rm -v`, a --rm container whose CLI or monitor was killed, and one whose
  // CLI was killed while making it (it never was the user's): its anonymous volumes go too.
  reap(c, stateRoot, opts) {
    if (!opts?.volumes && !c.HostConfig?.AutoRemove && abandonment(c) !== 'remove') return;
    removeAnonymousVolumes(stateRoot, mountPointsOf(c).filter((p) => p.Anonymous).map((p) => p.Name), c.ID);
  },
};
