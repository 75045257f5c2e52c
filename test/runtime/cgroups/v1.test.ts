// cgroup v1: which hierarchies a host has (mountinfo), which mode it is in
// (v1, hybrid, v2), where the caller is (/proc/self/cgroup), and the v1
// driver itself against a fake tree of directories laid out like
// /sys/fs/cgroup (plain files stand in for the kernel's). The v1 driver also
// runs for real in test/chapters/02-cgroups.
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { V1Driver, v1Hierarchies } from '../../../runtime/cgroups/v1.ts';
import { cgroupMode, cgroupModeReason } from '../../../runtime/cgroups/detect.ts';
import { makeCgroupDirs, parseProcCgroup, readKeyed, removeCgroupDir, writeCgroupFile } from '../../../runtime/cgroups/driver.ts';
import { FakeCgroupTree } from '../../helpers/fake-cgroups.ts';
import { useTempDir } from '../../helpers/temp.ts';

const MiB = 1024 * 1024;

// --- mountinfo samples ---

// This project's CI machine: v1 controllers, one per mount, plus an empty
// cgroup2 at /sys/fs/cgroup/unified.
const HYBRID_FLAT = `22 1 253:0 / / rw,relatime - ext4 /dev/vda rw
10:30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
11:31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
12:32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
13:33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
14:34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
15:35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
16:36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
17:37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
18:38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
19:39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
20:40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// A systemd host of the v1 era (Debian 10, Ubuntu 18.04): co-mounted
// cpu,cpuacct and net_cls,net_prio, optional fields ("shared:N") before " - ".
const SYSTEMD_V1 = `21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
25 21 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
33 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
34 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,cpuset
35 25 0:32 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,blkio
36 25 0:33 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,devices
37 25 0:34 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup rw,freezer
`;

// The same host with systemd's hybrid layout (Ubuntu 20.04, Debian 11 with
// systemd.unified_cgroup_hierarchy=0).
const SYSTEMD_HYBRID = SYSTEMD_V1 + `26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n`;

// Unified (Debian 12, Ubuntu 22.04, the Vagrant VM).
const UNIFIED = `21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

const NONE = `21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
22 21 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
`;

