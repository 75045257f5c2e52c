// extractLayer (chapter 4): a layer tar comes from outside and is unpacked as
// root, so the first tests are attacks. Each hostile tar must be refused with
// a LayerTarError naming the entry, leave no layer directory behind, and
// leave a sentinel directory next to it ("outside", holding a `victim`)
// exactly as it was: names, contents, modes, link counts, mtimes and ctimes
// (a hardlink made and removed again still changes the victim's ctime).
//
// To show that each tar really is an attack, the ones that get past a
// lexical check are also fed to a naive extractor, in a sandbox of their own,
// and must change that sandbox's "outside".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { extractLayer, LayerTarError } from '../../../runtime/storage/extract.js';
import { packLayer } from '../../../runtime/storage/pack.js';
import { TarReader, TarWriter, type TarEntry } from '../../../runtime/storage/tar.js';
import { lgetxattr, llistxattr, lsetxattr } from '../../../runtime/sys/libc.js';
import { trace } from '../../../runtime/trace/trace.js';
import type { TraceRecord } from '../../../runtime/trace/events.js';
import { useTempDir } from '../../helpers/temp.js';
import { describeTree } from './tree.js';

const tmp = useTempDir('dockling-tar-');
let n = 0;
const fresh = (label: string) => fs.mkdtempSync(path.join(tmp(), `${label}-${n++}-`));

function tarOf(entries: [TarEntry, (Buffer | string)?][]): Buffer {
  const out: Buffer[] = [];
  const w = new TarWriter((b) => out.push(Buffer.from(b)));
  for (const [e, body] of entries) w.add(e, body === undefined ? undefined : Buffer.from(body));
  w.finish();
  return Buffer.concat(out);
}

/** Every path under root (but `skip`), with what could change: type, mode, owner, links, size, times, content, xattrs. */
function snapshot(root: string, skip = ''): string[] {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (p === skip) continue;
      const st = fs.lstatSync(p, { bigint: true });
      const what = st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : st.isSymbolicLink() ? fs.readlinkSync(p) : '';
      lines.push([path.relative(root, p), st.mode, st.uid, st.gid, st.nlink, st.size, st.mtimeNs, st.ctimeNs, what, llistxattr(p).join(',')].join(' '));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return lines;
}

/** A base dir holding "outside" (the sentinel: a victim file and a subdir); the layer goes to base/layer. */
function sandbox(): { base: string; outside: string; layer: string } {
  const base = fresh('sandbox');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'victim'), 'victim\n');
  return { base, outside, layer: path.join(base, 'layer') };
}

/**
 * How extractors used to get this wrong: names and link targets checked
 * lexically (joined to the layer dir and compared as strings), then handed
 * to the kernel, which follows every symlink on the way.
 */
function naiveExtract(tar: Buffer, dir: string): void {
  const inside = (p: string) => p === dir || p.startsWith(dir + '/');
  let fd: number | null = null;
  const r = new TarReader({
    entry(h) {
      const p = path.join(dir, h.name);
      if (!inside(p)) throw new Error('lexically outside');
      fs.mkdirSync(path.dirname(p), { recursive: true });
      const base = path.basename(p);
      if (base.startsWith('.wh.')) return fs.rmSync(path.join(path.dirname(p), base.slice(4)), { recursive: true, force: true });
      if (h.type === 'dir') fs.mkdirSync(p, { recursive: true });
      if (h.type === 'file') fd = fs.openSync(p, 'w');
      if (h.type === 'symlink') {
        if (!inside(path.join(path.isAbsolute(h.linkname) ? dir : path.dirname(p), h.linkname))) throw new Error('link outside');
        fs.symlinkSync(h.linkname, p);
      }
      if (h.type === 'hardlink') {
        const t = path.join(dir, h.linkname);
        if (!inside(t)) throw new Error('link outside');
        fs.linkSync(t, p);
      }
    },
    data: (c) => void fs.writeSync(fd!, c),
    entryEnd: () => (fd !== null && fs.closeSync(fd), (fd = null)),
  });
  r.write(tar);
  r.end();
}

