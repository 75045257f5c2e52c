// Chapter 4, section 3: "Layer tars, whiteouts, and tars you must not trust".
//
// Chapter 4, for real, as root: hostile tars through the CLI. `import` and
// `load` unpack tars that come from outside, as root; a tar whose names,
// symlinks or hardlinks point out of the layer must be refused, name the
// entry, change nothing outside, and leave no half layer in overlay2/,
// layerdb/ or tmp/ of the state root.
//
// The state root is a directory inside the test's own temporary directory,
// with a sentinel directory beside it; each hostile name is aimed exactly at
// the sentinel (so many "../" that a naive extraction from
// overlay2/<id>/diff, or from tmp/load-*/archive, would land in it), and the
// sentinel's contents are compared before and after.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no `import` or `load`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip, type Result } from '../../helpers/dockling.ts';
import { useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, dockerArchive, layout, ls, makeTar, ok } from './store-helpers.ts';
import type { TarEntry } from '../../../runtime/storage/tar.ts';

const skip = rootOrSkip();
const dir = useStateRoot('ch4-tar');
/** dockling's state root, with the sentinel beside it */
const state = () => path.join(dir(), 'state');
const sentinel = () => path.join(dir(), 'sentinel');
/** from overlay2/<id>/diff (a layer) and from tmp/load-*\/archive (an archive): four levels up is dir() */
const UP = '../../../../';

type Entry = TarEntry & { body?: string };

/** The hostile tars: each with the entry that must be named in the refusal. */
const HOSTILE: { what: string; entries: () => Entry[]; names: string }[] = [
  { what: '"../x" climbs out', entries: () => [{ name: `${UP}sentinel/pwned`, type: 'file', body: 'pwned' }], names: `${UP}sentinel/pwned` },
  { what: '"/../x" climbs out from the root', entries: () => [{ name: `/${UP}sentinel/pwned`, type: 'file', body: 'pwned' }], names: `/${UP}sentinel/pwned` },
  { what: 'a name that climbs out after going down', entries: () => [{ name: 'a/', type: 'dir' }, { name: `a/../${UP}sentinel/pwned`, type: 'file', body: 'pwned' }], names: `a/../${UP}sentinel/pwned` },
  {
    what: 'an absolute symlink, then a file through it',
    entries: () => [{ name: 'evil', type: 'symlink', linkname: sentinel() }, { name: 'evil/pwned', type: 'file', body: 'pwned' }],
    names: 'evil/pwned',
  },
  {
    what: 'a relative symlink out, then a directory and a file through it',
    entries: () => [{ name: 'rel', type: 'symlink', linkname: `${UP}sentinel` }, { name: 'rel/sub/', type: 'dir' }, { name: 'rel/sub/pwned', type: 'file', body: 'pwned' }],
    names: 'rel/sub/',
  },
  { what: 'a hardlink to ../victim', entries: () => [{ name: 'h', type: 'hardlink', linkname: `${UP}sentinel/victim` }], names: 'h' },
  { what: 'a hardlink to an absolute path', entries: () => [{ name: 'h', type: 'hardlink', linkname: path.join(sentinel(), 'victim') }], names: 'h' },
  {
    what: 'a hardlink through a symlink out',
    entries: () => [{ name: 'out', type: 'symlink', linkname: sentinel() }, { name: 'h', type: 'hardlink', linkname: 'out/victim' }],
    names: 'h',
  },
  { what: 'a symlink named ".."', entries: () => [{ name: '..', type: 'symlink', linkname: sentinel() }, { name: '../pwned', type: 'file', body: 'pwned' }], names: '..' },
  { what: 'a symlink named "a/.." (the layer dir itself)', entries: () => [{ name: 'a/', type: 'dir' }, { name: 'a/..', type: 'symlink', linkname: sentinel() }], names: 'a/..' },
  { what: '".wh." alone (a whiteout of the directory itself)', entries: () => [{ name: 'd/', type: 'dir' }, { name: 'd/.wh.', type: 'file' }], names: 'd/.wh.' },
  { what: '".wh.." (a whiteout of the parent)', entries: () => [{ name: 'd/', type: 'dir' }, { name: 'd/.wh..', type: 'file' }], names: 'd/.wh..' },
];

