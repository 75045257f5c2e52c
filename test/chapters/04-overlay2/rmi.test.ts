// Chapter 4, section 8: "Names, and what rmi frees".
//
// Chapter 4, for real, as root: removing images. A name is a pointer and an
// image is content: `rmi NAME` removes the pointer, and the image (then its
// layers, top down) only when nothing else points at it. Docker's conflict
// messages and exit status 1 are checked word for word where a script or a
// learner would meet them: a container (even a stopped one) using the image,
// an ID with several names, a child image. Layers are freed from layerdb
// and overlay2/ (with their l/ links) exactly when no image and no container
// stands on them: a shared base layer stays.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no `rmi`, `tag`,
// `commit` or image store there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, chainIDsOf, configOf, containerID, hex, idOf, layout, ls, ok, rmQuietly } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-rmi');
const short = (id: string) => hex(id).slice(0, 12);

/** Commit a container of `from` that writes /<file>; the container is removed. */
function commitOn(from: string, file: string, name: string): string {
  try {
    ok(root(), ['run', '--name', 'maker', from, 'sh', '-c', `echo ${file} > /${file}`]);
    return ok(root(), ['commit', 'maker', name]).trim();
  } finally {
    rmQuietly(root(), 'maker');
  }
}

/** The state of both stores: read-only layers, overlay2 dirs, l/ links. */
function stores() {
  const L = layout(root());
  return { layers: ls(path.join(L.img, 'layerdb/sha256')), overlay: ls(L.overlay), links: ls(path.join(L.overlay, 'l')) };
}

/** The overlay2 dir and l/ link of a read-only layer. */
function driverDirOf(chain: string): { cache: string; link: string } {
  const cache = fs.readFileSync(path.join(layout(root()).layer(chain), 'cache-id'), 'utf8').trim();
  return { cache, link: fs.readFileSync(path.join(layout(root()).overlay, cache, 'link'), 'utf8').trim() };
}

test("rmi refuses an image a stopped container uses, with Docker's messages and status 1", { skip }, () => {
  const id = commitOn('busybox', 'used', 'used:1');
  try {
    ok(root(), ['run', '--name', 'user', 'used:1', 'true']);
    const cid = containerID(root(), 'user');
    const byName = expectCode(dockling(root(), ['rmi', 'used:1']), 1);
    assert.equal(byName.stderr, `dockling: conflict: unable to remove repository reference "used:1" (must force) - container ${short(cid)} is using its referenced image ${short(id)}\n`);
    assert.equal(byName.stdout, '');
    const byId = expectCode(dockling(root(), ['rmi', short(id)]), 1);
    assert.equal(byId.stderr, `dockling: conflict: unable to delete ${short(id)} (must be forced) - image is being used by stopped container ${short(cid)}\n`);
    // Nothing was removed by the refusals.
    assert.equal(idOf(root(), 'used:1'), id);
    // Once the container is gone, rmi works.
    ok(root(), ['rm', 'user']);
    const out = ok(root(), ['rmi', 'used:1']);
    assert.equal(out.split('\n')[0], 'Untagged: used:1');
    assert.equal(out.split('\n')[1], `Deleted: ${id}`);
  } finally {
    rmQuietly(root(), 'user');
    dockling(root(), ['rmi', '-f', 'used:1']);
  }
});

test('rmi by ID of an image with two names refuses ("referenced in multiple repositories"); -f removes both', { skip }, () => {
  const id = commitOn('busybox', 'two', 'one:1');
  ok(root(), ['tag', 'one:1', 'other/two:2']);
  try {
    const r = expectCode(dockling(root(), ['rmi', short(id)]), 1);
    assert.equal(r.stderr, `dockling: conflict: unable to delete ${short(id)} (must be forced) - image is referenced in multiple repositories\n`);
    assert.deepEqual(JSON.parse(ok(root(), ['image', 'inspect', '-f', '{{json .RepoTags}}', id])), ['one:1', 'other/two:2']);
    const out = ok(root(), ['rmi', '-f', short(id)]).split('\n').filter(Boolean);
    assert.deepEqual(out.slice(0, 3), ['Untagged: one:1', 'Untagged: other/two:2', `Deleted: ${id}`]);
    assert.equal(out.length, 4, `and one layer: ${out.join(' | ')}`);
    assert.equal(expectCode(dockling(root(), ['rmi', 'one:1']), 1).stderr, 'dockling: No such image: one:1\n');
  } finally {
    dockling(root(), ['rmi', '-f', 'one:1', 'other/two:2']);
  }
});

