// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), section 7: "export, import, save, load", its "A hostile archive".
//
// Chapter 3's part of the ESCAPE SUITE for `load` (later chapters' escape
// tests extend the suite; test/chapters/04-overlay2/escape.test.ts holds
// chapter 4's other probes). The archive is the adversary here: its
// manifest.json names the files that are the image config and the layers,
// and the archive can make those names symlinks. Followed, a symlink makes
// a host file the image: a host JSON as its config, a host tar as a layer,
// /dev/zero as a config that is read until memory runs out. Each probe
// points at a file in this test's own temp dir (never at a host file such
// as /etc/...) and proves the read by what the image would then hold.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: there is no `load`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { assertNoContainerLayers, layout, ls, makeTar, sha256, sha256hex } from '../04-overlay2/store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-load-escape');
const outside = () => {
  const d = path.join(root(), 'outside');
  fs.mkdirSync(d, { recursive: true });
  return d;
};

/** An image config listing these diffIDs, with a marker in Cmd so that a loaded one is recognisable. */
const configFor = (diffIDs: string[], marker: string) =>
  JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2020-09-13T12:26:40Z', config: { Cmd: [marker] }, rootfs: { type: 'layers', diff_ids: diffIDs }, history: [] });

/** Load `archive`; it must be refused with a message matching `why`, and leave no image, layer or scratch dir. */
function refused(archive: Buffer, why: RegExp, name: string): void {
  const file = path.join(root(), 'probe.tar');
  fs.writeFileSync(file, archive);
  expectCode(dockling(root(), ['images', '-q']), 0); // the store (and busybox) made first
  const layersBefore = ls(path.join(layout(root()).img, 'layerdb/sha256'));
  try {
    const r = expectCode(dockling(root(), ['load', '-i', file]), 1);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
    expectCode(dockling(root(), ['image', 'inspect', name]), 1); // no image was made of the host's file
    assert.deepEqual(ls(path.join(layout(root()).img, 'layerdb/sha256')), layersBefore, 'a layer was added');
    assert.deepEqual(ls(layout(root()).tmp), [], 'scratch left in tmp/');
    assertNoContainerLayers(root());
  } finally {
    fs.rmSync(file, { force: true });
    fs.rmSync(path.join(root(), 'outside'), { recursive: true, force: true });
  }
}

test('load: a Config that is a symlink to a JSON file outside the archive is refused, not read as the image config', { skip }, () => {
  const host = path.join(outside(), 'host-config.json');
  fs.writeFileSync(host, configFor([], 'read-through-config-symlink'));
  const manifest = [{ Config: 'config.json', RepoTags: ['probe:config'], Layers: [] }];
  const archive = makeTar([
    { name: 'config.json', type: 'symlink', linkname: host },
    { name: 'manifest.json', type: 'file', body: JSON.stringify(manifest) },
  ]);
  refused(archive, /config\.json.*symlink/, 'probe:config');
});

test('load: a Config that is /dev/zero (a symlink to it, or a device node in the archive) is refused at once, never read', { skip }, () => {
  const manifest = (config: string) => JSON.stringify([{ Config: config, RepoTags: ['probe:zero'], Layers: [] }]);
  // Before the fix, reading it grew the process by gigabytes (the CLI was killed after 60 s).
  refused(makeTar([{ name: 'zero.json', type: 'symlink', linkname: '/dev/zero' }, { name: 'manifest.json', type: 'file', body: manifest('zero.json') }]), /zero\.json.*symlink/, 'probe:zero');
  refused(makeTar([{ name: 'dev.json', type: 'char', devmajor: 1, devminor: 5 }, { name: 'manifest.json', type: 'file', body: manifest('dev.json') }]), /dev\.json.*not a regular file/, 'probe:zero');
});

test('load: a Layers entry that is a symlink to a tar outside the archive is refused, not loaded as the layer', { skip }, () => {
  const layer = makeTar([{ name: 'read-through-layer-symlink', type: 'file', body: 'host tar\n' }]);
  const host = path.join(outside(), 'host-layer.tar');
  fs.writeFileSync(host, layer);
  const config = configFor([sha256(layer)], 'sh');
  const manifest = [{ Config: `${sha256hex(config)}.json`, RepoTags: ['probe:layer'], Layers: ['layer.tar'] }];
  const archive = makeTar([
    { name: `${sha256hex(config)}.json`, type: 'file', body: config },
    { name: 'layer.tar', type: 'symlink', linkname: host },
    { name: 'manifest.json', type: 'file', body: JSON.stringify(manifest) },
  ]);
  refused(archive, /layer\.tar.*symlink/, 'probe:layer');
});

test('load: a path through a symlinked directory, or climbing with "..", is refused', { skip }, () => {
  const host = path.join(outside(), 'host-config.json');
  fs.writeFileSync(host, configFor([], 'read-through-dir-symlink'));
  const manifest = (config: string) => JSON.stringify([{ Config: config, RepoTags: ['probe:dir'], Layers: [] }]);
  refused(makeTar([{ name: 'd', type: 'symlink', linkname: outside() }, { name: 'manifest.json', type: 'file', body: manifest('d/host-config.json') }]), /"d" is a symlink/, 'probe:dir');
  refused(makeTar([{ name: 'manifest.json', type: 'file', body: manifest(`../outside/host-config.json`) }]), /not a path inside the archive/, 'probe:dir');
});
