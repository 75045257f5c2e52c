// Inside the init, in its last steps (before-exec.ts): take away what the
// container's root may not do. Three kernel mechanisms:
//
//   no_new_privs   prctl(PR_SET_NO_NEW_PRIVS): execve can no longer raise
//                  privileges (setuid bits, file capabilities are ignored);
//                  it can never be unset, and is inherited by every child.
//   bounding set   the ceiling: no execve can ever give a capability that
//                  is not in it. Dropped one by one (PR_CAPBSET_DROP), which
//                  needs CAP_SETPCAP: so before capset takes that away.
//   capset(2)      the effective (in force now), permitted (may be made
//                  effective) and inheritable sets. The ambient set (kept
//                  across execve of ordinary programs) is cleared.
//
// Node is multithreaded, and all of this is per thread: capset,
// PR_CAPBSET_DROP and PR_SET_NO_NEW_PRIVS change only the calling thread.
// That is enough here because koffi calls libc on Node's main thread, and
// the main thread is the one that calls execve: execve kills every other
// thread, and the new program is a single thread with the main thread's
// credentials. Node's other threads keep full capabilities for the few
// milliseconds until then, but run only Node's own code (GC, the libuv pool).
import type { ContainerSpec } from '../../core/spec.js';
import type { TraceEvent } from '../../trace/events.js';
import * as libc from '../../sys/libc.js';
import { capabilityMask, capabilityNumber } from '../capabilities/names.js';

// #region no-new-privs
export function setNoNewPrivileges(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  if (!spec.process.noNewPrivileges) return;
  step({ op: 'prctl', option: 'PR_SET_NO_NEW_PRIVS', arg: '1' });
  libc.setNoNewPrivs();
}
// #endregion no-new-privs

// #region bounding
/**
 * Drop from the bounding set every capability the spec leaves out. The
 * kernel's count is found by asking (PR_CAPBSET_READ fails with EINVAL past
 * the last one), not from /proc/sys/kernel/cap_last_cap: the same code runs
 * in `exec`, where the container's root could have mounted over that file.
 */
export function dropBoundingSet(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  const caps = spec.process.capabilities;
  if (!caps) return;
  const keep = capabilityMask(caps.bounding);
  for (let cap = 0; cap < 64; cap++) {
    const held = libc.capbsetRead(cap);
    if (held === null) break; // past this kernel's last capability
    if (!held || (keep >> BigInt(cap)) & 1n) continue;
    step({ op: 'prctl', option: 'PR_CAPBSET_DROP', arg: String(cap) });
    libc.capbsetDrop(cap);
  }
}
// #endregion bounding

// #region capset
/** The effective, permitted and inheritable sets; then the ambient set. */
export function setCapabilities(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  const spec_ = spec.process.capabilities;
  if (!spec_) return;
  // A user other than root (USER or --user, which chapter 5's hook has
  // switched to by now, names looked up in the container) keeps only the
  // bounding set: its effective and permitted sets are emptied, as Docker
  // asks for a non-root user (capabilitySets in ../capabilities.ts). Known
  // only here: a name's uid is the container's /etc/passwd's to say.
  const caps = libc.getuid() === 0 ? spec_ : { ...spec_, effective: [], permitted: [], ambient: [] };
  step({ op: 'capset', effective: caps.effective, permitted: caps.permitted, inheritable: caps.inheritable });
  libc.capset(capabilityMask(caps.effective), capabilityMask(caps.permitted), capabilityMask(caps.inheritable));
  step({ op: 'prctl', option: 'PR_CAP_AMBIENT_CLEAR_ALL', arg: caps.ambient.join(',') });
  libc.setAmbient(caps.ambient.map(capabilityNumber));
}
// #endregion capset