test('tag, then rmi of one name: only that name goes', { skip }, () => {
  const bb = idOf(root(), 'busybox');
  const before = stores();
  ok(root(), ['tag', 'busybox', 'bb:alias']);
  assert.equal(idOf(root(), 'bb:alias'), bb);
  assert.equal(ok(root(), ['rmi', 'bb:alias']), 'Untagged: bb:alias\n');
  assert.equal(idOf(root(), 'busybox'), bb);
  assert.deepEqual(stores(), before, 'untagging must not touch a layer');
  assert.deepEqual(JSON.parse(fs.readFileSync(layout(root()).repositories, 'utf8')).Repositories, { busybox: { 'busybox:latest': bb } }, 'an emptied repository leaves repositories.json');
  // And an unknown name, as Docker says it.
  assert.equal(expectCode(dockling(root(), ['rmi', 'nosuch']), 1).stderr, 'dockling: No such image: nosuch:latest\n');
});

test('rmi frees, top down, the layers no other image uses; the shared base layer stays', { skip }, () => {
  const before = stores();
  const a = commitOn('busybox', 'a', 'a:1');
  const b = commitOn('a:1', 'b', 'b:1');
  try {
    const [base, la, lb] = chainIDsOf(configOf(root(), b).rootfs.diff_ids);
    assert.deepEqual(chainIDsOf(configOf(root(), a).rootfs.diff_ids), [base, la], 'b is a plus one layer');
    const dirA = driverDirOf(la);
    const dirB = driverDirOf(lb);
    // a has a child: by ID it cannot go, even with -f.
    const child = expectCode(dockling(root(), ['rmi', '-f', short(a)]), 1);
    assert.equal(child.stderr, `dockling: conflict: unable to delete ${short(a)} (cannot be forced) - image has dependent child images\n`);

    assert.equal(ok(root(), ['rmi', 'b:1']), `Untagged: b:1\nDeleted: ${b}\nDeleted: ${lb}\n`, "b's own layer goes, a's stays");
    const L = layout(root());
    assert.ok(!fs.existsSync(L.layer(lb)) && !fs.existsSync(path.join(L.overlay, dirB.cache)) && !fs.existsSync(path.join(L.overlay, 'l', dirB.link)), "b's layer is still on disk");
    assert.ok(fs.existsSync(L.layer(la)) && fs.existsSync(path.join(L.overlay, dirA.cache, 'diff/a')), "a's layer is gone");
    assert.equal(ok(root(), ['run', '--rm', 'a:1', 'cat', '/a']), 'a\n');

    assert.equal(ok(root(), ['rmi', 'a:1']), `Untagged: a:1\nDeleted: ${a}\nDeleted: ${la}\n`);
    assert.ok(fs.existsSync(L.layer(base)), "busybox's layer must stay: busybox uses it");
    assert.deepEqual(stores(), before, 'after both rmi, the stores are as before the commits');
  } finally {
    dockling(root(), ['rmi', 'b:1', 'a:1']);
  }
  assertNoContainerLayers(root());
});

test("rmi -f of an image a stopped container uses, then rm of the container: the image's layers are freed", { skip }, () => {
  const before = stores();
  const id = commitOn('busybox', 'orphan', 'orphan:1');
  try {
    ok(root(), ['run', '--name', 'holder', 'orphan:1', 'true']);
    const out = ok(root(), ['rmi', '-f', 'orphan:1']);
    assert.equal(out, `Untagged: orphan:1\nDeleted: ${id}\n`, 'the layers stay while the container stands on them');
    // The container still runs from its layers until it is removed.
    assert.equal(ok(root(), ['diff', 'holder']), '');
    ok(root(), ['rm', 'holder']);
    // Docker releases a layer when its last user (image or container) goes:
    // no image and no container uses orphan:1's layer any more.
    assert.deepEqual(stores(), before, "rm of the last container on a removed image's layers must free them (they are orphaned otherwise: no rmi can reach them)");
  } finally {
    rmQuietly(root(), 'holder');
    dockling(root(), ['rmi', '-f', 'orphan:1']);
  }
});
