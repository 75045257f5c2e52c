// Chapter 11, inside the container: the init's last steps before execve,
// the moment root in the container stops being root on the host. The init
// (runtime/process/init.ts) calls this through its `beforeExec` hook.
//
// The order follows runc's (libcontainer's standard_init_linux.go and
// finalizeNamespace): rlimits first (raising a hard limit would need
// CAP_SYS_RESOURCE, soon gone). Then it depends on no_new_privs:
//
//   without it, installing a seccomp filter needs CAP_SYS_ADMIN, so the
//   filter goes first, while we still hold it; then the bounding set (which
//   needs CAP_SETPCAP), then capset. The filter must allow what follows
//   (prctl, capset, execve): Docker's profile does.
//
//   with it, no_new_privs is set first; the filter needs no capability any
//   more, so it goes last, after the capabilities are gone, and so has the
//   fewest of our own steps to allow.
//
// The user (USER, --user) is chapter 5's hook, run just before this one
// (container/user.ts): it has already called setgroups/setgid/setuid, with
// PR_SET_KEEPCAPS and its permitted set made effective again, so every step
// here can still be taken; capset then leaves a non-root user none in force
// (init/capabilities.ts). runc switches user between the bounding set and
// capset, as nsenter does for `exec --user`: the sets after execve are the
// same either way.
//
// Only small init-side files are imported here: this is bundled into the
// init, which starts on every `run`.
import type { ContainerSpec } from '../core/spec.js';
import type { TraceEvent } from '../trace/events.js';
import { applyRlimits } from './init/rlimits.js';
import { installFilter } from './seccomp/install.js';
import { dropBoundingSet, setCapabilities, setNoNewPrivileges } from './init/capabilities.js';

// #region before-exec
export function beforeExec(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  applyRlimits(spec, step);
  const nnp = Boolean(spec.process.noNewPrivileges);
  if (nnp) setNoNewPrivileges(spec, step);
  else if (spec.seccomp) installFilter(spec.seccomp.program, step);
  dropBoundingSet(spec, step);
  setCapabilities(spec, step);
  if (nnp && spec.seccomp) installFilter(spec.seccomp.program, step);
}
// #endregion before-exec
