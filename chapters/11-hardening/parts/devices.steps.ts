// Chapter 11's demo steps for the devices part: the door open (--chapter
// 10), closed (the devices cgroup), and one device given back (--device).
// Every step only READS the host's /dev/kmsg (one record of the kernel's
// log; reading it takes nothing away from anyone) or opens it and closes it.
import { lines, ran, type DemoStep } from '../../demo.js';

/** A record of /dev/kmsg: "priority,sequence,microseconds,flags;message". */
const KMSG_RECORD = /^\d+,\d+,\d+,[^;]*;/m;

export const steps: DemoStep[] = [
  {
    title: 'The door: a node for the kernel log, made and read (--chapter 10)',
    section: '#4-devices-a-node-is-only-two-numbers',
    code: 'runtime/security/devices/rules.ts#default-device-rules',
    look:
      'Without this chapter root in the container makes /tmp/kmsg with the numbers of /dev/kmsg (c 1:11) and reads the ' +
      'HOST\'s kernel log through it: a device node is only a name for two numbers, and nothing asked whether this ' +
      'container may use them. A disk (b 8:0, 253:0…) would open just the same.',
    args: ['--chapter', '10', 'run', '--rm', 'busybox', 'sh', '-c', 'mknod /tmp/kmsg c 1 11 && dd if=/tmp/kmsg bs=8192 count=1 2>/dev/null | head -c 100; echo'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!KMSG_RECORD.test(r.stdout)) return `no kernel log record was read: ${JSON.stringify(r.stdout.slice(0, 200))}`;
      return null;
    },
  },
  {
    title: 'Closed: the devices cgroup refuses the open',
    section: '#the-door-closed-the-devices-cgroup',
    code: 'runtime/security/devices.ts#devices-limit',
    hostView: ['cgroup'],
    look:
      'The mknod still works (Docker allows it: images carry device nodes), but opening the node fails with EPERM. In the ' +
      'trace, the ch11 lines: "a" into devices.deny, Docker\'s list into devices.allow (v1), and a BPF program loaded and ' +
      'attached to the container\'s cgroup2 directory: the kernel asks both before every open.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'mknod /tmp/kmsg c 1 11 && echo "mknod: allowed"; dd if=/tmp/kmsg bs=8192 count=1'],
    check(r) {
      const bad = ran(r, 1);
      if (bad) return bad;
      if (!/mknod: allowed/.test(r.stdout)) return 'mknod should be allowed';
      if (!/can't open '\/tmp\/kmsg': Operation not permitted/.test(r.stderr)) return `the open should fail with EPERM: ${lines(r.stderr).slice(-2).join(' | ')}`;
      const ch11 = r.trace.filter((e) => e.chapter === 11);
      if (!ch11.some((e) => e.op === 'write' && e.path.endsWith('/devices.deny'))) return 'the trace shows no write to devices.deny';
      if (!ch11.some((e) => e.op === 'bpf' && e.cmd === 'BPF_PROG_ATTACH')) return 'the trace shows no BPF program attached';
      return null;
    },
  },
  {
    title: '--device: one device given back, read-only',
    section: '#giving-a-device-back---device---privileged',
    code: 'runtime/security/devices/host.ts#device-flag',
    look:
      '--device HOST:CONTAINER:PERMISSIONS makes the node in /dev and adds one rule, "c 1:11 r", after Docker\'s list (and ' +
      'to the BPF program). Reading works; opening it for writing (nothing is written) is refused. (Reading the kernel ' +
      'log also takes CAP_SYSLOG where the host sets kernel.dmesg_restrict, as Debian does: hence --cap-add SYSLOG.)',
    args: ['run', '--rm', '--cap-add', 'SYSLOG', '--device', '/dev/kmsg:/dev/kmsg:r', 'busybox', 'sh', '-c', 'dd if=/dev/kmsg bs=8192 count=1 2>/dev/null | head -c 100; echo; : >> /dev/kmsg'],
    check(r) {
      const bad = ran(r, 1);
      if (bad) return bad;
      if (!KMSG_RECORD.test(r.stdout)) return `no kernel log record was read: ${JSON.stringify(r.stdout.slice(0, 200))}`;
      if (!/can't create \/dev\/kmsg: Operation not permitted/.test(r.stderr)) return `opening for writing should fail with EPERM: ${lines(r.stderr).slice(-2).join(' | ')}`;
      return null;
    },
  },
];
