// Chapter 7's records: what a volume is, what a container's mount of one (or
// of a host directory, or of a tmpfs) is, and where they are kept. The names
// are Docker's (`docker volume inspect`, a container's Mounts and its
// config.v2.json MountPoints), so that what dockling writes reads like what
// Docker prints.
//
// On disk, under the state root (Docker's /var/lib/docker/volumes layout):
//   volumes/<name>/_data         the volume's files: what the container sees at its mount point
//   volumes/<name>/volume.json   its record (VolumeRecord): Docker keeps this in volumes/metadata.db
//   volumes/<name>/opts.json     the local driver's options (type, device, o), when given, as Docker
//   volumes/.lock                held while a volume is made, removed or checked for users
import path from 'node:path';

export const volumesDir = (stateRoot: string) => path.join(stateRoot, 'volumes');
export const volumeDir = (stateRoot: string, name: string) => path.join(volumesDir(stateRoot), name);
/** A volume's mount point on the host: what `volume inspect` calls its Mountpoint. */
export const volumeData = (stateRoot: string, name: string) => path.join(volumeDir(stateRoot, name), '_data');
export const volumesLock = (stateRoot: string) => path.join(volumesDir(stateRoot), '.lock');

/**
 * A volume, as `docker volume inspect` shows it (Mountpoint is computed:
 * volumes/<name>/_data under the state root).
 */
export interface VolumeRecord {
  CreatedAt: string; //  RFC 3339, seconds, with the zone: "2026-12-04T21:40:11Z"
  Driver: 'local';
  Labels: Record<string, string> | null;
  Name: string; //       the user's name, or 64 hex for an anonymous volume
  /** the local driver's options (-o type=tmpfs -o device=tmpfs -o o=size=16m), or null */
  Options: Record<string, string> | null;
  Scope: 'local';
  /** dockling's own: made for `-v /path` or an image's VOLUME (Docker labels it com.docker.volume.anonymous) */
  Anonymous?: boolean;
}

/** The mount types of -v and --mount (npipe and cluster are Windows' and Swarm's). */
export type MountType = 'volume' | 'bind' | 'tmpfs';

/** mount(2) propagation, as --mount bind-propagation and -v's options name it. */
export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/**
 * One mount the user asked for, parsed from -v, --mount or --tmpfs (parse.ts)
 * and not yet made: a volume may not exist yet, a bind source may be absent.
 */
export interface MountRequest {
  type: MountType;
  /** volume: its name ('' for a new anonymous one); bind: the host path (absolute, cleaned); tmpfs: '' */
  source: string;
  /** where in the container: absolute and cleaned ("/data") */
  destination: string;
  readOnly: boolean;
  /**
   * the mode as Docker records it in Mounts[].Mode: what followed the
   * destination in -v ("ro", "rw,z", "") or "" for --mount ("z" for a volume by default)
   */
  mode: string;
  /** bind: the propagation asked for (Docker's default: rprivate) */
  propagation?: Propagation;
  /** volume: do not fill a new volume from the image (-v …:nocopy, --mount volume-nocopy) */
  noCopy?: boolean;
  /** volume: --mount volume-label=K=V, for a volume this mount creates */
  volumeLabels?: Record<string, string>;
  /** volume: --mount volume-opt=K=V (the local driver's type, device, o) */
  volumeOptions?: Record<string, string>;
  /** bind: make the source directory when it is missing (-v does; --mount refuses) */
  createSource?: boolean;
  /**
   * bind, --mount bind-recursive (absent: "enabled", the submounts come too and
   * a read-only bind is read-only all the way down): "disabled" (also the older
   * bind-nonrecursive) binds the directory without its submounts; "writable"
   * leaves the submounts of a read-only bind writable; "readonly" insists on
   * read-only all the way down
   */
  bindRecursive?: 'disabled' | 'writable' | 'readonly';
  /** tmpfs: mount(8) options for it, Docker's defaults merged in ("size=16m", "mode=1770", "noexec"…) */
  tmpfsOptions?: string[];
  /** where it came from, for HostConfig (Binds, Mounts, Tmpfs) and errors: the flag and its text */
  from: { flag: 'volume' | 'mount' | 'tmpfs' | 'volumes-from' | 'image'; text: string };
}

/**
 * A container's mount, once made, as Docker keeps it in config.v2.json
 * (MountPoints, by destination) and shows it in `inspect`'s Mounts.
 */
export interface MountPoint {
  Type: MountType;
  /** volume: its name; otherwise "" */
  Name: string;
  /** the host side: a volume's _data, a bind's source; "" for tmpfs */
  Source: string;
  Destination: string;
  Driver: string; //   "local" for a volume, "" otherwise
  Mode: string; //     as MountRequest.mode
  RW: boolean;
  Propagation: string; // "rprivate" for a bind, "" otherwise
  /** dockling's own: the volume was made for this container (an anonymous one), so `rm -v` and --rm take it */
  Anonymous?: boolean;
  /** tmpfs: its mount(8) options */
  Options?: string[];
  /** a bind of the directory alone (--mount bind-nonrecursive): what is mounted under it on the host is not taken */
  NonRecursive?: boolean;
  /** read-only at the top only (--mount bind-recursive=writable): the mounts under it keep their own flags */
  ReadOnlyNonRecursive?: boolean;
  /** dockling's own: made for --tmpfs, which Docker keeps in HostConfig.Tmpfs only (not in Mounts) */
  TmpfsFlag?: boolean;
}
