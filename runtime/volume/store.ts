// Chapter 7's volume store: the local driver's volumes under
// <stateRoot>/volumes, as Docker keeps them under /var/lib/docker/volumes.
//
// A volume is a directory on the host, volumes/<name>/_data, that a
// container sees at its mount point. It belongs to no container: the
// container's writable layer goes with `rm`, the volume stays until it is
// removed by name (`volume rm`), or, when nobody named it (an anonymous
// volume), with the container that made it (`rm -v`, `--rm`) or by `volume
// prune`.
//
// dockling has no daemon holding the list in memory, so the files are the
// truth: volumes/<name>/volume.json says a volume exists (written last, in
// one rename), and which containers use one is read from their configs
// (MountPoints). Making, removing and checking for users happen under one
// lock (volumes/.lock), so that two dockling processes never both make one
// name or remove a volume a container has just started to use.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { selfStamp, stampAlive, withLock, writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { goQuote } from '../core/template/lexer.js';

const CH = 7;
import { newContainerId } from '../core/ids.js';
import { listContainers, type ContainerConfig } from '../core/containers.js';
import { daemonError, matchesLabels, validateFilters, valuesOf, type Filters } from '../core/filters.js';
import { RunError } from '../core/pipeline.js';
import { localRFC3339 } from '../core/time.js';
import { treeSize } from '../storage/walk.js';
import { volumeData, volumeDir, volumesDir, volumesLock, type MountPoint, type VolumeRecord } from './model.js';

