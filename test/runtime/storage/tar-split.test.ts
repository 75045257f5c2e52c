// tar-split (chapter 4): after extraction only the files are kept, yet the
// layer's exact tar (whose sha256 is its diffID) must come back for save and
// push. These tests extract a tar, re-assemble it from the tar-split and the
// extracted files, and compare bytes — including the hard cases where a
// later entry destroys an earlier entry's body on disk.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { extractLayer, LayerTarError } from '../../../runtime/storage/extract.js';
import { assembleLayer } from '../../../runtime/storage/tar-split.js';
import { TarWriter, type TarEntry } from '../../../runtime/storage/tar.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir('dockling-tar-');
let n = 0;
const freshLayer = () => path.join(fs.mkdtempSync(path.join(tmp(), `split-${n++}-`)), 'layer');

function tarOf(entries: [TarEntry, string?][]): Buffer {
  const out: Buffer[] = [];
  const w = new TarWriter((b) => out.push(Buffer.from(b)));
  for (const [e, body] of entries) w.add(e, body === undefined ? undefined : Buffer.from(body));
  w.finish();
  return Buffer.concat(out);
}

async function assemble(tarSplit: Buffer, dir: string): Promise<{ bytes: Buffer; diffID: string; size: number }> {
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
  const r = await assembleLayer(tarSplit, dir, out);
  return { ...r, bytes: Buffer.concat(chunks) };
}

/** Extract, re-assemble, and require the very same bytes. */
async function roundTrip(tar: Buffer, whiteouts: 'overlay' | 'aufs' = 'overlay'): Promise<{ dir: string; tarSplit: Buffer }> {
  const dir = freshLayer();
  const x = await extractLayer(Readable.from([tar]), dir, { whiteouts });
  const a = await assemble(x.tarSplit, dir);
  assert.ok(a.bytes.equals(tar), `assembled ${a.bytes.length} bytes, the tar had ${tar.length}`);
  assert.equal(a.diffID, x.diffID);
  assert.equal(a.size, tar.length);
  return { dir, tarSplit: x.tarSplit };
}

const f = (name: string, body: string, more: Partial<TarEntry> = {}): [TarEntry, string] => [{ name, type: 'file', mode: 0o644, ...more }, body];

