// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), section 7: "export, import, save, load" (our archives in skopeo's
// and umoci's hands).
//
// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), for real, as root: dockling's archives in other tools' hands.
// `dockling save` writes an OCI image layout with Docker's manifest.json
// (as Docker 25+ does), so skopeo must read it both as a docker-archive and
// as an oci-archive and list the same layer digests as `dockling image
// inspect`; umoci must unpack it into a root filesystem with the committed
// changes (a whiteout applied); and an archive that skopeo writes must load
// back into dockling with the same image ID. skopeo and umoci are installed
// here and by the CI (vagrant/ provisioning).
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: there is no `commit`, `save` or
// `load`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { diffIDsOf, idOf, ok, readTar, rmQuietly, sha256hex } from '../04-overlay2/store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-interop');
const file = (name: string) => path.join(root(), name);

/** Run a tool with its temporary files in the state root's directory (removed with it). */
function tool(cmd: string, args: string[]): string {
  const tmp = file('tool-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp } });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (skopeo and umoci are needed: apt-get install skopeo umoci)`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** app:v1 = busybox + a layer that adds /www, deletes /bin/vi, adds /d; saved to app.tar. */
function savedApp(): { id: string; layers: string[] } {
  if (!fs.existsSync(file('app.tar'))) {
    try {
      ok(root(), ['run', '--name', 'maker', 'busybox', 'sh', '-c', 'echo hi > /www; rm /bin/vi; mkdir /d']);
      ok(root(), ['commit', 'maker', 'app:v1']);
    } finally {
      rmQuietly(root(), 'maker');
    }
    ok(root(), ['save', '-o', file('app.tar'), 'app:v1']);
  }
  return { id: idOf(root(), 'app:v1'), layers: diffIDsOf(root(), 'app:v1') };
}

test('skopeo reads a dockling save as a docker-archive and as an oci-archive, with the same layers', { skip }, () => {
  const app = savedApp();
  const docker = JSON.parse(tool('skopeo', ['inspect', `docker-archive:${file('app.tar')}`]));
  assert.deepEqual(docker.Layers, app.layers, 'docker-archive: the layer digests differ from `dockling image inspect`');
  const oci = JSON.parse(tool('skopeo', ['inspect', `oci-archive:${file('app.tar')}:v1`]));
  assert.deepEqual(oci.Layers, app.layers, 'oci-archive: the layer digests differ from `dockling image inspect`');
  // The OCI manifest's digest is the one index.json names.
  const index = JSON.parse(readTar(fs.readFileSync(file('app.tar'))).find((e) => e.name === 'index.json')!.body.toString());
  assert.equal(oci.Digest, index.manifests[0].digest);
  // The config skopeo reads is the image's config, byte for byte: its digest is the image ID.
  const rawConfig = tool('skopeo', ['inspect', '--raw', '--config', `oci-archive:${file('app.tar')}:v1`]);
  assert.equal(`sha256:${sha256hex(rawConfig)}`, app.id);
  assert.deepEqual(JSON.parse(rawConfig).config.Cmd, ['sh', '-c', 'echo hi > /www; rm /bin/vi; mkdir /d']);
  for (const i of [docker, oci]) {
    assert.equal(i.Os, 'linux');
    assert.ok(i.Env.some((e: string) => e.startsWith('PATH=')));
  }
});

test('umoci unpacks the saved layout into a root filesystem with the changes, the whiteout applied', { skip }, () => {
  savedApp();
  const layoutDir = file('oci');
  const bundle = file('bundle');
  fs.rmSync(layoutDir, { recursive: true, force: true });
  fs.rmSync(bundle, { recursive: true, force: true });
  fs.mkdirSync(layoutDir);
  const untar = spawnSync('tar', ['-xf', file('app.tar'), '-C', layoutDir], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  tool('umoci', ['unpack', '--image', `${layoutDir}:v1`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  assert.equal(fs.readFileSync(path.join(rootfs, 'www'), 'utf8'), 'hi\n');
  assert.ok(fs.statSync(path.join(rootfs, 'd')).isDirectory());
  assert.ok(!fs.existsSync(path.join(rootfs, 'bin/vi')) && fs.lstatSync(path.join(rootfs, 'bin/vi'), { throwIfNoEntry: false }) === undefined, 'the whiteout of /bin/vi was not applied');
  assert.ok(!fs.readdirSync(path.join(rootfs, 'bin')).some((n) => n.startsWith('.wh.')), 'a whiteout file was unpacked as a file');
  assert.ok(fs.existsSync(path.join(rootfs, 'bin/busybox')), "busybox's layer is under it");
  fs.rmSync(bundle, { recursive: true, force: true });
  fs.rmSync(layoutDir, { recursive: true, force: true });
});

test('skopeo copy of a dockling archive (to docker-archive and to oci-archive) loads back with the same image ID', { skip }, () => {
  const app = savedApp();
  tool('skopeo', ['copy', '-q', `docker-archive:${file('app.tar')}`, `docker-archive:${file('copied.tar')}:copied:v2`]);
  const loaded = expectCode(dockling(root(), ['load', '-i', file('copied.tar')]), 0);
  assert.equal(idOf(root(), 'copied:v2'), app.id, 'the image skopeo copied should keep its ID');
  assert.deepEqual(diffIDsOf(root(), 'copied:v2'), app.layers);
  assert.equal(ok(root(), ['run', '--rm', 'copied:v2', 'cat', '/www']), 'hi\n');

  tool('skopeo', ['copy', '-q', `oci-archive:${file('app.tar')}:v1`, `oci-archive:${file('copied-oci.tar')}:v3`]);
  ok(root(), ['rmi', 'copied:v2']);
  const fromOci = expectCode(dockling(root(), ['load', '-i', file('copied-oci.tar')]), 0);
  assert.match(fromOci.stdout, new RegExp(`^Loaded image( ID)?: `));
  assert.equal(ok(root(), ['images', '-q', '--no-trunc']).split('\n').filter((l) => l === app.id).length, 1, 'the image loaded from the OCI archive is app:v1 itself');

  // docker load prints the familiar name (reference.FamiliarString), as `docker images` shows it.
  assert.equal(loaded.stdout, 'Loaded image: copied:v2\n');
});
