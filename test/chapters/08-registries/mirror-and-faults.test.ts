// A classroom's pull-through cache (registry-mirrors) and what the network
// does to a pull: a connection dropped mid-layer (resumed with Range), a
// blob corrupted in the registry's storage (refused, nothing stored), a
// pull killed half-way (nothing half-made; the next pull completes), TLS
// (refused unless the CA is given or the registry is listed insecure).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chapter8, layeredImage, storeOf } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { docklingAsync } from '../../helpers/dockling.ts';
import { spawnSync } from 'node:child_process';
import { inPrivateNetns, NOT_PRIVATE } from '../../helpers/netns.ts';
import { makeCert, startCuttingProxy, startRegistry, whyNoRegistry, type Registry } from '../../helpers/registry.ts';

const skip = whyNoRegistry();
const { root, tmp, cli, ok, cliAsync, other, daemonJSON, env } = chapter8('faults');
let upstream: Registry;
before(async () => {
  if (skip) return;
  upstream = await startRegistry({ dir: path.join(tmp(), 'upstream') });
  // Docker Hub's busybox, as the upstream holds it: library/busybox.
  ok(['tag', 'busybox', `${upstream.host}/library/busybox:latest`]);
  ok(['push', `${upstream.host}/library/busybox:latest`]);
  ok(['rmi', `${upstream.host}/library/busybox:latest`]);
});
after(async () => upstream?.stop());

describe('registry-mirrors', { skip }, () => {
  test('`pull busybox` goes to the mirror (a pull-through cache of another registry), which fetches from upstream', async () => {
    const mirror = await startRegistry({ dir: path.join(tmp(), 'mirror'), proxy: { remoteurl: upstream.url } });
    daemonJSON({ 'registry-mirrors': [mirror.url] });
    const o = other();
    try {
      const r = expectCode(o.cli(['pull', 'busybox']), 0);
      assert.match(r.stdout, /^Using default tag: latest\nlatest: Pulling from library\/busybox\n/);
      assert.match(r.stdout, /\nStatus: Downloaded newer image for busybox:latest\ndocker\.io\/library\/busybox:latest\n$/);
      assert.equal(expectCode(o.cli(['image', 'inspect', '-f', '{{.Id}}', 'busybox']), 0).stdout, ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).stdout);
      // The mirror kept a copy: its storage now has library/busybox.
      assert.ok(fs.existsSync(path.join(mirror.storage, 'docker/registry/v2/repositories/library/busybox')), 'the mirror cached the repository');
      // The digest is Docker Hub's name for it: docker.io/library/busybox@sha256:…, shown as busybox@sha256:….
      assert.match(expectCode(o.cli(['image', 'inspect', '-f', '{{json .RepoDigests}}', 'busybox']), 0).stdout, /\["busybox@sha256:[0-9a-f]{64}"\]/);
    } finally {
      o.rm();
      daemonJSON({});
      await mirror.stop();
    }
  });

  test('a mirror that is down is skipped for Docker Hub itself (unreachable here: no DNS, no route)', () => {
    daemonJSON({ 'registry-mirrors': ['http://127.0.0.1:1'] });
    try {
      const r = expectCode(cli(['pull', 'lab/nothing']), 1);
      assert.match(r.stderr, /registry-1\.docker\.io/, 'the last word is Docker Hub\'s endpoint');
    } finally {
      daemonJSON({});
    }
  });
});

