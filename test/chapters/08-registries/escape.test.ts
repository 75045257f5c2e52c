// The registry is the adversary too: whatever it sends is unpacked on this
// host by root. Each probe serves a hostile answer from a registry of
// canned answers and proves, with a marker in the test's own temp
// directory, that nothing was written outside the layer store, no host
// file was read into an image, and no credential went where it should not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chapter8, fakeRegistry, imageRoutes, layerBlob, storeOf } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';

const { root, tmp, cliAsync } = chapter8('escape');

describe('a hostile registry', () => {
  test('a layer that climbs out with ".." writes nothing outside the layer store', async () => {
    const marker = path.join(tmp(), 'climbed');
    const up = '../'.repeat(20) + marker.slice(1);
    const layer = layerBlob([{ name: up, type: 'file', data: 'pwned' }]);
    const fake = await fakeRegistry(imageRoutes('lab/x', '1', [layer]).routes);
    try {
      const before = storeOf(root());
      const r = expectCode(await cliAsync(['pull', `${fake.host}/lab/x:1`]), 1);
      assert.match(r.stderr, /escapes the layer directory/);
      assert.equal(fs.existsSync(marker), false, 'the marker must not be written');
      assert.deepEqual(storeOf(root()), before);
    } finally {
      await fake.stop();
    }
  });

  test('a symlink to a host directory, then a file through it: the file stays inside the layer', async () => {
    const dir = path.join(tmp(), 'target');
    fs.mkdirSync(dir);
    const layer = layerBlob([
      { name: 'link', type: 'symlink', target: dir },
      { name: 'link/marker', type: 'file', data: 'pwned' },
    ]);
    const fake = await fakeRegistry(imageRoutes('lab/x', '1', [layer]).routes);
    try {
      const r = await cliAsync(['pull', `${fake.host}/lab/x:1`]);
      assert.equal(fs.existsSync(path.join(dir, 'marker')), false, 'nothing may be written through the symlink');
      // The pull itself is refused by chapter 4's extractor, said as a registry error.
      assert.match(r.stderr, /Error response from daemon: .*layer sha256:[0-9a-f]{64}: /);
      assert.equal(r.code, 1);
    } finally {
      await fake.stop();
    }
  });

  test('a blob redirected to a file: URL or to another host: no host file read, no credential forwarded', async () => {
    const secret = path.join(tmp(), 'secret');
    fs.writeFileSync(secret, 'host secret');
    const layer = layerBlob([{ name: 'a', type: 'file', data: 'a' }]);
    const elsewhere = await fakeRegistry({ [`GET /blob`]: { body: layer.gz } });
    const img = imageRoutes('lab/x', '1', [layer]);
    // The registry wants Basic credentials; the blob's redirect points elsewhere.
    img.routes[`GET /v2/lab/x/blobs/${layer.digest}`] = { status: 307, headers: { Location: `http://${elsewhere.host}/blob` } };
    const fake = await fakeRegistry(img.routes, { basicRealm: 'lab' });
    const client = path.join(tmp(), 'client');
    fs.mkdirSync(client, { recursive: true });
    fs.writeFileSync(path.join(client, 'config.json'), JSON.stringify({ auths: { [fake.host]: { auth: Buffer.from('student:s3cret').toString('base64') } } }));
    try {
      expectCode(await cliAsync(['pull', `${fake.host}/lab/x:1`]), 0);
      assert.ok(fake.headers.some((h) => h.authorization?.startsWith('Basic ')), 'the registry got the credentials');
      assert.equal(elsewhere.requests.length, 1, 'the blob came from the other host');
      assert.equal(elsewhere.headers[0].authorization, undefined, 'the other host must not get the registry\'s credentials');
      expectCode(await cliAsync(['rmi', `${fake.host}/lab/x:1`]), 0);
    } finally {
      await fake.stop();
      await elsewhere.stop();
      fs.rmSync(client, { recursive: true, force: true });
    }
    // file: is not a scheme a registry may send us to.
    const sneaky = imageRoutes('lab/x', '1', [layer]);
    sneaky.routes[`GET /v2/lab/x/blobs/${layer.digest}`] = { status: 307, headers: { Location: `file://${secret}` } };
    const fake2 = await fakeRegistry(sneaky.routes);
    try {
      const before = storeOf(root());
      const r = expectCode(await cliAsync(['pull', `${fake2.host}/lab/x:1`]), 1);
      assert.doesNotMatch(r.stderr + r.stdout, /host secret/);
      assert.deepEqual(storeOf(root()), before);
    } finally {
      await fake2.stop();
    }
  });

  test('a manifest of 5 MiB is refused after 4 MiB, not read whole', async () => {
    const fake = await fakeRegistry({ 'GET /v2/': { body: '{}' }, 'GET /v2/lab/x/manifests/1': { body: Buffer.alloc(5 << 20, 0x20), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } } });
    try {
      const r = expectCode(await cliAsync(['pull', `${fake.host}/lab/x:1`]), 1);
      assert.match(r.stderr, /larger than 4194304 bytes/);
    } finally {
      await fake.stop();
    }
  });
});