/** The label Docker 23+ puts on a volume made without a name; prune takes only these unless told `all`. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const recordFile = (stateRoot: string, name: string) => path.join(volumeDir(stateRoot, name), 'volume.json');
const optsFile = (stateRoot: string, name: string) => path.join(volumeDir(stateRoot, name), 'opts.json');

/** A volume looked up and not there: the daemon's words ("get NAME: no such volume"), exit 1. */
export class NoSuchVolumeError extends RunError {
  constructor(public volume: string) {
    super(1, `Error response from daemon: get ${volume}: no such volume`);
  }
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

// #region volume-name
// Docker's rule for names of local volumes (names.RestrictedNamePattern):
// a letter or digit, then letters, digits, "_", "." or "-". The name
// becomes a directory under volumes/, so the rule is also what keeps a
// name from being a path ("../../etc", "a/b"): no "/" and no leading ".".
const NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const NAME = new RegExp(`^${NAME_CHARS}+$`);

/** What is wrong with a volume name, in the local driver's words; null when it is a good one. */
export function volumeNameProblem(name: string): string | null {
  // Go counts bytes: a single "é" is two, so it is refused for its
  // characters, not for being short.
  const bytes = Buffer.byteLength(name);
  if (bytes === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!NAME.test(name)) {
    return `${goQuote(name)} includes invalid characters for a local volume name, only ${goQuote(NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  // The name is a directory's name: the kernel's NAME_MAX (Docker fails the same at its mkdir).
  if (bytes > 255) return `mkdir ${name.slice(0, 16)}…: file name too long (a volume name is a directory name: ${bytes} bytes, at most 255)`;
  return null;
}

/** The name, or the daemon's refusal of it (`create NAME: …`, exit 1) as `volume create` and `run -v` print it. */
export function validVolumeName(name: string): string {
  const problem = volumeNameProblem(name);
  if (problem) throw daemonError(`create ${name}: ${problem}`);
  return name;
}
// #endregion volume-name

// ---------------------------------------------------------------------------
// The local driver's options (-o type=… -o device=… -o o=…)
// ---------------------------------------------------------------------------

// #region driver-options
// The keys the local driver takes on Linux (moby volume/local), and which
// keys need which others: a device means nothing without the filesystem
// type to mount it as, and mount options need both.
const VALID_OPTIONS = ['type', 'o', 'device', 'size'];
const REQUIRED_WITH: [string, string[]][] = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

/** The comma-separated mount(8) options of `o` ("size=16m,uid=1000" → ["size=16m", "uid=1000"]). */
const mountOptions = (o: Record<string, string>) => (o.o ?? '').split(',').filter(Boolean);
const isBind = (o: Record<string, string>) => mountOptions(o).some((x) => x === 'bind' || x === 'rbind');

/**
 * Refuse options the local driver would refuse, in its words; and, beyond
 * Docker, what dockling cannot mount (any filesystem but tmpfs and a bind)
 * and a bind of a directory that is not there. Docker finds those only
 * when a container first mounts the volume; a volume that can never be
 * mounted is better refused when it is made.
 */
function checkOptions(name: string, o: Record<string, string>): void {
  const refuse = (why: string) => daemonError(`create ${name}: ${why}`);
  for (const key of Object.keys(o)) if (!VALID_OPTIONS.includes(key)) throw refuse(`invalid option: ${JSON.stringify(key)}`);
  if (Object.hasOwn(o, 'size')) {
    const size = ramInBytes(o.size);
    if (size === null) throw refuse(`invalid size: '${o.size}'`);
    // Docker sets a size with XFS project quotas on its own filesystem; dockling has none.
    if (size > 0) throw refuse('quota size requested but no quota support');
  }
  for (const [key, needs] of REQUIRED_WITH) {
    if (!Object.hasOwn(o, key)) continue;
    for (const need of needs) if (!Object.hasOwn(o, need)) throw refuse(`missing required option: ${JSON.stringify(need)}`);
  }
  if (!Object.hasOwn(o, 'type')) return; // no mount: a plain directory volume (a size of 0 is nothing)
  if (o.type === 'tmpfs') return; // its `o` (size=, mode=, uid=…) is the kernel's to judge, at mount
  if (!isBind(o)) {
    throw refuse(`dockling's local driver mounts a tmpfs (-o type=tmpfs -o device=tmpfs) or a bind of a host directory (-o type=none -o o=bind -o device=/dir), not type=${o.type}`);
  }
  if (!path.isAbsolute(o.device)) throw refuse(`the bind device ${JSON.stringify(o.device)} must be an absolute path on the host`);
  let st: fs.Stats;
  try {
    st = fs.statSync(o.device);
  } catch (e) {
    throw daemonError(`create ${name}: the bind device ${o.device} does not exist: make the directory first`, e);
  }
  if (!st.isDirectory()) throw refuse(`the bind device ${o.device} is not a directory: a volume is mounted on a directory`);
}
// #endregion driver-options

/** go-units' RAMInBytes ("16m", "1.5GiB", "1024"): binary multiples; null when it does not parse. */
function ramInBytes(s: string): number | null {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) return null;
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** opts.json as Docker's local driver writes it (its optsConfig), for a reader of /var/lib/docker. */
function dockerOptsConfig(o: Record<string, string>) {
  return { MountType: o.type ?? '', MountOpts: o.o ?? '', MountDevice: o.device ?? '', Quota: { Size: 0 } };
}

// ---------------------------------------------------------------------------
// The lock, and what a killed process left behind
// ---------------------------------------------------------------------------

// How deep this process is inside the volumes lock, by lock path: the lock
// is a directory (mkdir is the test-and-set), not reentrant by itself, and
// the lead's run layer takes it around "make the volume and record the
// mount" while createVolume takes it too. Everything inside is synchronous,
// so a counter is enough.
const held = new Map<string, number>();

/**
 * Run fn holding the volumes lock (volumes/.lock), the lock every change of
 * a volume and every "is it in use?" holds. fn must be synchronous. A caller
 * that records a mount of a volume in a container's config does it inside
 * this, so that a `volume rm` cannot remove the volume in between.
 */
export function withVolumesLock<T>(stateRoot: string, fn: () => T): T {
  const lock = volumesLock(stateRoot);
  if ((held.get(lock) ?? 0) > 0) return fn();
  // volumes/ is Docker's 0701: root's, but others may pass through it to a
  // _data a container's user was given.
  fs.mkdirSync(volumesDir(stateRoot), { recursive: true, mode: 0o701 });
  return withLock(lock, () => {
    held.set(lock, (held.get(lock) ?? 0) + 1);
    try {
      return fn();
    } finally {
      held.set(lock, held.get(lock)! - 1);
    }
  });
}

// A removed volume is first renamed to volumes/.trash-<PID.START>-<random>:
// one rename(2), so no reader ever sees it half deleted. Only then are its
// files deleted. A process killed in between leaves the trash directory,
// which its stamp shows as nobody's; the next change of the store deletes
// it. (".trash-" cannot be a volume's name: names start with a letter or digit.)
const TRASH = /^\.trash-(\d+\.\d+)-[0-9a-f]+$/;

function sweepTrash(stateRoot: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(volumesDir(stateRoot));
  } catch {
    return;
  }
  for (const n of names) {
    const m = TRASH.exec(n);
    if (!m || stampAlive(m[1])) continue;
    try {
      fs.rmSync(path.join(volumesDir(stateRoot), n), { recursive: true, force: true });
    } catch {
      /* still being written to: the next sweep takes it */
    }
  }
}

