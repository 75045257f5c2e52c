// The overlay2 driver against the real kernel: layers made in a temp dir,
// stacked with real overlay mounts. The checks: Docker's on-disk layout
// (diff/, link, lower, work/, merged/, l/SHORT links), what the merged view
// shows (whiteouts and opaque dirs hide lower files, writes copy up into
// diff/ and leave the lower layer alone), the one-page limit on mount data
// (a 60-layer stack mounts through the short l/ names), changes() and the
// trace, and that remove leaves no mount and no directory behind.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Overlay2Driver } from '../../../runtime/storage/overlay2.ts';
import { lsetxattr, mknodChar, lgetxattr } from '../../../runtime/sys/libc.ts';
import { trace } from '../../../runtime/trace/trace.ts';
import type { TraceRecord } from '../../../runtime/trace/events.ts';
import { TarReader, TarWriter, type TarEntry } from '../../../runtime/storage/tar.ts';
import { mountsInside, useOverlayTemp } from './ovl-temp.ts';

const tmp = useOverlayTemp();
let n = 0;
/** a fresh driver home for one test */
const newHome = (extra = '') => path.join(tmp(), `t${++n}${extra}`, 'overlay2');
const id = () => crypto.randomBytes(32).toString('hex');

afterEach(() => {
  assert.deepEqual(mountsInside(tmp()), [], 'a test left a mount behind');
});

/** record the trace while fn runs */
function traced<T>(fn: () => T): { result: T; events: TraceRecord[] } {
  const events: TraceRecord[] = [];
  const detach = trace.attach((r) => events.push(r));
  try {
    return { result: fn(), events };
  } finally {
    detach();
  }
}

const write = (dir: string, rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
};
const whiteout = (dir: string, rel: string) => mknodChar(path.join(dir, rel), 0, 0, 0);
const opaque = (dir: string, rel: string) => lsetxattr(path.join(dir, rel), 'trusted.overlay.opaque', Buffer.from('y'));
const tree = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? r + '/' : r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
};

describe('overlay2: layout', () => {
  test("create makes Docker's directories, link files and l/ symlinks", () => {
    const d = new Overlay2Driver(newHome());
    const [a, b, c] = [id(), id(), id()];
    const { events } = traced(() => {
      d.create(a, null);
      d.create(b, a);
      d.createReadWrite(c, b);
    });
    const link = (x: string) => fs.readFileSync(path.join(d.home, x, 'link'), 'utf8');
    for (const x of [a, b, c]) {
      assert.match(link(x), /^[A-Z0-9]{26}$/);
      assert.equal(fs.readlinkSync(path.join(d.home, 'l', link(x))), `../${x}/diff`);
      assert.ok(fs.statSync(path.join(d.home, 'l', link(x))).isDirectory(), 'the l/ link leads to the diff dir');
    }
    // A base layer is its diff dir and its short name, nothing to mount.
    assert.deepEqual(fs.readdirSync(path.join(d.home, a)).sort(), ['diff', 'link']);
    assert.deepEqual(fs.readdirSync(path.join(d.home, c)).sort(), ['diff', 'link', 'lower', 'merged', 'work']);
    assert.equal(fs.readFileSync(path.join(d.home, b, 'lower'), 'utf8'), `l/${link(a)}`);
    assert.equal(fs.readFileSync(path.join(d.home, c, 'lower'), 'utf8'), `l/${link(b)}:l/${link(a)}`, 'topmost parent first');
    assert.equal(d.layerDir(c), path.join(d.home, c, 'diff'));
    assert.ok(d.exists(b) && !d.exists(id()));
    assert.equal(d.parentOf(c), b);
    assert.equal(d.parentOf(a), null);
    assert.ok(events.some((e) => e.op === 'symlink' && e.target === `../${a}/diff`));
    assert.ok(events.some((e) => e.op === 'write' && e.path === path.join(d.home, c, 'lower')));
    assert.ok(events.every((e) => e.chapter === 4));
    assert.throws(() => d.create(a, null), /already exists/);
    assert.throws(() => d.create(id(), id()), /does not exist/);
    assert.throws(() => d.create('../escape', null), /bad layer id/);
    for (const x of [c, b, a]) d.remove(x);
    assert.deepEqual(fs.readdirSync(d.home).sort(), ['l']);
    assert.deepEqual(fs.readdirSync(path.join(d.home, 'l')), []);
  });

  test('status mirrors docker info', () => {
    const d = new Overlay2Driver(newHome());
    const status = Object.fromEntries(d.status());
    assert.deepEqual(Object.keys(status), ['Backing Filesystem', 'Supports d_type', 'Using metacopy', 'Native Overlay Diff']);
    assert.match(status['Backing Filesystem'], /^(extfs|xfs|tmpfs|btrfs)$/);
    assert.equal(status['Using metacopy'], 'false');
  });
});

