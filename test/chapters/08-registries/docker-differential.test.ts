// Differential: push, pull, rmi, login and their errors, against a private
// dockerd 20.10 talking to the same registries (docker-registry on this
// file's loopback; the daemon shares the file's network namespace, which
// test/run.ts made for it, so that 127.0.0.1 is the same place for both).
// Outputs are compared after normalising what must differ (IDs, digests,
// sizes, "docker"/"dockling"): dockerd and dockling gzip a layer
// differently, so their blobs and manifests have other digests, while the
// image ID (the config's digest) is the same.
//
// And an image made by dockerd (run, commit, save) is loaded and pushed by
// dockling, then pulled back and run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { check, differential, newReport, privateDockerd, whyNoDockerd, type Table } from '../../helpers/docker-differential.js';
import { startRegistry, whyNoRegistry, type Registry } from '../../helpers/registry.ts';
import { chapter8 } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';

const skip = whyNoDockerd() || whyNoRegistry();
const t = chapter8('ch8-differential');
const daemon = privateDockerd({ skip, label: 'differential8', networkArgs: ['--bridge=none', '--iptables=false'], root: () => t.root(), shareNetns: true });

let plain: Registry;
let basic: Registry;
before(async () => {
  if (skip) return;
  plain = await startRegistry({ dir: path.join(daemon.tmp(), 'plain') });
  basic = await startRegistry({ dir: path.join(daemon.tmp(), 'basic'), htpasswd: [{ user: 'student', password: 's3cret' }] });
  // dockling's side of the comparison runs with the test's process.env: its logins go in the file's directory.
  process.env.DOCKLING_CONFIG = path.join(daemon.tmp(), 'dockling-client');
  process.env.DOCKLING_DAEMON_CONFIG = path.join(daemon.tmp(), 'dockling-daemon.json');
});
after(async () => {
  await plain?.stop();
  await basic?.stop();
});

/** Differences dockling keeps on purpose. */
const ALLOWED: Table = {
  'search-catalog': {
    code: 'a registry without the v1 search API: docker fails ("Unexpected status code 404"); dockling lists the catalog, filtered (chapter 8, section 7)',
    stdout: 'the same',
    stderr: 'the same',
  },
  'login-basic': {
    stderr: 'dockling\'s warning says the file holds the password in base64; docker\'s points at its credential helpers, which dockling has not',
  },
  'pull-bad-name': {
    stderr: 'chapter 4\'s reference errors name the repository, as the docker 28 CLI does ("repository name (Web) must be lowercase"); the 20.10 CLI does not',
  },
  'pull-basic-no-login': {
    stderr: 'dockerd asks for the manifest with HEAD first, dockling with GET: "Head" against "Get" in the same sentence',
  },
};

const { compare, both } = differential(daemon, () => t.root(), [ALLOWED]);

test('push, pull, rmi and their errors; login and logout; as dockerd says them', { skip }, async () => {
  const P = plain.host;
  const B = basic.host;
  const report = newReport();
  try {
    await compare(
      [
        { id: 'tag', args: ['tag', 'busybox', `${P}/lab/web:1`] },
        { id: 'push-first', args: ['push', `${P}/lab/web:1`] },
        { id: 'push-again', args: ['push', `${P}/lab/web:1`] },
        { id: 'push-missing', args: ['push', `${P}/lab/ghost:1`] },
        { id: 'inspect-digests', args: ['image', 'inspect', '-f', '{{len .RepoDigests}} {{.RepoTags}}', `${P}/lab/web:1`] },
        { id: 'rmi-tag-and-digest', args: ['rmi', `${P}/lab/web:1`] },
        { id: 'pull', args: ['pull', `${P}/lab/web:1`] },
        { id: 'pull-again', args: ['pull', `${P}/lab/web:1`] },
        { id: 'pull-q', args: ['pull', '-q', `${P}/lab/web:1`] },
        { id: 'images-digests', args: ['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', `${P}/lab/web`] },
        { id: 'pull-default-tag-missing', args: ['pull', `${P}/lab/web`] },
        { id: 'pull-unknown-tag', args: ['pull', `${P}/lab/web:nope`] },
        { id: 'pull-unknown-repo', args: ['pull', `${P}/lab/never:1`] },
        { id: 'pull-unknown-digest', args: ['pull', `${P}/lab/web@sha256:${'0'.repeat(64)}`] },
        { id: 'pull-refused', args: ['pull', '127.0.0.1:1/lab/x:1'] },
        { id: 'pull-bad-name', args: ['pull', 'Lab/Web'] },
        { id: 'run-pull-never', args: ['run', '--rm', '--pull', 'never', `${P}/lab/absent:1`, 'true'] },
        { id: 'search-catalog', args: ['search', `${P}/lab`] },
        { id: 'logout-not-in', args: ['logout', B] },
        { id: 'login-password-arg', args: ['login', B, '-u', 'student', '-p', 'wrong'] },
        { id: 'login-basic', args: ['login', B, '-u', 'student', '-p', 's3cret'] },
        { id: 'tag-basic', args: ['tag', 'busybox', `${B}/lab/x:1`] },
        { id: 'push-basic', args: ['push', `${B}/lab/x:1`] },
        { id: 'logout', args: ['logout', B] },
        { id: 'pull-basic-no-login', args: ['pull', `${B}/lab/x:1`] },
        { id: 'rmi-basic', args: ['rmi', `${B}/lab/x:1`] },
      ],
      report,
    );
  } finally {
    for (const n of [`${P}/lab/web:1`, `${B}/lab/x:1`]) both(['rmi', n]);
  }
  check(report);
});

test('an image made by dockerd (run, commit, save) loads into dockling, pushes, and comes back', { skip }, () => {
  const name = `${plain.host}/lab/from-docker:1`;
  const tar = path.join(daemon.tmp(), 'from-docker.tar');
  assert.equal(daemon.docker(['run', '--network', 'none', '--name', 'maker', 'busybox', 'sh', '-c', 'echo made by dockerd > /made']).code, 0);
  assert.equal(daemon.docker(['commit', 'maker', name]).code, 0);
  daemon.docker(['rm', 'maker']);
  const id = daemon.docker(['image', 'inspect', '-f', '{{.Id}}', name]).stdout.trim();
  assert.equal(daemon.docker(['save', '-o', tar, name]).code, 0);
  daemon.docker(['rmi', name]);
  try {
    expectCode(t.cli(['load', '-i', tar]), 0);
    expectCode(t.cli(['push', name]), 0);
    expectCode(t.cli(['rmi', name]), 0);
    const o = t.other();
    try {
      expectCode(o.cli(['pull', name]), 0);
      assert.equal(expectCode(o.cli(['image', 'inspect', '-f', '{{.Id}}', name]), 0).stdout.trim(), id, 'dockerd\'s image ID, kept through save, load, push and pull');
      assert.equal(expectCode(o.cli(['run', '--rm', name, 'cat', '/made']), 0).stdout, 'made by dockerd\n');
    } finally {
      o.rm();
    }
    // And dockerd pulls what dockling pushed.
    assert.equal(daemon.docker(['pull', '-q', name]).code, 0);
    assert.equal(daemon.docker(['image', 'inspect', '-f', '{{.Id}}', name]).stdout.trim(), id);
  } finally {
    daemon.docker(['rmi', name]);
    t.cli(['rmi', name]);
    fs.rmSync(tar, { force: true });
  }
});
