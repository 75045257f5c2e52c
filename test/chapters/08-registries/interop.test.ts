// Other tools on the same registry: what dockling pushes, skopeo pulls,
// umoci unpacks and runc runs; what skopeo pushes (a single image, and a
// multi-platform index), dockling pulls and runs. And search: Docker Hub's
// v1 API (a server answering as the index does) and a registry's catalog.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chapter8 } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { startRegistry, startSearchIndex, whyNoRegistry, type Registry } from '../../helpers/registry.ts';

const skip = whyNoRegistry();
const { tmp, cli, ok, cliAsync, other } = chapter8('interop');
let reg: Registry;
before(async () => {
  if (!skip) reg = await startRegistry({ dir: path.join(tmp(), 'registry') });
});
after(async () => reg?.stop());

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: tmp() } });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (apt-get install skopeo umoci runc)`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const sha = (b: Buffer | string) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

describe('interop', { skip }, () => {
  test('dockling pushes; skopeo copies it to an OCI layout, umoci unpacks it, runc runs it', () => {
    const name = `${reg.host}/lab/to-runc:1`;
    expectCode(cli(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'echo made by dockling > /made']), 0);
    ok(['commit', 'maker', name]);
    ok(['rm', 'maker']);
    try {
      ok(['push', name]);
      const layout = path.join(tmp(), 'layout');
      tool('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${name}`, `oci:${layout}:1`]);
      const bundle = path.join(tmp(), 'bundle');
      tool('umoci', ['unpack', '--image', `${layout}:1`, bundle]);
      const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      config.process.terminal = false;
      config.process.args = ['cat', '/made'];
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
      const id = `dockling-interop-${process.pid}`;
      try {
        assert.equal(tool('runc', ['run', '--bundle', bundle, id]), 'made by dockling\n');
      } finally {
        spawnSync('runc', ['delete', '-f', id]);
        fs.rmSync(bundle, { recursive: true, force: true });
        fs.rmSync(layout, { recursive: true, force: true });
      }
    } finally {
      cli(['rmi', name]);
    }
  });

  test('skopeo pushes (a dockling save, as an OCI archive); dockling pulls it with the same image ID and runs it', () => {
    const archive = path.join(tmp(), 'busybox.tar');
    ok(['save', '-o', archive, 'busybox']);
    tool('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci-archive:${archive}:latest`, `docker://${reg.host}/lab/from-skopeo:1`]);
    fs.rmSync(archive);
    const o = other();
    try {
      expectCode(o.cli(['pull', `${reg.host}/lab/from-skopeo:1`]), 0);
      assert.equal(expectCode(o.cli(['image', 'inspect', '-f', '{{.Id}}', `${reg.host}/lab/from-skopeo:1`]), 0).stdout, ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).stdout);
      assert.equal(expectCode(o.cli(['run', '--rm', `${reg.host}/lab/from-skopeo:1`, 'echo', 'ok']), 0).stdout, 'ok\n');
    } finally {
      o.rm();
    }
  });

  test('a multi-platform index pushed by skopeo --all: this host\'s platform is chosen, --platform another', () => {
    // An OCI layout with busybox for amd64 and, with an arm64 config (same layer), for arm64.
    const layout = path.join(tmp(), 'multi');
    const archive = path.join(tmp(), 'bb.tar');
    ok(['save', '-o', archive, 'busybox']);
    tool('skopeo', ['copy', '-q', `oci-archive:${archive}:latest`, `oci:${layout}:x`]);
    fs.rmSync(archive);
    const blob = (d: string) => path.join(layout, 'blobs/sha256', d.slice(7));
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const amd = index.manifests[0];
    const manifest = JSON.parse(fs.readFileSync(blob(amd.digest), 'utf8'));
    const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
    const armConfig = Buffer.from(JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' }));
    fs.writeFileSync(blob(sha(armConfig)), armConfig);
    const armManifest = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: sha(armConfig), size: armConfig.length } }));
    fs.writeFileSync(blob(sha(armManifest)), armManifest);
    const list = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: amd.mediaType, digest: sha(armManifest), size: armManifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }));
    fs.writeFileSync(blob(sha(list)), list);
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(list), size: list.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }));
    tool('skopeo', ['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${reg.host}/lab/multi:1`]);
    fs.rmSync(layout, { recursive: true, force: true });
    const o = other();
    try {
      const pulled = expectCode(o.cli(['pull', `${reg.host}/lab/multi:1`]), 0).stdout;
      assert.match(pulled, new RegExp(`Digest: ${sha(list)}`), 'the digest is the index\'s');
      assert.equal(expectCode(o.cli(['image', 'inspect', '-f', '{{.Architecture}}', `${reg.host}/lab/multi:1`]), 0).stdout, 'amd64\n');
      assert.equal(expectCode(o.cli(['run', '--rm', `${reg.host}/lab/multi:1`, 'echo', 'ok']), 0).stdout, 'ok\n');
      expectCode(o.cli(['pull', '--platform', 'linux/arm64/v8', `${reg.host}/lab/multi:1`]), 0);
      assert.equal(expectCode(o.cli(['image', 'inspect', '-f', '{{.Architecture}}', `${reg.host}/lab/multi:1`]), 0).stdout, 'arm64\n');
      assert.match(expectCode(o.cli(['pull', '--platform', 'linux/s390x', `${reg.host}/lab/multi:1`]), 1).stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
    } finally {
      o.rm();
    }
  });
});