interface Attack {
  what: string;
  entries: (outside: string) => [TarEntry, string?][];
  /** the entry that must be named in the error */
  offender: string;
  whiteouts?: 'overlay' | 'aufs';
  /** true: the naive (lexically checked) extractor escapes with this tar */
  fools?: boolean;
}

const file = (name: string, body = 'pwned\n'): [TarEntry, string] => [{ name, type: 'file', mode: 0o644 }, body];
const symlink = (name: string, linkname: string): [TarEntry] => [{ name, type: 'symlink', linkname }];

const ATTACKS: Attack[] = [
  // The "zip slip": a plain ".." in the name (a lexical check catches these; a missing one does not).
  { what: '../ in the name', entries: () => [file('../outside/pwned')], offender: '../outside/pwned' },
  { what: '/../ (absolute, then up)', entries: () => [file('/../outside/pwned')], offender: '/../outside/pwned' },
  { what: 'a/../../ (up past the top)', entries: () => [file('a/../../outside/pwned')], offender: 'a/../../outside/pwned' },
  // An absolute symlink passes a lexical check ("/x" is read as <layer>/x) but the kernel follows it to the host.
  { what: 'absolute symlink, then a file through it', entries: (o) => [symlink('evil', o), file('evil/pwned')], offender: 'evil/pwned', fools: true },
  { what: 'relative symlink out, then a file through it', entries: () => [symlink('evil', '../outside'), file('evil/pwned')], offender: 'evil/pwned' },
  // The link gives the container a name for a host file; the next entry then writes through it.
  { what: 'hardlink to ../victim', entries: () => [[{ name: 'h', type: 'hardlink', linkname: '../outside/victim' }], file('h')], offender: 'h' },
  // Two hops, each harmless to a lexical check: x -> "." stays inside; x/y -> ".." seen from x/ is the
  // layer root. But x is the root itself, so y is made in the root, and ".." from there is the layer's parent.
  { what: 'symlink chain escaping in two hops', entries: () => [symlink('x', '.'), symlink('x/y', '..'), file('y/outside/pwned')], offender: 'x/y', fools: true },
  // Made after removing "what is there": the layer's parent.
  { what: 'a symlink named ..', entries: () => [symlink('..', '/')], offender: '..' },
  // ".wh." deletes the layer directory itself, ".wh.." its parent, ".wh..." the grandparent.
  { what: '.wh. alone', entries: () => [file('.wh.', '')], offender: '.wh.', whiteouts: 'overlay' },
  { what: '.wh.. (whiteout of the parent)', entries: () => [file('.wh..', '')], offender: '.wh..', whiteouts: 'overlay' },
  { what: '.wh... (aufs mode too)', entries: () => [file('sub/.wh...', '')], offender: 'sub/.wh...', whiteouts: 'aufs' },
  // link(2) resolves the symlink in the middle of the target path.
  { what: 'hardlink through a symlinked dir', entries: (o) => [symlink('ln', o), [{ name: 'h', type: 'hardlink', linkname: 'ln/victim' }], file('h')], offender: 'h', fools: true },
  { what: 'whiteout through a symlinked dir', entries: (o) => [symlink('evil', o), file('evil/.wh.victim', '')], offender: 'evil/.wh.victim', whiteouts: 'overlay', fools: true },
  { what: 'opaque marker through a symlinked dir', entries: (o) => [symlink('evil', o), file('evil/.wh..wh..opq', '')], offender: 'evil/.wh..wh..opq', whiteouts: 'overlay' },
  { what: 'hardlink to a directory', entries: () => [[{ name: 'd/', type: 'dir' }], [{ name: 'h', type: 'hardlink', linkname: 'd' }]], offender: 'h' },
  { what: 'an empty name', entries: () => [file('')], offender: '' },
];

