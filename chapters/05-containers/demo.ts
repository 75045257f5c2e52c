// Chapter 5's demo steps, in order: a detached container is started, looked
// at, entered, stopped, started again, renamed and removed. Run them from
// the first (`dockling walkthrough 5`); test/chapters/05-containers/
// demo.test.ts runs them unattended. With `--chapter 4` every step fails:
// `-d` is ignored there (the run stays in the foreground until its command
// ends, so the commands here end by themselves within seconds), and ps,
// logs, exec, stop, start… do not exist.
import fs from 'node:fs';
import { lines, ran, type DemoStep } from '../demo.js';

const seen: { id?: string } = {};

export const steps: DemoStep[] = [
  {
    title: 'run -d: the container goes on without the CLI',
    section: '#1-who-holds-a-detached-container',
    code: 'runtime/container/launch.ts#launch-monitored',
    hostView: ['ns', 'cgroup'],
    look:
      'dockling prints the new container\'s full ID and returns. The container runs on under its monitor, a small C ' +
      'process that holds its output and will record how it ends.',
    args: ['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; i=0; while [ $i -lt 40 ]; do echo tick $i; i=$((i+1)); sleep 0.5; done'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const id = r.stdout.trim();
      if (!/^[0-9a-f]{64}$/.test(id)) return `run -d should print the container's 64-hex ID, it printed ${JSON.stringify(r.stdout.slice(0, 200))}`;
      seen.id = id;
      return null;
    },
  },
  {
    title: 'ps: what is running',
    section: '#3-the-state-as-it-really-is',
    code: 'runtime/container/state.ts#refresh-state',
    hostView: ['ns'],
    look: 'The ID is shown as its first 12 hex digits; STATUS says for how long it has been Up.',
    args: ['ps'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const row = lines(r.stdout).find((l) => l.startsWith(seen.id?.slice(0, 12) ?? '?'));
      if (!row) return `ps does not list ${seen.id?.slice(0, 12)}`;
      if (!/\bUp\b/.test(row) || !/\bweb$/.test(row)) return `the row should say Up and end with the name web: ${row}`;
      return null;
    },
  },
  {
    title: 'logs: what it wrote, kept by the monitor',
    section: '#2-what-the-monitor-does',
    code: 'runtime/container/monitor-log.c#log-lines',
    look: 'The monitor wrote each line to containers/<id>/<id>-json.log as JSON (log, stream, time); logs reads them back. -t shows the times.',
    args: ['logs', '-t', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const got = lines(r.stdout);
      if (!/^\d{4}-\d\d-\d\dT[\d:.]+Z started$/.test(got[0] ?? '')) return `the first line should be a time stamp and "started": ${got[0]}`;
      if (!got.some((l) => / tick 0$/.test(l))) return 'no "tick 0" line yet';
      return null;
    },
  },
  {
    title: 'exec: another process in the same container',
    section: '#5-exec-into-a-running-container',
    code: 'runtime/container/nsenter.c#nsenter-open',
    hostView: ['ns'],
    look:
      'exec joins the container\'s cgroups and enters its namespaces (setns), then runs the command: it sees the same ' +
      'hostname and the same PID 1.',
    args: ['exec', 'web', 'sh', '-c', 'echo "host $(hostname); PID 1 is $(cat /proc/1/cmdline | tr "\\0" " " | cut -c1-20)"'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const want = `host ${seen.id?.slice(0, 12)}; PID 1 is sh -c echo started;`;
      if (!r.stdout.startsWith(want.slice(0, want.length - 1))) return `expected "${want}…", got ${JSON.stringify(r.stdout)}`;
      return null;
    },
  },
  {
    title: 'exec gets pipes, never your terminal',
    section: '#the-command-gets-pipes-never-the-clis-descriptors',
    code: 'runtime/container/exec.ts#exec-relay',
    hostView: ['ns'],
    look:
      'The exec\'d process is root in the container, and whatever descriptor it is handed it can use: were it your ' +
      'terminal, ioctl(TIOCSTI) would type commands into your shell. So its stdout and stderr are socket pairs the CLI ' +
      'copies to yours, and its stdin (no -i) is the container\'s own /dev/null.',
    args: ['exec', 'web', 'sh', '-c', 'stat -L -c "null %d:%i" /proc/self/fd/0; for f in 0 1 2; do echo "$f $(readlink /proc/self/fd/$f)"; done'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const fds = Object.fromEntries(lines(r.stdout).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
      if (fds['0'] !== '/dev/null') return `fd 0 inside should be /dev/null, it is ${fds['0']}`;
      // The same name, another file: the host's /dev/null would be a host descriptor.
      const host = fs.statSync('/dev/null');
      if (fds.null === `${host.dev}:${host.ino}`) return "fd 0 inside is the host's /dev/null, not the container's own";
      for (const f of ['1', '2']) if (!/^(socket|pipe):\[\d+\]$/.test(fds[f] ?? '')) return `fd ${f} inside should be a pipe or socket the CLI reads, it is ${fds[f]}`;
      return null;
    },
  },
  {
    title: 'The log is capped: json-file, rotated',
    section: '#logs-of-any-size-from-the-end-rotated-with-backpressure',
    code: 'runtime/container/log-config.ts#log-default',
    look:
      'Docker\'s json-file log grows without end unless --log-opt max-size is given; a `yes` fills a disk in minutes. ' +
      'dockling gives every container a default cap (5 files of 20 MB, as Docker\'s local driver), and the monitor ' +
      'rotates <id>-json.log to .1, .2… before an entry would pass max-size.',
    args: ['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      let lc: { Type?: string; Config?: Record<string, string> };
      try {
        lc = JSON.parse(r.stdout);
      } catch {
        return `expected the log config as JSON, got ${r.stdout.trim()}`;
      }
      if (lc.Type !== 'json-file' || !lc.Config?.['max-size'] || !lc.Config?.['max-file']) return `expected json-file with max-size and max-file, got ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: 'stop: TERM, a grace period, then KILL',
    section: '#4-stopping-and-the-pid-1-problem',
    code: 'runtime/container/lifecycle.ts#stop',
    hostView: ['ns', 'cgroup'],
    look:
      'PID 1 of a PID namespace gets no default signal actions: sh has no TERM handler, so the kernel drops the TERM. ' +
      'After the grace period (-t 1) stop sends KILL: exit code 137. (Compare --init, next.)',
    args: ['stop', '-t', '1', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'web') return `stop prints the name: ${r.stdout}`;
      const kills = r.trace.filter((e) => e.op === 'signal').map((e) => (e as { signal: string }).signal);
      if (kills.length !== 2 || kills[1] !== 'SIGKILL') return `expected a stop signal then SIGKILL in the trace, got ${kills.join(', ') || 'nothing'}`;
      return null;
    },
  },
  {
    title: 'inspect: the exit code the monitor recorded',
    section: '#what-inspect-shows',
    code: 'runtime/container/monitor.c#exit-record',
    look: 'Nobody was attached when the container ended; its monitor wrote exit.json, and inspect folds it in.',
    args: ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'exited 137') return `expected "exited 137", got ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: '--init: a PID 1 that passes signals on',
    section: '#4-stopping-and-the-pid-1-problem',
    code: 'runtime/container/init-reaper.c#init-loop',
    hostView: ['ns'],
    look: 'With --init, PID 1 is a tiny init that forwards TERM to sleep and reaps orphans: stop takes no grace period, and the code is 143 (128 + TERM).',
    args: ['run', '-d', '--init', '--name', 'quick', 'busybox', 'sleep', '15'],
    check(r) {
      return ran(r) ?? (/^[0-9a-f]{64}$/.test(r.stdout.trim()) ? null : `run -d should print an ID: ${r.stdout.slice(0, 200)}`);
    },
  },
  {
    title: 'stop of the --init container',
    section: '#4-stopping-and-the-pid-1-problem',
    code: 'runtime/container/init-reaper.c#init-loop',
    look: 'TERM reaches sleep through the init: exited 143 at once.',
    args: ['stop', 'quick'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const kills = r.trace.filter((e) => e.op === 'signal').map((e) => (e as { signal: string }).signal);
      if (kills.includes('SIGKILL')) return 'the --init container needed a SIGKILL';
      return null;
    },
  },
  {
    title: 'start: the same container, again',
    section: '#6-start-restart-policies',
    code: 'runtime/container/lifecycle.ts#start-existing',
    hostView: ['ns', 'cgroup'],
    look: 'start runs the container again on its kept writable layer, with the command and flags it was created with; the log goes on.',
    args: ['start', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'web') return `start prints the name: ${r.stdout}`;
      return null;
    },
  },
  {
    title: 'exec -it: a shell inside, on your terminal',
    section: '#5-exec-into-a-running-container',
    code: 'runtime/container/nsenter.c#nsenter-tty',
    hostView: ['ns'],
    look: 'exec -it gives the new shell a terminal of its own (a pseudo-terminal the CLI relays, -t) and your keys (-i): it runs in web\'s namespaces, so ps lists web\'s loop as PID 1. Type exit (or Ctrl-D) to come back.',
    args: ['exec', '-it', 'web', 'sh'],
    interactive: true,
    // Unattended (tests, --script) the shell reads this as if typed.
    input: 'ps\nexit\n',
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      // In the walkthrough the output went to the terminal: the exit status is all there is.
      if (r.stdout !== '' && !/^\s*1 .*while/m.test(r.stdout)) return `ps in the shell should list web's loop as PID 1: ${r.stdout.slice(-300)}`;
      return null;
    },
  },
  {
    title: 'ps -a: every container, running or not',
    section: '#finding-them-again-ps---filter---format--s',
    code: 'runtime/container/ps.ts#ps-row',
    hostView: ['ns'],
    look: 'web is Up again; quick is Exited (143).',
    args: ['ps', '-a'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const rows = lines(r.stdout);
      if (!rows.some((l) => /\bUp\b.*\bweb$/.test(l))) return 'web should be Up';
      if (!rows.some((l) => /Exited \(143\).*\bquick$/.test(l))) return 'quick should be Exited (143)';
      return null;
    },
  },
  {
    title: 'rename, then rm -f',
    section: '#8-names-and-ids',
    code: 'runtime/container/lifecycle.ts#rename',
    hostView: ['ns'],
    look: 'rm -f kills a running container (SIGKILL), then removes it with its layers, cgroup and state directory.',
    args: ['rename', 'web', 'site'],
    check(r) {
      return ran(r);
    },
  },
  {
    title: 'rm -f: gone, nothing left behind',
    section: '#cleaning-up-and-the-container-commands',
    code: 'runtime/container/layer.ts#release-steps',
    hostView: ['ns', 'cgroup', 'storage'],
    look: 'Both names print as they are removed.',
    args: ['rm', '-f', 'site', 'quick'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (lines(r.stdout).join(' ') !== 'site quick') return `rm should print "site" and "quick": ${r.stdout}`;
      return null;
    },
  },
];
