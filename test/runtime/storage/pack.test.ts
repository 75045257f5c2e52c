// packLayer (chapter 4): a directory becomes a layer tar, the same bytes
// every time. The property test builds random trees on disk (files with
// setuid bits, dirs, symlinks, hardlinks, FIFOs, devices, long and non-ASCII
// names, big uids, mtimes past 2242, xattrs) and checks the whole cycle:
// pack → extract gives the same tree; packing is deterministic; packing the
// extracted tree gives the same tar again; the tar-split re-creates it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { packLayer, type PackOptions } from '../../../runtime/storage/pack.js';
import { extractLayer } from '../../../runtime/storage/extract.js';
import { assembleLayer } from '../../../runtime/storage/tar-split.js';
import { TarReader, type TarHeader } from '../../../runtime/storage/tar.js';
import { lsetxattr, mknod } from '../../../runtime/sys/libc.js';
import { trace } from '../../../runtime/trace/trace.js';
import type { TraceRecord } from '../../../runtime/trace/events.js';
import { useTempDir } from '../../helpers/temp.js';
import { describeTree } from './tree.js';

const tmp = useTempDir('dockling-tar-');
let n = 0;
const fresh = (label: string) => fs.mkdtempSync(path.join(tmp(), `${label}-${n++}-`));

/** A writable that keeps what it is given. */
function collector(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  return { out, bytes: () => Buffer.concat(chunks) };
}

async function pack(dir: string, opts: PackOptions = { whiteouts: 'overlay' }) {
  const c = collector();
  const r = await packLayer(dir, c.out, opts);
  return { ...r, tar: c.bytes() };
}

function headersOf(tar: Buffer): TarHeader[] {
  const hs: TarHeader[] = [];
  const r = new TarReader({ entry: (h) => hs.push(h), data() {}, entryEnd() {} });
  r.write(tar);
  r.end();
  return hs;
}


// --- random trees ---
interface Meta { uid: number; gid: number; mtime: number; mode: number }
type Node =
  | ({ kind: 'file'; content: Uint8Array; xattr: Uint8Array | null } & Meta)
  | ({ kind: 'dir'; xattr: Uint8Array | null; children: Record<string, Node> } & Meta)
  | ({ kind: 'symlink'; target: string } & Meta)
  | ({ kind: 'fifo' } & Meta)
  | ({ kind: 'char' | 'block'; major: number; minor: number } & Meta);

const nameArb = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._ -]{0,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'naïve', '日本語', '🙂', 'Ωmega') },
  { weight: 1, arbitrary: fc.integer({ min: 101, max: 200 }).map((k) => 'L'.repeat(k)) },
  { weight: 1, arbitrary: fc.constant('m'.repeat(60)) },
);
const id = fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constantFrom(0, 65534, 3_000_000));
const meta = { uid: id, gid: id, mtime: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(10_000_000_000)), mode: fc.integer({ min: 0, max: 0o7777 }) };
const xattr = fc.option(fc.uint8Array({ maxLength: 30 }), { freq: 3 });
const file = fc.record({ kind: fc.constant('file' as const), content: fc.uint8Array({ maxLength: 3000 }), xattr, ...meta });
const symlink = fc.record({ kind: fc.constant('symlink' as const), target: fc.oneof(nameArb, fc.constantFrom('/etc/passwd', '../../../x', '/' + 't'.repeat(150))), ...meta });
const fifo = fc.record({ kind: fc.constant('fifo' as const), ...meta });
const device = fc.record({ kind: fc.constantFrom('char' as const, 'block' as const), major: fc.integer({ min: 1, max: 4095 }), minor: fc.integer({ min: 0, max: 1048575 }), ...meta });
const { dir: dirArb } = fc.letrec<{ node: Node; dir: Node }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthIdentifier: 'tree' }, file, file, symlink, fifo, device, tie('dir')),
  dir: fc.record({ kind: fc.constant('dir' as const), xattr, children: fc.dictionary(nameArb, tie('node'), { maxKeys: 5 }).map((d) => ({ ...d })), ...meta }),
}));
const hardlinks = fc.array(fc.tuple(fc.nat(), fc.nat(), nameArb), { maxLength: 4 });

