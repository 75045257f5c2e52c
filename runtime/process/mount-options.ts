// OCI mount options ("nosuid", "ro", "mode=755") → mount(2)'s flags and data.
//
// mount(2) takes two kinds of options: generic ones every filesystem honours,
// passed as MS_* bits in `flags`, and filesystem-specific ones (tmpfs's
// size=, devpts's ptmxmode=), passed as a comma-separated `data` string that
// the filesystem itself parses. Propagation ("private", "rslave") is a third
// kind: it cannot be set in the same call and needs a mount of its own.
import { MS } from '../sys/libc.js';

const SET: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC,
  sync: MS.SYNCHRONOUS, dirsync: MS.DIRSYNC, remount: MS.REMOUNT, mand: MS.MANDLOCK,
  noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, bind: MS.BIND, rbind: MS.BIND | MS.REC,
  relatime: MS.RELATIME, strictatime: MS.STRICTATIME, nosymfollow: MS.NOSYMFOLLOW,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS,
  atime: MS.NOATIME, diratime: MS.NODIRATIME, norelatime: MS.RELATIME, nostrictatime: MS.STRICTATIME,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC, unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string;
  /** "rro" (runc's name): read-only all the way down, the mounts under a recursive bind too (mount_setattr) */
  recursiveReadonly?: true;
}

export function parseMountOptions(options: string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  let recursiveReadonly = false;
  const data: string[] = [];
  for (const o of options) {
    if (o === 'rro') {
      recursiveReadonly = true;
      flags |= MS.RDONLY;
      continue;
    }
    // Object.hasOwn, not `in`: "constructor" is not a mount option.
    if (Object.hasOwn(SET, o)) flags |= SET[o];
    else if (Object.hasOwn(CLEAR, o)) flags &= ~CLEAR[o];
    else if (Object.hasOwn(PROPAGATION, o)) propagation |= PROPAGATION[o];
    else data.push(o);
  }
  return { flags, propagation, data: data.join(','), ...(recursiveReadonly ? { recursiveReadonly: true as const } : {}) };
}

/** Names of the MS_* bits set in flags, for the trace: ["MS_NOSUID", ...]. */
export function flagNames(flags: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(MS)) if (flags & bit) names.push('MS_' + name);
  return names;
}
