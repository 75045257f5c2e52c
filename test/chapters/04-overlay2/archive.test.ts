// Chapter 4, section 7: "export, import, save, load".
//
// Chapter 4, for real, as root: images and containers as tar archives, and
// content addressing seen from outside. `save` writes an OCI image layout
// with Docker's manifest.json; every blob in it is named by its sha256, the
// layer blobs by their diffIDs; saving twice gives the same bytes; `rmi`
// then `load` brings back the very same image ID. `export` flattens a
// container's view into one tar, `import` makes it a one-layer image, and
// exporting a container of that image gives the same files again. Archives
// are read here with dockling's tar reader and with GNU tar.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: save, load, export, import and
// commit do not exist there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, configOf, diffIDsOf, hex, idOf, layout, ls, makeTar, ok, readTar, rmQuietly, sha256, sha256hex, type ListedEntry } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-archive');
const file = (name: string) => path.join(root(), name);
const CHANGES = 'echo hi > /www; rm /bin/vi; mkdir /d; touch /etc/passwd';

/** An image `name` made by run + commit of CHANGES (the container is removed). */
function committed(name: string): string {
  try {
    ok(root(), ['run', '--name', 'maker', 'busybox', 'sh', '-c', CHANGES]);
    return ok(root(), ['commit', 'maker', name]).trim();
  } finally {
    rmQuietly(root(), 'maker');
  }
}

const byName = (entries: ListedEntry[]) => new Map(entries.map((e) => [e.name, e]));

