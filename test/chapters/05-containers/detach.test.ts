// Chapter 5, section 1: "Who holds a detached container?"; section 4:
// "Stopping, and the PID 1 problem".
//
// Chapter 5, for real, as root: a detached container's life. `run -d`
// returns as soon as the command runs and prints its ID; the container lives
// on under its monitor; its output is kept in Docker's json-file log, split
// by stream; stop, start, restart, kill, wait, rename, rm and container
// prune act on it as Docker's do.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: `run` has no -d, and ps, logs,
// stop, start, kill, wait… do not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { ID, SCRIPT, alive, chapter5, docklingLine, lines, psRows, terminal } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-detach');

/** RFC 3339 with nanoseconds, as `docker logs -t` prints it (RFC3339NanoFixed: always 9 digits). */
const RFC3339NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

test('run -d returns at once with the ID; ps shows it Up; logs hold exactly the bytes written, split by stream', { skip }, async () => {
  try {
    const script = [
      `trap 'exit 143' TERM`,
      `printf 'out1\\n'`,
      `printf 'err1\\n' >&2`,
      `printf 'out2 ünïcödé ✓ 日本\\n'`,
      `printf 'err2 — ∂\\n' >&2`,
      `printf '  spaced\\ttab "quoted" \\\\ back\\n'`,
      `printf 'tail-without-newline'`,
      'while :; do sleep 0.1; done',
    ].join('; ');
    const started = Date.now();
    const id = c.runD(['--name', 'det', 'busybox', 'sh', '-c', script]);
    assert.ok(Date.now() - started < 20_000);
    // The CLI has exited (spawnSync returned); the container's PID 1 runs on.
    const pid = Number(c.inspect('det', '{{.State.Pid}}'));
    assert.ok(pid > 0 && alive(pid), `PID 1 (${pid}) is not running after run -d returned`);
    assert.equal(c.inspect('det', '{{.Id}}'), id);
    const row = psRows(c.ok(['ps'])).find((r) => r.names === 'det');
    assert.ok(row, 'ps lists the running container');
    assert.equal(row.id, id.slice(0, 12));
    assert.equal(row.image, 'busybox');
    assert.match(row.status, /^Up (Less than a second|\d+ seconds?)$/);
    // The partial last line is written out when the stream closes, at exit.
    await c.untilLogs('det', /spaced/);
    assert.equal(expectCode(c.dk(['stop', 'det']), 0).stdout, 'det\n');
    assert.equal(c.ok(['wait', 'det']), '143\n');
    const logs = c.logsOf('det');
    assert.equal(logs.stdout, 'out1\nout2 ünïcödé ✓ 日本\n  spaced\ttab "quoted" \\ back\ntail-without-newline');
    assert.equal(logs.stderr, 'err1\nerr2 — ∂\n');
    // The file itself: one {"log","stream","time"} object per line, each line's bytes in order.
    const logPath = c.inspect('det', '{{.LogPath}}');
    assert.equal(logPath, `${c.root()}/containers/${id}/${id}-json.log`);
    const entries = lines(fs.readFileSync(logPath, 'utf8')).map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
    for (const e of entries) {
      assert.deepEqual(Object.keys(e).sort(), ['log', 'stream', 'time']);
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    }
    const of = (s: string) => entries.filter((e) => e.stream === s).map((e) => e.log);
    assert.deepEqual(of('stdout'), ['out1\n', 'out2 ünïcödé ✓ 日本\n', '  spaced\ttab "quoted" \\ back\n', 'tail-without-newline']);
    assert.deepEqual(of('stderr'), ['err1\n', 'err2 — ∂\n']);
    const times = entries.map((e) => Date.parse(e.time));
    for (const s of ['stdout', 'stderr']) {
      const t = entries.filter((e) => e.stream === s).map((e) => Date.parse(e.time));
      assert.deepEqual(t, [...t].sort((a, b) => a - b), `${s} times go forward`);
    }
    assert.ok(times.every((t) => t >= started - 1000 && t <= Date.now() + 1000), 'log times are now-ish');
    assert.match(c.status('det')!, /^Exited \(143\) (Less than a second|\d+ seconds?) ago$/);
    assert.equal(psRows(c.ok(['ps'])).find((r) => r.names === 'det'), undefined, 'ps without -a lists running containers only');
  } finally {
    await c.cleanup();
  }
});

