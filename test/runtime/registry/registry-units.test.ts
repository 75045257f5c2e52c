// The registry layer's pure parts: manifests and platforms, daemon.json's
// registry settings, saved logins, the progress bar, search terms.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { choosePlatform, hostPlatform, MEDIA, parseManifest, parsePlatform, checkLayerType, type Descriptor } from '../../../runtime/registry/manifest.js';
import { isInsecure, registrySettings, hostName } from '../../../runtime/registry/daemon-config.js';
import { authKey, credentialsFor, saveCredentials, HUB_AUTH_KEY } from '../../../runtime/registry/credentials.js';
import { Progress, progressBar } from '../../../runtime/registry/progress.js';
import { splitSearchTerm } from '../../../runtime/registry/search.js';
import { endpointsFor } from '../../../runtime/registry/client.js';
import { serverDomain } from '../../../runtime/registry/login.js';
import { RunError } from '../../../runtime/core/pipeline.js';

const d = (digit: string, platform?: Descriptor['platform']): Descriptor => ({ mediaType: MEDIA.dockerManifest, digest: `sha256:${digit.repeat(64)}`, size: 1, ...(platform ? { platform } : {}) });

describe('manifests', () => {
  test('both families of media type are read; the JSON mediaType wins over Content-Type', () => {
    const m = { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: d('a'), layers: [{ ...d('b'), mediaType: MEDIA.dockerLayer }] };
    assert.equal(parseManifest(Buffer.from(JSON.stringify(m)), 'text/plain', 'x').kind, 'image');
    const oci = { schemaVersion: 2, config: d('a'), layers: [] };
    assert.equal(parseManifest(Buffer.from(JSON.stringify(oci)), MEDIA.ociManifest, 'x').kind, 'image');
    const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [d('c', { os: 'linux', architecture: 'amd64' })] };
    const got = parseManifest(Buffer.from(JSON.stringify(index)), undefined, 'x');
    assert.equal(got.kind, 'index');
  });

  test('schema 1, an unknown type and a bad digest are refused, by name', () => {
    assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), undefined, 'x'), /schema 1 is deprecated/);
    assert.throws(() => parseManifest(Buffer.from('{"mediaType":"text/html"}'), undefined, 'x'), /unsupported manifest media type "text\/html"/);
    assert.throws(() => parseManifest(Buffer.from('<html>'), 'text/html', 'x'), /not JSON/);
    const bad = { mediaType: MEDIA.dockerManifest, config: { ...d('a'), digest: 'md5:abc' }, layers: [] };
    assert.throws(() => parseManifest(Buffer.from(JSON.stringify(bad)), undefined, 'x'), /unsupported digest/);
  });

  test('layer types: gzip and plain tars are read; zstd and others are refused with a reason', () => {
    checkLayerType({ ...d('a'), mediaType: MEDIA.ociLayer }, 'x');
    checkLayerType({ ...d('a'), mediaType: MEDIA.dockerLayer }, 'x');
    assert.throws(() => checkLayerType({ ...d('a'), mediaType: MEDIA.ociLayerZstd }, 'x'), /zstd/);
    assert.throws(() => checkLayerType({ ...d('a'), mediaType: 'application/x-foo' }, 'x'), /unsupported layer media type/);
  });

  test('the platform is chosen by os, architecture and variant; none is Docker\'s error', () => {
    const list = [d('1', { os: 'linux', architecture: 'arm', variant: 'v7' }), d('2', { os: 'linux', architecture: 'arm64' }), d('3', { os: 'linux', architecture: 'amd64' }), d('4', { os: 'windows', architecture: 'amd64' })];
    assert.equal(choosePlatform(list, { os: 'linux', architecture: 'amd64' }).digest, d('3').digest);
    assert.equal(choosePlatform(list, parsePlatform('linux/arm64/v8')).digest, d('2').digest, 'arm64/v8 is also the entry without a variant');
    assert.equal(choosePlatform(list, parsePlatform('linux/arm/v7')).digest, d('1').digest);
    assert.throws(() => choosePlatform(list, parsePlatform('linux/s390x')), { message: 'no matching manifest for linux/s390x in the manifest list entries' });
    assert.throws(() => choosePlatform(list, parsePlatform('linux/arm/v6')), /no matching manifest for linux\/arm\/v6/);
    assert.equal(hostPlatform().os, 'linux');
    assert.throws(() => parsePlatform('linux/amd64/v1/x'), /os\/arch/);
  });
});