describe('overlay2: the merged view', () => {
  test('get of a base layer is its diff dir; of a stack, an overlay mount that put undoes', () => {
    const d = new Overlay2Driver(newHome());
    const [base, top] = [id(), id()];
    d.create(base, null);
    d.create(top, base);
    write(d.layerDir(base), 'etc/hostname', 'base\n');
    write(d.layerDir(top), 'etc/motd', 'top\n');
    assert.equal(d.get(base), d.layerDir(base));
    assert.equal(d.mounted(base), false);
    const { result: merged, events } = traced(() => d.get(top));
    try {
      assert.equal(merged, path.join(d.home, top, 'merged'));
      assert.ok(d.mounted(top));
      assert.deepEqual(tree(merged), ['etc/', 'etc/hostname', 'etc/motd']);
      assert.equal(d.get(top), merged, 'a second get finds it mounted');
      const mounts = events.filter((e) => e.op === 'mount');
      assert.equal(mounts.length, 1);
      const m = mounts[0] as Extract<TraceRecord, { op: 'mount' }>;
      assert.equal(m.fstype, 'overlay');
      assert.equal(m.target, merged);
      assert.equal(m.data, `lowerdir=${d.layerDir(base)},upperdir=${d.layerDir(top)},workdir=${path.join(d.home, top, 'work')},index=off,redirect_dir=off,metacopy=off`);
    } finally {
      const { events } = traced(() => d.put(top));
      assert.deepEqual(events.map((e) => e.op), ['umount']);
    }
    assert.equal(d.mounted(top), false);
    assert.deepEqual(tree(path.join(d.home, top, 'merged')), []);
    d.put(top); // nothing mounted: nothing to do
    d.remove(top);
    d.remove(base);
  });

  test('whiteouts and opaque dirs hide lower files; writes copy up; lower layers stay as they were', () => {
    const d = new Overlay2Driver(newHome());
    const [base, mid, rw] = [id(), id(), id()];
    d.create(base, null);
    d.create(mid, base);
    d.createReadWrite(rw, mid);
    const B = d.layerDir(base);
    const M = d.layerDir(mid);
    write(B, 'a', 'A');
    write(B, 'keep', 'K');
    write(B, 'dir/b', 'B');
    write(B, 'dir/sub/deep', 'D');
    write(B, 'etc/passwd', 'root:x:0:0\n');
    whiteout(M, 'a'); // mid deletes /a
    write(M, 'dir/c', 'C'); // mid replaces /dir: rm -rf dir; mkdir dir; echo C > dir/c
    opaque(M, 'dir');
    const merged = d.get(rw);
    try {
      assert.deepEqual(tree(merged), ['dir/', 'dir/c', 'etc/', 'etc/passwd', 'keep']);
      // Copy-up: the first write to a lower file copies it whole into diff/.
      fs.appendFileSync(path.join(merged, 'etc/passwd'), 'me:x:1000:1000\n');
      assert.equal(fs.readFileSync(path.join(d.layerDir(rw), 'etc/passwd'), 'utf8'), 'root:x:0:0\nme:x:1000:1000\n');
      assert.equal(fs.readFileSync(path.join(B, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
      // Deleting a lower file leaves a 0/0 character device in diff/.
      fs.rmSync(path.join(merged, 'keep'));
      const wh = fs.lstatSync(path.join(d.layerDir(rw), 'keep'));
      assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
      assert.ok(fs.existsSync(path.join(B, 'keep')));
      // A directory only the upper dir has can be renamed; the kernel marks
      // it opaque where it lands (nothing below may show through), and
      // changes() still calls it added (Docker's old walk said "D").
      fs.mkdirSync(path.join(merged, 'etc/made'));
      fs.renameSync(path.join(merged, 'etc/made'), path.join(merged, 'etc/new'));
      assert.equal(lgetxattr(path.join(d.layerDir(rw), 'etc/new'), 'trusted.overlay.opaque')?.toString(), 'y');
      // rm -rf /dir && mkdir /dir: the new /dir is opaque over the old one.
      fs.rmSync(path.join(merged, 'dir'), { recursive: true });
      fs.mkdirSync(path.join(merged, 'dir'));
      fs.writeFileSync(path.join(merged, 'dir/b'), 'new b');
      assert.deepEqual(tree(merged), ['dir/', 'dir/b', 'etc/', 'etc/new/', 'etc/passwd']);
      // With redirect_dir=off a lower directory cannot be renamed in place.
      assert.throws(() => fs.renameSync(path.join(merged, 'etc'), path.join(merged, 'etc2')), { code: 'EXDEV' });
      assert.deepEqual(d.changes(rw, mid), [
        { kind: 'C', path: '/dir' },
        { kind: 'A', path: '/dir/b' }, // the base layer's /dir/b was hidden by mid's opaque /dir
        { kind: 'D', path: '/dir/c' }, // mid's /dir/c, hidden by the new opaque /dir
        { kind: 'C', path: '/etc' },
        { kind: 'A', path: '/etc/new' },
        { kind: 'C', path: '/etc/passwd' },
        { kind: 'D', path: '/keep' },
      ]);
      assert.deepEqual(d.changes(mid, base), [
        { kind: 'D', path: '/a' },
        { kind: 'C', path: '/dir' },
        { kind: 'D', path: '/dir/b' },
        { kind: 'A', path: '/dir/c' },
        { kind: 'D', path: '/dir/sub' },
      ]);
      assert.throws(() => d.changes(rw, base), /sits on/);
    } finally {
      d.put(rw);
    }
    for (const x of [rw, mid, base]) d.remove(x);
  });

  test('put detaches a mount that stays busy', () => {
    const d = new Overlay2Driver(newHome());
    const [base, top] = [id(), id()];
    d.create(base, null);
    d.create(top, base);
    write(d.layerDir(base), 'f', 'x');
    const merged = d.get(top);
    const fd = fs.openSync(path.join(merged, 'f'), 'r');
    try {
      const { events } = traced(() => d.put(top));
      const flags = events.filter((e) => e.op === 'umount').map((e) => (e as Extract<TraceRecord, { op: 'umount' }>).flags.join(','));
      assert.deepEqual(flags, ['', '', '', '', '', 'MNT_DETACH']);
      assert.equal(d.mounted(top), false);
      assert.equal(fs.readFileSync(fd, 'utf8'), 'x', 'an open file outlives a detached mount');
    } finally {
      fs.closeSync(fd);
    }
    d.remove(top);
    d.remove(base);
  });

  test('remove unmounts first and leaves nothing', () => {
    const d = new Overlay2Driver(newHome());
    const [base, top] = [id(), id()];
    d.create(base, null);
    d.create(top, base);
    write(d.layerDir(base), 'f', 'x');
    d.get(top);
    const { events } = traced(() => d.remove(top));
    assert.deepEqual(events.map((e) => e.op), ['umount', 'remove', 'remove']);
    assert.equal(fs.readFileSync(path.join(d.layerDir(base), 'f'), 'utf8'), 'x', 'the lower layer is untouched');
    d.remove(base);
    d.remove(base); // gone already: nothing to do
    assert.deepEqual(fs.readdirSync(d.home).sort(), ['l']);
    assert.deepEqual(fs.readdirSync(path.join(d.home, 'l')), []);
  });

  test("removalPaths is what remove deletes, in its order: the short link, then the layer's directory", () => {
    // Chapter 5's monitor removes a --rm container's layers from this list
    // (the release file): it must be the driver's own rule, not a copy.
    const d = new Overlay2Driver(newHome());
    const [base, top] = [id(), id()];
    d.create(base, null);
    d.create(top, base);
    const short = fs.readFileSync(path.join(d.home, top, 'link'), 'utf8');
    const listed = d.removalPaths(top);
    assert.deepEqual(listed, [path.join(d.home, 'l', short), path.join(d.home, top)]);
    const { events } = traced(() => d.remove(top));
    assert.deepEqual(events.filter((e) => e.op === 'remove').map((e) => (e as { path: string }).path), listed);
    for (const p of listed) assert.equal(fs.existsSync(p), false, `${p} is still there`);
    // A link file that names something else is not followed out of l/.
    fs.writeFileSync(path.join(d.home, base, 'link'), '../../etc');
    assert.deepEqual(d.removalPaths(base), [path.join(d.home, base)]);
    d.remove(base);
  });

  test('60 layers under a long home path: the mount data is too long for a page with absolute paths, so it uses l/ names', () => {
    const d = new Overlay2Driver(newHome('/' + 'x'.repeat(120)));
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const x = id();
      d.create(x, ids.at(-1) ?? null);
      write(d.layerDir(x), `layer${i}`, String(i));
      ids.push(x);
    }
    const top = ids.at(-1)!;
    const absolute = d.lowerDirs(top).join(':');
    assert.ok(absolute.length > 4096, `absolute lowerdirs take ${absolute.length} bytes`);
    const cwd = process.cwd();
    const { result: merged, events } = traced(() => d.get(top));
    try {
      assert.equal(process.cwd(), cwd, 'the working directory is restored');
      const m = events.find((e) => e.op === 'mount') as Extract<TraceRecord, { op: 'mount' }>;
      assert.ok(m.data.startsWith('lowerdir=l/'), m.data.slice(0, 60));
      assert.ok(m.data.length < 4096);
      assert.ok(m.data.includes(`,upperdir=${top}/diff,workdir=${top}/work,`));
      assert.deepEqual(events.map((e) => e.op), ['chdir', 'mount'], 'into <home>, then mount with the relative names');
      assert.equal((events[0] as Extract<TraceRecord, { op: 'chdir' }>).path, d.home);
      assert.equal(fs.readFileSync(path.join(merged, 'layer0'), 'utf8'), '0');
      assert.equal(fs.readFileSync(path.join(merged, 'layer59'), 'utf8'), '59');
      assert.equal(fs.readdirSync(merged).length, 60);
    } finally {
      d.put(top);
    }
    for (const x of ids.reverse()) d.remove(x);
    assert.deepEqual(fs.readdirSync(d.home).sort(), ['l']);
  });
});

/** A tar of these entries (files get their body). */
function tarOf(entries: [TarEntry, string?][]): Buffer {
  const chunks: Buffer[] = [];
  const w = new TarWriter((b) => chunks.push(b));
  for (const [e, body] of entries) w.add(e, Buffer.from(body ?? ''));
  w.finish();
  return Buffer.concat(chunks);
}

/** The entry names (and file bodies) of a tar. */
function tarNames(buf: Buffer): string[] {
  const names: string[] = [];
  const r = new TarReader({ entry: (h) => names.push(h.name), data: () => {}, entryEnd: () => {} });
  r.write(buf);
  r.end();
  return names;
}

describe('overlay2: layer tars', () => {
  test('applyDiff unpacks with overlay whiteouts; diff packs the upper dir with OCI whiteouts', async () => {
    const d = new Overlay2Driver(newHome());
    const [base, top, rw] = [id(), id(), id()];
    d.create(base, null);
    const baseTar = tarOf([
      [{ name: 'etc/', type: 'dir', mode: 0o755 }],
      [{ name: 'etc/hosts', type: 'file', mode: 0o644 }, '127.0.0.1 localhost\n'],
      [{ name: 'etc/motd', type: 'file', mode: 0o644 }, 'hi\n'],
      [{ name: 'opt/', type: 'dir', mode: 0o755 }],
      [{ name: 'opt/old', type: 'file', mode: 0o644 }, 'old'],
    ]);
    const { result, events } = await (async () => {
      const events: TraceRecord[] = [];
      const detach = trace.attach((r) => events.push(r));
      try {
        return { result: await d.applyDiff(base, null, Readable.from([baseTar])), events };
      } finally {
        detach();
      }
    })();
    assert.equal(result.diffID, 'sha256:' + crypto.createHash('sha256').update(baseTar).digest('hex'));
    assert.ok(Buffer.isBuffer(result.tarSplit));
    assert.ok(events.some((e) => e.op === 'extract' && e.path === d.layerDir(base)));
    assert.equal(fs.readlinkSync(path.join(d.home, 'l', fs.readFileSync(path.join(d.home, base, 'link'), 'utf8'))), `../${base}/diff`);

    d.create(top, base);
    await d.applyDiff(top, base, Readable.from([tarOf([
      [{ name: 'etc/', type: 'dir', mode: 0o755 }],
      [{ name: 'etc/.wh.motd', type: 'file' }],
      [{ name: 'opt/', type: 'dir', mode: 0o755 }],
      [{ name: 'opt/.wh..wh..opq', type: 'file' }],
      [{ name: 'opt/new', type: 'file', mode: 0o600 }, 'new'],
    ])]));
    const wh = fs.lstatSync(path.join(d.layerDir(top), 'etc/motd'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, '.wh.motd became a 0/0 device');
    assert.equal(lgetxattr(path.join(d.layerDir(top), 'opt'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(d.changes(top, base), [
      { kind: 'C', path: '/etc' },
      { kind: 'D', path: '/etc/motd' },
      { kind: 'C', path: '/opt' },
      { kind: 'A', path: '/opt/new' },
      { kind: 'D', path: '/opt/old' },
    ]);

    d.createReadWrite(rw, top);
    const merged = d.get(rw);
    try {
      assert.deepEqual(tree(merged), ['etc/', 'etc/hosts', 'opt/', 'opt/new']);
      fs.rmSync(path.join(merged, 'etc/hosts'));
      fs.writeFileSync(path.join(merged, 'opt/new'), 'newer');
      fs.rmSync(path.join(merged, 'opt'), { recursive: true });
      fs.mkdirSync(path.join(merged, 'opt'));
      fs.writeFileSync(path.join(merged, 'opt/fresh'), 'fresh');
    } finally {
      d.put(rw);
    }
    const chunks: Buffer[] = [];
    const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
    const packed = await d.diff(rw, top, out);
    const tar = Buffer.concat(chunks);
    assert.equal(packed.diffID, 'sha256:' + crypto.createHash('sha256').update(tar).digest('hex'));
    assert.deepEqual(tarNames(tar), ['etc/', 'etc/.wh.hosts', 'opt/', 'opt/.wh..wh..opq', 'opt/fresh']);
    assert.deepEqual(d.changes(rw, top), [
      { kind: 'C', path: '/etc' },
      { kind: 'D', path: '/etc/hosts' },
      { kind: 'C', path: '/opt' },
      { kind: 'A', path: '/opt/fresh' },
      { kind: 'D', path: '/opt/new' },
    ]);
    await assert.rejects(d.diff(rw, base, out), /sits on/);
    for (const x of [rw, top, base]) d.remove(x);
    assert.deepEqual(fs.readdirSync(d.home).sort(), ['l']);
  });

  test('a tar that reaches outside the layer is refused and the layer is left empty', async () => {
    const d = new Overlay2Driver(newHome());
    const x = id();
    d.create(x, null);
    const evil = tarOf([[{ name: 'ok', type: 'file' }, 'fine'], [{ name: '../../escaped', type: 'file' }, 'bad']]);
    await assert.rejects(d.applyDiff(x, null, Readable.from([evil])), /layer tar/);
    assert.deepEqual(fs.readdirSync(d.layerDir(x)), []);
    assert.ok(!fs.existsSync(path.join(d.home, 'escaped')) && !fs.existsSync(path.join(path.dirname(d.home), 'escaped')));
    // and now a good tar still applies to it
    await d.applyDiff(x, null, Readable.from([tarOf([[{ name: 'ok', type: 'file' }, 'fine']])]));
    assert.deepEqual(tree(d.layerDir(x)), ['ok']);
    await assert.rejects(d.applyDiff(x, null, Readable.from([tarOf([])])), /already has files/);
    d.remove(x);
  });
});
