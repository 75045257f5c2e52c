// Chapter 1's demo steps: run them in order, in the walkthrough
// (`dockling walkthrough 1`) or by hand; the test suite runs them unattended
// (test/chapters/01-namespaces/demo.test.ts). Each check looks at the output
// for the point the step makes, so it fails when that behaviour breaks.
import fs from 'node:fs';
import os from 'node:os';
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';
import type { TraceRecord } from '../../runtime/trace/events.js';
import { UNHARDENED_WARNING } from '../../runtime/process/commands.js';

/** The rootfs directory the init bind-mounted onto itself (from the trace). */
function rootfsOf(r: StepResult): string | null {
  const bind = r.trace.find((e) => e.op === 'mount' && e.side === 'init' && e.source === e.target && e.flags.includes('MS_BIND'));
  return bind && bind.op === 'mount' ? bind.target : null;
}


export const steps: DemoStep[] = [
  {
    title: 'The command is PID 1',
    section: '#pid-the-command-is-pid-1',
    code: 'runtime/process/launch.ts#unshare-flags',
    look:
      'The shell is told its own PID by $$ and prints 1: in a new PID namespace the first process is PID 1. ' +
      'ps reads the container\'s own /proc and lists one process, PID 1 again, because sh -c execs its last command ' +
      'in place of itself. On the host, `ps -e | wc -l` counts hundreds.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'echo "my PID is $$"; ps'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^my PID is 1$/m.test(r.stdout)) return `the shell's PID is not 1: ${JSON.stringify(lines(r.stdout)[0])}`;
      const rows = lines(r.stdout).filter((l) => /^\s*\d+\s/.test(l));
      if (rows.length !== 1 || !/^\s*1\s/.test(rows[0])) return `ps should list PID 1 alone, it listed ${rows.length} process(es): ${rows.slice(0, 3).join(' | ')}`;
      return null;
    },
  },
  {
    title: 'A hostname of its own',
    section: '#uts-the-host-name',
    code: 'runtime/process/init.ts#init-main',
    look:
      'Inside, hostname and /etc/hostname both say "box". The UTS namespace gave the container its own copy of the ' +
      'host name, so sethostname() changed that copy: run `hostname` on the host and it is unchanged. Without ' +
      '--hostname the name is the container\'s short ID, as in Docker.',
    args: ['run', '--rm', '--hostname', 'box', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [h, f] = lines(r.stdout);
      if (h !== 'box') return `hostname inside printed ${JSON.stringify(h)}, not "box"`;
      if (f !== 'box') return `/etc/hostname inside holds ${JSON.stringify(f)}, not "box"`;
      if (os.hostname() === 'box') return 'the host\'s own hostname is now "box": the container changed the host';
      return null;
    },
  },
  {
    title: 'A root of its own',
    section: '#6-pivot_root-and-why-not-chroot',
    code: 'runtime/process/init.ts#pivot-root',
    look:
      'After pivot_root, "/" is the busybox directory: ls / lists its dozen entries and nothing of the host. ' +
      '`cd /../..` stays at "/": there is no way up, because the old root was unmounted, not just hidden.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'cd /../..; pwd; ls /'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const rootfs = rootfsOf(r);
      if (!rootfs) return 'the trace shows no bind mount of the rootfs onto itself';
      const [pwd, ...listing] = lines(r.stdout);
      if (pwd !== '/') return `cd /../.. ended in ${JSON.stringify(pwd)}, not "/"`;
      const expected = fs.readdirSync(rootfs).sort();
      if (listing.sort().join(' ') !== expected.join(' ')) {
        return `ls / inside shows [${listing.join(' ')}], but the rootfs ${rootfs} holds [${expected.join(' ')}]`;
      }
      return null;
    },
  },
  {
    title: 'A mount inside stays inside',
    section: '#mount-a-copy-of-the-mount-table',
    code: 'runtime/process/init.ts#rootfs',
    look:
      'The container mounts a tmpfs on /tmp and sees it in its /proc/mounts. The host never does: the mount ' +
      'namespace is a private copy of the mount table, and the init made every mount in it private before ' +
      'touching anything, so nothing propagates back. When the container ends, its mounts go with it.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'mount -t tmpfs scratch /tmp && grep scratch /proc/mounts'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^scratch \/tmp tmpfs /m.test(r.stdout)) return `the container does not see its tmpfs on /tmp: ${r.stdout.trim()}`;
      const rootfs = rootfsOf(r);
      if (!rootfs) return 'the trace shows no bind mount of the rootfs onto itself';
      const onHost = fs
        .readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((p) => p && (p === rootfs || p.startsWith(rootfs + '/')));
      if (onHost.length > 0) return `the host sees the container's mounts: ${onHost.join(', ')}`;
      return null;
    },
  },
  {
    title: 'A network with only loopback',
    section: '#network-only-loopback',
    code: 'runtime/process/launch.ts#unshare-flags',
    look:
      'A new network namespace has one interface, lo, and no route anywhere. The init brought lo up (it starts ' +
      'down), so 127.0.0.1 works inside; the host\'s interfaces are not there at all. Chapter 6 adds a veth pair ' +
      'and a bridge.',
    args: ['run', '--rm', 'busybox', 'ip', 'link'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const ifaces = lines(r.stdout).map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
      if (ifaces.join(',') !== 'lo') return `expected only lo, the container sees: ${ifaces.join(', ') || '(nothing)'}`;
      if (!/<[^>]*\bUP\b[^>]*>/.test(r.stdout)) return 'lo is there but down';
      return null;
    },
  },
  {
    title: 'PID 1 ignores what it does not handle',
    section: '#8-signals',
    code: 'runtime/process/layer.ts#proxy-signals',
    look:
      'The shell sends SIGTERM to itself and carries on: the kernel does not apply a signal\'s default action ' +
      'to the init of a PID namespace, so a signal PID 1 has no handler for is dropped. This is why ' +
      '`docker stop` needs SIGKILL for so many containers, and why tiny inits like tini exist.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'kill -TERM $$; echo "still here"'],
    check(r) {
      if (r.code === 143) return 'the shell was killed by SIGTERM (status 143): it is not PID 1 of a PID namespace';
      const bad = ran(r);
      if (bad) return bad;
      if (!/^still here$/m.test(r.stdout)) return `the shell did not carry on after SIGTERM: ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: 'Environment and working directory',
    section: '#7-exec-the-command-becomes-pid-1',
    code: 'runtime/process/layer.ts#build-spec',
    look:
      '-e adds to the environment the container starts with; -w sets its working directory and makes it when it ' +
      'is missing. PATH, HOSTNAME and HOME are there too: Docker sets them for every container, and so do we.',
    args: ['run', '--rm', '-e', 'GREETING=hello', '-w', '/work', 'busybox', 'sh', '-c', 'echo "$GREETING from $PWD"; env | sort'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^hello from \/work$/m.test(r.stdout)) return `expected "hello from /work", got ${JSON.stringify(lines(r.stdout)[0])}`;
      for (const want of [/^HOME=\/root$/m, /^HOSTNAME=[0-9a-f]{12}$/m, /^PATH=\/usr\/local\/sbin:/m]) {
        if (!want.test(r.stdout)) return `the environment lacks ${want.source}`;
      }
      return null;
    },
  },
  {
    title: 'The exit status comes through',
    section: '#finding-the-command-and-dockers-exit-codes',
    code: 'runtime/process/exit-as.h#exit-as',
    look: 'The command\'s exit status becomes dockling\'s: `echo $?` after it prints 3. Scripts can test a container like any command.',
    args: ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'],
    check(r) {
      if (r.code !== 3) return `dockling exited with ${r.code}, not the container's 3: ${r.stderr.trim()}`;
      // Nothing but the warning every run gives until chapter 11 (runtime/process/commands.ts).
      const said = r.stderr.split('\n').filter((l) => l.trim() !== '' && l !== UNHARDENED_WARNING);
      if (said.length) return `a normal exit should print nothing but the chapter 11 warning, but stderr says: ${said.join(' | ')}`;
      return null;
    },
  },
  {
    title: 'Command not found: 127',
    section: '#finding-the-command-and-dockers-exit-codes',
    code: 'runtime/process/init.ts#find-command',
    look:
      'The init looks the command up in the container\'s PATH, not the host\'s, before it execs. Not found is 127 ' +
      '(found but not executable would be 126, dockling itself failing 125), with one line saying what went wrong.',
    args: ['run', '--rm', 'busybox', 'no-such-command'],
    check(r) {
      if (r.code !== 127) return `dockling exited with ${r.code}, not 127`;
      if (!r.stderr.includes('"no-such-command": executable file not found in $PATH')) return `the message does not say what was not found: ${r.stderr.trim()}`;
      if (r.trace.some((e) => e.op === 'exec')) return 'the trace shows an exec, but there was nothing to exec';
      return null;
    },
  },
  {
    title: 'The trace: every step that changes the host',
    section: '#10-the-trace',
    code: 'runtime/trace/format.ts#short-form',
    look:
      'With --trace, dockling narrates each system call that builds the container, host side and init side, ' +
      'with milliseconds since start: nsexec makes the namespaces, the init makes "/" private, binds the ' +
      'rootfs, mounts /proc and /dev, sets the hostname, calls pivot_root(".", ".") and umount2(".", MNT_DETACH), and ' +
      'execve()s. Each line is tagged ch1: chapter 1\'s layer took it (`dockling --chapter 0 run` has no run at all).',
    args: ['--trace', 'run', '--rm', 'busybox', 'true'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const at = (what: string, p: (e: TraceRecord) => boolean) => ({ what, i: r.trace.findIndex(p) });
      const order = [
        at('nsexec\'s unshare with CLONE_NEWPID', (e) => e.op === 'unshare' && e.flags.includes('CLONE_NEWPID')),
        at('mount of "/" MS_REC|MS_PRIVATE', (e) => e.op === 'mount' && e.target === '/' && e.flags.includes('MS_PRIVATE')),
        at('bind mount of the rootfs', (e) => e.op === 'mount' && e.source === e.target && e.flags.includes('MS_BIND')),
        at('mount of /proc', (e) => e.op === 'mount' && e.fstype === 'proc'),
        at('pivot_root', (e) => e.op === 'pivot_root'),
        at('umount2 MNT_DETACH', (e) => e.op === 'umount' && e.flags.includes('MNT_DETACH')),
        at('execve', (e) => e.op === 'exec'),
        at('exit', (e) => e.op === 'exit'),
      ];
      const missing = order.find((o) => o.i < 0);
      if (missing) return `the trace has no ${missing.what}`;
      for (let k = 1; k < order.length; k++) {
        if (order[k].i < order[k - 1].i) return `the trace shows ${order[k].what} before ${order[k - 1].what}`;
      }
      const other = order.find((o) => r.trace[o.i].chapter !== 1);
      if (other) return `the ${other.what} step should belong to chapter 1's layer, not chapter ${r.trace[other.i].chapter}`;
      if (!r.stderr.includes('pivot_root(".", ".")')) return '--trace printed no pivot_root line on stderr';
      return null;
    },
  },
];
