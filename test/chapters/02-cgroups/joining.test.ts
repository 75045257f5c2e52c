// Chapter 2, section 4: "Joining before the command runs".
//
// Every cgroup write is a trace event, and the trace shows their order: the
// limits first, then the init's PID into cgroup.procs of each directory,
// then the command; and each directory made is removed.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { TraceRecord } from '../../../runtime/trace/events.ts';
import { CONTROLLERS, V2, chapter2 } from './helpers.ts';

const { labTest } = chapter2('ch2-join');

labTest('every cgroup write is a trace event: the limits first, then the init joins, before the command runs', (lab) => {
  const r = lab.run(['run', '--rm', '-m', '64m', '--cpus', '0.5', '--pids-limit', '20', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  const writes = r.trace.map((e, i) => ({ e, i })).filter(({ e }) => e.op === 'write' && e.chapter === 2) as { e: Extract<TraceRecord, { op: 'write' }>; i: number }[];
  const dirs = r.trace.filter((e) => e.op === 'mkdir' && e.chapter === 2 && /\/dockling-[0-9a-f]{64}$/.test(e.path)).map((e) => (e as { path: string }).path);
  assert.ok(dirs.length >= CONTROLLERS.length, `the container's cgroup directories are not in the trace: ${dirs}`);
  const find = (file: string) => writes.find(({ e }) => path.basename(e.path) === file && dirs.includes(path.dirname(e.path)));
  const expect = V2
    ? [['memory.max', '67108864'], ['cpu.max', '50000 100000'], ['pids.max', '20']]
    : [['memory.limit_in_bytes', '67108864'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '50000'], ['pids.max', '20']];
  for (const [file, value] of expect) {
    const w = find(file);
    assert.ok(w, `no traced write to ${file}`);
    assert.equal(w.e.value, value, file);
    assert.equal(w.e.side, 'host');
  }
  // the init joins: its PID into cgroup.procs of each directory, after every limit
  const joins = writes.filter(({ e }) => path.basename(e.path) === 'cgroup.procs');
  assert.deepEqual(new Set(joins.map(({ e }) => path.dirname(e.path))), new Set(dirs), 'cgroup.procs of each cgroup directory');
  assert.equal(new Set(joins.map(({ e }) => e.value)).size, 1, 'one PID joins');
  assert.match(joins[0].e.value, /^[1-9]\d*$/);
  const firstJoin = Math.min(...joins.map(({ i }) => i));
  for (const [file] of expect) assert.ok(find(file)!.i < firstJoin, `${file} was written after the init joined`);
  const exec = r.trace.findIndex((e) => e.op === 'exec');
  assert.ok(exec > Math.max(...joins.map(({ i }) => i)), 'the command ran before the init was in its cgroup');
  // and each directory made is removed
  const rmdirs = r.trace.filter((e) => e.op === 'rmdir').map((e) => (e as { path: string }).path);
  for (const d of dirs) assert.ok(rmdirs.includes(d), `no rmdir of ${d}`);
  return lab.assertNoLeaks();
});
