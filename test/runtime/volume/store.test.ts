// The volume store: names and options refused as Docker refuses them,
// records written atomically, one volume from many concurrent creates, a
// half-made volume completed, removal refused while a container's config
// names the volume, and prune keeping named volumes unless told `all`.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { RunError } from '../../../runtime/core/pipeline.js';
import { parseFilters } from '../../../runtime/core/filters.js';
import { volumeData, volumeDir, volumesDir } from '../../../runtime/volume/model.js';
import {
  ANONYMOUS_LABEL, createVolume, getVolume, listVolumes, NoSuchVolumeError, pruneVolumes, removeVolume, validVolumeName,
  volumeMountSource, volumeNameProblem, volumeSize, volumeUsers, withVolumesLock,
} from '../../../runtime/volume/store.js';
import { useTempDir } from '../../helpers/temp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = useTempDir('volstore-test-');
let n = 0;
const freshRoot = () => {
  const d = path.join(dir(), `root${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** A container config with a volume among its MountPoints, as the layer writes it. */
function containerUsing(root: string, id: string, volume: string, running = false) {
  const d = path.join(root, 'containers', id);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'config.v2.json'), JSON.stringify({
    ID: id, Name: '/c', State: { Status: running ? 'running' : 'exited', Running: running, Pid: 0 },
    MountPoints: { '/data': { Type: 'volume', Name: volume, Source: '', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' } },
  }));
}

/** What a RunError-throwing call says, and its exit code. */
function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RunError, `not a RunError: ${(e as Error).stack}`);
    return { code: e.code, message: e.message };
  }
  assert.fail('not refused');
}

const mode = (p: string) => fs.statSync(p).mode & 0o7777;

describe('volume names', () => {
  test('Docker\'s rule and its messages', () => {
    for (const ok of ['ab', 'notes', 'my-vol_1.2', '0x', 'A.B']) assert.equal(validVolumeName(ok), ok);
    assert.deepEqual(refusal(() => validVolumeName('a')), {
      code: 1, message: 'Error response from daemon: create a: volume name is too short, names should be at least two alphanumeric characters',
    });
    assert.deepEqual(refusal(() => validVolumeName('hello world')), {
      code: 1,
      message: 'Error response from daemon: create hello world: "hello world" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    });
    for (const bad of ['', '.x', '-x', '_x', '../etc', 'a/b', './data', 'x:y', 'é1']) assert.notEqual(volumeNameProblem(bad), null, bad);
  });

  test('a name that is not a volume name is never looked up as a path', () => {
    const root = freshRoot();
    fs.mkdirSync(path.join(root, 'outside'));
    fs.writeFileSync(path.join(root, 'outside', 'volume.json'), JSON.stringify({ Name: 'outside' }));
    assert.throws(() => getVolume(root, '../outside'), NoSuchVolumeError);
    assert.throws(() => removeVolume(root, '../outside'), NoSuchVolumeError);
    assert.ok(fs.existsSync(path.join(root, 'outside', 'volume.json')));
  });

  test('property: any valid name goes create → get → rm; any invalid one is refused with the message', () => {
    const root = freshRoot();
    const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
    const rest = fc.constantFrom(...'abcXYZ019_.-');
    const valid = fc.tuple(alnum, fc.array(rest, { minLength: 1, maxLength: 40 })).map(([a, r]) => a + r.join(''));
    fc.assert(
      fc.property(valid, (name) => {
        const { record, created } = createVolume(root, { name });
        assert.equal(created, true);
        assert.deepEqual(getVolume(root, name), record);
        assert.ok(fs.statSync(volumeData(root, name)).isDirectory());
        removeVolume(root, name);
        assert.throws(() => getVolume(root, name), NoSuchVolumeError);
        assert.equal(fs.existsSync(volumeDir(root, name)), false);
      }),
      { numRuns: 60 },
    );
    const invalid = fc.string({ maxLength: 20 }).filter((s) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(s));
    fc.assert(
      fc.property(invalid, (name) => {
        const r = refusal(() => createVolume(root, { name }));
        assert.equal(r.code, 1);
        assert.ok(r.message.startsWith(`Error response from daemon: create ${name}: `));
        assert.match(r.message, /volume name is too short|includes invalid characters for a local volume name/);
      }),
      { numRuns: 200 },
    );
    assert.deepEqual(fs.readdirSync(volumesDir(root)), [], 'nothing made, nothing left');
  });
});

describe('createVolume', () => {
  test('a named volume: its record, Docker\'s modes, written atomically (no temporary file left)', () => {
    const root = freshRoot();
    const { record, created } = createVolume(root, { name: 'notes' });
    assert.equal(created, true);
    assert.equal(record.Name, 'notes');
    assert.equal(record.Driver, 'local');
    assert.equal(record.Scope, 'local');
    assert.equal(record.Labels, null, 'Docker 23+ prints null for no labels');
    assert.equal(record.Options, null);
    assert.equal(record.Anonymous, undefined);
    assert.match(record.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.equal(mode(volumesDir(root)), 0o701);
    assert.equal(mode(volumeDir(root, 'notes')), 0o701);
    assert.equal(mode(volumeData(root, 'notes')), 0o755);
    assert.deepEqual(fs.readdirSync(volumeDir(root, 'notes')).sort(), ['_data', 'volume.json']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(volumeDir(root, 'notes'), 'volume.json'), 'utf8')), record);
    assert.deepEqual(fs.readdirSync(volumesDir(root)), ['notes'], 'the lock is released');
  });

  test('an existing name is that volume, unchanged (Docker does not compare labels or options)', () => {
    const root = freshRoot();
    const first = createVolume(root, { name: 'notes', labels: { tier: 'db' } });
    fs.writeFileSync(path.join(volumeData(root, 'notes'), 'f'), 'kept');
    const again = createVolume(root, { name: 'notes', labels: { tier: 'web' }, options: { bogus: 'x' } });
    assert.equal(again.created, false);
    assert.deepEqual(again.record, first.record);
    assert.equal(fs.readFileSync(path.join(volumeData(root, 'notes'), 'f'), 'utf8'), 'kept');
  });

  test('no name: an anonymous volume, 64 hex, labelled as Docker labels it', () => {
    const root = freshRoot();
    const a = createVolume(root, {}).record;
    const b = createVolume(root, { labels: { x: 'y' } }).record;
    assert.match(a.Name, /^[0-9a-f]{64}$/);
    assert.notEqual(a.Name, b.Name);
    assert.deepEqual(a.Labels, { [ANONYMOUS_LABEL]: '' });
    assert.deepEqual(b.Labels, { x: 'y', [ANONYMOUS_LABEL]: '' });
    assert.equal(a.Anonymous, true);
    assert.deepEqual(listVolumes(root).map((v) => v.Name).sort(), [a.Name, b.Name].sort());
  });

  test('the local driver\'s options: tmpfs and a bind accepted, written as Docker\'s opts.json', () => {
    const root = freshRoot();
    const t = createVolume(root, { name: 'scratch', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=16m,uid=1000' } }).record;
    assert.deepEqual(t.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=16m,uid=1000' });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(volumeDir(root, 'scratch'), 'opts.json'), 'utf8')), {
      MountType: 'tmpfs', MountOpts: 'size=16m,uid=1000', MountDevice: 'tmpfs', Quota: { Size: 0 },
    });
    assert.deepEqual(volumeMountSource(root, t), { source: 'tmpfs', type: 'tmpfs', options: ['size=16m', 'uid=1000'] });

    const host = path.join(root, 'hostdir');
    fs.mkdirSync(host);
    const b = createVolume(root, { name: 'shared', options: { type: 'none', device: host, o: 'bind' } }).record;
    assert.deepEqual(volumeMountSource(root, b), { source: host, type: 'bind', options: ['bind'] });
    const plain = createVolume(root, { name: 'plain' }).record;
    assert.deepEqual(volumeMountSource(root, plain), { source: volumeData(root, 'plain'), type: 'bind', options: ['rbind'] });

    // The device directory gone since: refused at mount, with Docker's words.
    fs.rmdirSync(host);
    const r = refusal(() => volumeMountSource(root, b));
    assert.equal(r.message, `Error response from daemon: error while mounting volume '${volumeData(root, 'shared')}': failed to mount local volume: mount ${host}:${volumeData(root, 'shared')}, flags: 0x1000: no such file or directory`);
  });

  test('bad options are refused with Docker\'s messages, and leave nothing behind', () => {
    const root = freshRoot();
    const file = path.join(root, 'afile');
    fs.writeFileSync(file, '');
    const cases: [Record<string, string>, string | RegExp][] = [
      [{ x: '1' }, 'create v1: invalid option: "x"'],
      [{ device: 'tmpfs' }, 'create v1: missing required option: "type"'],
      [{ type: 'tmpfs' }, 'create v1: missing required option: "device"'],
      [{ o: 'size=1m', type: 'tmpfs' }, 'create v1: missing required option: "device"'],
      [{ size: '10m' }, 'create v1: quota size requested but no quota support'],
      [{ size: 'lots' }, "create v1: invalid size: 'lots'"],
      [{ type: 'none', device: '/no/such/dir/here', o: 'bind' }, 'create v1: the bind device /no/such/dir/here does not exist: make the directory first'],
      [{ type: 'none', device: 'relative/dir', o: 'bind' }, 'create v1: the bind device "relative/dir" must be an absolute path on the host'],
      [{ type: 'none', device: file, o: 'bind' }, /is not a directory/],
      [{ type: 'nfs', device: ':/export', o: 'addr=10.0.0.1' }, /mounts a tmpfs .* or a bind .*not type=nfs/],
    ];
    for (const [options, want] of cases) {
      const r = refusal(() => createVolume(root, { name: 'v1', options }));
      assert.equal(r.code, 1);
      if (typeof want === 'string') assert.equal(r.message, `Error response from daemon: ${want}`, JSON.stringify(options));
      else assert.match(r.message, want);
    }
    assert.deepEqual(fs.readdirSync(volumesDir(root)), []);
  });

  test('a half-made volume (a killed create: no volume.json) is not listed, and the next create replaces it', () => {
    const root = freshRoot();
    fs.mkdirSync(volumeData(root, 'half'), { recursive: true });
    fs.writeFileSync(path.join(volumeData(root, 'half'), 'junk'), 'x');
    assert.deepEqual(listVolumes(root), []);
    assert.throws(() => getVolume(root, 'half'), NoSuchVolumeError);
    const { created } = createVolume(root, { name: 'half' });
    assert.equal(created, true);
    assert.deepEqual(fs.readdirSync(volumeData(root, 'half')), [], 'a new volume starts empty');
    assert.equal(getVolume(root, 'half').Name, 'half');
    assert.deepEqual(fs.readdirSync(volumesDir(root)), ['half'], 'its old directory was removed');
  });

  test('concurrent creates of one name from several processes: one volume, no error', async () => {
    const root = freshRoot();
    const go = path.join(root, 'go');
    const child = path.join(root, 'child.mjs');
    fs.writeFileSync(
      child,
      `import fs from 'node:fs';
const { createVolume } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'runtime/volume/store.ts')).href)});
const [root, go] = process.argv.slice(2);
const nap = new Int32Array(new SharedArrayBuffer(4));
process.stdout.write('ready\\n');
while (!fs.existsSync(go)) Atomics.wait(nap, 0, 0, 1);
const { record, created } = createVolume(root, { name: 'shared', labels: { pid: String(process.pid) } });
process.stdout.write(JSON.stringify({ created, record }) + '\\n');
`,
    );
    const kids = [0, 1, 2, 3].map(() => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, root, go], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout!.on('data', (c) => (out += c));
      const done = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
      return { p, out: () => out, done };
    });
    try {
      const end = Date.now() + 30_000;
      while (!kids.every((k) => k.out().includes('ready'))) {
        assert.ok(Date.now() < end, 'the children did not start');
        await new Promise((r) => setTimeout(r, 10));
      }
      fs.writeFileSync(go, '');
      assert.deepEqual(await Promise.all(kids.map((k) => k.done)), [0, 0, 0, 0]);
    } finally {
      for (const k of kids) if (k.p.exitCode === null) k.p.kill('SIGKILL');
    }
    const results = kids.map((k) => JSON.parse(k.out().split('\n')[1]) as { created: boolean; record: { Labels: Record<string, string> } });
    assert.equal(results.filter((r) => r.created).length, 1, 'exactly one process made it');
    const made = results.find((r) => r.created)!.record;
    for (const r of results) assert.deepEqual(r.record, made, 'every process got that one volume');
    assert.deepEqual(listVolumes(root).map((v) => v.Name), ['shared']);
    assert.deepEqual(getVolume(root, 'shared').Labels, made.Labels);
    assert.deepEqual(fs.readdirSync(volumesDir(root)), ['shared']);
  });

  test('withVolumesLock can be held around createVolume (the layer makes and records a mount in one step)', () => {
    const root = freshRoot();
    const r = withVolumesLock(root, () => createVolume(root, { name: 'inner' }).created);
    assert.equal(r, true);
    assert.deepEqual(fs.readdirSync(volumesDir(root)), ['inner']);
  });
});

describe('removeVolume', () => {
  const ID1 = 'a'.repeat(64);
  const ID2 = 'b'.repeat(64);

  test('refused while a container (running or not) names it, -f or not; Docker\'s message lists them', () => {
    const root = freshRoot();
    createVolume(root, { name: 'notes' });
    containerUsing(root, ID1, 'notes');
    containerUsing(root, ID2, 'notes', true);
    containerUsing(root, 'c'.repeat(64), 'other');
    assert.deepEqual(volumeUsers(root, 'notes').map((c) => c.ID).sort(), [ID1, ID2]);
    for (const force of [false, true]) {
      const r = refusal(() => removeVolume(root, 'notes', { force }));
      assert.equal(r.code, 1);
      assert.match(r.message, /^Error response from daemon: remove notes: volume is in use - \[([ab]{64}), ([ab]{64})\]$/);
      assert.ok(r.message.includes(ID1) && r.message.includes(ID2));
    }
    assert.equal(getVolume(root, 'notes').Name, 'notes');
    fs.rmSync(path.join(root, 'containers', ID1), { recursive: true });
    fs.rmSync(path.join(root, 'containers', ID2), { recursive: true });
    fs.writeFileSync(path.join(volumeData(root, 'notes'), 'f'), 'x');
    removeVolume(root, 'notes');
    assert.throws(() => getVolume(root, 'notes'), NoSuchVolumeError);
    assert.deepEqual(fs.readdirSync(volumesDir(root)), [], 'no directory and no trash left');
  });

  test('a missing volume: Docker\'s "no such volume"; with -f no error', () => {
    const root = freshRoot();
    const r = refusal(() => removeVolume(root, 'ghost'));
    assert.deepEqual(r, { code: 1, message: 'Error response from daemon: get ghost: no such volume' });
    removeVolume(root, 'ghost', { force: true });
  });

  test('trash a killed removal left is deleted by the next change', () => {
    const root = freshRoot();
    createVolume(root, { name: 'keep' });
    const stale = path.join(volumesDir(root), '.trash-4194305.1-abcdef');
    fs.mkdirSync(path.join(stale, '_data'), { recursive: true });
    assert.deepEqual(listVolumes(root).map((v) => v.Name), ['keep'], 'trash is never listed');
    createVolume(root, { name: 'other' });
    assert.equal(fs.existsSync(stale), false);
    assert.deepEqual(fs.readdirSync(volumesDir(root)).sort(), ['keep', 'other']);
  });
});

describe('pruneVolumes', () => {
  const all = (v: string) => parseFilters([`all=${v}`], 'volume prune');

  test('only unused anonymous volumes, unless all=true; never a used one, never one with driver options', () => {
    const root = freshRoot();
    const host = path.join(root, 'host');
    fs.mkdirSync(host);
    const anonUnused = createVolume(root, {}).record.Name;
    const anonUsed = createVolume(root, {}).record.Name;
    createVolume(root, { name: 'named' });
    createVolume(root, { name: 'usednamed' });
    createVolume(root, { name: 'bound', options: { type: 'none', device: host, o: 'bind' } });
    containerUsing(root, 'a'.repeat(64), anonUsed);
    containerUsing(root, 'b'.repeat(64), 'usednamed');
    fs.writeFileSync(path.join(volumeData(root, anonUnused), 'f'), 'x'.repeat(1000));
    fs.mkdirSync(path.join(volumeData(root, anonUnused), 'd'));
    fs.linkSync(path.join(volumeData(root, anonUnused), 'f'), path.join(volumeData(root, anonUnused), 'd', 'hard'));
    fs.symlinkSync('/etc', path.join(volumeData(root, anonUnused), 'etc'));
    assert.equal(volumeSize(root, anonUnused), 1000 + '/etc'.length, 'a hard link once; a symlink is its own size, never followed');

    assert.deepEqual(pruneVolumes(root, new Map()), { names: [anonUnused], bytes: 1004 });
    assert.deepEqual(pruneVolumes(root, all('false')), { names: [], bytes: 0 });
    assert.deepEqual(pruneVolumes(root, all('1')), { names: ['named'], bytes: 0 });
    assert.deepEqual(listVolumes(root).map((v) => v.Name).sort(), [anonUsed, 'bound', 'usednamed'].sort());
    assert.ok(fs.existsSync(host), 'the bound host directory is untouched');
  });

  test('label and label! filters, as Docker matches them', () => {
    const root = freshRoot();
    const a = createVolume(root, { labels: { tier: 'db', keep: 'yes' } }).record.Name;
    const b = createVolume(root, { labels: { tier: 'db' } }).record.Name;
    const c = createVolume(root, { labels: { tier: 'web' } }).record.Name;
    const f = (...v: string[]) => parseFilters(v, 'volume prune');
    assert.deepEqual(pruneVolumes(root, f('label=tier=db', 'label!=keep')).names, [b]);
    assert.deepEqual(pruneVolumes(root, f('label=tier=web')).names, [c]);
    assert.deepEqual(pruneVolumes(root, f('label!=keep=yes')).names, []);
    assert.deepEqual(listVolumes(root).map((v) => v.Name), [a]);
  });

  test('bad filters: Docker\'s messages', () => {
    const root = freshRoot();
    assert.equal(refusal(() => pruneVolumes(root, parseFilters(['until=24h'], 'volume prune'))).message, "Error response from daemon: invalid filter 'until'");
    assert.equal(refusal(() => pruneVolumes(root, all('maybe'))).message, `Error response from daemon: invalid filter 'all': strconv.ParseBool: parsing "maybe": invalid syntax`);
    assert.equal(refusal(() => pruneVolumes(root, parseFilters(['all=1', 'all=0'], 'volume prune'))).message, "Error response from daemon: invalid filter 'all=[1 0]': only one value is expected");
  });
});
