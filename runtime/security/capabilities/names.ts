// The capabilities of this kernel, by number (linux/capability.h; the
// kernel's /proc/sys/kernel/cap_last_cap says 40). Root's power is split
// into these 41 pieces, and a process holds a set of them. Small on
// purpose: the container's init imports it.

// #region capability-table
export const CAPABILITIES = [
  'CAP_CHOWN', //              0  change any file's owner
  'CAP_DAC_OVERRIDE', //       1  ignore file permissions (read, write, execute)
  'CAP_DAC_READ_SEARCH', //    2  read any file, search any directory, open_by_handle_at(2)
  'CAP_FOWNER', //             3  act as the owner of any file (chmod, utime…)
  'CAP_FSETID', //             4  keep setuid/setgid bits on a modified file
  'CAP_KILL', //               5  signal any process
  'CAP_SETGID', //             6  become any group
  'CAP_SETUID', //             7  become any user
  'CAP_SETPCAP', //            8  drop from the bounding set, give capabilities away
  'CAP_LINUX_IMMUTABLE', //    9  set the immutable and append-only flags
  'CAP_NET_BIND_SERVICE', //  10  bind ports below 1024
  'CAP_NET_BROADCAST', //     11  (unused)
  'CAP_NET_ADMIN', //         12  configure interfaces, routes, firewall
  'CAP_NET_RAW', //           13  raw and packet sockets (ping, spoofed packets)
  'CAP_IPC_LOCK', //          14  lock memory
  'CAP_IPC_OWNER', //         15  bypass System V IPC permissions
  'CAP_SYS_MODULE', //        16  load kernel modules
  'CAP_SYS_RAWIO', //         17  ioperm, /dev/mem
  'CAP_SYS_CHROOT', //        18  chroot(2)
  'CAP_SYS_PTRACE', //        19  trace any process
  'CAP_SYS_PACCT', //         20  process accounting
  'CAP_SYS_ADMIN', //         21  mount, sethostname, setns, bpf… "the new root"
  'CAP_SYS_BOOT', //          22  reboot, kexec
  'CAP_SYS_NICE', //          23  raise priorities, set other processes' scheduling
  'CAP_SYS_RESOURCE', //      24  exceed resource limits (rlimits, quotas)
  'CAP_SYS_TIME', //          25  set the clock
  'CAP_SYS_TTY_CONFIG', //    26  vhangup, configure terminals
  'CAP_MKNOD', //             27  create device nodes
  'CAP_LEASE', //             28  file leases
  'CAP_AUDIT_WRITE', //       29  write to the kernel's audit log
  'CAP_AUDIT_CONTROL', //     30  configure auditing
  'CAP_SETFCAP', //           31  set file capabilities
  'CAP_MAC_OVERRIDE', //      32  override a security module (Smack)
  'CAP_MAC_ADMIN', //         33  configure a security module
  'CAP_SYSLOG', //            34  read and clear the kernel's log
  'CAP_WAKE_ALARM', //        35  timers that wake the machine
  'CAP_BLOCK_SUSPEND', //     36  keep the machine from suspending
  'CAP_AUDIT_READ', //        37  read the audit log over netlink
  'CAP_PERFMON', //           38  performance monitoring
  'CAP_BPF', //               39  privileged BPF operations
  'CAP_CHECKPOINT_RESTORE', // 40  checkpoint/restore helpers (set_tid, …)
] as const;
// #endregion capability-table

/** A capability's number (its bit in a set), or -1 for a name this kernel does not have. */
export function capabilityNumber(name: string): number {
  return (CAPABILITIES as readonly string[]).indexOf(name);
}

/** A set as the kernel stores it: bit N for capability N (as /proc/PID/status prints it). */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const bit = capabilityNumber(n);
    if (bit < 0) throw new Error(`unknown capability ${n}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The names in a mask (/proc/PID/status's CapEff: → ["CAP_CHOWN", …]). */
export function capabilityNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}