describe('faults', { skip }, () => {
  test('a connection dropped in the middle of a layer is resumed with a Range request', async () => {
    const name = `${upstream.host}/lab/big:1`;
    layeredImage(cli, name, 1, 3_000_000);
    ok(['push', name]);
    ok(['rmi', name]);
    const proxy = await startCuttingProxy(upstream.host, { cutAfter: 1_000_000, times: 2 });
    const via = `${proxy.host}/lab/big:1`;
    try {
      const r = expectCode(await cliAsync(['pull', via]), 0);
      assert.match(r.stdout, /Pull complete/);
      assert.equal(proxy.cuts(), 2, 'two downloads were cut');
      const ranges = proxy.requests.filter((q) => q.range).map((q) => q.range);
      // Each resumed download asks for the rest: from what arrived before the cut (at most the 1 MB sent).
      const starts = ranges.map((r) => Number(/^bytes=(\d+)-$/.exec(r!)?.[1]));
      assert.equal(starts.length, 2, `two resumed downloads: ${JSON.stringify(ranges)}`);
      assert.ok(starts[0] > 0 && starts[0] <= 1_000_000 && starts[1] > starts[0] && starts[1] <= 2_000_000, `Range starts after the bytes already here: ${JSON.stringify(ranges)}`);
      assert.match(expectCode(await cliAsync(['run', '--rm', via, 'wc', '-c', '/file1']), 0).stdout, /^3000000 \/file1$/m);
    } finally {
      await cliAsync(['rmi', via]);
      await proxy.stop();
    }
  });

  test('a blob corrupted in the registry\'s storage is refused; nothing is stored', () => {
    const name = `${upstream.host}/lab/corrupt:1`;
    layeredImage(cli, name, 1, 50_000);
    ok(['push', name]);
    ok(['rmi', name]);
    // The layer's data file in the registry's storage, made different.
    const manifest = JSON.parse(fs.readFileSync(path.join(upstream.storage, 'docker/registry/v2/blobs/sha256', ...blobPath(upstream, 'lab/corrupt', '1')), 'utf8'));
    const top = manifest.layers.at(-1).digest.slice(7);
    const data = path.join(upstream.storage, 'docker/registry/v2/blobs/sha256', top.slice(0, 2), top, 'data');
    const bytes = fs.readFileSync(data);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(data, bytes);
    const before = storeOf(root());
    const r = expectCode(cli(['pull', name]), 1);
    assert.match(r.stderr, new RegExp(`filesystem layer verification failed for digest sha256:${top}`));
    assert.deepEqual(storeOf(root()), before, 'no image, no layer, no scratch');
  });

  test('a pull killed half-way leaves nothing half-made, and the next pull completes', async () => {
    const name = `${upstream.host}/lab/killed:1`;
    layeredImage(cli, name, 2, 4_000_000);
    ok(['push', name]);
    ok(['rmi', name]);
    const before = storeOf(root());
    // Slow the download down: the proxy sends 1 MB, then hangs up; the pull retries, and is killed while it does.
    const proxy = await startCuttingProxy(upstream.host, { cutAfter: 1_000_000, times: 100 });
    const via = `${proxy.host}/lab/killed:1`;
    try {
      const run = docklingAsync(root(), ['pull', via], { env: { ...env(), DOCKLING_REGISTRY_RETRY_MS: '2000' } });
      const end = Date.now() + 20_000;
      while (proxy.cuts() < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      run.child.kill('SIGKILL');
      await run.done;
      await proxy.stop();
      // The next command reaps the dead pull's scratch; a pull straight from the registry completes.
      const r = expectCode(cli(['pull', name]), 0);
      assert.match(r.stdout, /Downloaded newer image/);
      assert.deepEqual(storeOf(root()).tmp, [], 'the killed pull\'s scratch directory is gone');
      ok(['rmi', name]);
      assert.deepEqual(storeOf(root()), before);
    } finally {
      await proxy.stop().catch(() => {});
      cli(['rmi', name]);
    }
  });

  test('TLS: a certificate this machine does not trust is refused, with what to do; certs.d or insecure-registries let it in', { skip: inPrivateNetns() ? false : NOT_PRIVATE }, async () => {
    // Loopback may always skip verification (Docker's rule), so the registry
    // gets an address that is not loopback: one added to lo, in this test's
    // own network namespace (test/run.ts's), and removed after.
    const ip = '10.254.8.1';
    expectCode({ ...spawnSync('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo'], { encoding: 'utf8' }), code: 0 } as never, 0);
    const cert = makeCert(path.join(tmp(), 'tls'), 'lab-registry', [ip]);
    const secure = await startRegistry({ dir: path.join(tmp(), 'secure'), tls: cert, address: ip });
    const name = `${secure.host}/lab/tls:1`;
    try {
      ok(['tag', 'busybox', name]);
      const refused = expectCode(cli(['push', name]), 1);
      assert.match(refused.stderr, /x509: certificate signed by unknown authority \(a registry without a trusted certificate must be listed in "insecure-registries"/);
      // Its CA in certs.d/HOST:PORT/ (beside daemon.json): verified, accepted.
      const certsd = path.join(tmp(), 'certs.d', secure.host);
      fs.mkdirSync(certsd, { recursive: true });
      fs.copyFileSync(cert.certFile, path.join(certsd, 'ca.crt'));
      assert.match(ok(['push', name]).stdout, /digest: sha256:/);
      fs.rmSync(certsd, { recursive: true });
      // Listed as insecure: verification skipped.
      daemonJSON({ 'insecure-registries': [secure.host] });
      ok(['rmi', name]);
      assert.match(ok(['pull', name]).stdout, /Status: /);
    } finally {
      daemonJSON({});
      cli(['rmi', name]);
      await secure.stop();
      spawnSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']);
    }
  });
});

/** The path of a tag's manifest blob in a registry's filesystem storage. */
function blobPath(reg: Registry, repo: string, tag: string): string[] {
  const link = fs.readFileSync(path.join(reg.storage, 'docker/registry/v2/repositories', repo, '_manifests/tags', tag, 'current/link'), 'utf8').slice(7);
  return [link.slice(0, 2), link, 'data'];
}