describe('tar-split: exact bytes back', () => {
  test('the format: gzipped JSON lines of segments and file bodies (none for empty files)', async () => {
    const { tarSplit } = await roundTrip(tarOf([f('a', 'hello'), f('empty', ''), [{ name: 'd/', type: 'dir' }], f('d/b', 'x'.repeat(600))]));
    const lines = zlib.gunzipSync(tarSplit).toString().trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => (l.type === 'file' ? `file ${l.name} ${l.size}` : `segment ${Buffer.from(l.payload, 'base64').length}`)), [
      // header; body; its padding (507) + headers of empty, d/ and d/b; body; padding (424) + the end (1024)
      'segment 512', 'file a 5', 'segment 2043', 'file d/b 600', 'segment 1448',
    ]);
  });

  test('the same path twice: the first body, overwritten on disk, is kept inline', async () => {
    const { dir } = await roundTrip(tarOf([f('f', 'first body'), f('f', 'second')]));
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'second');
  });

  test('bodies lost with their directory, to a whiteout, or under a hardlink that is replaced', async () => {
    await roundTrip(tarOf([[{ name: 'd/', type: 'dir' }], f('d/a', 'in d'), f('d/e/b', 'deeper'), [{ name: 'd', type: 'symlink', linkname: '/x' }]]));
    await roundTrip(tarOf([f('gone', 'deleted below'), f('.wh.gone', '')]));
    await roundTrip(tarOf([f('orig', 'shared'), [{ name: 'h', type: 'hardlink', linkname: 'orig' }], f('orig', 'new'), f('h', 'newer')]));
  });

  test('bodies never written to disk: a whiteout with content, aufs bookkeeping', async () => {
    const tar = tarOf([f('.wh.x', 'odd, but a tar may say so'), [{ name: '.wh..wh.plnk/', type: 'dir' }], f('.wh..wh.plnk/12.34', 'aufs')]);
    await roundTrip(tar, 'overlay');
    await roundTrip(tar, 'aufs');
  });

  test('GNU tar archives: PAX and GNU headers, 10 KiB record padding, trailing bytes, and gzip', async () => {
    const src = path.join(path.dirname(freshLayer()), 'src');
    fs.mkdirSync(path.join(src, 'p'.repeat(120)), { recursive: true });
    fs.writeFileSync(path.join(src, 'p'.repeat(120), 'q'.repeat(120)), 'z'.repeat(5000));
    fs.symlinkSync('t'.repeat(200), path.join(src, 'ln'));
    for (const format of ['pax', 'gnu']) {
      const file = path.join(src, '..', `${format}.tar`);
      assert.equal(spawnSync('tar', [`--format=${format}`, '-cf', file, '-C', src, '.']).status, 0);
      const tar = fs.readFileSync(file);
      await roundTrip(tar);
      await roundTrip(Buffer.concat([tar, Buffer.from('trailing bytes after the end are kept too')]));
      const dir = freshLayer();
      const x = await extractLayer(Readable.from([zlib.gzipSync(tar)]), dir, { whiteouts: 'overlay' });
      assert.ok((await assemble(x.tarSplit, dir)).bytes.equals(tar), 'a gzipped layer re-assembles to its uncompressed tar');
    }
  });

  test('a layer file changed after extraction is reported, not silently packed', async () => {
    const tar = tarOf([f('a', 'hello'), f('b', 'world')]);
    const dir = freshLayer();
    const x = await extractLayer(Readable.from([tar]), dir, { whiteouts: 'overlay' });
    fs.appendFileSync(path.join(dir, 'b'), '!');
    await assert.rejects(assemble(x.tarSplit, dir), /tar-split: .*\/b is 6 bytes, the layer recorded 5 bytes/);
    fs.rmSync(path.join(dir, 'b'));
    fs.symlinkSync('a', path.join(dir, 'b'));
    await assert.rejects(assemble(x.tarSplit, dir), /ELOOP/, 'a symlink put in place of a body is not followed');
  });
});

describe('tar-split: random tars over a few paths (property)', () => {
  // Entries over a handful of overlapping paths: later entries replace,
  // merge into, delete or hide earlier ones. Whatever extraction accepts,
  // the tar-split must re-create byte for byte.
  const names = ['a', 'b', 'a/b', 'a/c', 'a/b/c', '.wh.a', 'a/.wh.b', 'a/.wh..wh..opq', 'c'];
  const entry = fc.record({
    name: fc.constantFrom(...names, 'a/', './b'),
    type: fc.constantFrom<TarEntry['type']>('file', 'file', 'dir', 'symlink', 'hardlink', 'fifo'),
    linkname: fc.constantFrom(...names),
    body: fc.string({ maxLength: 700 }),
  });

  test('extract → assemble gives the tar back', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 8 }), fc.constantFrom('overlay' as const, 'aufs' as const), async (entries, whiteouts) => {
        const tar = tarOf(entries.map((e) => [{ name: e.name, type: e.type, linkname: e.linkname, mode: 0o755 }, e.type === 'file' ? e.body : undefined]));
        const dir = freshLayer();
        let x;
        try {
          x = await extractLayer(Readable.from([tar]), dir, { whiteouts });
        } catch (e) {
          assert.ok(e instanceof LayerTarError, String(e));
          return;
        }
        accepted++;
        const a = await assemble(x.tarSplit, dir);
        assert.ok(a.bytes.equals(tar));
        assert.equal(a.diffID, 'sha256:' + createHash('sha256').update(tar).digest('hex'));
        fs.rmSync(path.dirname(dir), { recursive: true });
      }),
      { numRuns: 200 },
    );
    assert.ok(accepted > 50, `only ${accepted} of the random tars were accepted`);
  });
});
