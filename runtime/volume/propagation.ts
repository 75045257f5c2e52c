// Mount propagation for bind mounts (-v SRC:DST:rslave, --mount
// bind-propagation=…). A mount's propagation says whether mounts made
// under it later are passed on: "shared" mounts pass them to their peers
// and take theirs, a "slave" takes its master's but passes nothing back,
// a "private" one neither. Docker's default for a bind is rprivate: the
// container sees the host directory as it was mounted, and nothing that
// the host mounts under it afterwards.
//
// Asking for slave or shared propagation only works when the source can
// give it: Docker refuses a source that is not on a shared mount (for
// shared) or on a shared or slave one (for slave), and, for the container's
// copy to hear of the host's mounts at all, makes the container's root a
// slave instead of private. dockling does the same, with one difference:
// rshared in dockling is received from the host but never sent back (the
// container's root stays a slave), so a container can never add a mount
// to the host's table.
import fs from 'node:fs';
import { RunError } from '../core/pipeline.js';
import type { MountPoint } from './model.js';

/** The mount holding `dir` in this process's mount table, and its propagation (mountinfo's optional fields). */
export function mountHolding(dir: string): { mountPoint: string; shared: boolean; slave: boolean } {
  const real = fs.realpathSync(dir);
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best = { mountPoint: '/', shared: false, slave: false };
  let bestLength = -1;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 7) continue;
    const mountPoint = unescape(f[4]);
    const under = real === mountPoint || real.startsWith(mountPoint === '/' ? '/' : mountPoint + '/');
    // The last of several mounts on one point is the one on top: >=, not >.
    if (!under || mountPoint.length < bestLength) continue;
    const optional = f.slice(6, f.indexOf('-'));
    best = { mountPoint, shared: optional.some((o) => o.startsWith('shared:')), slave: optional.some((o) => o.startsWith('master:')) };
    bestLength = mountPoint.length;
  }
  return best;
}

// #region propagation-check
/**
 * The container's root propagation that the bind mounts ask for ("rslave"
 * when any wants to hear of the host's mounts, else none), once each such
 * source has been checked the way Docker checks it (moby's
 * ensureShared / ensureSharedOrSlave, with their messages).
 */
export function rootPropagationFor(points: MountPoint[]): 'rslave' | undefined {
  let wanted: 'rslave' | undefined;
  for (const p of points) {
    if (p.Type !== 'bind' || !/^r?(shared|slave)$/.test(p.Propagation)) continue;
    const m = mountHolding(p.Source);
    if (/shared$/.test(p.Propagation) && !m.shared) {
      throw new RunError(125, `Error response from daemon: path ${p.Source} is mounted on ${m.mountPoint} but it is not a shared mount`);
    }
    if (!m.shared && !m.slave) {
      throw new RunError(125, `Error response from daemon: path ${p.Source} is mounted on ${m.mountPoint} but it is not a shared or slave mount`);
    }
    wanted = 'rslave';
  }
  return wanted;
}
// #endregion propagation-check