/** The sentinel's files and their contents and modes. */
function sentinelState(): string[] {
  return ls(sentinel()).map((n) => {
    const st = fs.lstatSync(path.join(sentinel(), n));
    return `${n} ${st.mode.toString(8)} ${st.nlink} ${st.isFile() ? fs.readFileSync(path.join(sentinel(), n), 'utf8') : ''}`;
  });
}

/** Everything a refused tar could leave half-made in the state root. */
function storeState() {
  const L = layout(state());
  return {
    layers: ls(path.join(L.img, 'layerdb/sha256')),
    overlay: ls(L.overlay),
    links: ls(path.join(L.overlay, 'l')),
    images: ls(path.join(L.img, 'imagedb/content/sha256')),
    repositories: fs.readFileSync(L.repositories, 'utf8'),
    tmp: ls(L.tmp),
    lock: fs.existsSync(L.lock),
  };
}

function prepare(): void {
  fs.mkdirSync(sentinel(), { recursive: true });
  if (!fs.existsSync(path.join(sentinel(), 'victim'))) fs.writeFileSync(path.join(sentinel(), 'victim'), 'untouched', { mode: 0o600 });
  if (!fs.existsSync(layout(state()).repositories)) ok(state(), ['images']); // busybox made: the stores exist
}

/** Run a refusal and check that nothing changed, inside or outside. */
function refused(file: string, tar: Buffer, run: () => Result, names: string): Result {
  prepare();
  const beforeSentinel = sentinelState();
  const beforeStore = storeState();
  fs.writeFileSync(file, tar);
  try {
    const r = run();
    assert.notEqual(r.code, 0, `a hostile tar was accepted:\n${r.stdout}${r.stderr}`);
    assert.ok(r.stderr.includes(JSON.stringify(names)), `the refusal should name the entry ${JSON.stringify(names)}: ${r.stderr}`);
    assert.deepEqual(sentinelState(), beforeSentinel, 'the directory beside the state root changed');
    assert.deepEqual(storeState(), beforeStore, 'a half layer (or image, or scratch file) remains in the state root');
    assert.ok(!fs.existsSync(path.join(dir(), 'pwned')) && !fs.existsSync(path.join(state(), 'pwned')));
    return r;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

for (const h of HOSTILE) {
  test(`import refuses ${h.what}`, { skip }, () => {
    const file = path.join(dir(), 'hostile.tar');
    refused(file, makeTar(h.entries()), () => dockling(state(), ['import', file, 'hostile:1']), h.names);
    assertNoContainerLayers(state());
  });
}

test('load refuses hostile layers inside a well-formed archive (every digest right)', { skip }, () => {
  const file = path.join(dir(), 'hostile-image.tar');
  // One of each kind (the extraction is the one import uses, above): a name, a symlink, a hardlink, "..", a whiteout.
  for (const h of [0, 3, 5, 8, 10].map((i) => HOSTILE[i])) {
    const { tar } = dockerArchive([makeTar(h.entries())], 'hostile:2');
    refused(file, tar, () => dockling(state(), ['load', '-i', file]), h.names);
  }
  assert.doesNotMatch(ok(state(), ['images']), /hostile/);
});

test('load of an image whose second layer is refused keeps none of its layers (no half image)', { skip }, () => {
  const file = path.join(dir(), 'hostile-image.tar');
  const h = HOSTILE[3]; // an absolute symlink, then a file through it
  const base = makeTar([{ name: 'ok', type: 'file', body: 'the first layer is fine' }]);
  const { tar } = dockerArchive([base, makeTar(h.entries())], 'hostile:2');
  // The first layer was registered before the second was refused: it must go again.
  refused(file, tar, () => dockling(state(), ['load', '-i', file]), h.names);
});

test('load refuses an archive whose own entries climb out (the archive is unpacked as safely as a layer)', { skip }, () => {
  const file = path.join(dir(), 'hostile-archive.tar');
  refused(file, makeTar([{ name: `${UP}sentinel/pwned`, type: 'file', body: 'pwned' }, { name: 'manifest.json', type: 'file', body: '[]' }]), () => dockling(state(), ['load', '-i', file]), `${UP}sentinel/pwned`);
  refused(
    file,
    makeTar([{ name: 'blobs', type: 'symlink', linkname: sentinel() }, { name: 'blobs/pwned', type: 'file', body: 'pwned' }, { name: 'manifest.json', type: 'file', body: '[]' }]),
    () => dockling(state(), ['load', '-i', file]),
    'blobs/pwned',
  );
  // A manifest that names a file outside the unpacked archive.
  const outside = expectRefusal(
    makeTar([{ name: 'manifest.json', type: 'file', body: JSON.stringify([{ Config: `${UP}sentinel/victim`, RepoTags: ['x:1'], Layers: [] }]) }]),
    file,
  );
  assert.match(outside.stderr, /is not a path inside the archive/);
});

/** A refusal whose message is not about an entry (a manifest's path): only "nothing changed". */
function expectRefusal(tar: Buffer, file: string): Result {
  prepare();
  const before = [sentinelState(), storeState()];
  fs.writeFileSync(file, tar);
  try {
    const r = dockling(state(), ['load', '-i', file]);
    assert.notEqual(r.code, 0);
    assert.deepEqual([sentinelState(), storeState()], before);
    return r;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test('a file entry over a planted symlink or hardlink replaces it, never writes through it', { skip }, () => {
  prepare();
  const before = sentinelState();
  const file = path.join(dir(), 'planted.tar');
  fs.writeFileSync(
    file,
    makeTar([
      { name: 'link', type: 'symlink', linkname: path.join(sentinel(), 'victim') },
      { name: 'link', type: 'file', body: 'written over the link' },
      { name: 'alias', type: 'symlink', linkname: path.join(sentinel(), 'victim') },
      { name: 'hard', type: 'hardlink', linkname: 'alias' },
      { name: 'hard', type: 'file', body: 'written over the hardlink' },
    ]),
  );
  try {
    ok(state(), ['import', file, 'planted:1']);
    assert.deepEqual(sentinelState(), before, 'the extraction wrote through a planted link');
    // The layer holds plain files where the links were planted.
    const [diffID] = JSON.parse(ok(state(), ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'planted:1']));
    const L = layout(state());
    const cache = fs.readFileSync(path.join(L.layer(diffID), 'cache-id'), 'utf8').trim();
    const diff = path.join(L.overlay, cache, 'diff');
    assert.equal(fs.readFileSync(path.join(diff, 'link'), 'utf8'), 'written over the link');
    assert.equal(fs.readFileSync(path.join(diff, 'hard'), 'utf8'), 'written over the hardlink');
    assert.ok(fs.lstatSync(path.join(diff, 'alias')).isSymbolicLink(), 'the symlink itself is kept as it is (resolved only inside a container)');
  } finally {
    fs.rmSync(file, { force: true });
    dockling(state(), ['rmi', 'planted:1']);
  }
});

test('a refused tar is a user error: status 1 and one line naming the entry, not an internal error with a stack trace', { skip }, () => {
  const file = path.join(dir(), 'hostile.tar');
  const h = HOSTILE[0];
  const imp = refused(file, makeTar(h.entries()), () => dockling(state(), ['import', file]), h.names);
  const load = refused(file, dockerArchive([makeTar(h.entries())], 'hostile:3').tar, () => dockling(state(), ['load', '-i', file]), h.names);
  for (const [what, r] of [['import', imp], ['load', load]] as const) {
    assert.doesNotMatch(r.stderr, /internal error|^\s+at /m, `${what} of a hostile tar should print a clear message, not a stack trace:\n${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line of error:\n${r.stderr}`);
    assert.equal(r.code, 1, `${what}: a refused input is exit status 1, as docker import/load give`);
  }
});
