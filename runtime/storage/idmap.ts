// Files of a store used with user namespaces (chapter 11, --userns-remap).
//
// Root in a remapped container is, on the host, the first id of its
// subordinate range (100000, say). Every file the container sees must be
// owned by ids it can name: a file owned by host uid 0 shows up inside as
// "nobody" (65534), and root inside may not change it. Docker's answer, done
// here too: the remapped state root has a store of its own, and its layers
// are unpacked with every owner shifted into the range (tar uid 0 is written
// as 100000, uid 33 as 100033), once, at extraction. The container's
// writable layer and the directories it must reach are made the remapped
// root's.
//
// (The other answer, an id-mapped mount of the layers, would share one store
// between remapped and unmapped containers; it needs every layer mounted
// through mount_setattr(MOUNT_ATTR_IDMAP) before overlayfs stacks them.)
import fs from 'node:fs';
import type { IdMapping } from '../core/spec.js';
import { trace } from '../trace/trace.js';

export interface IdShift {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

let shift: IdShift | undefined;

/** Set once by the CLI for a remapped state root (runtime/cli/main.ts). */
export function setIdShift(s: IdShift | undefined): void {
  shift = s;
}
export const idShift = () => shift;

/** An id inside the container as the host stores it (thrown if the range has no room for it). */
function toHost(maps: IdMapping[], id: number, what: string): number {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  if (!m) throw new Error(`Container ID ${id} cannot be mapped to a host ID (${what} outside the --userns-remap range)`);
  return m.hostID + (id - m.containerID);
}

// #region shift-owner
/** The owner a file with this tar owner gets on disk: shifted when remapped. */
export function hostOwner(uid: number, gid: number): { uid: number; gid: number } {
  if (!shift) return { uid, gid };
  return { uid: toHost(shift.uidMappings, uid, 'uid'), gid: toHost(shift.gidMappings, gid, 'gid') };
}
// #endregion shift-owner

/**
 * The other way, for packing a remapped store's files into a tar (commit,
 * export, diff): a host id in the range is the container's id. One outside
 * it (a file of host root's, left by a --userns host container) is what
 * the kernel shows for it inside: the overflow id, nobody (65534).
 */
export function containerOwner(uid: number, gid: number): { uid: number; gid: number } {
  if (!shift) return { uid, gid };
  const back = (maps: IdMapping[], id: number) => {
    const m = maps.find((x) => id >= x.hostID && id < x.hostID + x.size);
    return m ? m.containerID + (id - m.hostID) : OVERFLOW_ID;
  };
  return { uid: back(shift.uidMappings, uid), gid: back(shift.gidMappings, gid) };
}
const OVERFLOW_ID = 65534;

/** Make a path the remapped root's (a no-op without remap). */
export function chownToRemappedRoot(p: string): void {
  if (!shift) return;
  const { uid, gid } = hostOwner(0, 0);
  trace.emit(11, { op: 'chown', path: p, uid, gid });
  fs.lchownSync(p, uid, gid);
}

/**
 * A directory of root's that the remapped root must pass through (the
 * remapped state root, the layer store's home, the containers): owned by
 * root and the remapped gid, mode 0710, as dockerd makes them.
 */
export function shareWithRemappedRoot(dir: string, gid = shift ? hostOwner(0, 0).gid : undefined): void {
  if (gid === undefined) return;
  const st = fs.statSync(dir);
  if (st.uid === 0 && st.gid === gid && (st.mode & 0o7777) === 0o710) return;
  trace.emit(11, { op: 'chown', path: dir, uid: 0, gid });
  fs.chownSync(dir, 0, gid);
  trace.emit(11, { op: 'chmod', path: dir, mode: 0o710 });
  fs.chmodSync(dir, 0o710);
}