/** Make `tree` under root (the root's own metadata is not part of a layer). */
function build(root: string, tree: Node, links: [number, number, string][]): void {
  const files: string[] = [];
  const dirs: [string, number][] = [[root, -1]];
  const own = (p: string, m: Meta, chmod = true) => {
    fs.lchownSync(p, m.uid, m.gid);
    if (chmod) fs.chmodSync(p, m.mode); // after chown, which clears setuid
  };
  const make = (p: string, node: Node): void => {
    switch (node.kind) {
      case 'dir':
        fs.mkdirSync(p);
        for (const [name, child] of Object.entries(node.children)) make(path.join(p, name), child);
        own(p, node);
        if (node.xattr) lsetxattr(p, 'user.x', Buffer.from(node.xattr));
        dirs.push([p, node.mtime]);
        return;
      case 'file':
        fs.writeFileSync(p, node.content);
        own(p, node);
        if (node.xattr) lsetxattr(p, 'user.x', Buffer.from(node.xattr));
        files.push(p);
        break;
      case 'symlink':
        fs.symlinkSync(node.target, p);
        own(p, node, false);
        break;
      case 'fifo':
        mknod(p, 'p', 0);
        own(p, node);
        break;
      default:
        mknod(p, node.kind === 'char' ? 'c' : 'b', 0, node.major, node.minor);
        own(p, node);
    }
    fs.lutimesSync(p, node.mtime, node.mtime);
  };
  for (const [name, child] of Object.entries((tree as { children: Record<string, Node> }).children)) make(path.join(root, name), child);
  for (const [f, d, name] of links) {
    const target = path.join(dirs[d % dirs.length][0], name);
    if (files.length && !fs.lstatSync(target, { throwIfNoEntry: false })) fs.linkSync(files[f % files.length], target);
  }
  // Directory times last: every link made above changed its directory's mtime.
  for (const [d, mtime] of dirs.reverse()) if (mtime >= 0) fs.utimesSync(d, mtime, mtime);
}

