// Chapter 11, inside the container: the init's last steps before execve,
// the moment root in the container stops being root on the host. The init
// (runtime/process/init.ts) calls this through its `beforeExec` hook.
//
// The order follows runc's (libcontainer/init_linux.go, finalizeNamespace
// and standard_init_linux.go): rlimits; then, without no_new_privs, the
// seccomp filter while CAP_SYS_ADMIN is still held (installing one needs
// it, or no_new_privs); the bounding set; the other capability sets; with
// no_new_privs, the filter last of all.
//
// Only small init-side files are imported here: this is bundled into the
// init, which starts on every `run`.
import type { ContainerSpec } from '../core/spec.js';
import type { TraceEvent } from '../trace/events.js';
import { applyRlimits } from './init/rlimits.js';
import { installFilter } from './seccomp/install.js';

export function beforeExec(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  applyRlimits(spec, step);
  if (spec.seccomp) installFilter(spec.seccomp.program, step);
  // (capabilities and no_new_privs: not written yet)
}
