// What every container gets, as Docker gives it: the default mounts, device
// nodes and symlinks of a container's /proc, /dev and /sys, and the kernel
// files hidden from it. (Docker keeps the same lists in its default OCI spec.)
import type { DeviceSpec, MountSpec } from '../core/spec.js';

// #region default-mounts
export const DEFAULT_MOUNTS: MountSpec[] = [
  // A /proc of the container's own PID namespace: `ps` sees only its processes.
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  // /dev starts empty (a small tmpfs); the devices below are made in it, so
  // the container gets these few and not the host's disks.
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  // A devpts of its own ("newinstance"): its terminals are numbered from 0
  // and it cannot see the host's.
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  // POSIX message queues of the container's IPC namespace.
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  // sysfs shows the devices of the network namespace it is mounted from;
  // read-only, because the container must not retune the host's kernel.
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
];
// #endregion default-mounts

// #region default-devices
// Character devices by their fixed numbers (Documentation/admin-guide/devices.txt).
export const DEFAULT_DEVICES: DeviceSpec[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666 },
];

export const DEFAULT_SYMLINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['/proc/kcore', '/dev/core'],
  // Every devpts instance has its own ptmx; /dev/ptmx must lead to ours.
  ['pts/ptmx', '/dev/ptmx'],
];
// #endregion default-devices

// #region masked-paths
// Kernel files that describe or control the whole machine. Masked paths get
// /dev/null (files) or an empty read-only tmpfs (directories) mounted over
// them; read-only paths stay visible but cannot be written. (Docker's
// current lists: /proc/interrupts, whose counters leak what the host's
// devices are doing, and powercap, whose energy counters leaked secrets
// through power use ("Platypus", CVE-2020-8694), were added to it later.)
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
// #endregion masked-paths

/** The PATH a container gets when neither image nor user sets one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The first lines of every /etc/hosts Docker writes: localhost, and IPv6's names. */
export const LOCALHOST_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** /etc/hosts as Docker writes it for a container with no network yet. */
export function hostsFile(hostname: string): string {
  return [...LOCALHOST_LINES, `127.0.1.1\t${hostname}`, ''].join('\n');
}

/**
 * /etc/resolv.conf: the host's, minus nameservers on loopback, which would
 * point at the container's own (empty) loopback instead of the host's.
 */
export function resolvConf(hostResolv: string): string {
  const kept = hostResolv.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  return kept.join('\n').trimEnd() + '\n';
}
