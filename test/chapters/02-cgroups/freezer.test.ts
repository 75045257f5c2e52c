// Chapter 2: the freezer (runtime/cgroups/freezer.ts), which chapter 4's
// commit and chapter 5's pause use, tested here where it lives, so that the
// cgroup-v2 guest runs it too: v1 writes FROZEN to freezer.state, v2 writes
// 1 to cgroup.freeze and reads "frozen 1" from cgroup.events.
//
// A container burning CPU is frozen: its cgroup's CPU time stops growing
// and the kernel's own file says frozen; thawed, it grows again.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the container has no cgroup to
// freeze there).
import assert from 'node:assert/strict';
import { freeze, isFrozen, thaw } from '../../../runtime/cgroups/freezer.ts';
import { V2, cgFile, chapter2, cpuUsageNs, read, sleep, untilTerm } from './helpers.ts';
import { until } from '../../helpers/dockling.ts';

const { labTest } = chapter2('ch2-freezer');

labTest('freeze stops every process of the cgroup (its CPU time stands still, the kernel says frozen); thaw lets it run on', async (lab) => {
  const bg = lab.start(['run', '--rm', 'busybox', 'sh', '-c', untilTerm('while :; do :; done &')]);
  const cfg = await lab.running(bg);
  await sleep(200);
  assert.equal(isFrozen(cfg.CgroupPaths), false);
  await freeze(cfg.CgroupPaths);
  try {
    const state = V2 ? /^frozen (\d)$/m.exec(read(cgFile(cfg, '', '', 'cgroup.events')))?.[1] : read(cgFile(cfg, 'freezer', 'freezer.state', ''));
    assert.equal(state, V2 ? '1' : 'FROZEN');
    assert.equal(isFrozen(cfg.CgroupPaths), true);
    const before = cpuUsageNs(cfg);
    await sleep(400);
    assert.equal(cpuUsageNs(cfg), before, 'a frozen busy loop used CPU time');
  } finally {
    thaw(cfg.CgroupPaths);
  }
  assert.equal(isFrozen(cfg.CgroupPaths), false);
  const thawed = cpuUsageNs(cfg);
  // Polled, not timed: on a busy machine the loop gets its share later.
  await until(() => cpuUsageNs(cfg) - thawed > 50_000_000, 20_000, 'the busy loop to run again after thaw');
  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
});
