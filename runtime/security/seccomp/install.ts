// Inside the init, just before execve: attach the container's seccomp
// filter. From here on the kernel runs the program on every system call
// of this process and of everything it starts; a filter can never be
// removed, only more added (each must allow a call for it to happen).
//
// Installing a filter needs no_new_privs or CAP_SYS_ADMIN (so that a
// setuid program cannot be run under a filter that fools it); before-exec.ts
// orders the steps so that one of them holds. Kept tiny: it is bundled
// into the init, which starts on every `run`.
import type { TraceEvent } from '../../trace/events.js';
import { seccompSetModeFilter } from '../../sys/libc.js';

// The filter is per thread, and Node has helper threads: TSYNC attaches it
// to all of them at once, so none runs on unfiltered until execve ends them.
const SECCOMP_FILTER_FLAG_TSYNC = 1;

// #region install
/** Install the classic BPF program (base64 of its sock_filter array) on this process. */
export function installFilter(programBase64: string, step: (e: TraceEvent) => void): void {
  const program = Buffer.from(programBase64, 'base64');
  step({ op: 'seccomp', instructions: program.length / 8, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] });
  try {
    seccompSetModeFilter(program, SECCOMP_FILTER_FLAG_TSYNC);
  } catch (e) {
    throw new Error(`installing the seccomp filter failed: ${(e as Error).message}`, { cause: e });
  }
}
// #endregion install
