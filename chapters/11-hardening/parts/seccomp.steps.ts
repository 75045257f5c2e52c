// The seccomp part's demo steps (assembled into chapters/11-hardening/demo.ts).
// With `--chapter 10` both fail: no filter ("Seccomp: 0"), and no
// `seccomp` command.
import { lines, ran, type DemoStep } from '../../demo.js';

export const steps: DemoStep[] = [
  {
    title: 'seccomp: the container runs under a filter',
    section: '#installing-it',
    code: 'runtime/security/seccomp/install.ts#install',
    look:
      'The kernel reports the process\'s seccomp mode in /proc/self/status: 2 is "filter", and one filter is attached. ' +
      'The init installed it just before execve; sh and grep inherited it.',
    args: ['run', '--rm', 'busybox', 'grep', '^Seccomp', '/proc/self/status'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^Seccomp:\s+2$/m.test(r.stdout)) return `Seccomp should be 2 (filter mode): ${r.stdout.trim()}`;
      if (!/^Seccomp_filters:\s+1$/m.test(r.stdout)) return `one filter should be attached: ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: 'seccomp show: the BPF program Docker\'s profile becomes',
    section: '#compiling-to-classic-bpf',
    code: 'runtime/security/seccomp/command.ts#show-command',
    look:
      'First the architecture check (anything but x86_64 gets the default action, EPERM), then one comparison per allowed ' +
      'system call, then the argument checks of socket, personality and clone, and the returns. `goto` lines are the ' +
      'long jumps the assembler inserted where a target was more than 255 instructions away.',
    args: ['seccomp', 'show'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const out = lines(r.stdout);
      if (!/^# \d+ instructions \(\d+ bytes\); default action: ERRNO\(1\)$/.test(out[1] ?? '')) return `the header should give the size and the default action: ${out[1]}`;
      if (!out.some((l) => /A == AUDIT_ARCH_X86_64/.test(l))) return 'no architecture check';
      if (!out.some((l) => /return ALLOW$/.test(l))) return 'no ALLOW';
      return null;
    },
  },
];