describe('v1Hierarchies (from /proc/self/mountinfo)', () => {
  test('every v1 hierarchy, one per controller, devices, freezer and name=systemd included; the cgroup2 mount is not one', () => {
    assert.deepEqual(v1Hierarchies(HYBRID_FLAT), [
      { mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu'] },
      { mountPoint: '/sys/fs/cgroup/cpuacct', controllers: ['cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/cpuset', controllers: ['cpuset'] },
      { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices'] },
      { mountPoint: '/sys/fs/cgroup/freezer', controllers: ['freezer'] },
      { mountPoint: '/sys/fs/cgroup/blkio', controllers: ['blkio'] },
      { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
      { mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] },
    ]);
  });

  test('options that are not controllers (xattr, clone_children, release_agent=…) are skipped; a hierarchy mounted twice counts once', () => {
    const extra = NONE + '40 21 0:50 / /run/fz rw,relatime - cgroup cgroup rw,clone_children,release_agent=/x,freezer\n'
      + '41 21 0:50 / /mnt/fz2 rw,relatime - cgroup cgroup rw,freezer\n';
    assert.deepEqual(v1Hierarchies(extra), [{ mountPoint: '/run/fz', controllers: ['freezer'] }]);
  });

  test('co-mounted cpu,cpuacct is one hierarchy with two controllers; optional fields are skipped', () => {
    assert.deepEqual(v1Hierarchies(SYSTEMD_V1), [
      { mountPoint: '/sys/fs/cgroup/systemd', controllers: ['name=systemd'] },
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/net_cls,net_prio', controllers: ['net_cls', 'net_prio'] },
      { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'] },
      { mountPoint: '/sys/fs/cgroup/cpuset', controllers: ['cpuset'] },
      { mountPoint: '/sys/fs/cgroup/blkio', controllers: ['blkio'] },
      { mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices'] },
      { mountPoint: '/sys/fs/cgroup/freezer', controllers: ['freezer'] },
    ]);
  });

  test('no v1 hierarchy on a unified host, nor on one without cgroups', () => {
    assert.deepEqual(v1Hierarchies(UNIFIED), []);
    assert.deepEqual(v1Hierarchies(NONE), []);
    assert.deepEqual(v1Hierarchies(''), []);
  });
});

describe('cgroupMode', () => {
  test('v1, hybrid, v2 and none', () => {
    assert.equal(cgroupMode(SYSTEMD_V1), 'v1');
    assert.equal(cgroupMode(SYSTEMD_HYBRID), 'hybrid');
    assert.equal(cgroupMode(HYBRID_FLAT), 'hybrid');
    assert.equal(cgroupMode(UNIFIED), 'v2');
    assert.equal(cgroupMode(NONE), 'none');
  });

  test('a named hierarchy alone (name=systemd) is no v1 host: nothing to limit with', () => {
    assert.equal(cgroupMode(NONE + '40 21 0:50 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n'), 'none');
  });

  test('a cgroup2 mount elsewhere does not make a host unified', () => {
    const elsewhere = NONE + '40 21 0:50 / /run/cg2 rw,relatime - cgroup2 cgroup2 rw\n';
    assert.equal(cgroupMode(elsewhere), 'none');
    assert.equal(cgroupMode(SYSTEMD_V1 + '40 21 0:50 / /run/cg2 rw,relatime - cgroup2 cgroup2 rw\n'), 'hybrid');
  });
});

describe('cgroupModeReason: the line `dockling info` gives for the mode', () => {
  test('says what is mounted where, and which version follows', () => {
    assert.equal(cgroupModeReason(SYSTEMD_HYBRID), 'hybrid: v1 hierarchies mounted at /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified: using v1, as Docker does');
    assert.equal(cgroupModeReason(UNIFIED), 'unified: cgroup2 mounted at /sys/fs/cgroup, no v1 hierarchies: using v2');
    assert.match(cgroupModeReason(SYSTEMD_V1), /^legacy: v1 hierarchies mounted at \/sys\/fs\/cgroup, no cgroup2: using v1$/);
    assert.match(cgroupModeReason(NONE), /^none: /);
  });
});

describe('parseProcCgroup', () => {
  test('controllers → path, v2 under ""', () => {
    const m = parseProcCgroup('12:pids:/user.slice\n8:cpu,cpuacct:/\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n');
    assert.equal(m.get('pids'), '/user.slice');
    assert.equal(m.get('cpu,cpuacct'), '/');
    assert.equal(m.get('name=systemd'), '/user.slice/session-1.scope');
    assert.equal(m.get(''), '/user.slice/session-1.scope');
    assert.equal(m.size, 4);
  });

  test('a path with ":" in it is kept whole', () => {
    assert.equal(parseProcCgroup('4:memory:/a:b/c').get('memory'), '/a:b/c');
  });
});

describe('driver helpers', () => {
  const dir = useTempDir('dockling-unit-v1h-');

  test('readKeyed reads "key value" lines', () => {
    fs.writeFileSync(path.join(dir(), 'memory.stat'), 'cache 10\nrss 20\ntotal_inactive_file 30\n\n');
    const m = readKeyed(path.join(dir(), 'memory.stat'));
    assert.deepEqual([...m], [['cache', 10], ['rss', 20], ['total_inactive_file', 30]]);
    assert.equal(readKeyed(path.join(dir(), 'missing')).size, 0);
  });

  test('writeCgroupFile names the value, the file and the errno when the kernel refuses', () => {
    assert.throws(() => writeCgroupFile(path.join(dir(), 'no/such/dir/memory.max'), '42'), /cgroup: cannot write "42" to .*no\/such\/dir\/memory\.max: ENOENT/);
  });

  test('makeCgroupDirs makes only what is missing, top-down, and says what it made', () => {
    fs.mkdirSync(path.join(dir(), 'h/a'), { recursive: true });
    const made = makeCgroupDirs(path.join(dir(), 'h/a/b/c'), path.join(dir(), 'h'));
    assert.deepEqual(made, [path.join(dir(), 'h/a/b'), path.join(dir(), 'h/a/b/c')]);
    assert.deepEqual(makeCgroupDirs(path.join(dir(), 'h/a/b/c'), path.join(dir(), 'h')), []);
  });

  test('removeCgroupDir: gone already is fine; a real error is reported', () => {
    removeCgroupDir(path.join(dir(), 'never-made'));
    fs.mkdirSync(path.join(dir(), 'full'));
    fs.writeFileSync(path.join(dir(), 'full/x'), '');
    assert.throws(() => removeCgroupDir(path.join(dir(), 'full')), /cgroup: cannot remove .*full: ENOTEMPTY/);
  });
});

// --- the v1 driver against a fake tree ---

/** A fake /sys/fs/cgroup with v1 hierarchies, the caller deep in some of them. */
class FakeV1 extends FakeCgroupTree {
  static HIERARCHIES = ['cpu,cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'devices', 'systemd'];
  static SELF = [
    '12:pids:/user.slice/user-0.slice/session-1.scope',
    '11:memory:/user.slice/user-0.slice/session-1.scope',
    '10:cpuset:/',
    '9:blkio:/user.slice',
    '8:cpu,cpuacct:/user.slice',
    '7:devices:/user.slice',
    '1:name=systemd:/user.slice/user-0.slice/session-1.scope',
    '0::/user.slice/user-0.slice/session-1.scope',
  ].join('\n');

  constructor() {
    super('v1');
    for (const h of FakeV1.HIERARCHIES) fs.mkdirSync(path.join(this.cg, h), { recursive: true });
    // the caller's own cgroups exist, as they do on a real host
    for (const [h, p] of parseProcCgroup(FakeV1.SELF)) {
      const dir = h === 'name=systemd' ? 'systemd' : h;
      if (FakeV1.HIERARCHIES.includes(dir)) fs.mkdirSync(path.join(this.cg, dir, p), { recursive: true });
    }
    // the hybrid host's controller-less cgroup2 tree, the caller deep in it too
    fs.mkdirSync(path.join(this.cg, 'unified', parseProcCgroup(FakeV1.SELF).get('')!), { recursive: true });
    fs.writeFileSync(path.join(this.cg, 'cpuset/cpuset.cpus'), '0-3\n');
    fs.writeFileSync(path.join(this.cg, 'cpuset/cpuset.mems'), '0\n');
  }

  get mountinfo(): string {
    const opts: Record<string, string> = { systemd: 'rw,xattr,name=systemd' };
    return (
      `25 21 0:22 / ${this.cg} ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n` +
      FakeV1.HIERARCHIES.map((h, i) => `${30 + i} 25 0:${27 + i} / ${path.join(this.cg, h)} rw,nosuid,nodev,noexec,relatime shared:${14 + i} - cgroup cgroup ${opts[h] ?? 'rw,' + h}`).join('\n') +
      `\n26 25 0:23 / ${path.join(this.cg, 'unified')} rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n`
    );
  }

  driver(): V1Driver {
    return new V1Driver(this.mountinfo, FakeV1.SELF, this.parents());
  }

  h(hierarchy: string, ...rest: string[]): string {
    return path.join(this.cg, hierarchy, ...rest);
  }

  /** Remove the plain files the kernel would have removed with the directory. */
  emptyDirs(dirs: string[]): void {
    for (const d of dirs) for (const f of fs.existsSync(d) ? fs.readdirSync(d) : []) if (fs.statSync(path.join(d, f)).isFile()) fs.rmSync(path.join(d, f));
  }
}

/** Each file changed under the tree must have been written through a traced write, with that value. */
function assertEveryWriteTraced(before: Map<string, string>, after: Map<string, string>, writes: { path: string; value: string }[]): void {
  for (const [file, content] of after) {
    if (before.get(file) === content) continue;
    const last = writes.filter((w) => w.path === file).at(-1);
    assert.ok(last, `${file} was written without a trace event`);
    assert.equal(last.value, content, `the last traced write to ${file} is not what the file holds`);
  }
}

describe('V1Driver against a fake /sys/fs/cgroup', () => {
  let fake: FakeV1;
  beforeEach(() => {
    fake?.dispose();
    fake = new FakeV1();
  });
  after(() => fake?.dispose());

  const NAME = 'dockling-0123abcd';

  test('create: the container\'s cgroup goes under the caller\'s cgroup in EVERY hierarchy (devices, name=systemd too), co-mounted ones share a directory', () => {
    const cg = fake.driver().create(NAME, undefined);
    assert.deepEqual(cg.paths, {
      cpu: fake.h('cpu,cpuacct', 'user.slice', NAME),
      cpuacct: fake.h('cpu,cpuacct', 'user.slice', NAME),
      cpuset: fake.h('cpuset', NAME),
      memory: fake.h('memory', 'user.slice/user-0.slice/session-1.scope', NAME),
      pids: fake.h('pids', 'user.slice/user-0.slice/session-1.scope', NAME),
      blkio: fake.h('blkio', 'user.slice', NAME),
      devices: fake.h('devices', 'user.slice', NAME),
      'name=systemd': fake.h('systemd', 'user.slice/user-0.slice/session-1.scope', NAME),
      unified: fake.h('unified', 'user.slice/user-0.slice/session-1.scope', NAME),
    });
    for (const d of Object.values(cg.paths)) assert.ok(fs.statSync(d).isDirectory(), d);
    // each directory made is a trace event
    const mkdirs = fake.records.filter((r) => r.op === 'mkdir').map((r) => (r as { path: string }).path);
    assert.deepEqual(new Set(mkdirs), new Set(Object.values(cg.paths)));
  });

  test('create with a relative --cgroup-parent nests under the caller, an absolute one under the hierarchy root', () => {
    const rel = fake.driver().create(NAME, 'lab/class1');
    assert.equal(rel.paths.memory, fake.h('memory', 'user.slice/user-0.slice/session-1.scope/lab/class1', NAME));
    assert.equal(rel.paths.cpuset, fake.h('cpuset', 'lab/class1', NAME));
    const abs = fake.driver().create('dockling-other', '/dockling/lab');
    assert.equal(abs.paths.memory, fake.h('memory', 'dockling/lab', 'dockling-other'));
    assert.equal(abs.paths.cpu, fake.h('cpu,cpuacct', 'dockling/lab', 'dockling-other'));
  });

  test('apply writes each limit to its v1 file; a new cpuset gets its parent\'s CPUs and memory nodes first', () => {
    const cg = fake.driver().create(NAME, undefined);
    // the kernel's memory.memsw.* files exist when swap is accounted
    fs.writeFileSync(path.join(cg.paths.memory, 'memory.memsw.limit_in_bytes'), '9223372036854771712\n');
    const before = fake.files();
    cg.apply({ memory: 64 * MiB, memorySwap: 128 * MiB, memoryReservation: 32 * MiB, cpuShares: 512, cpuPeriod: 100_000, cpuQuota: 50_000, cpusetCpus: '1', pidsLimit: 16 });
    const read = (d: string, f: string) => fs.readFileSync(path.join(d, f), 'utf8');
    assert.equal(read(cg.paths.memory, 'memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(read(cg.paths.memory, 'memory.memsw.limit_in_bytes'), String(128 * MiB));
    assert.equal(read(cg.paths.memory, 'memory.soft_limit_in_bytes'), String(32 * MiB));
    assert.equal(read(cg.paths.cpu, 'cpu.shares'), '512');
    assert.equal(read(cg.paths.cpu, 'cpu.cfs_period_us'), '100000');
    assert.equal(read(cg.paths.cpu, 'cpu.cfs_quota_us'), '50000');
    assert.equal(read(cg.paths.cpuset, 'cpuset.cpus'), '1');
    assert.equal(read(cg.paths.cpuset, 'cpuset.mems'), '0');
    assert.equal(read(cg.paths.pids, 'pids.max'), '16');
    // cpuset: first the parent's CPUs (a new v1 cpuset has none), then ours
    const cpusetWrites = fake.writes().filter((w) => w.path.startsWith(cg.paths.cpuset));
    assert.deepEqual(cpusetWrites.map((w) => [path.basename(w.path), w.value]), [['cpuset.cpus', '0-3'], ['cpuset.mems', '0'], ['cpuset.cpus', '1']]);
    assertEveryWriteTraced(before, fake.files(), fake.writes());
  });

  test('apply: without swap accounting memory.memsw.* is left alone; --pids-limit -1 is "max"; nothing asked, nothing written but the cpuset', () => {
    const cg = fake.driver().create(NAME, undefined);
    cg.apply({ memory: 64 * MiB, memorySwap: 128 * MiB, pidsLimit: -1 });
    assert.equal(fs.existsSync(path.join(cg.paths.memory, 'memory.memsw.limit_in_bytes')), false);
    assert.equal(fs.readFileSync(path.join(cg.paths.pids, 'pids.max'), 'utf8'), 'max');

    const other = fake.driver().create('dockling-plain', undefined);
    fake.records.length = 0;
    other.apply({});
    assert.deepEqual([...new Set(fake.writes().map((w) => path.basename(w.path)))].sort(), ['cpuset.cpus', 'cpuset.mems']);
  });

  test('apply leaves the devices cgroup\'s list alone: it inherits its parent\'s (chapter 11 writes Docker\'s list)', () => {
    const cg = fake.driver().create(NAME, undefined);
    fake.records.length = 0;
    cg.apply({ memory: 64 * MiB, pidsLimit: 10 });
    assert.deepEqual(fake.writes().filter((w) => w.path.startsWith(cg.paths.devices + '/')), []);
  });

  test('apply under a new --cgroup-parent copies the cpuset down every new level', () => {
    const cg = fake.driver().create(NAME, 'lab/class1');
    cg.apply({});
    for (const d of ['lab', 'lab/class1', `lab/class1/${NAME}`]) {
      assert.equal(fs.readFileSync(fake.h('cpuset', d, 'cpuset.cpus'), 'utf8'), '0-3', d);
      assert.equal(fs.readFileSync(fake.h('cpuset', d, 'cpuset.mems'), 'utf8'), '0', d);
    }
  });

  test('join writes the PID into cgroup.procs once per hierarchy directory (after the limits)', () => {
    const cg = fake.driver().create(NAME, undefined);
    cg.apply({ memory: 64 * MiB });
    const n = fake.writes().length;
    cg.join(4242);
    const joins = fake.writes().slice(n);
    const dirs = [...new Set(Object.values(cg.paths))];
    assert.equal(joins.length, dirs.length, 'cpu,cpuacct is one directory: one write');
    assert.deepEqual(new Set(joins.map((w) => path.dirname(w.path))), new Set(dirs));
    for (const w of joins) {
      assert.equal(path.basename(w.path), 'cgroup.procs');
      assert.equal(w.value, '4242');
    }
  });

  test('pids() reads cgroup.procs; open() finds the cgroup again from its paths', () => {
    const cg = fake.driver().create(NAME, undefined);
    fs.writeFileSync(path.join(cg.paths.pids, 'cgroup.procs'), '101\n102\n205\n');
    assert.deepEqual(cg.pids(), [101, 102, 205]);
    assert.deepEqual(fake.driver().open(cg.paths).pids(), [101, 102, 205]);
  });

  test('stats reads the v1 files', () => {
    const cg = fake.driver().create(NAME, undefined);
    const put = (c: string, f: string, v: string) => fs.writeFileSync(path.join(cg.paths[c], f), v);
    put('cpuacct', 'cpuacct.usage', '1234567890\n');
    put('memory', 'memory.usage_in_bytes', String(10 * MiB) + '\n');
    put('memory', 'memory.stat', `cache ${3 * MiB}\nrss ${5 * MiB}\ninactive_file 999\ntotal_cache ${3 * MiB}\ntotal_inactive_file ${2 * MiB}\n`);
    put('memory', 'memory.limit_in_bytes', String(64 * MiB) + '\n');
    put('memory', 'memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    put('pids', 'pids.current', '3\n');
    put('pids', 'pids.max', '16\n');
    put('blkio', 'blkio.throttle.io_service_bytes', '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\n8:16 Read 100\n8:16 Write 200\nTotal 12588\n');
    assert.deepEqual(cg.stats(), {
      cpuNs: 1234567890,
      memoryUsage: 8 * MiB,
      memoryLimit: 64 * MiB,
      pids: 3,
      pidsLimit: 16,
      oomKills: 2,
      blkioRead: 4196,
      blkioWrite: 8392,
    });
  });

  test('stats: the kernel\'s "no limit" values read as null', () => {
    const cg = fake.driver().create(NAME, undefined);
    fs.writeFileSync(path.join(cg.paths.memory, 'memory.limit_in_bytes'), '9223372036854771712\n');
    fs.writeFileSync(path.join(cg.paths.pids, 'pids.max'), 'max\n');
    const s = cg.stats();
    assert.equal(s.memoryLimit, null);
    assert.equal(s.pidsLimit, null);
    assert.equal(s.oomKills, 0);
  });

  test('destroy removes the container\'s directories and the parents it made, not the caller\'s', () => {
    const cg = fake.driver().create(NAME, 'lab/class1');
    cg.apply({ memory: 64 * MiB, pidsLimit: 16 });
    cg.join(4242);
    const dirs = [...new Set(Object.values(cg.paths))];
    // plain files cannot vanish with rmdir as the kernel's do
    assert.throws(() => cg.destroy(), /cgroup: cannot remove .*ENOTEMPTY/);
    fake.emptyDirs([...dirs, ...dirs.map((d) => path.dirname(d)), ...dirs.map((d) => path.dirname(path.dirname(d)))]);
    fake.records.length = 0;
    cg.destroy();
    for (const d of dirs) assert.equal(fs.existsSync(d), false, `${d} remains`);
    for (const caller of ['cpu,cpuacct/user.slice', 'cpuset', 'memory/user.slice/user-0.slice/session-1.scope', 'pids/user.slice/user-0.slice/session-1.scope', 'blkio/user.slice']) {
      assert.ok(fs.existsSync(path.join(fake.cg, caller)), `the caller's cgroup ${caller} must stay`);
    }
    assert.equal(fs.existsSync(fake.h('memory', 'user.slice/user-0.slice/session-1.scope/lab')), false, 'the parent dockling made remains');
    assert.equal(fs.existsSync(fake.h('cpuset', 'lab')), false, 'the parent dockling made remains');
    assert.ok(fs.existsSync(fake.h('memory', 'user.slice/user-0.slice/session-1.scope')));
    // each removal is a trace event: the container's directories, then the parents made for it
    const madeParents = dirs.flatMap((d) => [path.dirname(d), path.dirname(path.dirname(d))]);
    assert.deepEqual(new Set(fake.records.filter((r) => r.op === 'rmdir').map((r) => (r as { path: string }).path)), new Set([...dirs, ...madeParents]));
  });

  test('a parent made for a container is kept while another container uses it, and removed after the last one', () => {
    // A makes lab/, B joins it; A ends first, then B.
    const a = fake.driver().create('dockling-a', 'lab');
    const b = fake.driver().create('dockling-b', 'lab');
    a.destroy();
    assert.ok(fs.existsSync(fake.h('memory', 'user.slice/user-0.slice/session-1.scope/lab/dockling-b')), 'B\'s cgroup was removed with A\'s');
    b.destroy();
    for (const h of ['cpu,cpuacct/user.slice', 'cpuset', 'memory/user.slice/user-0.slice/session-1.scope', 'pids/user.slice/user-0.slice/session-1.scope', 'blkio/user.slice']) {
      assert.equal(fs.existsSync(path.join(fake.cg, h, 'lab')), false, `${h}/lab, made by dockling for A, remains after both containers ended`);
    }
  });

  test('mounts: a tmpfs at /sys/fs/cgroup and each hierarchy (the named one too) read-only under it', () => {
    const m = fake.driver().mounts();
    assert.deepEqual(m[0], { destination: '/sys/fs/cgroup', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'nodev', 'mode=755'] });
    assert.deepEqual(
      m.slice(1).map((x) => [x.destination, x.type, x.options.join(',')]),
      [
        ['/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'ro,nosuid,noexec,nodev,cpu,cpuacct'],
        ['/sys/fs/cgroup/cpuset', 'cgroup', 'ro,nosuid,noexec,nodev,cpuset'],
        ['/sys/fs/cgroup/memory', 'cgroup', 'ro,nosuid,noexec,nodev,memory'],
        ['/sys/fs/cgroup/pids', 'cgroup', 'ro,nosuid,noexec,nodev,pids'],
        ['/sys/fs/cgroup/blkio', 'cgroup', 'ro,nosuid,noexec,nodev,blkio'],
        ['/sys/fs/cgroup/devices', 'cgroup', 'ro,nosuid,noexec,nodev,devices'],
        ['/sys/fs/cgroup/systemd', 'cgroup', 'ro,nosuid,noexec,nodev,name=systemd'],
        ['/sys/fs/cgroup/unified', 'cgroup2', 'ro,nosuid,noexec,nodev'],
      ],
    );
  });
});
