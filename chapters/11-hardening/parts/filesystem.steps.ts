// The filesystem part's demo steps (the lead assembles them into
// chapters/11-hardening/demo.ts): a read-only root with a writable /tmp, and
// limits the command starts with. With `--chapter 10` both steps fail: the
// flags are ignored there, so the root stays writable and the limits are
// the caller's.
import { lines, ran, type DemoStep } from '../../demo.js';

export const steps: DemoStep[] = [
  {
    title: '--read-only: a root nothing can write, with a tmpfs /tmp',
    section: '#closing-it-a-read-only-root',
    code: 'runtime/process/init.ts#readonly-root',
    look:
      'The root is remounted read-only after everything else is mounted: writing / fails with EROFS ("Read-only ' +
      'file system"). /tmp is a tmpfs of its own (--tmpfs), with Docker\'s noexec,nosuid,nodev, and /dev/shm ' +
      'is writable too: mounts on top of the root keep their own flags.',
    args: [
      'run', '--rm', '--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c',
      'touch /etc/motd; echo ok > /tmp/f && echo "/tmp: $(cat /tmp/f)"; touch /dev/shm/f && echo "/dev/shm: ok"; grep -E " / | /tmp " /proc/self/mountinfo | cut -d" " -f5,6',
    ],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/touch: \/etc\/motd: Read-only file system/.test(r.stderr)) return 'touch /etc/motd should fail with "Read-only file system"';
      const out = lines(r.stdout);
      if (!out.includes('/tmp: ok') || !out.includes('/dev/shm: ok')) return `/tmp and /dev/shm should be writable: ${r.stdout}`;
      if (!out.some((l) => /^\/ ro,/.test(l))) return `the root's mount options should start with ro: ${r.stdout}`;
      return null;
    },
  },
  {
    title: '--ulimit: the limits the command starts with',
    section: '#limits-the-command-starts-with---ulimit',
    code: 'runtime/security/init/rlimits.ts#apply-rlimits',
    look:
      'The init calls setrlimit(2) on itself just before execve, and limits survive execve: the shell starts with at ' +
      'most 100 open files (soft), which it may raise to 200 (hard) and no further.',
    args: ['run', '--rm', '--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'echo "soft $(ulimit -n), hard $(ulimit -Hn)"; grep "open files" /proc/self/limits'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!r.stdout.includes('soft 100, hard 200')) return `ulimit should show soft 100, hard 200: ${r.stdout}`;
      return null;
    },
  },
];
