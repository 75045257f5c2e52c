// The host's device nodes, as `--device` and `--privileged` hand them to a
// container: what a path on the host is (type, major, minor, mode), read
// with lstat on the host's /dev, never inside the container.
import fs from 'node:fs';
import path from 'node:path';
import type { DeviceSpec } from '../../core/spec.js';
import { rule, type DeviceRule } from './rules.js';

/** One --device, as `inspect` shows it in HostConfig.Devices. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** Some of r, w, m, each at most once (Docker's validDeviceMode). */
const validMode = (m: string) => m !== '' && /^[rwm]+$/.test(m) && new Set(m).size === m.length;

// #region device-flag
/**
 * --device HOST[:CONTAINER][:PERMISSIONS], read as Docker's CLI reads it:
 * a second part that is a valid mode is the permissions, otherwise the
 * path in the container; the container path defaults to the host's; the
 * permissions to "rwm". Errors are Docker's words.
 */
export function parseDeviceFlag(v: string): DeviceMapping {
  const bad = (why: string) => new Error(`invalid argument "${v}" for "--device" flag: ${why}`);
  const parts = v.split(':');
  if (parts.length > 3 || parts[0] === '') throw bad(`bad format for path: ${v}`);
  let [onHost, inContainer, perms] = [parts[0], parts[0], 'rwm'];
  if (parts.length === 2) {
    if (validMode(parts[1])) perms = parts[1];
    else inContainer = parts[1];
  } else if (parts.length === 3) {
    [inContainer, perms] = [parts[1], parts[2]];
    if (!validMode(perms)) throw bad(`bad mode specified: ${perms}`);
  }
  if (!path.isAbsolute(inContainer)) throw bad(`${inContainer} is not an absolute path`);
  return { PathOnHost: onHost, PathInContainer: path.posix.normalize(inContainer), CgroupPermissions: perms };
}
// #endregion device-flag

/** glibc's major()/minor() of a dev_t. */
const major = (dev: bigint) => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
const minor = (dev: bigint) => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));

/** A host path's device node (lstat: a symlink is not a device), or null when it is not one. */
export function hostDevice(hostPath: string, inContainer: string): DeviceSpec | null {
  const st = fs.lstatSync(hostPath, { bigint: true, throwIfNoEntry: false }); // (a device unplugged meanwhile: none)
  if (!st) return null;
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : null;
  if (!type) return null;
  return { path: inContainer, type, major: major(st.rdev), minor: minor(st.rdev), fileMode: Number(st.mode & 0o777n) };
}

/**
 * The node and the cgroup rule for one --device. A symlink on the host (as
 * /dev/cdrom → sr0) is followed first, as Docker does; a directory gives
 * every device under it. Not a device at all: Docker's error.
 */
export function customDevice(m: DeviceMapping): { nodes: DeviceSpec[]; rules: DeviceRule[] } {
  const fail = (why: string, cause?: unknown) => new Error(`error gathering device information while adding custom device "${m.PathOnHost}": ${why}`, cause === undefined ? undefined : { cause });
  let resolved: string;
  try {
    resolved = fs.realpathSync(m.PathOnHost);
  } catch (e) {
    throw fail('no such file or directory', e);
  }
  const one = hostDevice(resolved, m.PathInContainer);
  const nodes = one ? [one] : [];
  if (!one && fs.statSync(resolved).isDirectory()) {
    for (const f of fs.readdirSync(resolved, { recursive: true }) as string[]) {
      const d = hostDevice(path.join(resolved, f), path.join(m.PathInContainer, f));
      if (d) nodes.push(d);
    }
  }
  if (nodes.length === 0) throw fail('not a device node');
  return { nodes, rules: nodes.map((d) => rule(`${d.type} ${d.major}:${d.minor} ${m.CgroupPermissions}`)) };
}

// #region privileged-devices
/**
 * --privileged: every device node of the host's /dev, made in the
 * container's /dev, as Docker does (containerd's HostDevices). Left out:
 * /dev/pts, /dev/shm, /dev/mqueue (the container mounts its own), /dev/fd
 * (a link to /proc), the leftovers of lxc and udev, /dev/console (with -t
 * it is the container's terminal), and what is not a device node (links,
 * fifos, sockets).
 */
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

export function allHostDevices(dir = '/dev', into = '/dev'): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...allHostDevices(path.join(dir, e.name), path.join(into, e.name)));
    } else if (e.name !== 'console' && (e.isCharacterDevice() || e.isBlockDevice())) {
      const d = hostDevice(path.join(dir, e.name), path.join(into, e.name));
      if (d) out.push(d);
    }
  }
  return out;
}
// #endregion privileged-devices
