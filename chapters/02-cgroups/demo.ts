// Chapter 2's demo steps: run them in order, in the walkthrough
// (`dockling walkthrough 2`) or by hand; the test suite runs them unattended
// (test/chapters/02-cgroups/demo.test.ts). Every step uses a flag or a file
// that only chapter 2's layer provides, so with `--chapter 1` each one fails.
//
// The commands read the container's cgroup files from the inside, and those
// are named differently on cgroup v1 (this project's CI machine) and v2 (the
// Vagrant VM): the steps are written for the host they run on.
import fs from 'node:fs';
import path from 'node:path';
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';
import type { TraceRecord } from '../../runtime/trace/events.js';

/** cgroup v2 alone is mounted at /sys/fs/cgroup (a hybrid host has it at /sys/fs/cgroup/unified). */
const V2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
/** A cgroup file as the container sees it: v1 keeps one directory per controller. */
const cg = (v1: string, v2: string) => `/sys/fs/cgroup/${V2 ? v2 : v1}`;

const MEMORY_LIMIT = cg('memory/memory.limit_in_bytes', 'memory.max');
const PIDS_DIR = V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';


/** The cgroup writes of chapter 2's layer, in order. */
const writes = (r: StepResult) => r.trace.filter((e): e is Extract<TraceRecord, { op: 'write' }> => e.op === 'write' && e.chapter === 2);

/** Where the container's cgroup is, as the host sees it (from the trace). */
function hostCgroups(r: StepResult): string[] {
  return r.trace.flatMap((e) => (e.op === 'mkdir' && e.chapter === 2 && /\/dockling-[0-9a-f]{64}$/.test(e.path) ? [e.path] : []));
}

/** This process's own cgroup in a hierarchy ("memory", or "" for v2), from /proc/self/cgroup. */
function ownCgroup(controller: string): string | null {
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (controller === '' ? m[1] === '' : m[1].split(',').includes(controller)) return m[2];
  }
  return null;
}

