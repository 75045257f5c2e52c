// The capabilities part's demo steps (the lead assembles them into
// chapters/11-hardening/demo.ts). Each runs on its own, unattended; with
// `--chapter 10` each check fails: the container holds every capability and
// the flags are ignored.
import { ran, type DemoStep } from '../../demo.js';

/** The value of one "Name:\tvalue" line of /proc/PID/status. */
const field = (out: string, name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(out)?.[1];

export const steps: DemoStep[] = [
  {
    title: 'capabilities: root in the container holds 14 of 41',
    section: '#2-capabilities-root-in-41-pieces',
    code: 'runtime/security/capabilities.ts#default-capabilities',
    look:
      'CapEff, CapPrm and CapBnd are bit masks, bit N for capability N: a80425fb is Docker\'s 14 (CHOWN is bit 0, ' +
      'SYS_ADMIN, bit 21, is not there). With --chapter 10 they read 1fffeffffff: everything the host\'s root has.',
    args: ['run', '--rm', 'busybox', 'grep', '^Cap', '/proc/1/status'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      for (const set of ['CapEff', 'CapPrm', 'CapBnd']) {
        if (field(r.stdout, set) !== '00000000a80425fb') return `${set} should be Docker's 00000000a80425fb, it is ${field(r.stdout, set)}`;
      }
      if (field(r.stdout, 'CapInh') !== '0000000000000000') return 'the inheritable set should be empty';
      return null;
    },
  },
  {
    title: '--cap-drop: the kernel refuses what is dropped',
    section: '#2-capabilities-root-in-41-pieces',
    code: 'runtime/security/capabilities.ts#tweak',
    look:
      'Without CAP_CHOWN, root in the container cannot give its own file away: chown fails with EPERM ("Operation not ' +
      'permitted"), which the kernel decides from the process\'s effective set alone.',
    args: ['run', '--rm', '--cap-drop', 'CHOWN', 'busybox', 'sh', '-c', 'touch /f && chown 1:1 /f'],
    check(r) {
      const bad = ran(r, 1);
      if (bad) return bad;
      return /Operation not permitted/.test(r.stderr) ? null : `chown should fail with "Operation not permitted": ${r.stderr.trim()}`;
    },
  },
  {
    title: 'no-new-privileges: execve can never raise privileges again',
    section: '#2-capabilities-root-in-41-pieces',
    code: 'runtime/security/init/capabilities.ts#no-new-privs',
    look:
      'NoNewPrivs: 1 is the no_new_privs bit, set by the init just before execve. From now on no setuid program and no ' +
      'file capability gives this process or its children more than they have.',
    args: ['run', '--rm', '--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/1/status'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      return field(r.stdout, 'NoNewPrivs') === '1' ? null : `NoNewPrivs should be 1: ${r.stdout.trim()}`;
    },
  },
];