describe('extractLayer: hostile tars', () => {
  for (const a of ATTACKS) {
    test(`refuses ${a.what}`, async () => {
      const s = sandbox();
      const tar = tarOf(a.entries(s.outside));
      const before = snapshot(s.base, s.layer);
      await assert.rejects(extractLayer(Readable.from([tar]), s.layer, { whiteouts: a.whiteouts ?? 'overlay' }), (e: Error) => {
        assert.ok(e instanceof LayerTarError, String(e));
        assert.ok(e.message.startsWith(`layer tar: entry ${JSON.stringify(a.offender)}`), e.message);
        return true;
      });
      assert.equal(fs.existsSync(s.layer), false, 'nothing of the layer is left');
      assert.deepEqual(snapshot(s.base, s.layer), before, 'outside the layer, nothing changed');
      if (a.fools) {
        const naive = sandbox();
        const was = snapshot(naive.outside);
        fs.mkdirSync(naive.layer);
        try {
          naiveExtract(tarOf(a.entries(naive.outside)), naive.layer);
        } catch {
          // (it may fail after the damage is done)
        }
        assert.notDeepEqual(snapshot(naive.outside), was, 'the naive extractor is fooled: this tar is a real attack');
      }
    });
  }

  test('a file over a symlink replaces the symlink; it never writes through it', async () => {
    const s = sandbox();
    const before = snapshot(s.base, s.layer);
    await extractLayer(Readable.from([tarOf([symlink('evil', path.join(s.outside, 'victim')), file('evil')])]), s.layer, { whiteouts: 'overlay' });
    assert.equal(fs.readFileSync(path.join(s.layer, 'evil'), 'utf8'), 'pwned\n');
    assert.ok(fs.lstatSync(path.join(s.layer, 'evil')).isFile());
    assert.deepEqual(snapshot(s.base, s.layer), before);
  });

  test('an existing directory is refused and left as it was', async () => {
    const s = sandbox();
    fs.mkdirSync(s.layer);
    fs.writeFileSync(path.join(s.layer, 'keep'), 'k');
    await assert.rejects(extractLayer(Readable.from([tarOf([file('a')])]), s.layer, { whiteouts: 'overlay' }), /already exists/);
    assert.deepEqual(fs.readdirSync(s.layer), ['keep']);
  });
});