describe('search', { skip }, () => {
  test("Docker Hub's v1 search API: the request docker sends, the table docker prints, --limit, --filter, --no-trunc, --format", async () => {
    const index = await startSearchIndex([
      { name: 'ruby', description: 'Ruby is a dynamic, reflective, object-oriented, general-purpose, open-source programming language.', star_count: 2400, is_official: true, is_automated: false },
      { name: 'bitnami/ruby', description: 'Bitnami Ruby Docker Image', star_count: 48, is_official: false, is_automated: true },
      { name: 'someone/ruby-tools', description: 'tools', star_count: 1, is_official: false, is_automated: false },
    ]);
    try {
      const r = expectCode(await cliAsync(['search', `${index.host}/ruby`]), 0);
      assert.deepEqual(index.requests.filter((q) => q.startsWith('/v1/')), ['/v1/search?q=ruby&n=25']);
      assert.equal(r.stdout, [
        'NAME                 DESCRIPTION                                     STARS     OFFICIAL   AUTOMATED',
        'ruby                 Ruby is a dynamic, reflective, object-orient…   2400      [OK]       ',
        'bitnami/ruby         Bitnami Ruby Docker Image                       48                   [OK]',
        'someone/ruby-tools   tools                                           1                    ',
        '',
      ].join('\n'));
      const filtered = expectCode(await cliAsync(['search', '--filter', 'stars=10', '--filter', 'is-official=false', '--limit', '2', `${index.host}/ruby`]), 0);
      assert.deepEqual(filtered.stdout.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[0]), ['bitnami/ruby']);
      assert.ok(index.requests.includes('/v1/search?q=ruby&n=2'));
      assert.match(expectCode(await cliAsync(['search', '--no-trunc', `${index.host}/ruby`]), 0).stdout, /general-purpose, open-source programming language\./);
      assert.equal(expectCode(await cliAsync(['search', '--format', '{{.Name}}: {{.StarCount}}', `${index.host}/ruby`]), 0).stdout, 'ruby: 2400\nbitnami/ruby: 48\nsomeone/ruby-tools: 1\n');
      assert.match(expectCode(await cliAsync(['search', '--filter', 'color=red', `${index.host}/ruby`]), 1).stderr, /invalid filter 'color'/);
      assert.match(expectCode(await cliAsync(['search', '--limit', '0', `${index.host}/ruby`]), 1).stderr, /limit 0 is outside the range of \[1, 100\]/);
    } finally {
      await index.stop();
    }
  });

  test('a registry without the search API: its catalog, filtered by the term, said plainly', () => {
    ok(['tag', 'busybox', `${reg.host}/lab/findme:1`]);
    try {
      ok(['push', `${reg.host}/lab/findme:1`]);
      const r = ok(['search', `${reg.host}/find`]);
      assert.match(r.stderr, /has no search API \(Docker Hub's \/v1\/search\): these are the repositories of its \/v2\/_catalog/);
      assert.match(r.stdout, new RegExp(`^${reg.host}/lab/findme\\s+0`, 'm'));
      assert.doesNotMatch(r.stdout, /lab\/multi|to-runc/, 'only names with the term');
    } finally {
      cli(['rmi', `${reg.host}/lab/findme:1`]);
    }
  });
});
