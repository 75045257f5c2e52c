// Chapter 4, section 2: "The store, as Docker lays it out" (changed under a
// lock).
//
// Chapter 4, for real, as root: several dockling processes on one state root
// at once. The image and layer stores are changed under a lock
// (image/overlay2/.lock), so 5 `run`s, 5 `commit`s and 5 `rmi`s in parallel
// must leave a consistent store: every image listed and runnable, every
// layer an image lists present in layerdb and overlay2/, nothing half-made,
// no lock left behind. On a fresh root, the first commands race to make
// busybox: it must be made once, and every one of them must see it.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: no image store, no `commit`,
// `images` or `rmi`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { docklingAsync, rootOrSkip, type Result } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, chainIDsOf, configOf, hex, layout, ls, ok, rmQuietly, tableRows } from './store-helpers.ts';

const skip = rootOrSkip();
const dir = useStateRoot('ch4-par');
const N = 5;

/** Run the same kind of command N times at once; all results. */
const parallel = (root: string, args: (i: number) => string[]): Promise<Result[]> => Promise.all(Array.from({ length: N }, (_, i) => docklingAsync(root, args(i)).done));

/** The store is whole: every listed image's layers are in layerdb and overlay2/, nothing half-written. */
function assertConsistent(root: string): void {
  const L = layout(root);
  assert.ok(!fs.existsSync(L.lock), 'the store lock was left behind');
  const layerdb = path.join(L.img, 'layerdb/sha256');
  assert.deepEqual(ls(layerdb).filter((n) => !/^[0-9a-f]{64}$/.test(n)), [], 'half-written layer dirs remain in layerdb');
  assert.deepEqual(ls(L.img).filter((n) => n.includes('.tmp') || n.startsWith('.')), [], 'temporary files remain in image/overlay2');
  for (const chain of ls(layerdb)) {
    for (const f of ['diff', 'size', 'cache-id', 'tar-split.json.gz']) assert.ok(fs.existsSync(path.join(layerdb, chain, f)), `layer ${chain} lacks ${f}`);
    const cache = fs.readFileSync(path.join(layerdb, chain, 'cache-id'), 'utf8');
    assert.ok(fs.existsSync(path.join(L.overlay, cache, 'diff')), `layer ${chain}'s overlay2 dir is missing`);
  }
  const repos = JSON.parse(fs.readFileSync(L.repositories, 'utf8')).Repositories as Record<string, Record<string, string>>;
  for (const ids of Object.values(repos)) {
    for (const id of Object.values(ids)) {
      assert.ok(fs.existsSync(L.content(id)), `repositories.json names ${id}, which is not in imagedb`);
      for (const c of chainIDsOf(configOf(root, id).rootfs.diff_ids)) assert.ok(ls(layerdb).includes(hex(c)), `image ${id} lacks its layer ${c}`);
    }
  }
  assert.deepEqual(ls(L.tmp), [], 'scratch files remain in tmp/');
}

test(`${N} parallel runs, then ${N} parallel commits, then ${N} parallel rmi: a consistent store`, { skip }, async () => {
  const root = dir();
  ok(root, ['images']);
  const before = { layers: ls(path.join(layout(root).img, 'layerdb/sha256')), overlay: ls(layout(root).overlay) };
  try {
    for (const r of await parallel(root, (i) => ['run', '--name', `par${i}`, 'busybox', 'sh', '-c', `echo ${i} > /f${i}`])) expectCode(r, 0);
    const commits = await parallel(root, (i) => ['commit', `par${i}`, `par:${i}`]);
    const ids = commits.map((r) => expectCode(r, 0).stdout.trim());
    assert.equal(new Set(ids).size, N, 'each commit made its own image');
    assertConsistent(root);

    const rows = tableRows(ok(root, ['images'])).slice(1);
    for (let i = 0; i < N; i++) {
      const row = rows.find((c) => c[0] === 'par' && c[1] === String(i));
      assert.ok(row, `par:${i} is not listed`);
      assert.equal(row[2], hex(ids[i]).slice(0, 12));
    }
    // Each image's top layer holds its own container's file, and only that.
    for (let i = 0; i < N; i++) {
      const top = chainIDsOf(configOf(root, ids[i]).rootfs.diff_ids).at(-1)!;
      const cache = fs.readFileSync(path.join(layout(root).layer(top), 'cache-id'), 'utf8');
      const diff = path.join(layout(root).overlay, cache, 'diff');
      assert.deepEqual(ls(diff).filter((n) => n.startsWith('f')), [`f${i}`]);
      assert.equal(fs.readFileSync(path.join(diff, `f${i}`), 'utf8'), `${i}\n`);
    }
    assert.equal(ok(root, ['run', '--rm', `par:${N - 1}`, 'sh', '-c', 'cat /f*']), `${N - 1}\n`);

    ok(root, ['rm', ...Array.from({ length: N }, (_, i) => `par${i}`)]);
    for (const r of await parallel(root, (i) => ['rmi', `par:${i}`])) expectCode(r, 0);
    assertConsistent(root);
    assert.deepEqual({ layers: ls(path.join(layout(root).img, 'layerdb/sha256')), overlay: ls(layout(root).overlay) }, before, 'parallel rmi left layers');
  } finally {
    rmQuietly(root, ...Array.from({ length: N }, (_, i) => `par${i}`));
  }
  assertNoContainerLayers(root);
});

test(`${N} parallel runs on a fresh root make busybox once`, { skip }, async () => {
  const root = path.join(dir(), 'fresh-run');
  for (const [i, r] of (await parallel(root, (i) => ['run', '--rm', 'busybox', 'echo', `r${i}`])).entries()) assert.equal(expectCode(r, 0).stdout, `r${i}\n`);
  assertConsistent(root);
  assert.equal(ls(path.join(layout(root).img, 'layerdb/sha256')).length, 1, 'busybox was made more than once');
  assert.deepEqual(ls(layout(root).overlay).length, 2, 'one layer dir and l/: no copy of busybox left behind');
  assertNoContainerLayers(root);
});

test(`${N} parallel \`images\` on a fresh root all list busybox`, { skip }, async () => {
  const root = path.join(dir(), 'fresh-images');
  const out = (await parallel(root, () => ['images', '-q'])).map((r) => expectCode(r, 0).stdout);
  const id = ok(root, ['images', '-q']);
  assert.match(id, /^[0-9a-f]{12}\n$/);
  assert.deepEqual(out, Array(N).fill(id), 'every `images` on a fresh root must show busybox, also the ones that lost the race to make it');
  assertConsistent(root);
  assert.equal(ls(path.join(layout(root).img, 'layerdb/sha256')).length, 1);
});
