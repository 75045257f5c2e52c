// The cgroup v2 driver against a fake cgroup2 tree: a temporary directory
// laid out like /sys/fs/cgroup on a unified host, with plain files standing
// in for the kernel's (cgroup.controllers, cgroup.subtree_control, …). The
// checks: the right files get the right values, controllers are enabled
// top-down from the root to the container's parent, stats are parsed from
// v2's files, and every write is a trace event.
//
// What a fake tree cannot show: the kernel refusing a write (EBUSY from the
// "no internal processes" rule, EINVAL for a bad value), or rmdir removing a
// directory that still holds the kernel's files. Where that matters the test
// says so.
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { V2Driver, V2_CONTROLLERS } from '../../../runtime/cgroups/v2.ts';
import type { ContainerCgroup } from '../../../runtime/cgroups/driver.ts';
import { FakeCgroupTree } from '../../helpers/fake-cgroups.ts';

const MiB = 1024 * 1024;
const ALL = 'cpuset cpu io memory pids';
const SELF = '0::/user.slice/session-1.scope\n';
const NAME = 'dockling-0123abcd';

/** A fake unified /sys/fs/cgroup, the caller in user.slice/session-1.scope. */
class FakeV2 extends FakeCgroupTree {
  /** v2 has one tree: its root is the mount */
  readonly root = this.cg;

  constructor(levels: Record<string, { controllers?: string; subtree?: string }> = { '': {}, 'user.slice': {}, 'user.slice/session-1.scope': {} }) {
    super('v2');
    for (const [rel, { controllers = ALL, subtree = '' }] of Object.entries(levels)) {
      const d = path.join(this.root, rel);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'cgroup.controllers'), controllers + '\n');
      fs.writeFileSync(path.join(d, 'cgroup.subtree_control'), subtree ? subtree + '\n' : '');
      fs.writeFileSync(path.join(d, 'cgroup.procs'), '');
    }
  }

  driver(self = SELF): V2Driver {
    return new V2Driver(this.root, self, this.parents());
  }

  at(...rel: string[]): string {
    return path.join(this.root, ...rel);
  }

  read(file: string): string {
    return fs.readFileSync(file, 'utf8');
  }
}

let fake: FakeV2 | undefined;
const make = (levels?: ConstructorParameters<typeof FakeV2>[0]) => {
  fake?.dispose();
  fake = new FakeV2(levels);
  return fake;
};
after(() => fake?.dispose());

/** A made container cgroup, as the kernel would show it: with its interface files. */
function withKernelFiles(dir: string, files: string[]): void {
  for (const f of files) fs.writeFileSync(path.join(dir, f), f.endsWith('.max') ? 'max\n' : '');
}