test('logs --tail N, -t (RFC 3339, nanoseconds) and --since/--until a time between two lines', { skip }, async () => {
  try {
    c.runD(['--name', 'lg', 'busybox', 'sh', '-c', 'echo one; echo two; sleep 0.4; echo three; echo four']);
    assert.equal(c.ok(['wait', 'lg']), '0\n');
    assert.equal(c.logsOf('lg').stdout, 'one\ntwo\nthree\nfour\n');
    assert.equal(c.logsOf('lg', ['--tail', '2']).stdout, 'three\nfour\n');
    assert.equal(c.logsOf('lg', ['--tail', '0']).stdout, '');
    assert.equal(c.logsOf('lg', ['--tail', '10']).stdout, 'one\ntwo\nthree\nfour\n');
    assert.equal(c.logsOf('lg', ['-n', '1']).stdout, 'four\n');
    const stamped = lines(c.logsOf('lg', ['-t']).stdout).map((l) => {
      const [time, ...rest] = l.split(' ');
      assert.match(time, RFC3339NANO, l);
      return { time, text: rest.join(' ') };
    });
    assert.deepEqual(stamped.map((s) => s.text), ['one', 'two', 'three', 'four']);
    assert.equal(c.logsOf('lg', ['-t', '--tail', '1']).stdout, `${stamped[3].time} four\n`);
    const t2 = Date.parse(stamped[1].time);
    const t3 = Date.parse(stamped[2].time);
    assert.ok(t3 - t2 >= 300, `the lines are ${t3 - t2} ms apart`);
    const between = new Date((t2 + t3) / 2).toISOString();
    assert.equal(c.logsOf('lg', ['--since', between]).stdout, 'three\nfour\n');
    assert.equal(c.logsOf('lg', ['--until', between]).stdout, 'one\ntwo\n');
    assert.equal(c.logsOf('lg', ['--since', String((t2 + t3) / 2000)]).stdout, 'three\nfour\n', '--since as Unix seconds');
    assert.equal(c.logsOf('lg', ['--since', '1h']).stdout, 'one\ntwo\nthree\nfour\n', '--since as a duration');
    const bad = expectCode(c.dk(['logs', '--since', 'yesterday-ish', 'lg']), 1);
    assert.match(bad.stderr, /yesterday-ish/);
  } finally {
    await c.cleanup();
  }
});

test('stop: 143 for a PID 1 that handles SIGTERM, or with --init; 137 after the grace period for a bare sleep', { skip }, async () => {
  try {
    c.runD(['--name', 'trapper', 'busybox', 'sh', '-c', `trap 'exit 143' TERM; echo ready; while :; do sleep 0.1; done`]);
    c.runD(['--init', '--name', 'inited', 'busybox', 'sleep', '60']);
    c.runD(['--name', 'bare', 'busybox', 'sleep', '60']);
    await c.untilLogs('trapper', /ready/);
    assert.equal(c.inspect('inited', '{{.HostConfig.Init}}'), 'true');
    // Without --init Docker's CLI leaves Init out (a Go *bool, omitempty): the daemon's default applies.
    assert.ok(!('Init' in JSON.parse(c.inspect('bare', '{{json .HostConfig}}'))), 'HostConfig.Init is left out without --init');

    let t = Date.now();
    assert.equal(c.ok(['stop', 'trapper']), 'trapper\n');
    assert.ok(Date.now() - t < 5000, `stop of a trapping PID 1 took ${Date.now() - t} ms`);
    assert.equal(c.ok(['wait', 'trapper']), '143\n');

    t = Date.now();
    assert.equal(c.ok(['stop', 'inited']), 'inited\n');
    assert.ok(Date.now() - t < 5000, `with --init, stop took ${Date.now() - t} ms (the init must pass SIGTERM on)`);
    assert.equal(c.ok(['wait', 'inited']), '143\n');

    // PID 1 `sleep` has no handler: the kernel drops SIGTERM for PID 1; SIGKILL after -t 1.
    t = Date.now();
    assert.equal(c.ok(['stop', '-t', '1', 'bare']), 'bare\n');
    const took = Date.now() - t;
    assert.ok(took >= 900 && took < 8000, `stop -t 1 of a bare sleep took ${took} ms`);
    assert.equal(c.ok(['wait', 'bare']), '137\n');
    assert.match(c.status('bare')!, /^Exited \(137\) /);
    assert.equal(c.inspect('bare', '{{.State.ExitCode}} {{.State.Running}} {{.State.Status}}'), '137 false exited');
    // Stopping a stopped container is no error.
    assert.equal(c.ok(['stop', 'bare']), 'bare\n');
  } finally {
    await c.cleanup();
  }
});

