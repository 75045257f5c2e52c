// Chapter 2, section 3: "Where the container's cgroup goes".
//
// dockling-<id> under the cgroup of the process that ran dockling, with the
// container's processes in it; --cgroup-parent relative (under the caller's
// cgroup) and absolute (at each hierarchy's root), pre-existing (used and
// left in place), shared by two containers (removed with the last of them)
// and refused when it leads out of /sys/fs/cgroup with "..".
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { until } from '../../helpers/dockling.ts';
import { CG, CONTROLLERS, SELF, V2, cgroupDir, chapter2, cmdline, everywhere, hostDir, namespacePids, procCgroup, rand, untilTerm } from './helpers.ts';

const { labTest } = chapter2('ch2-where');

labTest('the container\'s cgroup is dockling-<id>, under the cgroup of the process that ran dockling, and its processes are in it', async (lab) => {
  // No limit flags: every container gets a cgroup of its own (top and stats read it).
  const bg = lab.start(['run', '--rm', 'busybox', 'sh', '-c', untilTerm('sleep 1003 &')]);
  const cfg = await lab.running(bg);
  const leaf = `dockling-${cfg.ID}`;
  const dirs: string[] = [];
  for (const c of CONTROLLERS) {
    const own = SELF.get(c) ?? '/';
    const want = hostDir(c, path.join(own, leaf));
    assert.equal(cgroupDir(cfg, c), want, `${c || 'unified'}: the cgroup must be under the caller's ${own}`);
    assert.ok(fs.statSync(want).isDirectory(), want);
    dirs.push(want);
  }
  await until(() => namespacePids(cfg).length === 2, 10_000, 'the sleep');
  // PID 1 and its child, as the host sees them, are in the container's cgroup
  for (const pid of namespacePids(cfg)) {
    const cg = procCgroup(pid);
    for (const c of CONTROLLERS) assert.equal(cg.get(c), path.join(SELF.get(c) ?? '/', leaf), `${cmdline(pid)}: ${c || 'unified'}`);
  }
  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} remains`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent: a relative parent nests under the caller\'s cgroup, an absolute one at the root; the parents dockling made are removed', async (lab) => {
  const rel = `ch2-parent-${rand()}`;
  const abs = `/ch2-parent-${rand()}`;
  lab.cgroupTrees.push(...everywhere(rel), ...everywhere(abs));

  const bg = lab.start(['run', '--rm', '--cgroup-parent', `${rel}/sub`, 'busybox', 'sh', '-c', untilTerm('sleep 1004 &')]);
  const cfg = await lab.running(bg);
  const leaf = `dockling-${cfg.ID}`;
  for (const c of CONTROLLERS) {
    const want = path.join(SELF.get(c) ?? '/', rel, 'sub', leaf);
    assert.equal(cgroupDir(cfg, c), hostDir(c, want));
    assert.equal(procCgroup(cfg.State.Pid).get(c), want, `PID 1's ${c || 'unified'} cgroup`);
  }
  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  for (const d of everywhere(rel)) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);

  // absolute: from the hierarchy's root; the limit holds there too
  const memFile = V2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const a = lab.run(['run', '--rm', '--cgroup-parent', abs, '-m', '64m', 'busybox', 'cat', memFile]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout.trim(), '67108864');
  const made = a.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2).map((e) => (e as { path: string }).path);
  const id = [...lab.ids].find((i) => i !== cfg.ID)!;
  for (const c of CONTROLLERS) assert.ok(made.includes(hostDir(c, path.join(abs, `dockling-${id}`))), `${c || 'unified'}: not made under ${abs}:\n${made.join('\n')}`);
  for (const d of everywhere(abs)) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent that already exists is used and left in place', async (lab) => {
  const mine = `ch2-own-${rand()}`;
  const c0 = CONTROLLERS.includes('memory') ? 'memory' : CONTROLLERS[0];
  const ownDir = hostDir(c0, path.join(SELF.get(c0) ?? '/', mine));
  lab.cgroupTrees.push(...everywhere(mine));
  fs.mkdirSync(ownDir);
  const r = lab.run(['run', '--rm', '--cgroup-parent', mine, '-m', '64m', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  const made = r.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2).map((e) => (e as { path: string }).path);
  assert.ok(made.some((p) => p.startsWith(ownDir + '/dockling-')), `no cgroup made in ${ownDir}`);
  assert.ok(fs.existsSync(ownDir), 'a parent dockling did not make was removed');
  for (const d of everywhere(mine)) if (d !== ownDir) assert.equal(fs.existsSync(d), false, `the parent dockling made remains: ${d}`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent shared by two containers is removed when the last of them ends', async (lab) => {
  const shared = `ch2-shared-${rand()}`;
  const dirs = everywhere(shared);
  lab.cgroupTrees.push(...dirs);
  const a = lab.start(['run', '--rm', '--cgroup-parent', shared, 'busybox', 'sh', '-c', untilTerm('sleep 1005 &')]);
  const ca = await lab.running(a);
  const b = lab.start(['run', '--rm', '--cgroup-parent', shared, 'busybox', 'sh', '-c', untilTerm('sleep 1006 &')]);
  const cb = await lab.running(b);
  assert.equal(path.dirname(cgroupDir(ca, CONTROLLERS[0])), path.dirname(cgroupDir(cb, CONTROLLERS[0])));
  assert.equal((await lab.stop(a)).code, 0);
  assert.ok(fs.existsSync(cgroupDir(cb, CONTROLLERS[0])), 'B\'s cgroup went with A');
  assert.equal((await lab.stop(b)).code, 0);
  for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d}, made by dockling for the first container, remains after both ended`);
  await lab.assertNoLeaks();
});

labTest('--cgroup-parent cannot lead out of /sys/fs/cgroup with ".."', (lab) => {
  const outside = `/tmp/ch2-escape-${rand()}-outside-the-cgroup-tree`;
  lab.tmpDirs.push(outside);
  const r = lab.run(['run', '--rm', '--cgroup-parent', `/../../../..${outside}`, '-m', '64m', 'busybox', 'true']);
  assert.doesNotMatch(r.stderr, /unknown flag/);
  assert.equal(fs.existsSync(outside), false, `dockling made ${outside}: a "cgroup" outside the cgroup tree, where no limit holds`);
  const cgEvents = r.trace.filter((e) => e.chapter === 2 && (e.op === 'mkdir' || e.op === 'write'));
  for (const e of cgEvents) assert.ok((e as { path: string }).path.startsWith(CG + '/'), `${e.op} outside ${CG}: ${(e as { path: string }).path}`);
  // Refused before anything is made, with a message naming the flag.
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /cgroup-parent/, 'the refusal must name --cgroup-parent');
  assert.deepEqual(cgEvents, [], 'refused, yet cgroups were made');
  return lab.assertNoLeaks();
});
