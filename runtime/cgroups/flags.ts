// The resource flags chapter 2 adds to `run`, with Docker's names and help.
// (A file of their own so that the lab's starter layer can use them as given.)
import type { FlagSpec } from '../core/flags.js';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'memory', short: 'm', kind: 'string', valueName: 'bytes', usage: 'Memory limit' },
  { name: 'memory-swap', kind: 'string', valueName: 'bytes', usage: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: 'memory-reservation', kind: 'string', valueName: 'bytes', usage: 'Memory soft limit' },
  { name: 'cpus', kind: 'string', valueName: 'decimal', usage: 'Number of CPUs' },
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
  { name: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpuset-cpus', kind: 'string', valueName: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'cgroup-parent', kind: 'string', valueName: 'string', usage: 'Optional parent cgroup for the container' },
];