describe('extractLayer: what lands on disk', () => {
  test('owner, mode (setuid kept: chmod after chown), xattrs, devices, fifos, times, hardlinks', async () => {
    const dir = path.join(fresh('meta'), 'layer');
    const tar = tarOf([
      [{ name: './', type: 'dir', mode: 0o700 }], // the layer dir itself: skipped, as Docker does
      [{ name: 'd/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtime: 1000 }],
      [{ name: '/d/suid', type: 'file', mode: 0o4755, uid: 1000, gid: 1000, mtime: 2000, xattrs: { 'user.k': Buffer.from([0, 1, 2]), 'trusted.overlay.opaque': Buffer.from('y') } }, 'x'],
      [{ name: './d//hl', type: 'hardlink', linkname: 'd/suid' }],
      // (user.* xattrs are not allowed on symlinks: dropped, as Docker does, not fatal)
      [{ name: 'd/ln', type: 'symlink', linkname: '/nowhere', uid: 7, gid: 8, mtime: 3000, xattrs: { 'user.no': Buffer.from('x') } }],
      [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: 4000 }],
      [{ name: 'dev/loop', type: 'block', devmajor: 7, devminor: 300, mode: 0o660 }],
      [{ name: 'fifo', type: 'fifo', mode: 0o640 }],
    ]);
    const r = await extractLayer(Readable.from([tar]), dir, { whiteouts: 'overlay' });
    assert.equal(r.entries, 8);
    assert.equal(r.size, 1 + '/nowhere'.length, 'the file\'s byte and the symlink\'s target, as dockerd sizes a layer');
    assert.equal(r.diffID, 'sha256:' + createHash('sha256').update(tar).digest('hex'));
    const st = (p: string) => fs.lstatSync(path.join(dir, p));
    assert.equal(st('.').mode & 0o7777, 0o755);
    assert.deepEqual([st('d').mode & 0o7777, st('d').uid, st('d').gid, st('d').mtimeMs], [0o1777, 5, 6, 1000_000]);
    assert.deepEqual([st('d/suid').mode & 0o7777, st('d/suid').uid, st('d/suid').mtimeMs], [0o4755, 1000, 2000_000]);
    assert.deepEqual(lgetxattr(path.join(dir, 'd/suid'), 'user.k'), Buffer.from([0, 1, 2]));
    assert.equal(lgetxattr(path.join(dir, 'd/suid'), 'trusted.overlay.opaque'), null, 'a tar cannot forge overlay metadata');
    assert.equal(st('d/hl').ino, st('d/suid').ino);
    assert.deepEqual([fs.readlinkSync(path.join(dir, 'd/ln')), st('d/ln').uid, st('d/ln').mtimeMs], ['/nowhere', 7, 3000_000]);
    assert.ok(st('dev/null').isCharacterDevice());
    assert.equal(st('dev/null').rdev, 0x103);
    assert.ok(st('dev/loop').isBlockDevice());
    assert.equal(st('dev').mode & 0o7777, 0o755, 'implicit parents are 0755');
    assert.ok(st('fifo').isFIFO());
    assert.equal(st('fifo').mode & 0o7777, 0o640);
  });

  test('a later entry replaces an earlier one; two directory entries merge', async () => {
    const dir = path.join(fresh('replace'), 'layer');
    await extractLayer(Readable.from([tarOf([
      file('f', 'one'), file('f', 'two'),
      [{ name: 'd/', type: 'dir' }], file('d/child'), file('d', 'now a file'),
      file('e', 'was a file'), [{ name: 'e/', type: 'dir', mode: 0o711 }],
      [{ name: 'm/', type: 'dir', mode: 0o700 }], file('m/kept'), [{ name: 'm/', type: 'dir', mode: 0o750, mtime: 5 }],
    ])]), dir, { whiteouts: 'overlay' });
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'two');
    assert.equal(fs.readFileSync(path.join(dir, 'd'), 'utf8'), 'now a file');
    assert.equal(fs.statSync(path.join(dir, 'e')).mode & 0o777, 0o711);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'm')), ['kept']);
    assert.equal(fs.statSync(path.join(dir, 'm')).mode & 0o777, 0o750);
    assert.equal(fs.statSync(path.join(dir, 'm')).mtimeMs, 5000);
  });

  test('emits one extract trace event with the digest and the entry count', async () => {
    const dir = path.join(fresh('trace'), 'layer');
    const seen: TraceRecord[] = [];
    const detach = trace.attach((r) => seen.push(r));
    try {
      const r = await extractLayer(Readable.from([tarOf([file('a'), file('b')])]), dir, { whiteouts: 'overlay' });
      assert.deepEqual(seen.map((e) => [e.op, e.chapter, 'digest' in e && e.digest, 'path' in e && e.path, 'entries' in e && e.entries]), [['extract', 4, r.diffID, dir, 2]]);
    } finally {
      detach();
    }
  });
});

