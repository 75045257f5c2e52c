// Answers a real registry rarely gives, from a registry of canned answers
// (helpers.ts): each must end in a message a learner understands, with no
// stack trace, and with nothing stored (no image, no layer, no scratch).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chapter8, digestOf, fakeRegistry, imageRoutes, layerBlob, storeOf } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';

const { root, cli, cliAsync } = chapter8('answers');

const LAYER = layerBlob([{ name: 'hello', type: 'file', data: 'hello\n' }]);

/** Pull `ref` from a fake registry with these routes; the store must be as before. */
async function pullFails(routes: Parameters<typeof fakeRegistry>[0], ref: (host: string) => string, message: RegExp) {
  const fake = await fakeRegistry(routes);
  try {
    const before = storeOf(root());
    const r = expectCode(await cliAsync(['pull', ref(fake.host)]), 1);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(storeOf(root()), before, 'nothing stored');
    return fake;
  } finally {
    await fake.stop();
  }
}

describe('a registry that answers badly', () => {
  test('a layer whose bytes are not its digest: Docker\'s verification message, nothing stored', async () => {
    const img = imageRoutes('lab/x', '1', [LAYER]);
    img.routes[`GET /v2/lab/x/blobs/${LAYER.digest}`] = { body: Buffer.concat([LAYER.gz, Buffer.from('tampered')]) };
    await pullFails(img.routes, (h) => `${h}/lab/x:1`, new RegExp(`filesystem layer verification failed for digest ${LAYER.digest}`));
  });

  test('a manifest that is not the digest asked for is refused', async () => {
    const img = imageRoutes('lab/x', '1', [LAYER]);
    const wanted = digestOf('something else');
    img.routes[`GET /v2/lab/x/manifests/${wanted}`] = { body: img.manifest };
    await pullFails(img.routes, (h) => `${h}/lab/x@${wanted}`, new RegExp(`manifest verification failed for digest ${wanted}`));
  });

  test('an unknown manifest media type and an unknown layer media type are named', async () => {
    const html = { 'GET /v2/': { body: '{}' }, 'GET /v2/lab/x/manifests/1': { body: '<html>hello</html>', headers: { 'Content-Type': 'text/html' } } };
    await pullFails(html, (h) => `${h}/lab/x:1`, /the manifest is not JSON \(Content-Type text\/html\)/);
    const odd = imageRoutes('lab/x', '1', [LAYER], { layerType: 'application/vnd.example.layer+weird' });
    await pullFails(odd.routes, (h) => `${h}/lab/x:1`, /unsupported layer media type "application\/vnd\.example\.layer\+weird"/);
    const zstd = imageRoutes('lab/x', '1', [LAYER], { layerType: 'application/vnd.oci.image.layer.v1.tar+zstd' });
    await pullFails(zstd.routes, (h) => `${h}/lab/x:1`, /zstd/);
  });

  test('a manifest list without this platform: Docker\'s message; --platform picks another', async () => {
    const arm = imageRoutes('lab/x', 'arm', [LAYER], { architecture: 'arm64' });
    const list = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: digestOf(arm.manifest), size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }],
    }));
    const routes = { ...arm.routes, 'GET /v2/lab/x/manifests/multi': { body: list, headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' } } };
    await pullFails(routes, (h) => `${h}/lab/x:multi`, /no matching manifest for linux\/amd64 in the manifest list entries/);
    const fake = await fakeRegistry(routes);
    try {
      const r = expectCode(await cliAsync(['pull', '--platform', 'linux/arm64', `${fake.host}/lab/x:multi`]), 0);
      assert.match(r.stdout, new RegExp(`Digest: ${digestOf(list)}`), 'the digest recorded is the list\'s, as Docker records it');
      const inspect = expectCode(cli(['image', 'inspect', '-f', '{{.Architecture}} {{json .RepoDigests}}', `${fake.host}/lab/x:multi`]), 0);
      assert.equal(inspect.stdout.trim(), `arm64 ["${fake.host}/lab/x@${digestOf(list)}"]`);
      expectCode(cli(['rmi', `${fake.host}/lab/x:multi`]), 0);
    } finally {
      await fake.stop();
    }
  });

  test('503 and 429 are retried (429 after its Retry-After); a 500 that persists is said', async () => {
    const img = imageRoutes('lab/x', '1', [LAYER]);
    const key = `GET /v2/lab/x/blobs/${LAYER.digest}`;
    img.routes[key] = [{ status: 503, body: 'busy' }, { status: 429, headers: { 'Retry-After': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' }, { body: LAYER.gz }];
    const fake = await fakeRegistry(img.routes);
    try {
      const r = expectCode(await cliAsync(['pull', `${fake.host}/lab/x:1`]), 0);
      assert.match(r.stdout, /Pull complete/);
      assert.equal(fake.requests.filter((q) => q === key).length, 3, 'two refusals, then the blob');
      expectCode(cli(['rmi', `${fake.host}/lab/x:1`]), 0);
    } finally {
      await fake.stop();
    }
    const broken = imageRoutes('lab/x', '1', [LAYER]);
    broken.routes['GET /v2/lab/x/manifests/1'] = { status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"the disk is on fire"}]}' };
    await pullFails(broken.routes, (h) => `${h}/lab/x:1`, /unknown: the disk is on fire/);
  });

  test('401 with no challenge, and a config that does not list the manifest\'s layers', async () => {
    await pullFails({ 'GET /v2/': { status: 401, body: 'no' }, 'GET /v2/lab/x/manifests/1': { status: 401, body: '' } }, (h) => `${h}/lab/x:1`, /pull access denied for 127\.0\.0\.1:\d+\/lab\/x, repository does not exist or may require 'dockling login'/);
    const img = imageRoutes('lab/x', '1', [LAYER, layerBlob([{ name: 'b', type: 'file', data: 'b' }])]);
    const one = imageRoutes('lab/x', '1', [LAYER]);
    img.routes[`GET /v2/lab/x/blobs/${one.id}`] = { body: one.config }; // a config naming one layer
    const m = JSON.parse(img.manifest.toString());
    m.config.digest = one.id;
    m.config.size = one.config.length;
    img.routes['GET /v2/lab/x/manifests/1'] = { body: JSON.stringify(m), headers: { 'Content-Type': m.mediaType } };
    await pullFails(img.routes, (h) => `${h}/lab/x:1`, /the manifest has 2 layers, the config lists 1 diffIDs/);
  });

  test('a name that is not a reference, and an unknown host', () => {
    assert.match(expectCode(cli(['pull', 'Lab/X']), 1).stderr, /invalid reference format: repository name \(library\/Lab\/X\)|must be lowercase/);
    // No DNS in the test's network namespace: the lookup fails here, nothing leaves the machine.
    assert.match(expectCode(cli(['pull', 'registry.invalid/lab/x']), 1).stderr, /Get "https:\/\/registry\.invalid\/v2\/": dial tcp: lookup registry\.invalid/);
  });
});
