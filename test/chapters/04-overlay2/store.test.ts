// Chapter 4, section 2: "The store, as Docker lays it out".
//
// Chapter 4, for real, as root: the image and layer stores on disk, in
// Docker's layout, read back here file by file (not through dockling's own
// store code), so that a learner's `ls /var/lib/docker` notes map onto
// dockling's state root and the content addressing can be checked by hand:
//
// - a fresh root gets image/overlay2/{imagedb,layerdb,repositories.json} and
//   overlay2/<cache-id>/{diff,link}, overlay2/l/<26-char link>;
// - an image ID is the sha256 of its config file; a layer's `diff` file is
//   the diffID its image's config lists; busybox is made deterministically
//   (the same ID in any fresh root);
// - `images` prints Docker's table with 12-hex IDs; names are normalised
//   and refused with Docker's messages.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no image store, no
// `images`, `image inspect` or `tag`, and `run` knows only busybox).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { dockling, rootOrSkip, tempRoot } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { chainIDsOf, configOf, hex, idOf, layout, ls, ok, sha256, tableRows } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-store');

/** The busybox image's ID as repositories.json names it. */
function busyboxId(r: string): string {
  const repos = JSON.parse(fs.readFileSync(layout(r).repositories, 'utf8'));
  const id = repos?.Repositories?.busybox?.['busybox:latest'];
  assert.match(id ?? '', /^sha256:[0-9a-f]{64}$/, `repositories.json has no busybox:latest: ${JSON.stringify(repos)}`);
  return id;
}

test("a fresh root gets Docker's layout, and busybox in it, content-addressed", { skip }, () => {
  const out = ok(root(), ['images', '-q']);
  const L = layout(root());
  const id = busyboxId(root());
  assert.equal(out, hex(id).slice(0, 12) + '\n', '`images -q` prints the 12-hex short ID of the one image');
  // repositories.json is exactly Docker's shape: familiar repo → familiar ref → ID.
  assert.deepEqual(JSON.parse(fs.readFileSync(L.repositories, 'utf8')), { Repositories: { busybox: { 'busybox:latest': id } } });

  // imagedb: the content file's sha256 is the image ID.
  const content = fs.readFileSync(L.content(id));
  assert.equal(sha256(content), id, 'the image ID is the sha256 of its config file');
  assert.deepEqual(ls(path.join(L.img, 'imagedb/content/sha256')), [hex(id)]);
  assert.ok(fs.existsSync(path.join(L.metadata(id), 'lastUpdated')), 'imagedb/metadata/sha256/<id>/lastUpdated (written by tag)');
  assert.ok(!fs.existsSync(path.join(L.metadata(id), 'parent')), 'busybox has no parent image');

  // layerdb: one base layer; its chainID is its diffID, and `diff` is the config's diff_ids[0].
  const config = JSON.parse(content.toString('utf8'));
  assert.equal(config.rootfs.type, 'layers');
  assert.equal(config.rootfs.diff_ids.length, 1, 'busybox is one layer');
  const [diffID] = config.rootfs.diff_ids;
  assert.deepEqual(ls(path.join(L.img, 'layerdb/sha256')), [hex(diffID)], 'the base layer is filed under its chainID = its diffID');
  const layerDir = L.layer(diffID);
  assert.deepEqual(ls(layerDir), ['cache-id', 'diff', 'size', 'tar-split.json.gz'], 'a base layer has no parent file');
  assert.equal(fs.readFileSync(path.join(layerDir, 'diff'), 'utf8').trim(), diffID);
  const size = Number(fs.readFileSync(path.join(layerDir, 'size'), 'utf8'));
  assert.ok(size > 100_000, `size is the bytes of the layer's files (busybox alone is large): ${size}`);
  // tar-split is gzipped JSON lines, as Docker's is.
  const split = zlib.gunzipSync(fs.readFileSync(path.join(layerDir, 'tar-split.json.gz'))).toString('utf8');
  assert.ok(split.split('\n').filter(Boolean).every((l) => JSON.parse(l) && true), 'tar-split.json.gz holds JSON lines');

  // overlay2/<cache-id>/{diff,link} and l/<link> -> ../<cache-id>/diff
  const cacheID = fs.readFileSync(path.join(layerDir, 'cache-id'), 'utf8').trim();
  assert.match(cacheID, /^[0-9a-f]{64}$/);
  assert.deepEqual(ls(L.overlay), [cacheID, 'l'].sort());
  assert.deepEqual(ls(path.join(L.overlay, cacheID)), ['diff', 'link'], 'a base layer has no lower, work or merged');
  const link = fs.readFileSync(path.join(L.overlay, cacheID, 'link'), 'utf8').trim();
  assert.match(link, /^[A-Z0-9]{26}$/, 'the short name is 26 characters');
  assert.deepEqual(ls(path.join(L.overlay, 'l')), [link]);
  assert.equal(fs.readlinkSync(path.join(L.overlay, 'l', link)), `../${cacheID}/diff`);
  assert.ok(fs.existsSync(path.join(L.overlay, cacheID, 'diff/bin/busybox')), "the layer's files are in its diff dir");
  // Making the image left nothing behind in the root's tmp/.
  assert.deepEqual(ls(L.tmp), []);
});

