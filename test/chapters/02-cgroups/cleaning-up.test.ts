// Chapter 2, section 9: "Cleaning up", and its "When a write fails".
//
// A CLI killed with SIGKILL runs no cleanup: the next run reaps the cgroup
// and state it left. A limit the kernel refuses at the limit stage ends the
// run with exit 125, promptly, and leaves nothing behind.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { until } from '../../helpers/dockling.ts';
import { CONTROLLERS, NCPU, V1_MOUNTS, V2, cgroupDir, chapter2, rand, read, untilTerm } from './helpers.ts';

const { root, labTest } = chapter2('ch2-cleanup');

labTest('a CLI killed with SIGKILL leaves its cgroup and state behind, and the next run reaps them', async (lab) => {
  const a = lab.start(['run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', untilTerm('sleep 1007 &')]);
  const ca = await lab.running(a);
  const dir = cgroupDir(ca, CONTROLLERS[0]);
  a.child.kill('SIGKILL'); // no cleanup stage runs: the CLI is gone at once
  await a.done;
  // nsexec's PR_SET_PDEATHSIG takes the container down with its CLI...
  await until(() => { try { process.kill(ca.State.Pid, 0); return fs.readFileSync(`/proc/${ca.State.Pid}/stat`, 'utf8').includes(') Z'); } catch { return true; } }, 10_000, 'the container to die with its CLI');
  // ...but its cgroup and state directory are still there,
  assert.ok(fs.existsSync(dir), 'the cgroup was removed although no cleanup ran');
  assert.ok(fs.existsSync(path.join(root(), 'containers', ca.ID)));
  // until the next dockling run reaps them.
  const r = lab.run(['run', '--rm', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(dir), false, 'the abandoned cgroup was not reaped');
  assert.equal(fs.existsSync(path.join(root(), 'containers', ca.ID)), false, 'the abandoned state directory was not reaped');
  assert.ok(r.trace.some((e) => e.op === 'remove' && e.chapter === 0 && (e as { path: string }).path.endsWith(ca.ID)), 'the reaping is traced');
  await lab.assertNoLeaks();
});

// #region limit-stage-failure
// A cgroup write the kernel refuses although every flag is valid: a
// --cgroup-parent (made by the test) limited to CPU 0, and --cpuset-cpus 1,
// which a child of it may not have (EACCES on v1). The limit stage fails:
// exit 125 with the kernel's refusal, promptly (spawnSync's timeout would
// turn a hang into 137), and the init, its namespaces, the cgroups and the
// container's directory are gone.
labTest('a limit the kernel refuses at the limit stage: exit 125 with the failed write named, no hang, nothing left', (lab, t) => {
  // v2 takes any cpuset.cpus in a child (it only narrows the effective set): nothing to refuse there.
  if (V2 || NCPU < 2) return t.skip('needs cgroup v1 and two CPUs');
  const parent = `/ch2-cpu0-${rand()}`;
  const dir = path.join(V1_MOUNTS.get('cpuset')!, parent);
  lab.cgroupTrees.push(dir);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'cpuset.cpus'), '0');
  fs.writeFileSync(path.join(dir, 'cpuset.mems'), read(path.join(V1_MOUNTS.get('cpuset')!, 'cpuset.mems')).split(/[-,]/)[0]);
  const r = lab.run(['run', '--rm', '--cgroup-parent', parent, '--cpuset-cpus', '1', 'busybox', 'echo', 'the command ran']);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /cgroup: cannot write "1" to \S+\/cpuset\.cpus: E[A-Z]+/);
  assert.doesNotMatch(r.stdout, /the command ran/);
  assert.ok(fs.existsSync(dir), 'the --cgroup-parent that existed before must stay');
  return lab.assertNoLeaks();
});
// #endregion limit-stage-failure
