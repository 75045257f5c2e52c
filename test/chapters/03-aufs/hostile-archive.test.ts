// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), section 7: "export, import, save, load", its "A hostile archive"
// and "Trees deeper than a path".
//
// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), for real, as root: broken archives and outputs are the user's
// input at fault, never a crash. Whatever JSON an archive's manifest.json,
// index.json or manifests hold, `load` answers with one line naming the
// file and what is wrong, status 1, and keeps nothing (a property test
// with random JSON values). A tar whose names are 3000 levels deep is
// refused by `import` with a clear error and leaves no layer directory.
// `save -o` into a directory that does not exist gets the docker CLI's
// message; `save | head -c10` ends without a stack trace; neither leaves
// scratch in tmp/.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: load, import and save do not
// exist there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { BIN, dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, layout, ls, makeTar, sha256, sha256hex } from '../04-overlay2/store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-archive-input');
const store = () => ls(path.join(layout(root()).img, 'layerdb/sha256')).join() + '|' + ls(path.join(layout(root()).img, 'imagedb/content/sha256')).join();

/** `load` of `archive`: status 1, one clean line naming what is wrong, nothing kept. */
function refusedLoad(archive: Buffer, why: RegExp): void {
  const file = path.join(root(), 'in.tar');
  fs.writeFileSync(file, archive);
  expectCode(dockling(root(), ['images', '-q']), 0);
  const before = store();
  try {
    const r = expectCode(dockling(root(), ['load', '-i', file]), 1);
    assert.match(r.stderr, /^dockling: invalid archive: /);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'a crash, not a clean error');
    assert.equal(store(), before, 'load kept something');
    assert.deepEqual(ls(layout(root()).tmp), [], 'scratch left in tmp/');
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test('load: a manifest.json that is an object, not a list, is a clean error naming manifest.json', { skip }, () => {
  refusedLoad(makeTar([{ name: 'manifest.json', type: 'file', body: '{"Config": "c.json", "Layers": []}' }]), /manifest\.json must be a list.*an object/);
});

test('load: random JSON as manifest.json, or in place of one field, never crashes (property)', { skip }, () => {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const manifest = fc.oneof(
    anyJson,
    fc.record({ Config: anyJson, RepoTags: anyJson, Layers: anyJson }).map((m) => [m]),
    fc.tuple(anyJson, fc.constantFrom('Config', 'RepoTags', 'Layers')).map(([v, k]) => [{ Config: 'c.json', RepoTags: ['x:1'], Layers: [], [k]: v }]),
  );
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  fc.assert(
    fc.property(manifest, (m) => {
      const archive = makeTar([{ name: 'c.json', type: 'file', body: config }, { name: 'manifest.json', type: 'file', body: JSON.stringify(m) ?? 'null' }]);
      // A value that happens to be a well-formed manifest loads; anything else is a clean refusal.
      type Entry = { Config?: unknown; Layers?: unknown; RepoTags?: unknown } | null;
      const good = Array.isArray(m) && m.length > 0 && (m as Entry[]).every((e) => e?.Config === 'c.json' && Array.isArray(e.Layers) && e.Layers.length === 0 && (e.RepoTags == null || (Array.isArray(e.RepoTags) && e.RepoTags.every((t: unknown) => t === 'x:1'))));
      if (!good) return refusedLoad(archive, /./);
      fs.writeFileSync(path.join(root(), 'in.tar'), archive);
      expectCode(dockling(root(), ['load', '-i', path.join(root(), 'in.tar')]), 0);
      expectCode(dockling(root(), ['rmi', sha256(config)]), 0);
      fs.rmSync(path.join(root(), 'in.tar'));
    }),
    { numRuns: 25, seed: 9 },
  );
});

test('load: an OCI index, manifest or config of the wrong shape or digest is a clean error', { skip }, () => {
  const oci = (index: unknown, blobs: Buffer[]) =>
    makeTar([...blobs.map((b) => ({ name: `blobs/sha256/${sha256hex(b)}`, type: 'file' as const, body: b })), { name: 'index.json', type: 'file', body: JSON.stringify(index) }]);
  refusedLoad(oci({ manifests: 'none' }, []), /index\.json must be an OCI image index/);
  refusedLoad(oci({ manifests: [{ digest: 'sha256:../../x' }] }, []), /index\.json manifest 1 has no "digest"/);
  const m = Buffer.from(JSON.stringify({ config: {}, layers: 7 }));
  refusedLoad(oci({ manifests: [{ digest: sha256(m) }] }, [m]), /must be an OCI image manifest/);
  // A blob whose content is not its name: the index's digest is checked.
  const real = Buffer.from(JSON.stringify({ config: { digest: sha256('c') }, layers: [] }));
  const named = sha256('something else');
  const tar = makeTar([{ name: `blobs/sha256/${sha256hex('something else')}`, type: 'file', body: real }, { name: 'index.json', type: 'file', body: JSON.stringify({ manifests: [{ digest: named }] }) }]);
  refusedLoad(tar, /has digest sha256:[0-9a-f]{64}, not the one its name/);
  // A layer blob whose content is not its name (the content matches the config's diffID: only the name lies).
  const layer = makeTar([{ name: 'f', type: 'file', body: 'layer\n' }]);
  const lconfig = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, history: [] }));
  const liar = sha256hex('not the layer');
  const lmanifest = Buffer.from(JSON.stringify({ config: { digest: sha256(lconfig) }, layers: [{ digest: `sha256:${liar}` }] }));
  refusedLoad(
    makeTar([
      { name: `blobs/sha256/${sha256hex(lconfig)}`, type: 'file', body: lconfig },
      { name: `blobs/sha256/${liar}`, type: 'file', body: layer },
      { name: `blobs/sha256/${sha256hex(lmanifest)}`, type: 'file', body: lmanifest },
      { name: 'index.json', type: 'file', body: JSON.stringify({ manifests: [{ digest: sha256(lmanifest) }] }) },
    ]),
    /does not have the digest its name gives/,
  );
  // A config whose history is not a list would break `history` later.
  const cfg = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] }, history: 5 }));
  refusedLoad(makeTar([{ name: 'c.json', type: 'file', body: cfg }, { name: 'manifest.json', type: 'file', body: JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: [] }]) }]), /"history" a list/);
});