describe('packLayer → extractLayer: random trees', () => {
  test('the tree comes back; packing is deterministic; the tar-split re-creates the exact tar (property)', async () => {
    await fc.assert(
      fc.asyncProperty(dirArb, hardlinks, async (tree, links) => {
        const base = fresh('prop');
        try {
          const src = path.join(base, 'src');
          fs.mkdirSync(src);
          build(src, tree, links);
          const first = await pack(src, { whiteouts: 'none' });
          const again = await pack(src, { whiteouts: 'none' });
          assert.equal(again.diffID, first.diffID, 'packing twice gives the same tar');
          assert.equal(first.diffID, 'sha256:' + createHash('sha256').update(first.tar).digest('hex'));
          const dst = path.join(base, 'dst');
          const tarFile = path.join(base, 'layer.tar');
          fs.writeFileSync(tarFile, first.tar);
          const x = await extractLayer(tarFile, dst, { whiteouts: 'overlay' });
          assert.equal(x.diffID, first.diffID);
          assert.equal(x.size, first.size);
          assert.equal(x.entries, first.entries);
          assert.deepEqual(describeTree(dst), describeTree(src));
          assert.equal((await pack(dst, { whiteouts: 'none' })).diffID, first.diffID, 'the extracted tree packs to the same tar');
          const c = collector();
          const a = await assembleLayer(x.tarSplit, dst, c.out);
          assert.ok(c.bytes().equals(first.tar), 'assembleLayer gives the tar back byte for byte');
          assert.deepEqual(a, { diffID: first.diffID, size: first.tar.length });
        } finally {
          fs.rmSync(base, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('packLayer: order, whiteouts, what is left out', () => {
  test("Docker's order: byte-wise within each directory, a directory before its children; no root entry", async () => {
    const src = fresh('order');
    for (const d of ['a/c', 'a-b', 'B', 'é', 'a/b/z']) fs.mkdirSync(path.join(src, d), { recursive: true });
    fs.writeFileSync(path.join(src, 'a', 'Z'), '');
    const { tar, entries } = await pack(src);
    assert.deepEqual(headersOf(tar).map((h) => h.name), ['B/', 'a/', 'a/Z', 'a/b/', 'a/b/z/', 'a/c/', 'a-b/', 'é/']);
    assert.equal(entries, 8);
  });

  test("'overlay': a 0/0 char device → .wh.NAME, an opaque dir → DIR/.wh..wh..opq right after it; trusted.overlay.* never packed", async () => {
    const src = fresh('wh');
    fs.mkdirSync(path.join(src, 'd'));
    fs.writeFileSync(path.join(src, 'd', 'kid'), 'k');
    lsetxattr(path.join(src, 'd'), 'trusted.overlay.opaque', Buffer.from('y'));
    lsetxattr(path.join(src, 'd'), 'trusted.overlay.origin', Buffer.from('junk'));
    mknod(path.join(src, 'gone'), 'c', 0, 0, 0);
    fs.lchownSync(path.join(src, 'gone'), 9, 10);
    mknod(path.join(src, 'null'), 'c', 0, 1, 3);
    fs.chmodSync(path.join(src, 'null'), 0o666);
    const hs = headersOf((await pack(src)).tar);
    assert.deepEqual(hs.map((h) => `${h.name} ${h.type} ${h.mode.toString(8)} ${h.uid}/${h.gid} ${Object.keys(h.xattrs)}`), [
      'd/ dir 755 0/0 ',
      'd/.wh..wh..opq file 755 0/0 ',
      'd/kid file 644 0/0 ',
      '.wh.gone file 600 9/10 ',
      'null char 666 0/0 ',
    ]);
    for (const whiteouts of ['none', 'aufs'] as const) {
      const names = headersOf((await pack(src, { whiteouts })).tar).map((h) => `${h.name} ${h.type}`);
      assert.deepEqual(names, ['d/ dir', 'd/kid file', 'gone char', 'null char'], whiteouts);
    }
  });

  test("'aufs': .wh.NAME sorts where NAME does, mode 0600; .wh..wh..opq right after its directory; aufs's other .wh..wh.* left out", async () => {
    const src = fresh('aufs-wh');
    fs.mkdirSync(path.join(src, 'd'), { mode: 0o750 });
    fs.chmodSync(path.join(src, 'd'), 0o750);
    for (const name of ['a', 'c', '.wh.b', '.wh..wh..opq', '.wh..wh.aufs']) fs.writeFileSync(path.join(src, 'd', name), name.startsWith('.') ? '' : 'x', { mode: 0o444 });
    fs.mkdirSync(path.join(src, 'd', '.wh..wh.plnk'));
    const hs = headersOf((await pack(src, { whiteouts: 'aufs' })).tar);
    // as overlay2 packs the same changes: a 0/0 device `b` and the opaque xattr on d
    assert.deepEqual(hs.map((h) => `${h.name} ${h.type} ${h.mode.toString(8)} ${h.size}`), [
      'd/ dir 750 0',
      'd/.wh..wh..opq file 750 0',
      'd/a file 444 1',
      'd/.wh.b file 600 0',
      'd/c file 444 1',
    ]);
  });

  test('exclude leaves out a path and all below it; sockets are skipped', async () => {
    const src = fresh('exclude');
    fs.mkdirSync(path.join(src, 'skip/deep'), { recursive: true });
    fs.writeFileSync(path.join(src, 'skip/deep/f'), 'x');
    fs.writeFileSync(path.join(src, 'keep'), 'x');
    const server = net.createServer().listen(path.join(src, 'sock'));
    await new Promise((res) => server.once('listening', res));
    try {
      const seen: string[] = [];
      const { tar } = await pack(src, { whiteouts: 'none', exclude: (rel) => (seen.push(rel), rel === 'skip') });
      assert.deepEqual(headersOf(tar).map((h) => h.name), ['keep']);
      assert.deepEqual(seen, ['keep', 'skip', 'sock']);
    } finally {
      server.close();
    }
  });

  test('emits one pack trace event', async () => {
    const src = fresh('trace');
    fs.writeFileSync(path.join(src, 'f'), 'x');
    const seen: TraceRecord[] = [];
    const detach = trace.attach((r) => seen.push(r));
    try {
      const r = await pack(src);
      assert.deepEqual(seen.map((e) => [e.op, e.chapter, 'path' in e && e.path, 'digest' in e && e.digest, 'entries' in e && e.entries]), [['pack', 4, src, r.diffID, 1]]);
    } finally {
      detach();
    }
  });

  test('waits for a slow reader (backpressure) and still writes every byte', async () => {
    const src = fresh('slow');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(5 << 20, 7));
    const chunks: Buffer[] = [];
    let waits = 0;
    const out = new Writable({ highWaterMark: 1024, write: (c: Buffer, _e, cb) => (chunks.push(c), waits++, setTimeout(cb, 0)) });
    const r = await packLayer(src, out, { whiteouts: 'none' });
    await new Promise((res) => out.end(res));
    assert.equal(r.diffID, 'sha256:' + createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
    assert.ok(waits > 5);
  });
});

describe('packLayer and GNU tar', () => {
  test('GNU tar lists and extracts what we pack (150-byte names, non-ASCII, hardlinks, xattrs)', async () => {
    const base = fresh('gnu');
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'd'.repeat(70), 'ü'.repeat(40)), { recursive: true });
    const long = path.join('d'.repeat(70), 'ü'.repeat(40), 'f'.repeat(150));
    fs.writeFileSync(path.join(src, long), 'long\n');
    fs.writeFileSync(path.join(src, 'n'.repeat(150)), 'top\n');
    fs.linkSync(path.join(src, long), path.join(src, 'hard'));
    fs.symlinkSync('/' + 's'.repeat(120), path.join(src, 'sym'));
    fs.chownSync(path.join(src, 'hard'), 3_000_000, 42);
    fs.chmodSync(path.join(src, 'hard'), 0o2750);
    lsetxattr(path.join(src, 'hard'), 'user.note', Buffer.from('hello'));
    for (const d of [path.join(src, 'd'.repeat(70), 'ü'.repeat(40)), path.join(src, 'd'.repeat(70))]) fs.utimesSync(d, 1e9, 1e9);
    const tarFile = path.join(base, 'ours.tar');
    fs.writeFileSync(tarFile, (await pack(src)).tar);

    const list = spawnSync('tar', ['--numeric-owner', '-tvf', tarFile], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stderr, '');
    const names = list.stdout.trim().split('\n').map((l) => l.replace(/^.* \d\d:\d\d /, ''));
    assert.deepEqual(names, [`${'d'.repeat(70)}/`, `${'d'.repeat(70)}/${'ü'.repeat(40)}/`, long, `hard link to ${long}`, 'n'.repeat(150), `sym -> /${'s'.repeat(120)}`]);
    assert.match(list.stdout, new RegExp(`-rwxr-s--- 3000000/42 +5 .* ${long}\n`));

    const dst = path.join(base, 'dst');
    fs.mkdirSync(dst);
    const x = spawnSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xpf', tarFile, '-C', dst], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    assert.deepEqual(describeTree(dst), describeTree(src));
  });
});
