// Chapter 5, section 6: "start, restart policies".
//
// Chapter 5, for real, as root: restart policies. The monitor starts the
// container again when its policy says so (after Docker's growing delay):
// on-failure:N at most N times, always whatever the exit status — except
// after `stop`, which is meant. --restart and --rm contradict each other and
// are refused as Docker refuses them.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no --restart, no inspect
// of a restart count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { containerDirs } from '../../helpers/leaks.js';
import { alive, chapter5, lines, processesMentioning, sleep } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-restart');

/** What a wait saw when it gave up: the count, status, log lines, and the processes naming the container. */
function seen(id: string, name: string): string {
  const procs = processesMentioning(id).map((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200);
    } catch {
      return `${p} (gone)`;
    }
  });
  return `${c.inspect(name, '{{.RestartCount}} {{.State.Status}}')}, ${lines(c.logsOf(name).stdout).length} log lines, processes: ${JSON.stringify(procs)}`;
}

test('--restart on-failure:2 with a command that fails: it runs exactly 3 times, RestartCount 2', { skip }, async () => {
  try {
    const id = c.runD(['--restart', 'on-failure:2', '--name', 'flaky', 'busybox', 'sh', '-c', 'echo attempt; exit 1']);
    assert.equal(c.inspect('flaky', '{{json .HostConfig.RestartPolicy}}'), '{"Name":"on-failure","MaximumRetryCount":2}');
    // Done: the third run has exited and no monitor or restart remains. The
    // ID, not the directory: a monitor that restarts execs `start
    // --restart-attempt ID`, whose argv names only the ID, and which writes
    // the new RestartCount while the status still says the last run exited.
    // Looking for the directory would take that moment for the end.
    await until(
      () => c.inspect('flaky', '{{.RestartCount}} {{.State.Status}}') === '2 exited' && processesMentioning(id).length === 0,
      60_000,
      () => `the restarts to end; seen: ${seen(id, 'flaky')}`,
    );
    await sleep(1500); // no fourth run comes
    assert.equal(c.logsOf('flaky').stdout, 'attempt\nattempt\nattempt\n');
    assert.equal(c.inspect('flaky', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '2 exited 1');
    assert.match(c.status('flaky')!, /^Exited \(1\) /);
    assert.equal(c.ok(['wait', 'flaky']), '1\n');
  } finally {
    await c.cleanup();
  }
});

test('`restart` (and `start`) of an on-failure:2 container applies the policy again from a count of 0, as Docker does', { skip }, async () => {
  try {
    const id = c.runD(['--restart', 'on-failure:2', '--name', 'flaky', 'busybox', 'sh', '-c', 'echo attempt; exit 1']);
    const settled = () => c.inspect('flaky', '{{.RestartCount}} {{.State.Status}}') === '2 exited' && processesMentioning(id).length === 0;
    await until(() => lines(c.logsOf('flaky').stdout).length === 3 && settled(), 60_000, () => `the first restarts to end; seen: ${seen(id, 'flaky')}`);
    assert.equal(expectCode(c.dk(['restart', 'flaky']), 0).stdout, 'flaky\n');
    // The by-hand start resets the count; the policy then restarts twice more.
    await until(() => lines(c.logsOf('flaky').stdout).length === 6 && settled(), 60_000, () => `the policy to apply again after restart; seen: ${seen(id, 'flaky')}`);
    c.ok(['start', 'flaky']);
    await until(() => lines(c.logsOf('flaky').stdout).length === 9 && settled(), 60_000, () => `the policy to apply again after start; seen: ${seen(id, 'flaky')}`);
    await sleep(1500); // and no more
    assert.equal(lines(c.logsOf('flaky').stdout).length, 9);
  } finally {
    await c.cleanup();
  }
});

test('the restart back-off doubles from 100 ms and starts again from 100 ms after a run of 10 s or more', { skip }, async () => {
  try {
    // Runs 1-5 fail at once (delays 100, 200, 400, 800, 1600 ms); run 6 lasts
    // 10 s; without the reset the delay before run 7 would be 3200 ms.
    const script = 'n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; echo start $n; if [ $n = 6 ]; then sleep 10.5; echo end $n; fi; exit 1';
    const id = c.runD(['--restart', 'on-failure:6', '--name', 'slow', 'busybox', 'sh', '-c', script]);
    const dir = path.join(c.root(), 'containers', id);
    await until(() => c.inspect('slow', '{{.RestartCount}} {{.State.Status}}') === '6 exited' && processesMentioning(id).length === 0, 60_000, 'the restarts to end');
    const at = new Map<string, number>();
    for (const l of lines(c.logsOf('slow', ['-t']).stdout)) {
      const [stamp, ...words] = l.split(' ');
      at.set(words.join(' '), Date.parse(stamp));
    }
    const gap = (from: string, to: string) => at.get(to)! - at.get(from)!;
    assert.ok(gap('start 4', 'start 5') >= 800, `the delay before run 5 did not grow: ${gap('start 4', 'start 5')} ms`);
    assert.ok(gap('start 5', 'start 6') >= 1600, `the delay before run 6 did not grow: ${gap('start 5', 'start 6')} ms`);
    // The delay the monitor chose before run 7 (it keeps the last one in
    // DIR/restart-delay): read, not timed, so a loaded machine cannot fail it.
    assert.equal(fs.readFileSync(path.join(dir, 'restart-delay'), 'utf8').trim(), '100', 'after 10 s of uptime the delay did not start again from 100 ms');
  } finally {
    await c.cleanup();
  }
});

test('--restart on-failure does not restart a command that succeeds', { skip }, async () => {
  try {
    const id = c.runD(['--restart', 'on-failure', '--name', 'fine', 'busybox', 'sh', '-c', 'echo once']);
    await until(() => c.inspect('fine', '{{.State.Status}}') === 'exited' && processesMentioning(id).length === 0, 15_000, 'the run to end');
    await sleep(800);
    assert.equal(c.logsOf('fine').stdout, 'once\n');
    assert.equal(c.inspect('fine', '{{.RestartCount}} {{.State.ExitCode}}'), '0 0');
  } finally {
    await c.cleanup();
  }
});

test('--restart always: PID 1 killed → started again; `stop` ends it for good', { skip }, async () => {
  try {
    c.runD(['--restart', 'always', '--name', 'al', 'busybox', 'sh', '-c', 'echo started; while :; do sleep 0.1; done']);
    await c.untilLogs('al', /^started\n$/);
    const pid1 = Number(c.inspect('al', '{{.State.Pid}}'));
    process.kill(pid1, 'SIGKILL'); // a crash (this test's own container)
    await c.untilLogs('al', /^started\nstarted\n$/, 20_000);
    await until(() => c.inspect('al', '{{.State.Status}}') === 'running', 10_000, 'the container to run again');
    const pid2 = Number(c.inspect('al', '{{.State.Pid}}'));
    assert.notEqual(pid2, pid1);
    assert.ok(alive(pid2));
    assert.equal(c.inspect('al', '{{.RestartCount}}'), '1');
    assert.match(c.status('al')!, /^Up /);

    assert.equal(c.ok(['stop', '-t', '1', 'al']), 'al\n');
    assert.equal(c.ok(['wait', 'al']), '137\n');
    await sleep(1500); // Docker's first restart delay is 100 ms: nothing may come
    assert.match(c.status('al')!, /^Exited \(137\) /);
    assert.equal(c.logsOf('al').stdout, 'started\nstarted\n');
    assert.equal(c.inspect('al', '{{.RestartCount}}'), '1');
    assert.deepEqual(processesMentioning(c.root()), [], 'a monitor or restart is still there');
  } finally {
    await c.cleanup();
  }
});

test('--restart with --rm is refused with Docker’s message; so is an unknown policy; nothing is made', { skip }, async () => {
  try {
    const r = expectCode(c.dk(['run', '--rm', '--restart', 'always', 'busybox', 'true']), 125);
    assert.match(r.stderr, /conflicting options: cannot specify both --restart and --rm/i);
    const on = expectCode(c.dk(['run', '-d', '--rm', '--restart', 'on-failure:3', 'busybox', 'true']), 125);
    assert.match(on.stderr, /conflicting options: cannot specify both --restart and --rm/i);
    // "no" does not conflict.
    expectCode(c.dk(['run', '--rm', '--restart', 'no', 'busybox', 'true']), 0);
    const bad = expectCode(c.dk(['run', '--restart', 'sometimes', 'busybox', 'true']), 125);
    assert.match(bad.stderr, /invalid restart policy/);
    assert.match(bad.stderr, /sometimes/);
    assert.deepEqual(lines(c.ok(['ps', '-a', '-q'])), []);
    assert.deepEqual(containerDirs(c.root()), []);
  } finally {
    await c.cleanup();
  }
});
