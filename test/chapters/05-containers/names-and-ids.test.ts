// Chapter 5, section 8: "Names and IDs" (20 containers at once, each with its
// own ID and name).
//
// Chapter 5, for real, as root: many containers at once. 20 `run -d` started
// together (no --name) each get a unique ID and a unique generated name
// (adjective_surname, as Docker makes them); ps lists exactly them; then 20
// `rm -f` at once leave nothing of any: no mount, cgroup, monitor process,
// or state directory.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';
import { ID, alive, chapter5, lines, processesMentioning, psRows, runAsync } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-parallel');
const N = 20;

test(`${N} run -d at once: unique IDs and generated names; ps -q lists exactly them; ${N} rm -f at once leave nothing`, { skip }, async () => {
  const ids: string[] = [];
  try {
    const runs = await Promise.all(Array.from({ length: N }, () => runAsync(c.root(), ['run', '-d', 'busybox', 'sleep', '60']).done));
    for (const r of runs) {
      const id = r.stdout.trim();
      if (ID.test(id)) {
        ids.push(id);
        c.track(id);
      }
    }
    const failed = runs.filter((r) => r.code !== 0 || !ID.test(r.stdout.trim()));
    assert.deepEqual(failed.map((r) => `${r.code}: ${r.stdout}${r.stderr}`), [], 'some of the parallel runs failed');
    assert.equal(new Set(ids).size, N, 'IDs repeat');

    const names = lines(c.ok(['inspect', '-f', '{{.Name}}', ...ids])).map((n) => n.replace(/^\//, ''));
    assert.equal(names.length, N);
    for (const n of names) assert.match(n, /^[a-z]+_[a-z]+\d?$/, `not a Docker-style generated name: ${n}`);
    assert.equal(new Set(names).size, N, `generated names repeat: ${names.join(' ')}`);

    const quiet = lines(c.ok(['ps', '-q']));
    assert.deepEqual([...quiet].sort(), ids.map((id) => id.slice(0, 12)).sort());
    assert.deepEqual(lines(c.ok(['ps', '-q', '--no-trunc'])).sort(), [...ids].sort());
    const rows = psRows(c.ok(['ps']));
    assert.equal(rows.length, N);
    for (const r of rows) {
      assert.match(r.status, /^Up /);
      assert.ok(names.includes(r.names), r.names);
    }
    // Every one has its own monitor and PID 1.
    const monitors = lines(c.ok(['inspect', '-f', '{{.MonitorPid}} {{.State.Pid}}', ...ids])).map((l) => l.split(' ').map(Number));
    assert.equal(new Set(monitors.map((m) => m[0])).size, N);
    assert.ok(monitors.every(([m, p]) => alive(m) && alive(p)));
    assert.ok(containerCgroups(cgroupMounts(), ids).length >= N, 'each has its cgroup');

    const removed = await Promise.all(ids.map((id) => runAsync(c.root(), ['rm', '-f', id]).done));
    assert.deepEqual(removed.filter((r) => r.code !== 0).map((r) => r.stderr), [], 'some rm -f failed');
    assert.deepEqual(removed.map((r) => r.stdout.trim()).sort(), [...ids].sort());
    assert.deepEqual(lines(c.ok(['ps', '-a', '-q'])), []);
    assert.deepEqual(containerDirs(c.root()), []);
    assert.deepEqual(mountsInside(c.root()), []);
    assert.deepEqual(containerCgroups(cgroupMounts(), ids), []);
    assert.deepEqual(processesMentioning(c.root()), [], 'monitors remain');
    assert.ok(monitors.every(([m, p]) => !alive(m) && !alive(p)), 'a monitor or PID 1 outlived rm -f');
  } finally {
    await c.cleanup(ids);
  }
});