describe('extractLayer: whiteouts', () => {
  const whTar = () => tarOf([
    [{ name: 'd/', type: 'dir', mode: 0o755 }],
    [{ name: 'd/.wh..wh..opq', type: 'file', mode: 0o755 }],
    [{ name: '.wh.gone', type: 'file', uid: 3, gid: 4, mtime: 77 }],
    [{ name: '.wh..wh.plnk/', type: 'dir' }], // aufs's hardlink bookkeeping: never part of the image
    file('.wh..wh.plnk/1.2', 'aufs'),
  ]);

  test("'overlay': .wh.gone → a 0/0 char device, d/.wh..wh..opq → trusted.overlay.opaque=y; packing gives them back", async () => {
    const base = fresh('wh');
    const dir = path.join(base, 'layer');
    await extractLayer(Readable.from([whTar()]), dir, { whiteouts: 'overlay' });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['d', 'gone']);
    const gone = fs.lstatSync(path.join(dir, 'gone'));
    assert.ok(gone.isCharacterDevice());
    assert.deepEqual([gone.rdev, gone.mode & 0o7777, gone.uid, gone.gid], [0, 0, 3, 4]);
    assert.deepEqual(lgetxattr(path.join(dir, 'd'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'd')), []);

    const names: string[] = [];
    const out = fs.createWriteStream(path.join(base, 'again.tar'));
    await packLayer(dir, out, { whiteouts: 'overlay' });
    await new Promise((res) => out.end(res));
    const r = new TarReader({ entry: (h) => names.push(`${h.name} ${h.type} ${h.uid}/${h.gid}`), data() {}, entryEnd() {} });
    r.write(fs.readFileSync(path.join(base, 'again.tar')));
    r.end();
    // (in the order of the names on disk: "d" < "gone")
    assert.deepEqual(names, ['d/ dir 0/0', 'd/.wh..wh..opq file 0/0', '.wh.gone file 3/4']);
  });

  test("'aufs': whiteouts stay the plain files they are in the tar", async () => {
    const dir = path.join(fresh('aufs'), 'layer');
    await extractLayer(Readable.from([whTar()]), dir, { whiteouts: 'aufs' });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.wh.gone', 'd']);
    assert.ok(fs.lstatSync(path.join(dir, '.wh.gone')).isFile());
    assert.deepEqual(fs.readdirSync(path.join(dir, 'd')), ['.wh..wh..opq']);
    assert.equal(lgetxattr(path.join(dir, 'd'), 'trusted.overlay.opaque'), null);
  });
});


describe('extractLayer: tars made by GNU tar', () => {
  function gnuTree(): string {
    const src = path.join(fresh('gnu'), 'src');
    const long = path.join(src, 'l'.repeat(110), 'ü'.repeat(60));
    fs.mkdirSync(long, { recursive: true });
    fs.writeFileSync(path.join(long, 'f'.repeat(120)), 'deep\n');
    fs.writeFileSync(path.join(src, 'suid'), 'x');
    fs.chownSync(path.join(src, 'suid'), 1234, 5678);
    fs.chmodSync(path.join(src, 'suid'), 0o4711);
    lsetxattr(path.join(src, 'suid'), 'user.note', Buffer.from('hi'));
    fs.linkSync(path.join(src, 'suid'), path.join(src, 'hard'));
    fs.symlinkSync('/' + 't'.repeat(130), path.join(src, 'sym'));
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    for (const p of [long, path.dirname(long), src]) fs.utimesSync(p, 1_600_000_000, 1_600_000_000);
    return src;
  }

  const formats: [string, string[]][] = [['pax', ['--format=pax', '--xattrs', '--xattrs-include=user.*']], ['gnu', ['--format=gnu']], ['gzip', ['--format=pax', '-z']]];
  for (const [format, flags] of formats) {
    test(`tar ${flags.join(' ')} -cf: the same tree comes out`, async () => {
      const src = gnuTree();
      const tarFile = path.join(path.dirname(src), 'gnu.tar');
      const r = spawnSync('tar', [...flags, '-cf', tarFile, '-C', src, '.']);
      assert.equal(r.status, 0, r.stderr.toString());
      const dst = path.join(path.dirname(src), 'dst');
      const got = await extractLayer(tarFile, dst, { whiteouts: 'overlay' });
      const plain = format === 'gzip' ? zlib.gunzipSync(fs.readFileSync(tarFile)) : fs.readFileSync(tarFile);
      assert.equal(got.diffID, 'sha256:' + createHash('sha256').update(plain).digest('hex'), 'the diffID is the sha256 of the uncompressed tar');
      const want = describeTree(src);
      if (!flags.includes('--xattrs')) for (const k of ['suid', 'hard']) want.entries[k] = want.entries[k].replace(/ user\.note=\S+/, '');
      assert.deepEqual(describeTree(dst), want);
    });
  }

  test('a truncated tar, a bad checksum and a non-tar are refused with clear messages, leaving nothing', async () => {
    const src = gnuTree();
    const tarFile = path.join(path.dirname(src), 'gnu.tar');
    spawnSync('tar', ['--format=pax', '-cf', tarFile, '-C', src, '.']);
    const bytes = fs.readFileSync(tarFile);
    const bad = Buffer.from(bytes);
    bad[1024 + 10] ^= 0x20; // a byte inside the second header's name
    const cases: [Buffer, RegExp][] = [
      [bytes.subarray(0, 3000), /^layer tar: stream: truncated tar: the input ends inside/],
      [bad, /^layer tar: stream: bad header checksum at byte 1024/],
      [Buffer.from('just some text, not a tar\n'.repeat(40)), /bad header checksum at byte 0: the field is not a number \(a corrupt tar, or not a tar\)/],
      [zlib.gzipSync(bytes).subarray(0, 200), /unexpected end of file/],
    ];
    for (const [input, re] of cases) {
      const dir = path.join(fresh('bad'), 'layer');
      await assert.rejects(extractLayer(Readable.from([input]), dir, { whiteouts: 'overlay' }), (e: Error) => e instanceof LayerTarError && re.test(e.message));
      assert.equal(fs.existsSync(dir), false);
    }
    await assert.rejects(extractLayer(path.join(src, 'missing.tar'), path.join(fresh('bad'), 'layer'), { whiteouts: 'overlay' }), /layer tar: .*missing\.tar: ENOENT/);
  });
});

