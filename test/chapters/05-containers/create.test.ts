// Chapter 5, section 6: "start, restart policies" (create).
//
// Chapter 5, for real, as root: `create` makes a container without running
// it (run's pipeline up to prepare, kept): it prints the ID, `ps -a` shows
// it Created, nothing of it runs or is mounted, `start` (or `start -a`)
// runs it, and `rm` removes it whole.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `create`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';
import { ID, SCRIPT, chapter5, docklingLine, processesMentioning, sleep, terminal } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-create');

test('create: the ID; ps -a says Created; nothing runs, nothing is mounted, no cgroup; start -a runs it; rm removes it whole', { skip }, async () => {
  try {
    const r = expectCode(c.dk(['create', '--name', 'made', 'busybox', 'sh', '-c', 'echo made-ran; exit 3']), 0);
    const id = r.stdout.trim();
    assert.match(id, ID);
    c.track(id);
    assert.equal(c.status('made'), 'Created');
    assert.equal(c.inspect('made', '{{.State.Status}} {{.State.Running}} {{.State.Pid}}'), 'created false 0');
    const dir = path.join(c.root(), 'containers', id);
    assert.deepEqual(processesMentioning(dir), [], 'a process of the created container runs');
    assert.deepEqual(mountsInside(c.root()), [], 'create left a mount');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.v2.json'), 'utf8'));
    for (const p of Object.values((cfg.CgroupPaths ?? {}) as Record<string, string>)) assert.ok(!fs.existsSync(p), `create made the cgroup ${p}`);
    // Another command that reaps what killed CLIs left must not take it.
    c.ok(['ps']);
    assert.equal(c.status('made'), 'Created');
    // The name is taken by it.
    const taken = expectCode(c.dk(['create', '--name', 'made', 'busybox', 'true']), 125);
    assert.match(taken.stderr, /Conflict\. The container name "\/made" is already in use[^\n]*\nSee 'dockling create --help'\.\n$/, 'a creation error, as docker create says it');
    const started = expectCode(c.dk(['start', '-a', 'made']), 3);
    assert.equal(started.stdout, 'made-ran\n');
    assert.match(c.status('made')!, /^Exited \(3\) /);
    assert.deepEqual(mountsInside(c.root()), []);

    // `container create`, then `start` in the background; rm of a created one.
    const other = expectCode(c.dk(['container', 'create', '--name', 'never', 'busybox', 'true']), 0).stdout.trim();
    assert.match(other, ID);
    assert.equal(c.ok(['rm', 'never']), 'never\n');
    assert.ok(!containerDirs(c.root()).includes(other), 'rm left the created container\'s directory');
    assert.equal(c.status('never'), undefined);
    const bg = c.ok(['create', '--name', 'bg', 'busybox', 'sh', '-c', 'echo bg-ran; sleep 60']).trim();
    c.track(bg);
    assert.equal(c.ok(['start', 'bg']), 'bg\n');
    await c.untilLogs('bg', /bg-ran/);
    assert.match(c.status('bg')!, /^Up /);
    // start -a without -i sends no stdin: no terminal needed, even for -it; -i needs one.
    c.track(c.ok(['create', '-it', '--name', 'tt', 'busybox', 'echo', 'tt-ran']).trim());
    assert.match(expectCode(c.dk(['start', '-a', 'tt']), 0).stdout, /tt-ran/);
    assert.match(expectCode(c.dk(['start', '-a', '-i', 'tt']), 1).stderr, /the input device is not a TTY/);
    // A bad flag makes nothing.
    const before = containerDirs(c.root()).length;
    expectCode(c.dk(['create', '--restart', 'bogus', 'busybox', 'true']), 125);
    expectCode(c.dk(['create', '-d', 'busybox', 'true']), 125);
    assert.equal(containerDirs(c.root()).length, before);
  } finally {
    await c.cleanup();
  }
});

test('create -it, then start -a -i under a terminal: what is typed reaches the shell', { skip: skip || (SCRIPT ? false : 'needs util-linux script(1) for a real terminal') }, async () => {
  try {
    // No terminal needed to create: it only attaches at start.
    const id = c.ok(['create', '-it', '--name', 'sh1', 'busybox', 'sh']).trim();
    c.track(id);
    assert.equal(c.inspect('sh1', '{{.Config.Tty}} {{.Config.OpenStdin}}'), 'true true');
    const t = terminal(docklingLine(c.root(), ['start', '-a', '-i', 'sh1']));
    try {
      const end = Date.now() + 15_000;
      while (!/^cr-21$/m.test(t.output()) && t.child.exitCode === null && Date.now() < end) {
        t.type('echo cr-$((3*7))\n');
        await sleep(400);
      }
      assert.match(t.output(), /^cr-21$/m, t.output());
      t.type('exit 2\n');
      assert.equal(await t.finish(10_000), 2, t.output());
    } finally {
      await t.finish(0);
    }
  } finally {
    await c.cleanup();
  }
});
