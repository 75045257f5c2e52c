// Inside the init, first of chapter 11's last steps: the resource limits
// (--ulimit) of the command. A process's limits survive execve, so setting
// them on ourselves now sets them on the command. First, because raising a
// hard limit needs CAP_SYS_RESOURCE, which the capability step drops later.
import type { ContainerSpec } from '../../core/spec.js';
import type { TraceEvent } from '../../trace/events.js';
import * as libc from '../../sys/libc.js';

// #region rlimit-numbers
// The resource numbers of <asm-generic/resource.h>, by the OCI's names.
const RESOURCE: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4,
  RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};
// #endregion rlimit-numbers

/** A limit from the spec: -1 (Docker's "unlimited") is RLIM_INFINITY. */
const value = (n: number): bigint => (n < 0 ? libc.RLIM_INFINITY : BigInt(n));

// #region apply-rlimits
export function applyRlimits(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  for (const r of spec.process.rlimits ?? []) {
    const resource = RESOURCE[r.type];
    if (resource === undefined) throw new Error(`unknown rlimit type ${r.type}`);
    step({ op: 'setrlimit', resource: r.type, soft: r.soft, hard: r.hard });
    try {
      libc.setrlimit(resource, r.type, value(r.soft), value(r.hard));
    } catch (e) {
      if ((e as libc.SyscallError).code !== 'EPERM') throw e;
      // setrlimit(2): raising a hard limit takes CAP_SYS_RESOURCE.
      throw new Error(`setrlimit ${r.type} (--ulimit soft ${r.soft}, hard ${r.hard}): EPERM: a hard limit above the current one needs CAP_SYS_RESOURCE, which dockling's caller does not have`);
    }
  }
}
// #endregion apply-rlimits