export const steps: DemoStep[] = [
  {
    title: 'The limit, seen from inside',
    section: '#6-the-flags-in-dockers-units',
    code: 'runtime/cgroups/v1.ts#v1-apply',
    hostView: ['cgroup'],
    look:
      '-m 64m is 64 × 1024 × 1024 = 67108864 bytes: Docker\'s units are binary. The container reads its own ' +
      'limit from /sys/fs/cgroup, where its cgroup appears as the root of the tree. With --trace you would see ' +
      'dockling write that same number into the cgroup before the command started.',
    args: ['run', '--rm', '-m', '64m', 'busybox', 'cat', MEMORY_LIMIT],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const got = r.stdout.trim();
      if (got !== '67108864') return `${MEMORY_LIMIT} inside says ${JSON.stringify(got)}, not 67108864 (64 MiB)`;
      return null;
    },
  },
  {
    title: 'Its own cgroup, read-only',
    section: '#5-the-view-from-inside-the-cgroup-namespace',
    code: 'runtime/cgroups/v1.ts#v1-mounts',
    hostView: ['cgroup'],
    look:
      'Inside, /proc/self/cgroup says the memory cgroup is "/": the init made its cgroup namespace after it had ' +
      'been moved into dockling-<id>, so that cgroup is the root of everything the container sees. The host path ' +
      '(in the trace) is long. The container cannot raise its own limit: /sys/fs/cgroup is mounted read-only, ' +
      'and the limit stays 67108864.',
    args: [
      'run', '--rm', '-m', '64m', 'busybox', 'sh', '-c',
      `grep -E '${V2 ? '^0::' : ':memory:'}' /proc/self/cgroup; echo 1073741824 > ${MEMORY_LIMIT} || echo "limit still $(cat ${MEMORY_LIMIT})"`,
    ],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [inside, after] = lines(r.stdout);
      if (!inside || !/:\/$/.test(inside)) return `inside, /proc/self/cgroup should show the container's cgroup as "/", it shows ${JSON.stringify(inside)}`;
      const host = hostCgroups(r);
      if (host.length === 0) return 'the trace shows no cgroup dockling-<id> made on the host';
      if (!/Read-only file system/.test(r.stderr)) return `writing the limit from inside was not refused as read-only: ${r.stderr.trim() || '(no message)'}`;
      if (after !== 'limit still 67108864') return `after the refused write the container reports ${JSON.stringify(after)}`;
      return null;
    },
  },
  {
    title: 'No way up: a fresh cgroup mount shows only the container\'s own cgroup',
    section: '#5-the-view-from-inside-the-cgroup-namespace',
    code: 'runtime/process/init.ts#cgroup-namespace',
    hostView: ['cgroup'],
    look: V2
      ? 'Root inside mounts the cgroup2 filesystem again, fresh. Its cgroup namespace was made after the init joined ' +
        'dockling-<id>, so that cgroup is the root of the new mount too: cgroup.procs lists only the container\'s ' +
        'own processes, never the host\'s, which it could otherwise freeze or kill through cgroup.freeze and cgroup.kill.'
      : 'Root inside mounts the freezer hierarchy again, fresh. Had the container been left at the host\'s root in any ' +
        'v1 hierarchy (freezer, devices, name=systemd: ones no limit needs), that root would show release_agent, a ' +
        'program the host kernel runs as root: the classic escape. dockling puts the container in a cgroup of its own ' +
        'in every hierarchy, so the mount\'s root is dockling-<id>, and release_agent (which only a root has) is not there.',
    args: [
      'run', '--rm', 'busybox', 'sh', '-c',
      V2 ? 'mkdir /tmp/c && mount -t cgroup2 x /tmp/c && wc -l < /tmp/c/cgroup.procs' : 'mkdir /tmp/c && mount -t cgroup -o freezer x /tmp/c && ls /tmp/c',
    ],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (V2) {
        const n = Number(r.stdout.trim());
        if (!(n >= 1 && n <= 3)) return `the fresh cgroup2 mount lists ${r.stdout.trim()} processes: the container sees cgroups above its own`;
        return null;
      }
      const names = lines(r.stdout);
      if (!names.includes('freezer.state')) return `the fresh freezer mount shows no freezer.state: ${names.join(' ')}`;
      if (names.includes('release_agent')) return 'the fresh freezer mount shows release_agent: the container sees the host\'s root of the freezer hierarchy';
      return null;
    },
  },
  {
    title: 'Out of memory: 137',
    section: '#7-out-of-memory',
    code: 'runtime/cgroups/layer.ts#oom-check',
    hostView: ['cgroup'],
    look:
      '`dd bs=64M` reads 64 MiB of zeros into one buffer, and every page it fills is charged to the ' +
      'container\'s cgroup. At 32 MiB the kernel\'s OOM killer, acting for this cgroup only, sends it SIGKILL: ' +
      'the status is 128 + 9 = 137. dockling reads the cgroup\'s oom_kill counter to say why, as `docker ' +
      'inspect` shows OOMKilled. The host, with gigabytes free, never ran short. (At --chapter 1, where -m is ' +
      'ignored, the same step copies its 64 MiB and exits 0: a bounded hog keeps the host safe either way.)',
    args: ['run', '--rm', '-m', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'],
    check(r) {
      if (r.code !== 137) return `dockling exited with ${r.code}, not 137 (128 + SIGKILL): ${r.stderr.trim() || '(no message)'}`;
      if (!/OOM-killed/.test(r.stderr)) return `exit 137, but dockling did not say the container was OOM-killed: ${r.stderr.trim() || '(nothing on stderr)'}`;
      if (!/memory limit 32MiB/.test(r.stderr)) return `the OOM message does not name the 32MiB limit: ${r.stderr.trim()}`;
      return null;
    },
  },
  {
    title: 'The OOM killer picks a process',
    section: '#7-out-of-memory',
    code: 'runtime/cgroups/layer.ts#oom-check',
    hostView: ['cgroup'],
    look:
      'Same limit, but dd is a child of the shell now. The OOM killer chooses one victim in the cgroup, the ' +
      'process using the most memory, and the shell lives on to report dd\'s 137 and exit 0. dockling still ' +
      'says a process of the container was OOM-killed: the cgroup counted it.',
    args: ['run', '--rm', '-m', '32m', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "dd ended with $?"'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^dd ended with 137$/m.test(r.stdout)) return `the shell did not see dd killed with 137: ${r.stdout.trim() || '(no output)'}`;
      if (!/OOM-killed/.test(r.stderr)) return `dockling did not report the OOM kill: ${r.stderr.trim() || '(nothing on stderr)'}`;
      return null;
    },
  },
  {
    title: 'A fork bomb meets --pids-limit',
    section: '#6-the-flags-in-dockers-units',
    code: 'runtime/cgroups/v1.ts#v1-apply',
    hostView: ['cgroup'],
    look:
      'bomb() starts two copies of itself, which start two each, and so on (ten levels deep at most, so that at ' +
      '--chapter 1, where the limit is ignored, the host sees 1023 processes and no more). The pids controller ' +
      'refuses every fork that would make task number 21 (the shell\'s "can\'t fork" messages go to /dev/null ' +
      'here, hundreds of them), and pids.events counts the refusals. After two seconds the shell, PID 1, reads ' +
      'the counters with built-ins (a fork might fail) and exits; the kernel kills what is left of the bomb with it.',
    args: [
      'run', '--rm', '--pids-limit', '20', 'busybox', 'sh', '-c',
      `d=${PIDS_DIR}; sleep 2 & s=$!; bomb() { [ $1 -lt 9 ] && { bomb $(($1+1)) | bomb $(($1+1)) & }; }; bomb 0 2>/dev/null; wait $s; ` +
        'read n < $d/pids.current; read m < $d/pids.max; read e < $d/pids.events; echo "tasks now: $n, limit: $m, pids.events: $e"',
    ],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const m = /^tasks now: (\d+), limit: (\S+), pids.events: max (\d+)$/m.exec(r.stdout);
      if (!m) return `the shell did not print the pids counters: ${r.stdout.trim() || '(no output)'}`;
      if (m[2] !== '20') return `pids.max inside is ${m[2]}, not 20`;
      if (Number(m[1]) > 20) return `${m[1]} tasks are in the cgroup, over the limit of 20`;
      if (Number(m[3]) === 0) return 'pids.events counts no refused fork: the bomb never reached the limit';
      return null;
    },
  },
  {
    title: '--cpus 0.5 is a quota per period',
    section: '#6-the-flags-in-dockers-units',
    code: 'runtime/cgroups/units.ts#units',
    hostView: ['cgroup'],
    look:
      'A busy loop runs for two seconds under --cpus 0.5, which dockling turns into a CFS quota of 50000 µs of CPU ' +
      'in every 100000 µs period. Each period the loop uses its 50 ms and is then throttled until the next one: ' +
      'nr_throttled counts those periods, and the CPU time used is about half the wall time.',
    args: [
      'run', '--rm', '--cpus', '0.5', 'busybox', 'sh', '-c',
      'sh -c "while :; do :; done" & sleep 2; kill $!; cd /sys/fs/cgroup; ' +
        (V2 ? 'echo "cpu.max: $(cat cpu.max)"; cat cpu.stat' : 'echo "cfs_quota_us: $(cat cpu/cpu.cfs_quota_us) cfs_period_us: $(cat cpu/cpu.cfs_period_us)"; cat cpu/cpu.stat; echo "cpuacct.usage: $(cat cpuacct/cpuacct.usage)"'),
    ],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const quota = V2 ? /^cpu\.max: 50000 100000$/m : /^cfs_quota_us: 50000 cfs_period_us: 100000$/m;
      if (!quota.test(r.stdout)) return `the quota inside is not 50000 per 100000 µs: ${lines(r.stdout)[0] ?? '(no output)'}`;
      const throttled = Number(/^nr_throttled (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
      if (throttled === 0) return 'cpu.stat shows no throttled period: the loop was never held back';
      // An upper bound only, which the quota guarantees however busy or slow
      // the machine is (in an emulated guest the script takes well over 2 s):
      // at most 50 ms of CPU in each period the kernel counted, and the one
      // under way, give or take the kernel's 5 ms slices.
      const usedNs = V2 ? Number(/^usage_usec (\d+)$/m.exec(r.stdout)?.[1] ?? NaN) * 1000 : Number(/^cpuacct\.usage: (\d+)$/m.exec(r.stdout)?.[1] ?? NaN);
      const periods = Number(/^nr_periods (\d+)$/m.exec(r.stdout)?.[1] ?? NaN);
      if (Number.isNaN(usedNs) || Number.isNaN(periods)) return 'the container did not print the CPU time it used and the periods it ran in';
      const boundNs = (periods + 1) * 50e6 * 1.1 + 10e6;
      if (usedNs > boundNs) return `the container used ${(usedNs / 1e9).toFixed(2)} s of CPU in ${periods} periods of 100 ms: more than half a CPU`;
      return null;
    },
  },
  {
    title: '--cpuset-cpus pins the container',
    section: '#6-the-flags-in-dockers-units',
    code: 'runtime/cgroups/v1.ts#v1-apply',
    hostView: ['cgroup'],
    look:
      'The container may run on CPU 0 only: the kernel\'s own view, Cpus_allowed_list, says so, and nproc, which ' +
      'asks the kernel for the CPUs it may use, prints 1. On cgroup v1 the trace shows dockling first copying ' +
      'cpuset.cpus and cpuset.mems down from the parent: a new v1 cpuset starts empty, and an empty cpuset ' +
      'takes no process.',
    args: ['run', '--rm', '--cpuset-cpus', '0', 'busybox', 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status; nproc'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^Cpus_allowed_list:\s+0$/m.test(r.stdout)) return `the container may run on other CPUs: ${lines(r.stdout)[0] ?? '(no output)'}`;
      if (lines(r.stdout)[1] !== '1') return `nproc inside says ${JSON.stringify(lines(r.stdout)[1])}, not 1`;
      if (!writes(r).some((e) => e.path.endsWith('/cpuset.cpus') && e.value === '0')) return 'the trace shows no write of "0" to cpuset.cpus';
      return null;
    },
  },
  {
    title: 'The trace: what the kernel was told',
    section: '#4-joining-before-the-command-runs',
    code: 'runtime/cgroups/layer.ts#limit-stage',
    hostView: ['cgroup'],
    look:
      'Every ch2 line is one cgroup file written or directory made. The order is the point: dockling-<id> is made ' +
      'under dockling\'s own cgroup (on v2, whose processes first move into its leaf dockling-caller) and ' +
      'the limits are written while the init boots; once the init has said hello ' +
      '(and waits for its spec) its PID goes into cgroup.procs; only then does the init unshare its cgroup ' +
      'namespace and, later, exec the command. After the exit the directories are removed.',
    args: ['--trace', 'run', '--rm', '-m', '64m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'true'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const made = hostCgroups(r);
      if (made.length === 0) return 'the trace shows no mkdir of a dockling-<id> cgroup';
      const i = (p: (e: TraceRecord) => boolean) => r.trace.findIndex(p);
      const w = writes(r);
      const limitAt = i((e) => e.op === 'write' && e.chapter === 2 && /\/(memory\.limit_in_bytes|memory\.max)$/.test(e.path) && e.value === '67108864');
      const quotaAt = i((e) => e.op === 'write' && e.chapter === 2 && ((/cpu\.cfs_quota_us$/.test(e.path) && e.value === '50000') || (/cpu\.max$/.test(e.path) && e.value === '50000 100000')));
      const pidsAt = i((e) => e.op === 'write' && e.chapter === 2 && /pids\.max$/.test(e.path) && e.value === '20');
      // (on v2 the caller's processes may first move into <own>/dockling-caller: not a join)
      const isJoin = (p: string) => p.endsWith('/cgroup.procs') && made.includes(path.dirname(p));
      const joinAt = i((e) => e.op === 'write' && e.chapter === 2 && isJoin(e.path));
      const nsAt = i((e) => e.op === 'unshare' && e.flags.includes('CLONE_NEWCGROUP'));
      const execAt = i((e) => e.op === 'exec');
      const exitAt = i((e) => e.op === 'exit');
      const rmdirs = r.trace.filter((e) => e.op === 'rmdir' && e.chapter === 2).map((e) => (e.op === 'rmdir' ? e.path : ''));
      if (limitAt < 0 || quotaAt < 0 || pidsAt < 0) return `the trace lacks a limit write (memory ${limitAt}, cpu ${quotaAt}, pids ${pidsAt})`;
      if (joinAt < 0) return 'the trace shows no write of the init\'s PID to cgroup.procs';
      if (Math.max(limitAt, quotaAt, pidsAt) > joinAt) return 'the init joined the cgroup before all its limits were written';
      if (nsAt < 0 || nsAt < joinAt) return 'the cgroup namespace was made before the init joined its cgroup (or not at all)';
      if (execAt < 0 || execAt < joinAt) return 'the command was exec\'d before the init joined its cgroup';
      const joined = w.filter((e) => isJoin(e.path));
      const pid = joined[0].value;
      if (joined.some((e) => e.value !== pid)) return 'not every cgroup.procs write moved the same PID';
      if (joined.length !== made.length) return `the init joined ${joined.length} of the ${made.length} cgroups made`;
      const missing = made.filter((d) => !rmdirs.includes(d));
      if (missing.length) return `the cgroup was not removed: ${missing.join(', ')}`;
      if (exitAt < 0 || r.trace.findIndex((e) => e.op === 'rmdir') < exitAt) return 'a cgroup was removed before the command exited';
      // Nested under the caller's cgroup: the test (or walkthrough) runs this check
      // in the process that started dockling, so its cgroup is dockling's parent's.
      // On v2 that cgroup held processes (dockling's parent, dockling), which by the
      // "no internal processes" rule moved into its leaf dockling-caller: the
      // caller's own cgroup is then that leaf's parent.
      const memDir = made.find((d) => (V2 ? true : d.includes('/memory/')));
      const self = ownCgroup(V2 ? '' : 'memory');
      const own = self !== null && V2 && path.basename(self) === 'dockling-caller' ? path.dirname(self) : self;
      if (memDir && own !== null) {
        const mount = V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
        const expected = path.join(mount, own);
        const parent = path.dirname(memDir);
        if (parent !== expected) return `the container's cgroup ${memDir} is not directly under the caller's ${expected}`;
      }
      if (!/ ch2 /.test(r.stderr)) return '--trace printed no ch2 line on stderr';
      return null;
    },
  },
  {
    title: 'Docker\'s rules for bad values: 125',
    section: '#6-the-flags-in-dockers-units',
    code: 'runtime/cgroups/limits.ts#docker-rules',
    look:
      'Below 6 MiB Docker refuses a memory limit (a container could not even start in it), and so does dockling, ' +
      'with Docker\'s message and exit status 125 (the runtime failed, not the command). The trace is empty: ' +
      'every layer checks its flags in the validate stage, before chapter 1 has made even the container\'s ' +
      'directory, so no cgroup was made and no process started.',
    args: ['--trace', 'run', '--rm', '-m', '4m', 'busybox', 'true'],
    check(r) {
      if (r.code !== 125) return `dockling exited with ${r.code}, not 125`;
      if (!/Minimum memory limit allowed is 6MB/.test(r.stderr)) return `the message is not Docker's "Minimum memory limit allowed is 6MB": ${r.stderr.trim()}`;
      if (r.trace.some((e) => e.chapter === 2)) return 'the trace shows cgroup work for a limit that was refused';
      if (r.trace.some((e) => e.op === 'spawn' || e.op === 'unshare')) return 'a process was started for a limit that was refused';
      if (r.trace.some((e) => e.op === 'mkdir')) return 'a directory was made for a limit that was refused: the flags are checked in the validate stage, before anything is made';
      return null;
    },
  },
];