test('save: an OCI layout with Docker\'s manifest.json, every blob named by its digest, byte-identical twice', { skip }, () => {
  try {
    const id = committed('arc:v1');
    const diffIDs = diffIDsOf(root(), 'arc:v1');
    ok(root(), ['save', '-o', file('a.tar'), 'arc:v1']);
    ok(root(), ['save', '-o', file('b.tar'), 'arc:v1']);
    const a = fs.readFileSync(file('a.tar'));
    assert.ok(a.equals(fs.readFileSync(file('b.tar'))), 'two saves of one image must give the same bytes');
    // To stdout, the same bytes.
    const fd = fs.openSync(file('c.tar'), 'w');
    try {
      expectCode(dockling(root(), ['save', 'arc:v1'], { stdio: ['ignore', fd, 'pipe'] }), 0);
    } finally {
      fs.closeSync(fd);
    }
    assert.ok(a.equals(fs.readFileSync(file('c.tar'))), '`save > FILE` and `save -o FILE` differ');

    const entries = readTar(a);
    const named = byName(entries);
    // Every blob's name is its sha256.
    const blobs = entries.filter((e) => e.type === 'file' && e.name.startsWith('blobs/sha256/'));
    for (const b of blobs) assert.equal(b.digest, b.name.slice('blobs/sha256/'.length), `${b.name} does not hash to its name`);
    // The config blob is the image ID; each layer blob is its diffID.
    assert.ok(named.has(`blobs/sha256/${hex(id)}`), 'the config is saved under the image ID');
    for (const d of diffIDs) assert.ok(named.has(`blobs/sha256/${hex(d)}`), `layer ${d} is not in the archive`);
    assert.equal(blobs.length, diffIDs.length + 2, 'config + layers + one manifest');

    assert.deepEqual(JSON.parse(named.get('oci-layout')!.body.toString()), { imageLayoutVersion: '1.0.0' });
    const docker = JSON.parse(named.get('manifest.json')!.body.toString());
    assert.deepEqual(docker, [{ Config: `blobs/sha256/${hex(id)}`, RepoTags: ['arc:v1'], Layers: diffIDs.map((d) => `blobs/sha256/${hex(d)}`) }]);
    const index = JSON.parse(named.get('index.json')!.body.toString());
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    const desc = index.manifests[0];
    assert.equal(desc.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(desc.annotations['io.containerd.image.name'], 'docker.io/library/arc:v1');
    assert.equal(desc.annotations['org.opencontainers.image.ref.name'], 'v1');
    const manifestBlob = named.get(`blobs/sha256/${hex(desc.digest)}`)!;
    assert.equal(desc.size, manifestBlob.size);
    const manifest = JSON.parse(manifestBlob.body.toString());
    assert.equal(manifest.config.digest, id);
    assert.deepEqual(manifest.layers.map((l: { digest: string }) => l.digest), diffIDs);
    for (const l of manifest.layers) assert.equal(l.size, named.get(`blobs/sha256/${hex(l.digest)}`)!.size);

    // The committed layer holds the changes, the deletion as an OCI whiteout.
    const layer = readTar(named.get(`blobs/sha256/${hex(diffIDs.at(-1)!)}`)!.body);
    assert.deepEqual(layer.map((e) => e.name).sort(), ['bin/', 'bin/.wh.vi', 'd/', 'etc/', 'etc/passwd', 'www']);
    assert.equal(byName(layer).get('www')!.body.toString(), 'hi\n');
    // GNU tar reads the archive the same way.
    const gnu = spawnSync('tar', ['-tf', file('a.tar')], { encoding: 'utf8' });
    assert.equal(gnu.status, 0, gnu.stderr);
    assert.deepEqual(gnu.stdout.split('\n').filter(Boolean).sort(), entries.map((e) => e.name).sort());
  } finally {
    dockling(root(), ['rmi', 'arc:v1']);
  }
});

test('save → rmi → load: the same image ID and diffIDs come back, and run shows the files', { skip }, () => {
  try {
    const id = committed('round:v1');
    const diffIDs = diffIDsOf(root(), 'round:v1');
    ok(root(), ['save', '-o', file('r.tar'), 'round:v1']);
    const rmi = ok(root(), ['rmi', 'round:v1']);
    assert.match(rmi, new RegExp(`^Untagged: round:v1\nDeleted: ${id}\n`));
    assert.equal(expectCode(dockling(root(), ['image', 'inspect', 'round:v1']), 1).stdout.trim(), '[]');
    // The committed layer is gone from both stores; busybox's stays.
    const L = layout(root());
    assert.ok(!fs.existsSync(L.layer(sha256(`${diffIDs[0]} ${diffIDs[1]}`))), 'the layer only round:v1 used is still in layerdb');

    // Load from stdin this time.
    const loaded = expectCode(dockling(root(), ['load'], { input: fs.readFileSync(file('r.tar')) }), 0);
    assert.equal(loaded.stdout, 'Loaded image: round:v1\n');
    assert.equal(idOf(root(), 'round:v1'), id, 'load must give back the ID the image had');
    assert.deepEqual(diffIDsOf(root(), 'round:v1'), diffIDs);
    assert.equal(sha256(fs.readFileSync(L.content(id))), id);
    // Loading again changes nothing (content addressing: the same layers are found by chainID).
    const before = ls(L.overlay);
    assert.equal(ok(root(), ['load', '-q', '-i', file('r.tar')]), '');
    assert.deepEqual(ls(L.overlay), before, 'a second load must not store the layers again');
    assert.deepEqual(ls(L.tmp), [], 'load left scratch files in tmp/');

    const out = ok(root(), ['run', '--rm', 'round:v1', 'sh', '-c', 'cat /www; test -e /bin/vi || echo no-vi; test -d /d && echo d']);
    assert.equal(out, 'hi\nno-vi\nd\n');
  } finally {
    dockling(root(), ['rmi', 'round:v1']);
  }
  assertNoContainerLayers(root());
});

test('load checks every digest: a layer that is not the config\'s diffID, or a config not named by its hash, is refused', { skip }, () => {
  const layer = makeTar([{ name: 'hello', type: 'file', body: 'hello\n' }]);
  const other = makeTar([{ name: 'hello', type: 'file', body: 'HELLO\n' }]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, history: [] }));
  const archive = (cfgName: string, blob: Buffer) =>
    makeTar([
      { name: cfgName, type: 'file', body: config },
      { name: 'layer.tar', type: 'file', body: blob },
      { name: 'manifest.json', type: 'file', body: JSON.stringify([{ Config: cfgName, RepoTags: ['liar:1'], Layers: ['layer.tar'] }]) },
    ]);
  const L = layout(root());
  ok(root(), ['images']);
  const before = { layers: ls(path.join(L.img, 'layerdb/sha256')), overlay: ls(L.overlay), images: ls(path.join(L.img, 'imagedb/content/sha256')) };

  fs.writeFileSync(file('swapped.tar'), archive(`${sha256hex(config)}.json`, other));
  const swapped = expectCode(dockling(root(), ['load', '-i', file('swapped.tar')]), 1);
  assert.match(swapped.stderr, /invalid archive: layer 1 \(layer\.tar\) has diffID sha256:[0-9a-f]{64}, its config says sha256:[0-9a-f]{64}/);

  fs.writeFileSync(file('misnamed.tar'), archive(`${'0'.repeat(64)}.json`, layer));
  const misnamed = expectCode(dockling(root(), ['load', '-i', file('misnamed.tar')]), 1);
  assert.match(misnamed.stderr, /invalid archive: config 0{64}\.json has digest/);

  fs.writeFileSync(file('empty.tar'), makeTar([{ name: 'hello', type: 'file', body: 'x' }]));
  const empty = expectCode(dockling(root(), ['load', '-i', file('empty.tar')]), 1);
  assert.match(empty.stderr, /neither manifest\.json .* nor index\.json/);

  const after = { layers: ls(path.join(L.img, 'layerdb/sha256')), overlay: ls(L.overlay), images: ls(path.join(L.img, 'imagedb/content/sha256')) };
  assert.deepEqual(after, before, 'a refused archive must leave the stores as they were');
  assert.deepEqual(ls(L.tmp), []);
  assert.doesNotMatch(ok(root(), ['images']), /liar/);
});