test('load: a layer that is not a tar is named as the archive names it (not by a descriptor)', { skip }, () => {
  const junk = Buffer.alloc(1024, 'x');
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(junk)] } });
  const archive = makeTar([
    { name: 'c.json', type: 'file', body: config },
    { name: 'layer.tar', type: 'file', body: junk },
    { name: 'manifest.json', type: 'file', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['junk:1'], Layers: ['layer.tar'] }]) },
  ]);
  refusedLoad(archive, /^dockling: invalid archive: layer\.tar: .*(not a tar|checksum)/);
});

test('import: a tar whose name is 3000 levels deep is refused with a clear error, and no layer directory is left', { skip }, () => {
  const deep = Array.from({ length: 3000 }, () => 'd').join('/') + '/f';
  const file = path.join(root(), 'deep.tar');
  fs.writeFileSync(file, makeTar([{ name: deep, type: 'file', body: 'x' }]));
  try {
    expectCode(dockling(root(), ['images', '-q']), 0);
    const before = ls(layout(root()).overlay);
    const r = expectCode(dockling(root(), ['import', file, 'deep:1']), 1);
    assert.match(r.stderr, /^dockling: layer tar: entry "d\/d\/.*…" \(6001 characters\) is too deep: .*PATH_MAX/);
    assert.doesNotMatch(r.stderr, /internal error|Maximum call stack|\n\s+at /);
    assert.deepEqual(ls(layout(root()).overlay), before, 'a layer directory was left');
    assert.deepEqual(ls(layout(root()).tmp), [], 'scratch left in tmp/');
    assertNoContainerLayers(root());
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('save -o into a missing directory: the docker CLI\'s message, status 1, no scratch left', { skip }, () => {
  const out = path.join(root(), 'no', 'such', 'x.tar');
  const r = expectCode(dockling(root(), ['save', '-o', out, 'busybox']), 1);
  assert.equal(r.stderr, `dockling: failed to save image: invalid output path: directory "${path.dirname(out)}" does not exist\n`);
  assert.deepEqual(ls(layout(root()).tmp), []);
  assert.equal(fs.existsSync(path.dirname(out)), false);
});

test('save | head -c10: the closed pipe ends save without a stack trace, and no scratch is left', { skip }, () => {
  expectCode(dockling(root(), ['images', '-q']), 0);
  const r = spawnSync('bash', ['-c', `"${process.execPath}" -- "${BIN}" --root "${root()}" save busybox | head -c10 >/dev/null; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 60_000 });
  // As docker save, killed by SIGPIPE: 141 and not a word.
  assert.match(r.stdout, /status 141/);
  assert.doesNotMatch(r.stderr, /internal error|Unhandled|\n\s+at /, r.stderr);
  // The first save command here made busybox; save itself is done when head is (bash waited for both).
  assert.equal(r.stderr, '');
  assert.deepEqual(ls(layout(root()).tmp), []);
});
