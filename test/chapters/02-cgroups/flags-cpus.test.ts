// Chapter 2, section 6: "The flags, in Docker's units", its **CPUs.** paragraph.
//
// --cpus 0.5 becomes a CFS quota of 50000 µs per 100000 µs period, and a busy
// loop under it gets about half a CPU (the cgroup's usage counter, and
// `stats`, say so).
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import { until } from '../../helpers/dockling.ts';
import { V2, cgFile, chapter2, cpuUsageNs, read, sleep } from './helpers.ts';

const { labTest } = chapter2('ch2-cpus');

labTest('a busy loop under --cpus 0.5 gets between 0.35 and 0.65 of a CPU (from the cgroup\'s usage counter)', async (lab) => {
  const bg = lab.start(['run', '--rm', '--cpus', '0.5', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do :; done']);
  const cfg = await lab.running(bg);
  if (V2) assert.equal(read(cgFile(cfg, 'cpu', '', 'cpu.max')), '50000 100000');
  else {
    assert.equal(read(cgFile(cfg, 'cpu', 'cpu.cfs_quota_us', '')), '50000');
    assert.equal(read(cgFile(cfg, 'cpu', 'cpu.cfs_period_us', '')), '100000');
  }
  await until(() => cpuUsageNs(cfg) > 0, 10_000, 'the loop to use CPU');
  await sleep(300);
  const u0 = cpuUsageNs(cfg);
  const t0 = process.hrtime.bigint();
  await sleep(3000);
  const u1 = cpuUsageNs(cfg);
  const t1 = process.hrtime.bigint();
  const share = (u1 - u0) / Number(t1 - t0);
  assert.ok(share >= 0.35 && share <= 0.65, `the loop got ${share.toFixed(3)} of a CPU`);

  // stats shows the same: about 50% (of one CPU), from two readings of the counter.
  const s = lab.run(['stats', '--no-stream', cfg.ID.slice(0, 12)]);
  assert.equal(s.code, 0, s.stderr);
  const row = s.stdout.trim().split('\n')[1]?.split(/\s{2,}/) ?? [];
  const pct = parseFloat(row[2]);
  assert.ok(pct >= 25 && pct <= 75, `stats says CPU ${row[2]} for a loop held to half a CPU`);

  const r = await lab.stop(bg);
  assert.equal(r.code, 0, r.stderr);
  await lab.assertNoLeaks();
});