test('export → import → export of a container of the imported image: the same files', { skip }, () => {
  try {
    ok(root(), ['run', '--name', 'ex1', 'busybox', 'sh', '-c', `${CHANGES}; ln -s /www /lnk; chmod 700 /d`]);
    ok(root(), ['export', '-o', file('e1.tar'), 'ex1']);
    assert.deepEqual(ls(root()).filter((f) => f.includes('.tmp-')), [], 'export left its temporary file');
    const e1 = readTar(fs.readFileSync(file('e1.tar')));
    const names = e1.map((e) => e.name);
    assert.ok(names.includes('www') && names.includes('bin/busybox') && names.includes('lnk'));
    assert.ok(!names.includes('bin/vi'), 'the deleted file is not exported');
    assert.ok(!names.some((n) => n.split('/').some((c) => c.startsWith('.wh.'))), 'an export is flat: no whiteouts');
    assert.ok(!names.some((n) => /^proc\/./.test(n) || /^sys\/./.test(n)), 'the mounts of a running container are not exported');

    // import: one layer whose diffID is the sha256 of the tar as given.
    const id = ok(root(), ['import', '-m', 'flattened', file('e1.tar'), 'flat:1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const cfg = configOf(root(), id);
    assert.deepEqual(cfg.rootfs.diff_ids, [sha256(fs.readFileSync(file('e1.tar')))]);
    assert.equal((cfg as unknown as { comment: string }).comment, 'flattened');

    ok(root(), ['run', '--name', 'ex2', 'flat:1', 'true']);
    ok(root(), ['export', '-o', file('e2.tar'), 'ex2']);
    const e2 = readTar(fs.readFileSync(file('e2.tar')));
    // Everything but the times of what each container's init layer made anew.
    const INIT = new Set(['.dockerenv', 'etc/', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc/mtab', 'proc/', 'sys/', 'dev/', 'dev/pts/', 'dev/shm/', 'dev/console']);
    const view = (es: ListedEntry[]) => es.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.gid, e.size, e.linkname, e.digest, INIT.has(e.name) ? '-' : e.mtime].join(' '));
    assert.deepEqual(view(e2), view(e1));
    // GNU tar lists both the same way (names, modes, owners, sizes).
    const gnu = (f: string) => spawnSync('tar', ['--numeric-owner', '-tvf', f], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(/\s+/).filter((_, i) => i !== 3 && i !== 4).join(' '));
    assert.deepEqual(gnu(file('e2.tar')), gnu(file('e1.tar')));

    // import from stdin, with no name: a dangling image, by ID only.
    // Its layer is the same tar, so the same chainID: stored once.
    const layers = ls(path.join(layout(root()).img, 'layerdb/sha256'));
    const anon = expectCode(dockling(root(), ['import', '-'], { input: fs.readFileSync(file('e1.tar')) }), 0).stdout.trim();
    assert.match(anon, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(configOf(root(), anon).rootfs.diff_ids, cfg.rootfs.diff_ids);
    assert.deepEqual(ls(path.join(layout(root()).img, 'layerdb/sha256')), layers, 'the same layer tar must be stored once');
    assert.match(ok(root(), ['images']), /<none>\s+<none>\s+/);
    ok(root(), ['rmi', anon]);
  } finally {
    rmQuietly(root(), 'ex1', 'ex2');
    dockling(root(), ['rmi', 'flat:1']);
  }
  assertNoContainerLayers(root());
});