describe('V2Driver.create: enabling controllers top-down', () => {
  beforeEach(() => make());

  test('writes "+cpuset +cpu +io +memory +pids" into cgroup.subtree_control from the root down to the parent, then makes the container\'s directory', () => {
    const f = fake!;
    const cg = f.driver().create(NAME, undefined);
    assert.deepEqual(cg.paths, { unified: f.at('user.slice/session-1.scope', NAME) });
    assert.ok(fs.statSync(cg.paths.unified).isDirectory());
    const steps = f.records.filter((r) => r.op === 'write' || r.op === 'mkdir').map((r) => [r.op, (r as { path: string }).path, (r as { value?: string }).value]);
    assert.deepEqual(steps, [
      ['write', f.at('cgroup.subtree_control'), '+cpuset +cpu +io +memory +pids'],
      ['write', f.at('user.slice/cgroup.subtree_control'), '+cpuset +cpu +io +memory +pids'],
      ['write', f.at('user.slice/session-1.scope/cgroup.subtree_control'), '+cpuset +cpu +io +memory +pids'],
      ['mkdir', f.at('user.slice/session-1.scope', NAME), undefined],
    ]);
    assert.deepEqual(V2_CONTROLLERS, ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  });

  test('only the controllers not yet enabled, and only those the level has', () => {
    const f = make({
      '': { subtree: 'cpu memory pids' },
      'user.slice': { controllers: 'cpu memory pids', subtree: 'memory' },
      'user.slice/session-1.scope': { controllers: 'cpu memory pids' },
    });
    f.driver().create(NAME, undefined);
    assert.deepEqual(
      f.writes().map((w) => [path.relative(f.root, w.path), w.value]),
      [
        ['cgroup.subtree_control', '+cpuset +io'],
        ['user.slice/cgroup.subtree_control', '+cpu +pids'],
        ['user.slice/session-1.scope/cgroup.subtree_control', '+cpu +memory +pids'],
      ],
    );
  });

  test('nothing is written where everything is enabled already', () => {
    const f = make({ '': { subtree: ALL }, 'user.slice': { subtree: ALL }, 'user.slice/session-1.scope': { subtree: ALL } });
    f.driver().create(NAME, undefined);
    assert.deepEqual(f.writes(), []);
  });

  test('a caller at the root: only the root level', () => {
    const f = make({ '': {} });
    const cg = f.driver('0::/\n').create(NAME, undefined);
    assert.equal(cg.paths.unified, f.at(NAME));
    assert.deepEqual(f.writes().map((w) => w.path), [f.at('cgroup.subtree_control')]);
  });

  test('--cgroup-parent: absolute from the root, relative under the caller; the parents are made', () => {
    const f = fake!;
    const abs = f.driver().create(NAME, '/dockling/lab');
    assert.equal(abs.paths.unified, f.at('dockling/lab', NAME));
    const rel = f.driver().create('dockling-other', 'lab');
    assert.equal(rel.paths.unified, f.at('user.slice/session-1.scope/lab', 'dockling-other'));
    assert.ok(fs.statSync(f.at('dockling/lab')).isDirectory());
    // the root is enabled before the new parents (they list what it hands down)
    assert.equal(f.writes()[0].path, f.at('cgroup.subtree_control'));
  });
});

describe('V2 apply: the v2 files and values', () => {
  let cg: ContainerCgroup;
  beforeEach(() => {
    make();
    cg = fake!.driver().create(NAME, undefined);
    withKernelFiles(cg.paths.unified, ['memory.max', 'memory.swap.max', 'memory.low', 'cpu.max', 'cpu.weight', 'cpuset.cpus', 'pids.max', 'cgroup.procs']);
  });
  const file = (f: string) => fake!.read(path.join(cg.paths.unified, f));

  test('every limit in its file', () => {
    const before = fake!.files();
    fake!.records.length = 0;
    cg.apply({ memory: 64 * MiB, memorySwap: 128 * MiB, memoryReservation: 32 * MiB, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 1024, cpusetCpus: '0-1', pidsLimit: 20 });
    assert.equal(file('memory.max'), String(64 * MiB));
    assert.equal(file('memory.swap.max'), String(64 * MiB), 'v2 limits swap alone: memory-swap − memory');
    assert.equal(file('memory.low'), String(32 * MiB));
    assert.equal(file('cpu.max'), '50000 100000');
    assert.equal(file('cpu.weight'), '39');
    assert.equal(file('cpuset.cpus'), '0-1');
    assert.equal(file('pids.max'), '20');
    // each file that changed was written through a traced write of that value
    const writes = fake!.writes();
    for (const [f, content] of fake!.files()) {
      if (before.get(f) === content) continue;
      assert.equal(writes.filter((w) => w.path === f).at(-1)?.value, content, `${f} changed without a trace event`);
    }
  });

  test('--memory-swap -1 is "max"; equal to -m is "0"', () => {
    cg.apply({ memory: 64 * MiB, memorySwap: -1 });
    assert.equal(file('memory.swap.max'), 'max');
    cg.apply({ memory: 64 * MiB, memorySwap: 64 * MiB });
    assert.equal(file('memory.swap.max'), '0');
  });

  test('property: memory.swap.max = memory-swap − memory', () => {
    fc.assert(
      fc.property(fc.integer({ min: 6 * MiB, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 40 }), (m, swap) => {
        cg.apply({ memory: m, memorySwap: m + swap });
        assert.equal(file('memory.max'), String(m));
        assert.equal(file('memory.swap.max'), String(swap));
      }),
      { numRuns: 50 },
    );
  });

  test('without swap accounting (no memory.swap.max) swap is not written', () => {
    fs.rmSync(path.join(cg.paths.unified, 'memory.swap.max'));
    cg.apply({ memory: 64 * MiB, memorySwap: 128 * MiB });
    assert.equal(fs.existsSync(path.join(cg.paths.unified, 'memory.swap.max')), false);
  });

  test('cpu.max: quota alone gets the default period; period alone keeps "max"', () => {
    cg.apply({ cpuQuota: 25_000 });
    assert.equal(file('cpu.max'), '25000 100000');
    cg.apply({ cpuPeriod: 50_000 });
    assert.equal(file('cpu.max'), 'max 50000');
  });

  test('cpu.max: --cpu-quota -1 (no limit) is written as "max", the only "no limit" the kernel accepts', () => {
    // v1 takes -1 in cpu.cfs_quota_us; v2's cpu.max parses the quota as an
    // unsigned number or "max" and refuses "-1" (EINVAL). runc writes "max".
    cg.apply({ cpuQuota: -1 });
    assert.equal(file('cpu.max'), 'max 100000');
  });

  test('cpu.weight: every --cpu-shares the CLI accepts gives a weight the kernel accepts, [1, 10000]', () => {
    // v1 clamps cpu.shares to [2, 262144] itself; Docker clamps above 262144.
    // v2 refuses a cpu.weight outside [1, 10000] (EINVAL).
    for (const shares of [1, 2, 512, 1024, 262144, 262145, 1_000_000]) {
      cg.apply({ cpuShares: shares });
      const w = Number(file('cpu.weight'));
      assert.ok(w >= 1 && w <= 10000, `--cpu-shares ${shares} → cpu.weight ${w}`);
    }
  });

  test('--pids-limit 0 or -1 is "max"', () => {
    cg.apply({ pidsLimit: -1 });
    assert.equal(file('pids.max'), 'max');
    cg.apply({ pidsLimit: 0 });
    assert.equal(file('pids.max'), 'max');
  });

  test('no limits, no writes', () => {
    fake!.records.length = 0;
    cg.apply({});
    assert.deepEqual(fake!.writes(), []);
  });
});

describe('V2 join, pids, stats, open', () => {
  beforeEach(() => make());

  test('join writes the PID into the container\'s cgroup.procs, traced', () => {
    const f = fake!;
    const cg = f.driver().create(NAME, undefined);
    f.records.length = 0;
    cg.join(4242);
    assert.deepEqual(f.writes(), [{ path: path.join(cg.paths.unified, 'cgroup.procs'), value: '4242' }]);
  });

  test('pids() reads cgroup.procs, also through open()', () => {
    const f = fake!;
    const cg = f.driver().create(NAME, undefined);
    fs.writeFileSync(path.join(cg.paths.unified, 'cgroup.procs'), '7\n8\n9\n');
    assert.deepEqual(cg.pids(), [7, 8, 9]);
    assert.deepEqual(f.driver().open(cg.paths).pids(), [7, 8, 9]);
  });

  test('stats: cpu.stat usage_usec, memory.current − inactive_file, memory.events oom_kill, io.stat', () => {
    const f = fake!;
    const cg = f.driver().create(NAME, undefined);
    const put = (name: string, v: string) => fs.writeFileSync(path.join(cg.paths.unified, name), v);
    put('cpu.stat', 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\n');
    put('memory.current', String(10 * MiB) + '\n');
    put('memory.stat', `anon ${6 * MiB}\nfile ${4 * MiB}\nactive_file ${2 * MiB}\ninactive_file ${2 * MiB}\n`);
    put('memory.max', String(64 * MiB) + '\n');
    put('memory.events', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n');
    put('pids.current', '3\n');
    put('pids.max', '20\n');
    put('io.stat', '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=200 rios=1 wios=1 dbytes=0 dios=0\n');
    assert.deepEqual(f.driver().open(cg.paths).stats(), {
      cpuNs: 1_500_000,
      memoryUsage: 8 * MiB,
      memoryLimit: 64 * MiB,
      pids: 3,
      pidsLimit: 20,
      oomKills: 1,
      blkioRead: 4196,
      blkioWrite: 8392,
    });
  });

  test('stats: "max" is no limit; missing files read as zero', () => {
    const f = fake!;
    const cg = f.driver().create(NAME, undefined);
    fs.writeFileSync(path.join(cg.paths.unified, 'memory.max'), 'max\n');
    fs.writeFileSync(path.join(cg.paths.unified, 'pids.max'), 'max\n');
    assert.deepEqual(cg.stats(), { cpuNs: 0, memoryUsage: 0, memoryLimit: null, pids: 0, pidsLimit: null, oomKills: 0, blkioRead: 0, blkioWrite: 0 });
  });

  test('mounts: cgroup2, read-only, at /sys/fs/cgroup', () => {
    assert.deepEqual(fake!.driver().mounts(), [{ destination: '/sys/fs/cgroup', type: 'cgroup2', source: 'cgroup2', options: ['ro', 'nosuid', 'noexec', 'nodev'] }]);
  });
});

describe('V2 destroy', () => {
  beforeEach(() => make());

  test('a directory that still holds files cannot be removed by rmdir: the error names it', () => {
    // The kernel's cgroup directories go with their interface files; plain
    // files do not. This is the fake's limit, and the error must still say which.
    const cg = fake!.driver().create(NAME, undefined);
    cg.apply({ memory: 64 * MiB });
    assert.throws(() => cg.destroy(), new RegExp(`cgroup: cannot remove ${cg.paths.unified.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOTEMPTY`));
  });

  test('removes the container\'s directory and the parents it made, keeps the caller\'s and pre-existing ones', () => {
    const f = fake!;
    fs.mkdirSync(f.at('dockling'));
    const cg = f.driver().create(NAME, '/dockling/lab/class1');
    f.records.length = 0;
    cg.destroy();
    assert.equal(fs.existsSync(cg.paths.unified), false);
    assert.equal(fs.existsSync(f.at('dockling/lab')), false, 'parents made for the container remain');
    assert.ok(fs.existsSync(f.at('dockling')), 'a parent that was there before must stay');
    assert.ok(fs.existsSync(f.at('user.slice/session-1.scope')));
    const rmdirs = f.records.filter((r) => r.op === 'rmdir').map((r) => (r as { path: string }).path);
    assert.deepEqual(rmdirs, [cg.paths.unified, f.at('dockling/lab/class1'), f.at('dockling/lab')]);
  });

  test('a parent made for a container is kept while another container uses it, and removed after the last one', () => {
    const f = fake!;
    const a = f.driver().create('dockling-a', '/dockling-lab');
    const b = f.driver().create('dockling-b', '/dockling-lab');
    a.destroy();
    assert.ok(fs.existsSync(b.paths.unified), 'B\'s cgroup was removed with A\'s');
    b.destroy();
    assert.equal(fs.existsSync(f.at('dockling-lab')), false, '/dockling-lab, made by dockling for A, remains after both containers ended');
  });
});

describe('V2 default parent: the "no internal processes" rule', () => {
  beforeEach(() => make());
  const LEAF = 'user.slice/session-1.scope/dockling-caller';

  test('a caller whose cgroup holds processes: they are moved into <own>/dockling-caller, one PID a write, before the scope enables controllers; the container goes under the caller\'s cgroup', () => {
    const f = fake!;
    fs.writeFileSync(f.at('user.slice/session-1.scope', 'cgroup.procs'), '1234\n5678\n');
    const cg = f.driver().create(NAME, undefined);
    assert.equal(cg.paths.unified, f.at('user.slice/session-1.scope', NAME));
    const steps = f.records.filter((r) => r.op === 'write' || r.op === 'mkdir').map((r) => [r.op, path.relative(f.root, (r as { path: string }).path), (r as { value?: string }).value]);
    assert.deepEqual(steps, [
      ['mkdir', LEAF, undefined],
      ['write', `${LEAF}/cgroup.procs`, '1234'],
      ['write', `${LEAF}/cgroup.procs`, '5678'],
      ['write', 'cgroup.subtree_control', '+cpuset +cpu +io +memory +pids'],
      ['write', 'user.slice/cgroup.subtree_control', '+cpuset +cpu +io +memory +pids'],
      ['write', 'user.slice/session-1.scope/cgroup.subtree_control', '+cpuset +cpu +io +memory +pids'],
      ['mkdir', `user.slice/session-1.scope/${NAME}`, undefined],
    ]);
    // nothing is written above the caller's cgroup but subtree_control, and nothing beside it
    assert.ok(!f.writes().some((w) => w.path.startsWith(f.at('user.slice/dockling'))));
  });

  test('a caller already in <own>/dockling-caller (moved by an earlier run): its own cgroup is the leaf\'s parent, and nothing is moved again', () => {
    const f = fake!;
    fs.mkdirSync(f.at(LEAF));
    fs.writeFileSync(f.at(LEAF, 'cgroup.procs'), '1234\n');
    const cg = f.driver('0::/user.slice/session-1.scope/dockling-caller\n').create(NAME, undefined);
    assert.equal(cg.paths.unified, f.at('user.slice/session-1.scope', NAME));
    assert.ok(!f.writes().some((w) => w.path.endsWith('/cgroup.procs')), 'processes were moved again');
  });

  test('a relative --cgroup-parent nests under the caller\'s cgroup, which is vacated the same way', () => {
    const f = fake!;
    fs.writeFileSync(f.at('user.slice/session-1.scope', 'cgroup.procs'), '1234\n');
    assert.equal(f.driver().create(NAME, 'lab').paths.unified, f.at('user.slice/session-1.scope/lab', NAME));
    assert.deepEqual(f.writes()[0], { path: f.at(LEAF, 'cgroup.procs'), value: '1234' });
  });

  test('an absolute --cgroup-parent elsewhere leaves the caller\'s processes where they are', () => {
    const f = fake!;
    fs.writeFileSync(f.at('user.slice/session-1.scope', 'cgroup.procs'), '1234\n');
    assert.equal(f.driver().create(NAME, '/dockling').paths.unified, f.at('dockling', NAME));
    assert.equal(fs.existsSync(f.at(LEAF)), false);
    assert.ok(!f.writes().some((w) => w.path.endsWith('/cgroup.procs')));
  });

  test('a caller at "/" of a cgroup namespace (the root there has cgroup.type: not the real root) is vacated like any cgroup', () => {
    const f = make({ '': {} });
    fs.writeFileSync(f.at('cgroup.type'), 'domain\n');
    fs.writeFileSync(f.at('cgroup.procs'), '1\n');
    assert.equal(f.driver('0::/\n').create(NAME, undefined).paths.unified, f.at(NAME));
    assert.deepEqual(f.writes()[0], { path: f.at('dockling-caller', 'cgroup.procs'), value: '1' });
  });

  test('a caller in the root cgroup: the root is exempt from the rule, nothing is moved', () => {
    const f = make({ '': {} });
    fs.writeFileSync(f.at('cgroup.procs'), '1\n1234\n');
    assert.equal(f.driver('0::/\n').create(NAME, undefined).paths.unified, f.at(NAME));
    assert.equal(fs.existsSync(f.at('dockling-caller')), false);
  });
});
