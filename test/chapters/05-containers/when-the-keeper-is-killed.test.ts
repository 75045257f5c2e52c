// Chapter 5, section 3: "The state, as it really is", its "When the keeper is
// killed".
//
// Chapter 5, for real, as root: what happens when things are killed.
//
// - The monitor killed (SIGKILL): the container ends with it (nsexec and
//   PID 1 die with their parent); the next command records it "Exited (137)"
//   and releases its cgroups and mount, or removes it if it was --rm.
// - The CLI of a foreground `run` killed once the container runs: as with
//   Docker, the container is the monitor's, not the CLI's: it runs on.
// - The CLI killed early, while it sets the container up: whatever it made
//   is found and removed later (by the next run, or ps -a + rm -f).
//
// Commands sleep for a bounded time, so that even a leak this file fails to
// clean up would not outlive it by long.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no monitor, no ps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip, until } from '../../helpers/dockling.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';
import { alive, chapter5, lines, processesMentioning, psRows, runAsync, sleep } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-crash');

test('kill -9 of the monitor: the container ends with it; the next ps -a says Exited (137) and released its cgroups and mount; rm removes the rest', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'mon', 'busybox', 'sh', '-c', 'echo alive; sleep 30']);
    await c.untilLogs('mon', /alive/);
    const monitor = Number(c.inspect('mon', '{{.MonitorPid}}'));
    const pid = Number(c.inspect('mon', '{{.State.Pid}}'));
    assert.ok(alive(monitor) && alive(pid), `monitor ${monitor} and PID 1 ${pid} run`);
    assert.ok(fs.readFileSync(`/proc/${monitor}/cmdline`, 'utf8').includes(path.join(c.root(), 'containers', id)), 'MonitorPid is the monitor of this container');
    assert.ok(containerCgroups(cgroupMounts(), [id]).length > 0, 'the container has a cgroup');
    assert.ok(mountsInside(c.root()).length > 0, 'the container has its root mounted');

    // nsexec dies with the monitor (PR_SET_PDEATHSIG), and PID 1 with
    // nsexec: nobody would hold its output or record its end otherwise.
    process.kill(monitor, 'SIGKILL');
    await until(() => !alive(monitor), 5000, 'the monitor to be gone');
    await until(() => !alive(pid), 10_000, 'PID 1 to end with its monitor');
    // The next command (ps) records the end, as Docker does when a shim dies…
    const row = psRows(c.ok(['ps', '-a'])).find((r) => r.names === 'mon');
    assert.match(row?.status ?? '', /^Exited \(137\) /);
    assert.equal(psRows(c.ok(['ps'])).find((r) => r.names === 'mon'), undefined, 'ps without -a lists running containers only');
    const state = JSON.parse(c.inspect('mon', '{{json .State}}'));
    assert.deepEqual([state.Status, state.Running, state.ExitCode, state.Pid], ['exited', false, 137, 0]);
    // …and releases what it held: a stopped container has no cgroup, no mounted root.
    assert.deepEqual(containerCgroups(cgroupMounts(), [id]), [], 'cgroups remain');
    assert.deepEqual(mountsInside(c.root()), [], 'mounts remain');
    // What was logged before is still there.
    assert.equal(c.logsOf('mon').stdout, 'alive\n');
    // It is kept, stopped: rm (no -f needed) removes it.
    assert.equal(c.ok(['rm', 'mon']), 'mon\n');
    assert.deepEqual(containerDirs(c.root()), []);
  } finally {
    await c.cleanup();
  }
});

test('kill -9 of the monitor of run -d --rm: the container ends with it, and the next command removes it', { skip }, async () => {
  try {
    const id = c.runD(['--rm', '--name', 'monrm', 'busybox', 'sh', '-c', 'echo alive; sleep 30']);
    await c.untilLogs('monrm', /alive/);
    const monitor = Number(c.inspect('monrm', '{{.MonitorPid}}'));
    const pid = Number(c.inspect('monrm', '{{.State.Pid}}'));
    process.kill(monitor, 'SIGKILL');
    await until(() => !alive(monitor) && !alive(pid), 10_000, 'the monitor and PID 1 to be gone');
    assert.equal(psRows(c.ok(['ps', '-a'])).find((r) => r.names === 'monrm'), undefined, 'ps -a still lists it');
    assert.deepEqual(containerDirs(c.root()), [], 'its directory remains');
    assert.deepEqual(containerCgroups(cgroupMounts(), [id]), [], 'cgroups remain');
    assert.deepEqual(mountsInside(c.root()), [], 'mounts remain');
    const mountsDb = path.join(c.root(), 'image/overlay2/layerdb/mounts');
    assert.deepEqual(fs.existsSync(mountsDb) ? fs.readdirSync(mountsDb) : [], [], 'its layers remain');
  } finally {
    await c.cleanup();
  }
});

