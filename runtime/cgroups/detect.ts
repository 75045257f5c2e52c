// Which cgroup driver this host needs. A "unified" host mounts cgroup2 at
// /sys/fs/cgroup itself. A "hybrid" host (this project's CI machine) mounts
// the v1 hierarchies there and a cgroup2 tree at /sys/fs/cgroup/unified that
// holds no usable controllers: the limits live in v1, so it gets v1.
import fs from 'node:fs';
import path from 'node:path';
import { V1Driver, unifiedHierarchy, v1Hierarchies } from './v1.js';
import { V2Driver } from './v2.js';
import type { CgroupDriver } from './driver.js';

export type CgroupMode = 'v1' | 'hybrid' | 'v2' | 'none';

// #region cgroup-mode
export function cgroupMode(mountinfo: string): CgroupMode {
  const mounts = mountinfo.split('\n').map((l) => {
    const [pre, post] = l.split(' - ');
    return { at: pre?.split(' ')[4], fstype: post?.split(' ')[0] };
  });
  if (mounts.some((m) => m.at === '/sys/fs/cgroup' && m.fstype === 'cgroup2')) return 'v2';
  // (a named hierarchy alone, like name=systemd, has no controller to limit with)
  if (!v1Hierarchies(mountinfo).some((h) => h.controllers.some((c) => !c.startsWith('name=')))) return 'none';
  return mounts.some((m) => m.fstype === 'cgroup2') ? 'hybrid' : 'v1';
}
// #endregion cgroup-mode

/**
 * Why this mode, in a line for `dockling info`: what is mounted where, and
 * which driver follows. (Not from /proc/cgroups: a v2-only kernel still
 * lists every v1 controller there, in hierarchy 0.)
 */
export function cgroupModeReason(mountinfo: string): string {
  const mode = cgroupMode(mountinfo);
  const v1 = v1Hierarchies(mountinfo).map((h) => h.mountPoint);
  const v1At = [...new Set(v1.map((m) => path.dirname(m)))].join(', ');
  const unified = unifiedHierarchy(mountinfo)?.mountPoint;
  if (mode === 'v2') return `unified: cgroup2 mounted at /sys/fs/cgroup${v1.length ? ' (and v1 hierarchies elsewhere)' : ', no v1 hierarchies'}: using v2`;
  if (mode === 'hybrid') return `hybrid: v1 hierarchies mounted at ${v1At}, cgroup2 at ${unified}: using v1, as Docker does`;
  if (mode === 'v1') return `legacy: v1 hierarchies mounted at ${v1At}, no cgroup2: using v1`;
  return 'none: no cgroup hierarchy with a controller is mounted: containers cannot have cgroups (chapter 2 needs one)';
}

export function detectDriver(): CgroupDriver {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const mode = cgroupMode(mountinfo);
  if (mode === 'v2') return new V2Driver();
  if (mode === 'none') throw new Error('no cgroup hierarchy is mounted at /sys/fs/cgroup: mount cgroup2 there (mount -t cgroup2 none /sys/fs/cgroup)');
  return new V1Driver(mountinfo);
}