/** Move a volume's directory out of the store in one step; returns where it went. */
function moveToTrash(stateRoot: string, name: string): string {
  const trash = path.join(volumesDir(stateRoot), `.trash-${selfStamp()}-${randomBytes(6).toString('hex')}`);
  trace.emit(CH, { op: 'rename', from: volumeDir(stateRoot, name), to: trash });
  fs.renameSync(volumeDir(stateRoot, name), trash);
  return trash;
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/** The record of a volume, or null: not a name, no directory, or a directory a killed `create` left without its record. */
function readRecord(stateRoot: string, name: string): VolumeRecord | null {
  if (volumeNameProblem(name)) return null; // never a path: "../x" is no volume
  try {
    return JSON.parse(fs.readFileSync(recordFile(stateRoot, name), 'utf8')) as VolumeRecord;
  } catch {
    return null;
  }
}

/** A volume by its name (volume names are whole: no prefixes, unlike IDs). */
export function getVolume(stateRoot: string, name: string): VolumeRecord {
  const rec = readRecord(stateRoot, name);
  if (!rec) throw new NoSuchVolumeError(name);
  return rec;
}

/** Every volume, by name. A half-made one (no volume.json yet) is not a volume and is not listed. */
export function listVolumes(stateRoot: string): VolumeRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(volumesDir(stateRoot));
  } catch {
    return []; // no volumes/ yet
  }
  return names
    .sort()
    .map((n) => readRecord(stateRoot, n))
    .filter((r): r is VolumeRecord => r !== null);
}

/** A container's mounts as it records them (config.v2.json MountPoints, by destination). */
export function mountPointsOf(c: ContainerConfig): MountPoint[] {
  return Object.values((c as ContainerConfig & { MountPoints?: Record<string, MountPoint> | null }).MountPoints ?? {});
}

// #region volume-users
/**
 * The containers that use a volume: every container, running or not, that
 * has it among its mounts. Docker counts a stopped container too: it will
 * mount the volume again when it starts, so the volume must still be there.
 */
export function volumeUsers(stateRoot: string, name: string): ContainerConfig[] {
  return listContainers(stateRoot).filter((c) => mountPointsOf(c).some((m) => m.Type === 'volume' && m.Name === name));
}
// #endregion volume-users

// ---------------------------------------------------------------------------
// Making one
// ---------------------------------------------------------------------------

export interface VolumeSpec {
  /** none: a new anonymous volume, named by 64 random hex digits */
  name?: string;
  labels?: Record<string, string>;
  /** the local driver's options: type, device, o (and size, refused: no quotas) */
  options?: Record<string, string>;
  /** made for one container (`-v /data`, an image's VOLUME): labelled so, and prunable */
  anonymous?: boolean;
}

// #region create-volume
/**
 * Make a volume, or find the one of that name. Docker's `volume create` of
 * a name that exists succeeds and returns that volume as it is: its labels
 * and options are not compared with the new ones (moby's store returns the
 * existing volume before the driver sees them). `created` says which.
 */
