// The limits a container asks for, read from `run`'s flags and checked with
// Docker's rules and messages, before anything is created.
import os from 'node:os';
import type { FlagValue } from '../core/flags.js';
import { RunError } from '../core/pipeline.js';
import { UnitError, formatCpuset, parseCpuset, parseNanoCpus, parseSize, quotaFor } from './units.js';

export interface Limits {
  /** bytes; undefined = no limit */
  memory?: number;
  /** memory + swap in bytes; -1 = unlimited swap */
  memorySwap?: number;
  memoryReservation?: number;
  /** CFS bandwidth: quota µs per period µs (from --cpus or --cpu-quota/--cpu-period) */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  /** the kernel's list format, e.g. "0-1" */
  cpusetCpus?: string;
  /** max number of tasks; undefined or <= 0 = unlimited */
  pidsLimit?: number;
}

/** Docker's floor for -m: below 6 MiB a container cannot even start. */
export const MIN_MEMORY = 6 * 1024 * 1024;
const DEFAULT_PERIOD = 100_000;
/** The most tasks pids.max takes: PID_MAX_LIMIT on 64-bit kernels (4 × 1024 × 1024). */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;
/** The largest CFS quota the kernel takes, in µs (kernel/sched: max_cfs_runtime, 2^44 - 1 µs). */
export const MAX_CFS_QUOTA = 2 ** 44 - 1;
/** The kernel's range for cpu.shares (MIN_SHARES, MAX_SHARES), which Docker clamps to. */
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262_144;

function flagArg(flags: Map<string, FlagValue>, name: string, shown: string, parse: (s: string) => number): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  try {
    return parse(String(v));
  } catch (e) {
    if (e instanceof UnitError) throw new RunError(125, `invalid argument "${v}" for "${shown}" flag: ${e.message}`, { cause: e });
    throw e;
  }
}

// #region docker-rules
export function limitsFromFlags(flags: Map<string, FlagValue>): Limits {
  const l: Limits = {};
  l.memory = flagArg(flags, 'memory', '-m, --memory', parseSize);
  l.memorySwap = flagArg(flags, 'memory-swap', '--memory-swap', (s) => (s === '-1' ? -1 : parseSize(s)));
  l.memoryReservation = flagArg(flags, 'memory-reservation', '--memory-reservation', parseSize);
  const nanoCpus = flagArg(flags, 'cpus', '--cpus', parseNanoCpus);
  const period = flags.get('cpu-period') as number | undefined;
  const quota = flags.get('cpu-quota') as number | undefined;
  l.cpuShares = flags.get('cpu-shares') as number | undefined;
  l.pidsLimit = flags.get('pids-limit') as number | undefined;

  const fail = (m: string) => {
    throw new RunError(125, m);
  };
  if (l.memory !== undefined && l.memory > 0 && l.memory < MIN_MEMORY) fail('Minimum memory limit allowed is 6MB');
  if (l.memorySwap !== undefined && l.memorySwap > 0 && !l.memory) fail('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (l.memory && l.memorySwap !== undefined && l.memorySwap > 0 && l.memorySwap < l.memory) {
    fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (l.memoryReservation !== undefined && l.memoryReservation > 0 && l.memoryReservation < MIN_MEMORY) fail('Minimum memory reservation allowed is 6MB');
  if (l.memory && l.memoryReservation && l.memory < l.memoryReservation) {
    fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (nanoCpus !== undefined && nanoCpus > 0 && period !== undefined && period > 0) fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nanoCpus !== undefined && nanoCpus > 0 && quota !== undefined && quota > 0) fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  const ncpu = os.cpus().length;
  if (nanoCpus !== undefined && (nanoCpus < 0 || nanoCpus > ncpu * 1e9 || (nanoCpus > 0 && nanoCpus < 1e7))) {
    fail(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if (period !== undefined && period !== 0 && (period < 1000 || period > 1_000_000)) {
    fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)');
  }
  if (quota !== undefined && quota > 0 && quota < 1000) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (l.cpuShares !== undefined && l.cpuShares < 0) fail(`invalid CPU shares (${l.cpuShares}): it must be 0 (the default) or more`);
  // #region kernel-ranges
  // Values Docker passes on but the kernel refuses (EINVAL): checked here,
  // before anything is made, so the user hears what was wrong instead of
  // a cgroup write failing half-way through making the container.
  const shown = (n: number) => (Number.isSafeInteger(n) ? ` ${n}` : ''); // 2^63-1 is not exact in a JS number
  if (quota !== undefined && quota > MAX_CFS_QUOTA) {
    fail(`CPU cfs quota can not be larger than ${MAX_CFS_QUOTA} (the kernel's limit, about 203 days)`);
  }
  if (l.pidsLimit !== undefined && l.pidsLimit > PID_MAX_LIMIT) {
    fail(`invalid --pids-limit${shown(l.pidsLimit)}: the kernel allows at most ${PID_MAX_LIMIT} (PID_MAX_LIMIT); use -1 for no limit`);
  }
  // Docker (adaptContainerSettings) brings shares into the kernel's range
  // [2, 262144] rather than refusing them; so do we.
  if (l.cpuShares) l.cpuShares = Math.min(Math.max(l.cpuShares, MIN_CPU_SHARES), MAX_CPU_SHARES);
  // #endregion kernel-ranges

  if (nanoCpus) {
    l.cpuPeriod = DEFAULT_PERIOD;
    l.cpuQuota = quotaFor(nanoCpus, DEFAULT_PERIOD);
  } else {
    if (period) l.cpuPeriod = period;
    if (quota !== undefined && quota !== 0) l.cpuQuota = quota;
  }

  const cpuset = flags.get('cpuset-cpus') as string | undefined;
  if (cpuset !== undefined) {
    let cpus: number[];
    try {
      // (listed only up to ncpu: "0-4000000000" must not make a list of 4e9)
      cpus = parseCpuset(cpuset, ncpu);
    } catch (e) {
      throw new RunError(125, (e as Error).message, { cause: e });
    }
    const available = [...Array(ncpu).keys()];
    if (cpus.some((c) => c >= ncpu)) {
      fail(`Requested CPUs are not available - requested ${cpuset}, available: ${formatCpuset(available)}`);
    }
    l.cpusetCpus = formatCpuset(cpus);
  }
  // Docker reads 0 as "not set" for every one of these.
  for (const k of ['memory', 'memorySwap', 'memoryReservation', 'cpuShares'] as const) if (l[k] === 0) delete l[k];
  // Docker: without --memory-swap, swap may be as large as the memory again.
  if (l.memory && l.memorySwap === undefined) l.memorySwap = 2 * l.memory;
  for (const k of Object.keys(l) as (keyof Limits)[]) if (l[k] === undefined) delete l[k];
  return l;
}
// #endregion docker-rules

export const hasLimits = (l: Limits) => Object.keys(l).length > 0;