describe('extractLayer: streaming', () => {
  // Peak RSS (VmHWM) of a fresh process around the extraction of a 64 MiB
  // file. As a control, the same process then reads the tar whole: that
  // raises the peak by at least the file's size, so the measure can see
  // buffering when there is some.
  test('a 64 MiB file is streamed: peak RSS grows by less than 32 MiB', async (t) => {
    const base = fresh('stream');
    const tarFile = path.join(base, 'big.tar');
    const fd = fs.openSync(tarFile, 'w');
    const w = new TarWriter((b) => void fs.writeSync(fd, b));
    w.entry({ name: 'big', type: 'file', size: 64 << 20, mode: 0o644 });
    const chunk = Buffer.alloc(1 << 20, 'z');
    for (let i = 0; i < 64; i++) w.data(chunk);
    w.finish();
    fs.closeSync(fd);
    const small = path.join(base, 'small.tar');
    fs.writeFileSync(small, tarOf([file('warm-up')]));
    const script = path.join(base, 'measure.mts');
    fs.writeFileSync(script, `
      import fs from 'node:fs';
      const { extractLayer } = await import(${JSON.stringify(new URL('../../../runtime/storage/extract.ts', import.meta.url).href)});
      const hwm = () => Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      await extractLayer(${JSON.stringify(small)}, ${JSON.stringify(path.join(base, 'warm'))}, { whiteouts: 'overlay' });
      const before = hwm();
      const r = await extractLayer(${JSON.stringify(tarFile)}, ${JSON.stringify(path.join(base, 'out'))}, { whiteouts: 'overlay' });
      const after = hwm();
      const whole = fs.readFileSync(${JSON.stringify(tarFile)});
      console.log(JSON.stringify({ before, after, control: hwm(), size: r.size, whole: whole.length }));
    `);
    const repo = new URL('../../../', import.meta.url).pathname; // where `--import tsx` is found
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: repo });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { before: number; after: number; control: number; size: number };
    const MiB = 1 << 20;
    const grew = (m.after - m.before) / MiB;
    t.diagnostic(`peak RSS grew ${grew.toFixed(1)} MiB while extracting; reading the tar whole added ${((m.control - m.after) / MiB).toFixed(1)} MiB`);
    assert.equal(m.size, 64 * MiB);
    assert.equal(fs.statSync(path.join(base, 'out', 'big')).size, 64 * MiB);
    assert.ok(m.control - m.after > 60 * MiB, `the control must show buffering (it added ${(m.control - m.after) / MiB} MiB)`);
    assert.ok(grew < 32, `extraction raised peak RSS by ${grew.toFixed(1)} MiB`);
  });
});
