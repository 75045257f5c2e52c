// The VM a learner boots (vagrant/Vagrantfile) and the shell scripts that
// set machines up (vagrant/*.sh, .ci/run), checked by the tools themselves:
// `vagrant validate` for each architecture and way of syncing the
// checkout, and shellcheck over every shell script of the repository.
// Nothing here boots a VM (no provider runs on CI's machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
/** Missing tools skip outside CI; in CI they are a failure (provision.sh installs both). */
function need(tool: string): string | false {
  if (has(tool)) return false;
  if (process.env.CI) throw new Error(`${tool} is not installed: vagrant/provision.sh installs it`);
  return `${tool} is not installed (apt-get install ${tool})`;
}

/** `vagrant validate` of the project's Vagrantfile with these settings, in a VAGRANT_HOME of its own. */
function validate(env: Record<string, string>) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-vagrant-'));
  try {
    const r = spawnSync('vagrant', ['validate', '--ignore-provider'], {
      // VAGRANT_DOTFILE_PATH: its .vagrant/ too, or validate leaves one in the checkout.
      env: { ...process.env, VAGRANT_CWD: path.join(REPO, 'vagrant'), VAGRANT_HOME: home, VAGRANT_DOTFILE_PATH: path.join(home, 'dot'), VAGRANT_CHECKPOINT_DISABLE: '1', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test('vagrant validate: the Vagrantfile is valid for amd64 and arm64, shared or rsync-ed', { skip: need('vagrant') }, () => {
  for (const arch of ['amd64', 'arm64']) {
    for (const sync of ['', 'rsync']) {
      const r = validate({ DOCKLING_ARCH: arch, DOCKLING_SYNC: sync });
      assert.equal(r.code, 0, `DOCKLING_ARCH=${arch} DOCKLING_SYNC=${sync}: ${r.out}`);
      assert.match(r.out, /Vagrantfile validated successfully/);
    }
  }
});

test('vagrant validate: a wrong choice is refused with what to write instead', { skip: need('vagrant') }, () => {
  const arch = validate({ DOCKLING_ARCH: 'sparc' });
  assert.notEqual(arch.code, 0);
  assert.match(arch.out, /DOCKLING_ARCH=sparc: use amd64 or arm64/);
  const sync = validate({ DOCKLING_SYNC: 'nfs4' });
  assert.notEqual(sync.code, 0);
  assert.match(sync.out, /DOCKLING_SYNC=nfs4: use rsync/);
  const memory = validate({ DOCKLING_MEMORY: 'lots' });
  assert.notEqual(memory.code, 0);
  assert.match(memory.out, /DOCKLING_MEMORY=lots: a number of MiB/);
});

test('shellcheck: every shell script of the repository is clean', { skip: need('shellcheck') }, () => {
  const listed = spawnSync('git', ['ls-files', '*.sh', '.ci/run'], { cwd: REPO, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const scripts = listed.stdout.split('\n').filter(Boolean);
  assert.ok(scripts.includes('vagrant/provision.sh') && scripts.includes('vagrant/vm-dirs.sh'), `the scripts found: ${scripts.join(' ')}`);
  const r = spawnSync('shellcheck', scripts, { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('vm-dirs.sh: node_modules and dist become mounts of the VM’s own directories, once however often it runs, and the build keeps them', { skip: process.getuid?.() === 0 ? false : 'needs root (mounts in a mount namespace of its own)' }, () => {
  // A stand-in checkout and VM disk on a tmpfs, in a mount namespace of
  // the test's own: nothing of it is seen outside, and it all goes with it.
  const script = `
    set -e
    mount -t tmpfs vmtest /mnt
    mkdir -p /mnt/dockling/vagrant
    cp "$REPO/vagrant/vm-dirs.sh" /mnt/dockling/vagrant/
    export DOCKLING_CHECKOUT=/mnt/dockling DOCKLING_VM_DIRS=/mnt/own DOCKLING_PROFILE=/mnt/profile
    bash /mnt/dockling/vagrant/vm-dirs.sh
    bash /mnt/dockling/vagrant/vm-dirs.sh
    echo "mounts $(grep -c ' /mnt/dockling/' /proc/self/mountinfo)"
    touch /mnt/dockling/dist/old.js
    # what the build does to dist first (package.json's build:js)
    node "$REPO/scripts/empty-dir.mjs" /mnt/dockling/dist
    mountpoint -q /mnt/dockling/dist && echo "dist still a mount, $(ls /mnt/dockling/dist | wc -l) files"
    grep -q 'cd /dockling' /mnt/profile && echo "profile lands in /dockling"
  `;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], { env: { ...process.env, REPO }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^mounts 2$/m, 'node_modules and dist, each mounted once after two runs');
  assert.match(r.stdout, /^dist still a mount, 0 files$/m);
  assert.match(r.stdout, /^profile lands in \/dockling$/m);
});
