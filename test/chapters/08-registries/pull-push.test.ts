// push and pull against a real registry (docker-registry 2.8 on loopback):
// what is sent, what comes back, what the store records, and the lines
// printed, as Docker prints them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chapter8, layeredImage, storeOf } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { startRegistry, whyNoRegistry, type Registry } from '../../helpers/registry.ts';

const skip = whyNoRegistry();
const { tmp, cli, ok, other } = chapter8('pullpush');
let reg: Registry;
before(async () => {
  if (!skip) reg = await startRegistry({ dir: path.join(tmp(), 'registry') });
});
after(async () => reg?.stop());

const idOf = (c: (a: string[]) => { stdout: string }, ref: string) => c(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();

describe('push and pull', { skip }, () => {
  test('push: the layers, the config, then the manifest; again: "Layer already exists"; another repository: "Mounted from"', () => {
    const name = `${reg.host}/lab/busybox:1`;
    ok(['tag', 'busybox', name]);
    const first = ok(['push', name]).stdout;
    assert.match(first, new RegExp(`^The push refers to repository \\[${reg.host}/lab/busybox\\]\\n[0-9a-f]{12}: Preparing\\n[0-9a-f]{12}: Pushed\\n1: digest: sha256:[0-9a-f]{64} size: \\d+\\n$`));
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(first)![1];
    // The registry has the manifest under the tag and every blob it names.
    const tagLink = path.join(reg.storage, 'docker/registry/v2/repositories/lab/busybox/_manifests/tags/1/current/link');
    assert.equal(fs.readFileSync(tagLink, 'utf8'), digest);
    assert.match(ok(['push', name]).stdout, /: Layer already exists\n1: digest: /);
    ok(['tag', 'busybox', `${reg.host}/lab/other:1`]);
    assert.match(ok(['push', `${reg.host}/lab/other:1`]).stdout, /: Mounted from lab\/busybox\n/);
    // The digest is recorded: RepoDigests, images --digests.
    const inspect = ok(['image', 'inspect', '-f', '{{json .RepoDigests}}', name]).stdout;
    assert.deepEqual(JSON.parse(inspect), [`${reg.host}/lab/busybox@${digest}`, `${reg.host}/lab/other@${digest}`]);
    assert.match(ok(['images', '--digests', `${reg.host}/lab/busybox`]).stdout, new RegExp(`${reg.host}/lab/busybox\\s+1\\s+${digest}`));
    // Docker's rmi: the tag and, with no tag left in the repository, its digest.
    assert.equal(ok(['rmi', name, `${reg.host}/lab/other:1`]).stdout, `Untagged: ${name}\nUntagged: ${reg.host}/lab/busybox@${digest}\nUntagged: ${reg.host}/lab/other:1\nUntagged: ${reg.host}/lab/other@${digest}\n`);
  });

  test('pull into an empty store: the same image ID, its digest, the distribution files; again: up to date', () => {
    const name = `${reg.host}/lab/pulled:1`;
    ok(['tag', 'busybox', name]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(ok(['push', name]).stdout)![1];
    ok(['rmi', name]);
    const o = other();
    try {
      const r = expectCode(o.cli(['pull', name]), 0);
      const layer = /^([0-9a-f]{12}): Pulling fs layer$/m.exec(r.stdout)?.[1];
      assert.ok(layer, r.stdout);
      assert.equal(r.stdout, `1: Pulling from lab/pulled\n${layer}: Pulling fs layer\n${layer}: Verifying Checksum\n${layer}: Download complete\n${layer}: Pull complete\nDigest: ${digest}\nStatus: Downloaded newer image for ${name}\n${name}\n`);
      assert.equal(idOf(o.cli, name), idOf(cli, 'busybox'), 'the image ID is the config\'s digest: the same on both sides');
      // image/overlay2/distribution: the blob's diffID, and where the blob is.
      const dist = path.join(o.root, 'image/overlay2/distribution');
      const blobs = fs.readdirSync(path.join(dist, 'diffid-by-digest/sha256'));
      assert.equal(blobs.length, 1);
      assert.ok(blobs[0].startsWith(layer));
      const diffID = fs.readFileSync(path.join(dist, 'diffid-by-digest/sha256', blobs[0]), 'utf8');
      const meta = JSON.parse(fs.readFileSync(path.join(dist, 'v2metadata-by-diffid/sha256', diffID.slice(7)), 'utf8'));
      assert.deepEqual(meta, [{ Digest: `sha256:${blobs[0]}`, SourceRepository: `${reg.host}/lab/pulled`, HMAC: '' }]);
      assert.match(expectCode(o.cli(['pull', name]), 0).stdout, /Status: Image is up to date for /);
      // By digest: the same image, named by content.
      const byDigest = expectCode(o.cli(['pull', `${reg.host}/lab/pulled@${digest}`]), 0).stdout;
      assert.match(byDigest, new RegExp(`^${digest}: Pulling from lab/pulled\\n`));
      assert.equal(idOf(o.cli, `${reg.host}/lab/pulled@${digest}`), idOf(o.cli, name));
      // -q: the name alone.
      assert.equal(expectCode(o.cli(['pull', '-q', name]), 0).stdout, `${name}\n`);
      // rmi by digest removes that reference only.
      assert.equal(expectCode(o.cli(['rmi', `${reg.host}/lab/pulled@${digest}`]), 0).stdout, `Untagged: ${reg.host}/lab/pulled@${digest}\n`);
      assert.deepEqual(storeOf(o.root).tmp, [], 'no scratch left');
    } finally {
      o.rm();
    }
  });

  test('six layers: three download at a time ("Waiting"), a layer already here is skipped ("Already exists")', () => {
    const name = `${reg.host}/lab/layers:5`;
    layeredImage(cli, name, 5, 200_000);
    try {
      ok(['push', name]);
      const o = other();
      try {
        const r = expectCode(o.cli(['pull', name]), 0);
        assert.equal((r.stdout.match(/: Pulling fs layer$/gm) ?? []).length, 6);
        assert.equal((r.stdout.match(/: Waiting$/gm) ?? []).length, 3, 'layers 4 to 6 wait for a slot');
        assert.equal((r.stdout.match(/: Pull complete$/gm) ?? []).length, 6);
        assert.equal(idOf(o.cli, name), idOf(cli, name));
        // The files are there, in order: the top layer's file runs.
        assert.match(expectCode(o.cli(['run', '--rm', name, 'sh', '-c', 'wc -c /file1 /file5']), 0).stdout, /200000 \/file5/);
      } finally {
        o.rm();
      }
      // Here, busybox's layer is in the store: only the five new ones come.
      ok(['rmi', name]);
      const again = ok(['pull', name]).stdout;
      assert.equal((again.match(/: Already exists$/gm) ?? []).length, 1);
      assert.equal((again.match(/: Pull complete$/gm) ?? []).length, 5);
    } finally {
      cli(['rmi', name]);
    }
  });

  test('run pulls a missing image (--pull missing); --pull never refuses; --pull always asks the registry again', () => {
    const name = `${reg.host}/lab/runme:1`;
    ok(['tag', 'busybox', name]);
    ok(['push', name]);
    ok(['rmi', name]);
    try {
      const r = expectCode(cli(['run', '--rm', name, 'echo', 'ran']), 0);
      assert.equal(r.stdout, 'ran\n');
      assert.match(r.stderr, new RegExp(`^Unable to find image '${name}' locally\\n1: Pulling from lab/runme\\n`, 'm'));
      assert.match(r.stderr, /Status: Downloaded newer image for /);
      const always = expectCode(cli(['run', '--rm', '--pull', 'always', name, 'true']), 0);
      assert.match(always.stderr, /Status: Image is up to date for /);
      ok(['rmi', name]);
      const never = expectCode(cli(['run', '--rm', '--pull', 'never', name, 'true']), 125);
      assert.match(never.stderr, new RegExp(`No such image: ${name}\\.`));
      assert.match(expectCode(cli(['run', '--rm', '--pull', 'sometimes', name, 'true']), 125).stderr, /invalid pull option: 'sometimes'/);
      const missing = expectCode(cli(['create', `${reg.host}/lab/nothere:1`]), 125);
      assert.match(missing.stderr, /manifest for 127\.0\.0\.1:\d+\/lab\/nothere:1 not found: manifest unknown: manifest unknown/);
    } finally {
      cli(['rmi', name]);
    }
  });

  test("Docker's messages: an unknown tag, a repository never pushed, a tag not here to push, a registry not there", () => {
    assert.equal(expectCode(cli(['pull', `${reg.host}/lab/busybox:nope`]), 1).stderr, `dockling: Error response from daemon: manifest for ${reg.host}/lab/busybox:nope not found: manifest unknown: manifest unknown\n`);
    const never = expectCode(cli(['pull', `${reg.host}/lab/never`]), 1);
    assert.equal(never.stdout, 'Using default tag: latest\n');
    assert.match(never.stderr, /manifest for 127\.0\.0\.1:\d+\/lab\/never:latest not found/);
    const push = expectCode(cli(['push', `${reg.host}/lab/ghost:1`]), 1);
    assert.equal(push.stderr, `dockling: An image does not exist locally with the tag: ${reg.host}/lab/ghost\n`);
    assert.match(expectCode(cli(['pull', '127.0.0.1:1/lab/x']), 1).stderr, /Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
  });
});