describe("daemon.json's registry settings", () => {
  const withConfig = (json: string | null, fn: () => void) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regcfg-'));
    const before = process.env.DOCKLING_DAEMON_CONFIG;
    process.env.DOCKLING_DAEMON_CONFIG = path.join(dir, 'daemon.json');
    try {
      if (json !== null) fs.writeFileSync(process.env.DOCKLING_DAEMON_CONFIG, json);
      fn();
    } finally {
      if (before === undefined) delete process.env.DOCKLING_DAEMON_CONFIG;
      else process.env.DOCKLING_DAEMON_CONFIG = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test('loopback is insecure by default; others only when listed, by name or CIDR', () => {
    withConfig('{"insecure-registries": ["lab.local:5000", "10.1.0.0/16"]}', () => {
      const s = registrySettings();
      for (const h of ['127.0.0.1:5000', 'localhost:5000', '[::1]:5000', '127.9.9.9', 'lab.local:5000', '10.1.2.3:5000']) assert.equal(isInsecure(h, s), true, h);
      for (const h of ['lab.local:5001', '10.2.0.1:5000', 'registry-1.docker.io', 'example.com']) assert.equal(isInsecure(h, s), false, h);
    });
    assert.equal(hostName('[::1]:5000'), '::1');
  });

  test('mirrors are for Docker Hub only, before Hub itself, and never for a push', () => {
    withConfig('{"registry-mirrors": ["http://127.0.0.1:5001"]}', () => {
      const s = registrySettings();
      assert.deepEqual(endpointsFor('docker.io', s).map((e) => [e.host, e.mirror]), [['127.0.0.1:5001', true], ['registry-1.docker.io', false]]);
      assert.deepEqual(endpointsFor('localhost:5000', s).map((e) => e.host), ['localhost:5000']);
      assert.deepEqual(endpointsFor('docker.io', s, true).map((e) => e.host), ['registry-1.docker.io']);
    });
  });

  test('a broken file is named in the error, with how to fix it; no file is the defaults', () => {
    withConfig('{"registry-mirrors": "http://x"}', () => assert.throws(registrySettings, (e: RunError) => /"registry-mirrors" must be a list/.test(e.message)));
    withConfig('{"registry-mirrors": ["ftp://x"]}', () => assert.throws(registrySettings, /unsupported scheme "ftp"/));
    withConfig('{"registry-mirrors": ["http://x/path"]}', () => assert.throws(registrySettings, /path, query and credentials are not allowed/));
    withConfig('{nope', () => assert.throws(registrySettings, /daemon\.json is not valid JSON/));
    withConfig(null, () => assert.deepEqual(registrySettings().mirrors, []));
  });
});

describe('saved logins', () => {
  test('base64 "user:password", mode 0600, other keys kept; Hub under its index URL', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regcreds-'));
    const before = process.env.DOCKLING_CONFIG;
    process.env.DOCKLING_CONFIG = path.join(dir, 'cfg');
    try {
      fs.mkdirSync(process.env.DOCKLING_CONFIG);
      fs.writeFileSync(path.join(process.env.DOCKLING_CONFIG, 'config.json'), '{"psFormat": "table {{.ID}}"}');
      assert.equal(saveCredentials('localhost:5000', { username: 'student', password: 'p:a:ss' }), false);
      const file = path.join(process.env.DOCKLING_CONFIG, 'config.json');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(json.psFormat, 'table {{.ID}}');
      assert.equal(Buffer.from(json.auths['localhost:5000'].auth, 'base64').toString(), 'student:p:a:ss');
      assert.deepEqual(credentialsFor('localhost:5000'), { username: 'student', password: 'p:a:ss' });
      assert.equal(credentialsFor('other:5000'), null);
      assert.equal(saveCredentials('localhost:5000', null), true);
      assert.equal(credentialsFor('localhost:5000'), null);
      assert.equal(authKey('docker.io'), HUB_AUTH_KEY);
      assert.equal(serverDomain('https://index.docker.io/v1/'), 'docker.io');
      assert.equal(serverDomain('http://localhost:5000/'), 'localhost:5000');
      assert.equal(serverDomain(undefined), 'docker.io');
    } finally {
      if (before === undefined) delete process.env.DOCKLING_CONFIG;
      else process.env.DOCKLING_CONFIG = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pull and search details', () => {
  test("Docker's progress bar: 50 columns, decimal units with 4 digits", () => {
    assert.equal(progressBar(0, 4_500_000), `[>${' '.repeat(49)}]       0B/4.5MB`);
    assert.equal(progressBar(1_234_567, 4_500_000), `[=============>${' '.repeat(36)}]  1.235MB/4.5MB`);
    assert.equal(progressBar(4_500_000, 4_500_000), `[${'='.repeat(50)}]    4.5MB/4.5MB`);
  });

  test('a search term names its index the way a reference names its registry', () => {
    assert.deepEqual(splitSearchTerm('ruby'), { index: 'docker.io', query: 'ruby' });
    assert.deepEqual(splitSearchTerm('bitnami/ruby'), { index: 'docker.io', query: 'bitnami/ruby' });
    assert.deepEqual(splitSearchTerm('localhost:5000/lab'), { index: 'localhost:5000', query: 'lab' });
    assert.deepEqual(splitSearchTerm('localhost/lab'), { index: 'localhost', query: 'lab' });
  });
});

describe('the progress lines', () => {
  const sink = () => {
    let text = '';
    return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
  };

  test('not a terminal: one line per status, no bars', () => {
    const out = sink();
    const p = new Progress(out.stream, false);
    p.status('aaa', 'Pulling fs layer');
    p.bar('aaa', 'Downloading', 10, 100);
    p.status('aaa', 'Pull complete');
    p.line('Digest: x');
    assert.equal(out.text(), 'aaa: Pulling fs layer\naaa: Pull complete\nDigest: x\n');
  });

  test("a terminal: a layer's line is rewritten in place (cursor up, clear, write, cursor down)", () => {
    const out = sink();
    const p = new Progress(out.stream, true);
    p.status('aaa', 'Pulling fs layer');
    p.status('bbb', 'Pulling fs layer');
    p.status('aaa', 'Pull complete');
    assert.equal(out.text(), 'aaa: Pulling fs layer\nbbb: Pulling fs layer\n\x1b[2A\x1b[2K\raaa: Pull complete\r\x1b[2B');
  });

  test('quiet: only the result line', () => {
    const out = sink();
    const p = new Progress(out.stream, false, true);
    p.status('aaa', 'Pulling fs layer');
    p.line('Digest: x');
    p.result('localhost:5000/a:1');
    assert.equal(out.text(), 'localhost:5000/a:1\n');
  });
});