test('stop of a PID 1 that ignores SIGTERM says so on a terminal (and why, and what to do); to a script, nothing', { skip: skip || (SCRIPT ? false : 'needs util-linux script(1) for a real terminal') }, async () => {
  try {
    c.runD(['--name', 'bare', 'busybox', 'sleep', '60']);
    const r = expectCode(c.dk(['stop', '-t', '2', 'bare']), 0);
    assert.equal(r.stdout, 'bare\n');
    assert.equal(r.stderr, '', 'stderr is no terminal here: stop stays quiet, as docker does');
    c.ok(['start', 'bare']);
    const t = terminal(docklingLine(c.root(), ['stop', '-t', '3', 'bare']));
    assert.equal(await t.finish(15_000), 0, t.output());
    assert.match(t.output(), /bare: PID 1 did not exit on SIGTERM .*SIGKILL in 2 s.*--init.*--stop-timeout/);
    assert.equal(c.ok(['wait', 'bare']), '137\n');
  } finally {
    await c.cleanup();
  }
});

test('start runs it again on the same writable layer, and the log grows; restart too', { skip }, async () => {
  try {
    const script = `echo ran >> /runs; echo "run $(wc -l < /runs)"; trap 'exit 0' TERM; while :; do sleep 0.1; done`;
    c.runD(['--name', 'again', 'busybox', 'sh', '-c', script]);
    await c.untilLogs('again', /run 1\n/);
    const pid1 = Number(c.inspect('again', '{{.State.Pid}}'));
    const started1 = c.inspect('again', '{{.State.StartedAt}}');
    c.ok(['stop', 'again']);
    assert.equal(c.ok(['wait', 'again']), '0\n');
    assert.equal(c.ok(['start', 'again']), 'again\n');
    await c.untilLogs('again', /run 2\n/);
    assert.equal(c.logsOf('again').stdout, 'run 1\nrun 2\n', 'the file written by the first run is still there; the log appends');
    assert.match(c.status('again')!, /^Up /);
    const pid2 = Number(c.inspect('again', '{{.State.Pid}}'));
    assert.notEqual(pid2, pid1);
    assert.notEqual(c.inspect('again', '{{.State.StartedAt}}'), started1);
    // Starting a running container does nothing (and says its name).
    assert.equal(c.ok(['start', 'again']), 'again\n');
    assert.equal(Number(c.inspect('again', '{{.State.Pid}}')), pid2);

    assert.equal(c.ok(['restart', '-t', '2', 'again']), 'again\n');
    await c.untilLogs('again', /run 3\n/);
    assert.equal(c.logsOf('again').stdout, 'run 1\nrun 2\nrun 3\n');
    assert.ok(!alive(pid2), 'the old PID 1 is gone');
    assert.match(c.status('again')!, /^Up /);
  } finally {
    await c.cleanup();
  }
});

test('kill -s HUP reaches a trap and the container lives on; kill (KILL) ends it: 137', { skip }, async () => {
  try {
    c.runD(['--name', 'hup', 'busybox', 'sh', '-c', `trap 'echo got-HUP' HUP; echo ready; while :; do sleep 0.1; done`]);
    await c.untilLogs('hup', /ready/);
    assert.equal(c.ok(['kill', '-s', 'HUP', 'hup']), 'hup\n');
    await c.untilLogs('hup', /got-HUP/);
    assert.equal(c.ok(['kill', '--signal', 'SIGHUP', 'hup']), 'hup\n');
    await c.untilLogs('hup', /got-HUP\ngot-HUP\n/);
    assert.match(c.status('hup')!, /^Up /);
    assert.equal(c.ok(['kill', 'hup']), 'hup\n');
    assert.equal(c.ok(['wait', 'hup']), '137\n');
    const again = expectCode(c.dk(['kill', 'hup']), 1);
    assert.match(again.stderr, /is not running/);
    const bad = expectCode(c.dk(['kill', '-s', 'NOPE', 'hup']), 1);
    assert.match(bad.stderr, /Invalid signal: NOPE/);
  } finally {
    await c.cleanup();
  }
});