test('busybox gets the same image ID and layer in any fresh root (deterministic)', { skip }, () => {
  ok(root(), ['images']);
  const other = tempRoot('ch4-store-b');
  try {
    ok(other, ['images']);
    const a = busyboxId(root());
    const b = busyboxId(other);
    assert.equal(b, a, 'two fresh roots, two different image IDs: busybox is not made deterministically');
    assert.deepEqual(fs.readFileSync(layout(other).content(b)), fs.readFileSync(layout(root()).content(a)), 'the config bytes differ');
    // The chainIDs in both layer stores follow from the config, by the OCI formula.
    const want = chainIDsOf(configOf(root(), a).rootfs.diff_ids).map(hex);
    assert.deepEqual(ls(path.join(layout(other).img, 'layerdb/sha256')), want);
    // The cache-ids are random: content names the layer, not the directory.
    const cache = (r: string) => fs.readFileSync(path.join(layout(r).layer(want[0]), 'cache-id'), 'utf8');
    assert.notEqual(cache(other), cache(root()), 'cache-ids should be random per store');
  } finally {
    assert.deepEqual(mountsUnder(other), []);
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test("images: Docker's table, 12-hex IDs, --no-trunc, a filter, `image ls`", { skip }, () => {
  ok(root(), ['tag', 'busybox', 'extra:two']);
  try {
    const out = ok(root(), ['images']);
    const [head, ...rows] = out.split('\n').filter(Boolean);
    // Docker's tabwriter: columns at least 10 wide, 3 spaces of padding.
    assert.match(head, /^REPOSITORY {3,}TAG {7,}IMAGE ID {7,}CREATED {3,}SIZE$/, `the header: ${JSON.stringify(head)}`);
    const cells = tableRows(out).slice(1);
    assert.equal(rows.length, 2);
    const id = busyboxId(root());
    assert.deepEqual(cells.map((c) => [c[0], c[1], c[2]]).sort(), [['busybox', 'latest', hex(id).slice(0, 12)], ['extra', 'two', hex(id).slice(0, 12)]]);
    for (const c of cells) {
      assert.match(c[3], /ago$/, `CREATED is relative: ${c[3]}`);
      assert.match(c[4], /^\d+(\.\d+)?[kMG]?B$/, `SIZE is human-readable: ${c[4]}`);
    }
    // Every cell starts under its heading.
    const starts = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'].map((h) => head.indexOf(h));
    for (const [k, r] of rows.entries()) cells[k].forEach((cell, c) => assert.ok(r.startsWith(cell, starts[c]), `column ${c} of ${JSON.stringify(r)} is not under its heading`));
    const full = tableRows(ok(root(), ['images', '--no-trunc'])).slice(1);
    assert.ok(full.every((c) => c[2] === id), `--no-trunc shows sha256:<64 hex>: ${JSON.stringify(full)}`);
    assert.deepEqual(tableRows(ok(root(), ['images', 'extra'])).slice(1).map((c) => c[0]), ['extra'], 'a REPOSITORY filter');
    assert.equal(ok(root(), ['image', 'ls']), out, '`image ls` is `images`');
    assert.ok(ok(root(), ['images', '-q']).split('\n').filter(Boolean).every((l) => l === hex(id).slice(0, 12)), '-q prints only short IDs');
  } finally {
    dockling(root(), ['rmi', 'extra:two']);
  }
});

test("names are normalised and refused with Docker's messages", { skip }, () => {
  // Capitals: Docker's "must be lowercase", with the normalised path.
  const bad = expectCode(dockling(root(), ['tag', 'busybox', 'Bad:Name']), 1);
  assert.match(bad.stderr, /invalid reference format: repository name \(library\/Bad\) must be lowercase/);
  assert.match(ok(root(), ['images']), /busybox/);
  assert.doesNotMatch(ok(root(), ['images']), /Bad/, 'the refused name must not be stored');

  // A name with a registry and no tag: run looks for :latest, finds nothing, 125, makes no container.
  const missing = expectCode(dockling(root(), ['run', '--rm', 'localhost:5000/app']), 125);
  assert.match(missing.stderr, /Unable to find image 'localhost:5000\/app:latest' locally/);

  // docker.io/library/x and x are the same name; a registry host keeps its name.
  ok(root(), ['tag', 'docker.io/library/busybox', 'docker.io/library/copy:1']);
  ok(root(), ['tag', 'copy:1', 'localhost:5000/app']);
  try {
    const tags = JSON.parse(ok(root(), ['image', 'inspect', '-f', '{{json .RepoTags}}', 'busybox']));
    assert.deepEqual(tags, ['busybox:latest', 'copy:1', 'localhost:5000/app:latest']);
    const repos = JSON.parse(fs.readFileSync(layout(root()).repositories, 'utf8')).Repositories;
    assert.deepEqual(Object.keys(repos).sort(), ['busybox', 'copy', 'localhost:5000/app']);
    // An image by ID prefix, as Docker resolves it.
    const id = idOf(root(), 'localhost:5000/app');
    assert.equal(idOf(root(), hex(id).slice(0, 8)), id);
    // A digest cannot be a tag.
    const dig = expectCode(dockling(root(), ['tag', 'busybox', `busybox@sha256:${'a'.repeat(64)}`]), 1);
    assert.match(dig.stderr, /refusing to create a tag with a digest reference/);
  } finally {
    dockling(root(), ['rmi', 'copy:1', 'localhost:5000/app']);
  }
  assert.deepEqual(JSON.parse(ok(root(), ['image', 'inspect', '-f', '{{json .RepoTags}}', 'busybox'])), ['busybox:latest']);
});

test('info names the storage driver, its backing filesystem and the root', { skip }, () => {
  const out = ok(root(), ['info']);
  assert.match(out, /^ Storage Driver: overlay2$/m);
  assert.match(out, /^ {2}Backing Filesystem: \S+$/m);
  assert.match(out, new RegExp(`^ Docker Root Dir: ${root().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(out, /^ Images: 1$/m);
});