test('kill -9 of the CLI of a foreground run, once it printed output: the container runs on under its monitor', { skip }, async () => {
  const cli = runAsync(c.root(), ['run', '--name', 'fg', 'busybox', 'sh', '-c', 'echo first; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo never']);
  try {
    await until(() => cli.stdout().includes('first\n') || cli.child.exitCode !== null, 20_000, 'the first line of output');
    assert.equal(cli.stdout(), 'first\n', cli.stderr());
    const id = c.idOf('fg');
    cli.child.kill('SIGKILL');
    const r = await cli.done;
    assert.equal(r.signal, 'SIGKILL');
    const pid = Number(c.inspect('fg', '{{.State.Pid}}'));
    const monitor = Number(c.inspect('fg', '{{.MonitorPid}}'));
    await sleep(300);
    assert.ok(alive(pid), 'PID 1 died with the CLI');
    assert.ok(alive(monitor), 'the monitor died with the CLI');
    const row = psRows(c.ok(['ps'])).find((x) => x.names === 'fg');
    assert.ok(row, 'ps lists it');
    assert.match(row.status, /^Up (Less than a second|\d+ seconds?)$/);
    assert.equal(row.id, id.slice(0, 12));
    assert.equal(c.logsOf('fg').stdout, 'first\n');
    // A later command does not take it for abandoned.
    c.ok(['run', '--rm', 'busybox', 'true']);
    assert.ok(alive(pid), 'a later run reaped a running container');
    assert.equal(c.ok(['rm', '-f', 'fg']), 'fg\n');
  } finally {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.done;
    await c.cleanup();
  }
});

test('kill -9 of the CLI early, while it sets the container up (18 kills, at delays spread over a whole run): nothing is left behind', { skip }, async () => {
  const seen = new Set<string>();
  const note = () => containerDirs(c.root()).forEach((d) => seen.add(d));
  try {
    // The delays spread over the time a whole `run` takes on this machine,
    // so that the kills land in every phase: start-up, image, layers,
    // cgroups, namespaces, monitor.
    const t = Date.now();
    c.ok(['run', '--rm', 'busybox', 'true']);
    const whole = Date.now() - t;
    const delays = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((f) => Math.round(f * whole));
    for (const [i, delay] of [...delays, ...delays].entries()) {
      const cli = runAsync(c.root(), ['run', '--name', `early-${i}`, 'busybox', 'sleep', '20']);
      await sleep(delay);
      note();
      cli.child.kill('SIGKILL');
      await cli.done;
      note();
    }
    // The next run cleans what was abandoned before its monitor took over…
    c.ok(['run', '--rm', 'busybox', 'true']);
    // …and what did start is a container like any other: listed, and removed.
    const listed = lines(c.ok(['ps', '-a', '-q', '--no-trunc']));
    for (const id of listed) {
      assert.ok(seen.has(id), `ps -a lists ${id}, never seen on disk`);
      c.ok(['rm', '-f', id]);
    }
    // The names are free again.
    c.ok(['run', '--rm', '--name', 'early-0', 'busybox', 'true']);
    // Nothing of any of them: no directory, mount, cgroup, monitor, process.
    const left = containerDirs(c.root()).map((d) => `${d}: ${fs.readdirSync(path.join(c.root(), 'containers', d)).join(' ')}`);
    assert.deepEqual(left, [], 'container directories remain (not listed by ps -a, so rm -f cannot reach them)');
    assert.deepEqual(mountsInside(c.root()), [], 'mounts remain');
    await until(() => processesMentioning(c.root()).length === 0, 5000).catch(() => {});
    assert.deepEqual(processesMentioning(c.root()).map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')), [], 'monitors remain');
    assert.deepEqual(containerCgroups(cgroupMounts(), seen), [], 'cgroups remain');
    const mountsDb = path.join(c.root(), 'image/overlay2/layerdb/mounts');
    const entries = fs.existsSync(mountsDb) ? fs.readdirSync(mountsDb).map((d) => `${d}: ${fs.readdirSync(path.join(mountsDb, d)).join(' ')}`) : [];
    assert.deepEqual(entries, [], 'layerdb/mounts entries (and their rw layers) remain');
  } finally {
    await c.cleanup(seen);
  }
});