test('rename: the new name finds it, the old one is free again; a taken name is refused; start and kill of no such container', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'old', 'busybox', 'sleep', '60']);
    c.runD(['--name', 'other', 'busybox', 'sleep', '60']);
    expectCode(c.dk(['rename', 'old', 'new']), 0);
    assert.equal(c.inspect('new', '{{.Id}}'), id);
    assert.equal(c.inspect('new', '{{.Name}}'), '/new');
    assert.equal(psRows(c.ok(['ps'])).find((r) => r.id === id.slice(0, 12))?.names, 'new');
    const gone = expectCode(c.dk(['inspect', 'old']), 1);
    assert.match(gone.stderr, /No such object: old/);
    const reused = c.runD(['--name', 'old', 'busybox', 'true']);
    assert.notEqual(reused, id);
    const taken = expectCode(c.dk(['rename', 'new', 'other']), 1);
    assert.match(taken.stderr, /^dockling: Error when allocating new name: Conflict\. The container name "\/other" is already in use by container "[0-9a-f]{64}"/);
    assert.match(taken.stderr, /\ndockling: failed to rename container named new\n$/, 'the docker CLI\'s last line');
    assert.equal(c.inspect('new', '{{.Id}}'), id, 'a refused rename changes nothing');
    // start and kill of what is not there, in the docker CLI's and dockerd's words
    const none = expectCode(c.dk(['start', 'nosuch-a', 'nosuch-b']), 1);
    assert.equal(none.stderr, 'dockling: No such container: nosuch-a\ndockling: No such container: nosuch-b\ndockling: failed to start containers: nosuch-a, nosuch-b\n');
    assert.equal(expectCode(c.dk(['kill', 'nosuch-a']), 1).stderr, 'dockling: Cannot kill container: nosuch-a: No such container: nosuch-a\n');
  } finally {
    await c.cleanup();
  }
});

test("rm refuses a running container (Docker's message, exit 1); rm -f removes it and all it held", { skip }, async () => {
  try {
    const id = c.runD(['--name', 'busy', 'busybox', 'sleep', '60']);
    const r = expectCode(c.dk(['rm', 'busy']), 1);
    assert.match(r.stderr, /cannot remove container "\/busy": container is running: stop the container before removing or force remove/);
    assert.match(c.status('busy')!, /^Up /, 'the refused rm left it running');
    assert.ok(fs.existsSync(`${c.root()}/containers/${id}`));
    const monitor = Number(c.inspect('busy', '{{.MonitorPid}}'));
    const pid = Number(c.inspect('busy', '{{.State.Pid}}'));
    assert.equal(c.ok(['rm', '-f', 'busy']), 'busy\n');
    assert.ok(!fs.existsSync(`${c.root()}/containers/${id}`));
    await until(() => !alive(pid) && !alive(monitor), 5000, 'PID 1 and the monitor to be gone');
    assert.equal(c.status('busy'), undefined);
    const missing = expectCode(c.dk(['rm', 'busy']), 1);
    assert.match(missing.stderr, /No such container: busy/);
  } finally {
    await c.cleanup();
  }
});

test('rmi -f of the image a running container uses is refused, before anything is untagged', { skip }, async () => {
  try {
    c.ok(['tag', 'busybox', 'lab/pinned:1']);
    c.runD(['--name', 'pinner', 'lab/pinned:1', 'sleep', '60']);
    const id = c.inspect('pinner', '{{.Image}}');
    const before = c.ok(['images', '--no-trunc']);
    const r = expectCode(c.dk(['rmi', '-f', id]), 1);
    assert.match(r.stderr, /conflict: unable to delete [0-9a-f]{12} \(cannot be forced\) - image is being used by running container [0-9a-f]{12}/);
    assert.equal(r.stdout, '', 'nothing untagged');
    assert.equal(c.ok(['images', '--no-trunc']), before, 'every name is still there');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'lab/pinned:1']);
  }
});

test('container prune -f removes the stopped containers only', { skip }, async () => {
  try {
    const up = [c.runD(['busybox', 'sleep', '60']), c.runD(['busybox', 'sleep', '60'])];
    const down = [c.runD(['busybox', 'true']), c.runD(['busybox', 'sh', '-c', 'exit 3'])];
    for (const id of down) c.ok(['wait', id]);
    const out = c.ok(['container', 'prune', '-f']);
    const deleted = out.split('\n').filter((l) => ID.test(l));
    assert.deepEqual(deleted.sort(), [...down].sort(), out);
    assert.match(out, /^Deleted Containers:\n/);
    assert.match(out, /Total reclaimed space: /);
    const left = lines(c.ok(['ps', '-a', '-q', '--no-trunc'])).sort();
    assert.deepEqual(left, [...up].sort());
    for (const id of down) assert.ok(!fs.existsSync(`${c.root()}/containers/${id}`));
    assert.equal(c.ok(['container', 'prune', '-f']), 'Total reclaimed space: 0B\n', 'nothing more to prune');
  } finally {
    await c.cleanup();
  }
});