export function createVolume(stateRoot: string, spec: VolumeSpec): { record: VolumeRecord; created: boolean } {
  if (spec.name !== undefined) validVolumeName(spec.name);
  return withVolumesLock(stateRoot, () => {
    sweepTrash(stateRoot);
    if (spec.name !== undefined) {
      const existing = readRecord(stateRoot, spec.name);
      if (existing) return { record: existing, created: false };
    }
    // A volume made without a name is anonymous (Docker labels it so, and
    // prunes only those by default). Its name is 64 random hex digits, drawn
    // again in the impossible case that one is taken.
    let name = spec.name;
    while (name === undefined || (spec.name === undefined && fs.existsSync(volumeDir(stateRoot, name)))) name = newContainerId();
    const anonymous = spec.anonymous === true || spec.name === undefined;
    const options = spec.options && Object.keys(spec.options).length ? { ...spec.options } : null;
    if (options) checkOptions(name, options);

    // A directory without volume.json is a create that was killed half way
    // (volume.json is written last): nothing ever used it. It is replaced,
    // so the new volume starts empty as a new volume must (copy-up fills
    // only an empty one).
    if (fs.existsSync(volumeDir(stateRoot, name))) fs.rmSync(moveToTrash(stateRoot, name), { recursive: true, force: true });

    const labels = { ...(spec.labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
    const record: VolumeRecord = {
      CreatedAt: localRFC3339(Date.now()),
      Driver: 'local',
      // Docker 23+ prints null for a volume made without labels or options
      // (the CLI leaves empty maps out of its request).
      Labels: Object.keys(labels).length ? labels : null,
      Name: name,
      Options: options,
      Scope: 'local',
      ...(anonymous ? { Anonymous: true } : {}),
    };
    // Docker's modes: volumes/<name> 0701 (others may only pass through),
    // _data 0755 (what the container sees at its mount point: its root
    // directory's mode until the container changes it). chmod after mkdir:
    // mkdir's mode is cut by the umask.
    trace.emit(CH, { op: 'mkdir', path: volumeData(stateRoot, name), mode: 0o755 });
    fs.mkdirSync(volumeData(stateRoot, name), { recursive: true });
    fs.chmodSync(volumeDir(stateRoot, name), 0o701);
    fs.chmodSync(volumeData(stateRoot, name), 0o755);
    if (options) writeFileAtomic(optsFile(stateRoot, name), JSON.stringify(dockerOptsConfig(options)) + '\n', 0o600);
    // The record last, in one rename: until it is there, there is no volume.
    writeFileAtomic(recordFile(stateRoot, name), JSON.stringify(record, null, 2) + '\n', 0o600);
    return { record, created: true };
  });
}
// #endregion create-volume

// ---------------------------------------------------------------------------
// What a container's mount of it is made from
// ---------------------------------------------------------------------------

// #region mount-source
/**
 * What a container's mount of the volume is made from. A plain volume: a
 * recursive bind of its _data. With the local driver's options: a tmpfs
 * of their own (`type=tmpfs`, `o` the mount data) or a bind of the device
 * directory (`o=bind`).
 *
 * Docker mounts an option volume once on the host, at _data, while any
 * container uses it, and binds that into each container. dockling mounts it
 * inside each container's mount namespace instead, so nothing of it is ever
 * in the host's mount table (no mount to leak when a CLI is killed). The
 * difference shows with a tmpfs volume: in Docker two containers running
 * at once share one tmpfs; in dockling each gets its own, empty, and
 * nothing of it is at _data on the host.
 */
export function volumeMountSource(stateRoot: string, record: VolumeRecord): { source: string; type: 'bind' | 'tmpfs'; options: string[] } {
  const o = record.Options ?? {};
  const data = volumeData(stateRoot, record.Name);
  if (!Object.hasOwn(o, 'type')) return { source: data, type: 'bind', options: ['rbind'] };
  if (o.type === 'tmpfs') return { source: o.device || 'tmpfs', type: 'tmpfs', options: mountOptions(o) };
  if (isBind(o)) {
    // Checked again at every mount: the directory may have gone since create.
    if (!fs.statSync(o.device, { throwIfNoEntry: false })?.isDirectory()) {
      const flags = mountOptions(o).includes('rbind') ? '0x5000' : '0x1000'; // MS_BIND (| MS_REC), as Go prints them
      throw daemonError(`error while mounting volume '${data}': failed to mount local volume: mount ${o.device}:${data}, flags: ${flags}: no such file or directory`);
    }
    return { source: o.device, type: 'bind', options: mountOptions(o) };
  }
  throw daemonError(`error while mounting volume '${data}': dockling cannot mount type=${o.type} (only tmpfs and o=bind)`);
}
// #endregion mount-source

// ---------------------------------------------------------------------------
// Removing
// ---------------------------------------------------------------------------

// #region remove-volume
/**
 * Remove a volume and its files. Refused while any container (running or
 * not) has it among its mounts, with Docker's message naming them, -f or
 * not: Docker's -f only makes a missing volume no error. The volume leaves
 * the store in one rename under the lock, its files are deleted after:
 * a crash leaves either the whole volume or none (and some trash).
 */
export function removeVolume(stateRoot: string, name: string, { force = false, owner }: { force?: boolean; owner?: string } = {}): void {
  const trash = withVolumesLock(stateRoot, () => {
    sweepTrash(stateRoot);
    if (!readRecord(stateRoot, name)) {
      if (force) return null;
      throw new NoSuchVolumeError(name);
    }
    // `owner`: the container being removed, whose record still lists the volume (rm -v, --rm)
    const users = volumeUsers(stateRoot, name).filter((c) => c.ID !== owner);
    if (users.length) throw daemonError(`remove ${name}: volume is in use - [${users.map((c) => c.ID).join(', ')}]`);
    try {
      return moveToTrash(stateRoot, name);
    } catch (e) {
      // EBUSY: something is mounted on it on the host; deleting under it would delete that too.
      throw daemonError(`remove ${name}: ${(e as Error).message}`, e);
    }
  });
  if (trash) {
    trace.emit(CH, { op: 'remove', path: trash });
    try {
      fs.rmSync(trash, { recursive: true, force: true });
    } catch {
      // Something still writes in it (a container that had it mounted as
      // it went): the volume is gone from the store all the same, and the
      // next create or remove sweeps what is left of the trash.
    }
  }
}
// #endregion remove-volume

/**
 * The bytes a volume's files take (what prune reclaims): the sizes of what
 * _data holds, directories not counted, a file with several hard links
 * once, as moby's directory.Size counts them. Walked by descriptors, never
 * following a symlink a container left in it.
 */
export function volumeSize(stateRoot: string, name: string): number {
  try {
    return treeSize(volumeData(stateRoot, name));
  } catch {
    return 0; // gone meanwhile, or unreadable: Docker counts what it can and prunes anyway
  }
}

// #region prune-volumes
const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** prune's `all` filter: strconv.ParseBool of its one value, Docker's errors otherwise. */
function allFilter(f: Filters): boolean {
  const all = valuesOf(f, 'all');
  if (all.length > 1) throw daemonError(`invalid filter 'all=[${all.join(' ')}]': only one value is expected`);
  if (all.length === 0) return false;
  if (TRUE.includes(all[0])) return true;
  if (FALSE.includes(all[0])) return false;
  throw daemonError(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(all[0])}: invalid syntax`);
}

/** filters.Args.MatchKVList for `label!`: the volume is kept when it has every label named. */
const hasAllLabels = (f: Filters, labels: Record<string, string> | null) => {
  const negated: Filters = new Map([['label', f.get('label!') ?? new Set()]]);
  return f.has('label!') && matchesLabels(negated, 'label', labels);
};

/** Is this volume one Docker's prune would look at: anonymous (unless `all`), no driver options? */
const prunable = (v: VolumeRecord, all: boolean) =>
  // A volume with options is never pruned: its data may be a host
  // directory (o=bind) that is not Docker's to delete.
  v.Driver === 'local' && !(v.Options && Object.keys(v.Options).length) && (all || v.Anonymous === true || Object.hasOwn(v.Labels ?? {}, ANONYMOUS_LABEL));

/**
 * Remove the volumes no container uses, as Docker 23+ does: only anonymous
 * ones, unless the filter `all=true` (`volume prune -a`). A named volume
 * is a user's choice to keep data; only they remove it. Filters: `label`,
 * `label!`, `all`. Returns the names removed and the bytes they held.
 */
export function pruneVolumes(stateRoot: string, f: Filters): { names: string[]; bytes: number } {
  validateFilters(f, ['label', 'label!', 'all']);
  const all = allFilter(f);
  const names: string[] = [];
  let bytes = 0;
  for (const v of listVolumes(stateRoot)) {
    if (!prunable(v, all)) continue;
    if (!matchesLabels(f, 'label', v.Labels) || hasAllLabels(f, v.Labels)) continue;
    if (volumeUsers(stateRoot, v.Name).length) continue;
    const size = volumeSize(stateRoot, v.Name);
    try {
      removeVolume(stateRoot, v.Name); // checks for users again, under the lock: a container may have taken it since
    } catch (e) {
      if (e instanceof RunError) continue; // Docker skips a volume it cannot remove (and logs it in the daemon)
      throw e;
    }
    names.push(v.Name);
    bytes += size;
  }
  return { names, bytes };
}
// #endregion prune-volumes
