// Chapter 1, section 2: "The pipeline and the layer" (where the rootfs comes
// from; validate's prerequisites).
//
// Chapter 1: root filesystems (`dockling rootfs busybox DIR`, `run --rootfs
// DIR`), and what happens when a prerequisite of the host is missing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, REPO, dockling, rootOrSkip, type Result } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';

const skip = rootOrSkip();
const root = useStateRoot('rootfs');

let n = 0;
/** A path under the state root that does not exist yet. */
const fresh = (label: string) => path.join(root(), `${label}-${n++}`);

/** Make a busybox rootfs with the CLI, checking it worked. */
function makeRootfs(label: string): string {
  const dir = fresh(label);
  const r = expectCode(dockling(root(), ['rootfs', 'busybox', dir]), 0);
  assert.equal(r.stdout, `${dir}\n`);
  return dir;
}

/**
 * Run dockling with one host file replaced by another, in a private mount
 * namespace of its own (util-linux unshare): the host never sees the change.
 */
function withFileHidden(target: string, replacement: string, args: string[], stateRoot: string): Result {
  const r = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" "$1" && shift && exec "$@"', replacement, target, process.execPath, BIN, '--root', stateRoot, ...args],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env } },
  );
  if (r.error) throw r.error;
  return { code: r.status ?? 128, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('chapter 1: dockling rootfs busybox DIR', { skip }, () => {
  test('makes a busybox root filesystem that run --rootfs DIR runs', () => {
    const dir = makeRootfs('bb');
    const busybox = path.join(dir, 'bin/busybox');
    assert.ok(fs.statSync(busybox).isFile());
    assert.equal(fs.statSync(busybox).mode & 0o111, 0o111);
    assert.equal(fs.readlinkSync(path.join(dir, 'bin/sh')), '/bin/busybox');
    assert.match(fs.readFileSync(path.join(dir, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    for (const d of ['proc', 'sys', 'dev', 'tmp']) assert.ok(fs.statSync(path.join(dir, d)).isDirectory(), d);
    const r = expectCode(dockling(root(), ['run', '--rm', '--rootfs', dir, 'sh', '-c', 'echo "hello from $(hostname)"; echo $$']), 0);
    assert.match(r.stdout, /^hello from [0-9a-f]{12}\n1\n$/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary directory is left');
  });

  test('run --rootfs takes a relative directory, and every argument after it is the command', () => {
    const dir = makeRootfs('rel');
    const r = expectCode(dockling(root(), ['run', '--rm', '--rootfs', path.basename(dir), 'echo', 'busybox', '-n'], { cwd: root() }), 0);
    assert.equal(r.stdout, 'busybox -n\n');
  });

  test('run --rootfs DIR without a command is refused with 125', () => {
    const dir = makeRootfs('nocmd');
    const r = expectCode(dockling(root(), ['run', '--rm', '--rootfs', dir]), 125);
    assert.match(r.stderr, /no command given/);
  });

  test('a non-empty DIR is refused and left as it was; an empty one is used', () => {
    const dir = fresh('full');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'precious'), 'keep me');
    const r = expectCode(dockling(root(), ['rootfs', 'busybox', dir]), 1);
    assert.ok(r.stderr.includes(`${dir} exists and is not empty`), r.stderr);
    assert.deepEqual(fs.readdirSync(dir), ['precious']);
    assert.equal(fs.readFileSync(path.join(dir, 'precious'), 'utf8'), 'keep me');
    const empty = fresh('empty');
    fs.mkdirSync(empty);
    expectCode(dockling(root(), ['rootfs', 'busybox', empty]), 0);
    assert.ok(fs.existsSync(path.join(empty, 'bin/busybox')));
  });

  test('an unknown kind of rootfs, or a missing DIR, is refused', () => {
    const r = expectCode(dockling(root(), ['rootfs', 'alpine', fresh('alpine')]), 1);
    assert.match(r.stderr, /unknown rootfs kind "alpine"/);
    const usage = expectCode(dockling(root(), ['rootfs', 'busybox']), 1);
    assert.match(usage.stderr, /"dockling rootfs" requires at least 2 arguments/);
  });

  test('a rootfs whose /etc is an absolute symlink to a host directory: nothing is written there', () => {
    const dir = makeRootfs('hostile');
    const hostDir = fresh('host-etc');
    fs.mkdirSync(hostDir);
    // The rootfs's /etc now points, by absolute path, at a directory of the
    // host. Inside the container that path must mean <rootfs>/<path>.
    fs.renameSync(path.join(dir, 'etc'), path.join(dir, 'etc.orig'));
    fs.symlinkSync(hostDir, path.join(dir, 'etc'));
    const r = expectCode(dockling(root(), ['run', '--rm', '--hostname', 'evil', '--rootfs', dir, 'sh', '-c', 'cat /etc/hostname']), 0);
    assert.equal(r.stdout, 'evil\n');
    assert.deepEqual(fs.readdirSync(hostDir), [], 'the container\'s /etc files were made in the host\'s directory');
  });
});

describe('chapter 1: missing prerequisites get one clear line and 125', { skip }, () => {
  test('not root', () => {
    // Without NODE_V8_COVERAGE: under c8, nobody could not write its coverage file.
    const env = { ...process.env, NODE_V8_COVERAGE: undefined };
    const r = expectCode(dockling(root(), ['run', '--rm', 'busybox', 'true'], { uid: 65534, gid: 65534, cwd: '/', env }), 125);
    assert.match(r.stderr, /^dockling: .*must run as root.*\n$/);
  });

  test('no static busybox (here: a dynamically linked one) for the default rootfs', () => {
    const state = fresh('state-no-busybox');
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
    assert.ok(busybox, 'the test needs busybox-static on the host');
    const r = expectCode(withFileHidden(fs.realpathSync(busybox), fs.realpathSync('/bin/true'), ['run', '--rm', 'busybox', 'true'], state), 125);
    assert.match(r.stderr, /^dockling: .*busybox-static.*\n$/);
    assert.ok(!fs.existsSync(path.join(state, 'rootfs', 'busybox', 'bin', 'busybox')), 'no rootfs was made');
    fs.rmSync(state, { recursive: true, force: true });
  });

  test('the nsexec helper not built', () => {
    const nsexec = path.join(REPO, 'dist', 'nsexec');
    assert.ok(fs.existsSync(nsexec), 'the test needs a built dockling (npm run build)');
    const r = expectCode(withFileHidden(nsexec, '/dev/null', ['run', '--rm', 'busybox', 'true'], root()), 125);
    assert.match(r.stderr, /^dockling: .*nsexec.*npm run build.*\n$/);
  });
});
