// Chapter 4: `image prune` and `system df`.
//
// Chapter 4, for real, as root: a name moved to a new commit leaves the old
// image dangling (no name, no child): `image prune` removes it and the
// layers nothing else stands on, after Docker's warning on stdin (anything
// but y keeps everything), and `-a` removes every image no container is
// made from. `system df` counts images, what containers wrote, and what a
// prune would give back, in Docker's table. `image` alone lists its
// commands, prune among them.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: no image store, no `image prune`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { chainIDsOf, configOf, layout, ls, ok, rmQuietly } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-prune');

/** Commit a container of busybox that wrote `bytes` bytes to /f under `name`; the container is removed. */
function commitWrote(bytes: number, name: string): string {
  try {
    ok(root(), ['run', '--name', 'maker', 'busybox', 'sh', '-c', `head -c ${bytes} /dev/zero > /f`]);
    return ok(root(), ['commit', 'maker', name]).trim();
  } finally {
    rmQuietly(root(), 'maker');
  }
}

const imageIDs = () => ok(root(), ['images', '-q', '--no-trunc']).split('\n').filter(Boolean);

test("image prune: Docker's question (no keeps all), then the dangling image and its own layer go, the named ones stay", { skip }, () => {
  const old = commitWrote(1000, 'moved:1');
  const oldTop = chainIDsOf(configOf(root(), old).rootfs.diff_ids).at(-1)!;
  const now = commitWrote(2000, 'moved:1'); // the name moves: the first image is dangling
  try {
    assert.ok(imageIDs().includes(old), 'the dangling image is not listed by images');
    const no = expectCode(dockling(root(), ['image', 'prune'], { input: 'n\n' }), 0);
    assert.equal(no.stdout, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
    assert.ok(imageIDs().includes(old), '"n" pruned the image');

    const yes = expectCode(dockling(root(), ['image', 'prune'], { input: 'y\n' }), 0);
    assert.equal(
      yes.stdout,
      'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ' +
        `Deleted Images:\ndeleted: ${old}\ndeleted: ${oldTop}\n\nTotal reclaimed space: 1kB\n`,
    );
    assert.ok(!imageIDs().includes(old));
    assert.ok(!ls(path.join(layout(root()).img, 'layerdb/sha256')).includes(oldTop.replace('sha256:', '')), 'its layer is still in layerdb');
    assert.ok(imageIDs().includes(now), 'prune removed a named image');
    // Nothing dangling: nothing deleted, the report says so.
    assert.equal(ok(root(), ['image', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    expectCode(dockling(root(), ['image', 'prune', 'extra']), 1);
  } finally {
    dockling(root(), ['rmi', '-f', 'moved:1']);
  }
});

test('image prune -a: every image no container is made from (a stopped container keeps its image); system df counts it all', { skip }, () => {
  const kept = commitWrote(3000, 'kept:1');
  const gone = commitWrote(4000, 'gone:1');
  try {
    ok(root(), ['run', '--name', 'holder', 'kept:1', 'sh', '-c', 'head -c 5000 /dev/zero > /g']);
    const df = ok(root(), ['system', 'df']).split('\n');
    assert.match(df[0], /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    // busybox, kept, gone; one used (by the stopped holder); the holder wrote 5000 bytes and is not running.
    assert.match(df[1], /^Images\s+3\s+1\s+\S+\s+\S+ \(\d+%\)$/);
    assert.match(df[2], /^Containers\s+1\s+0\s+5kB\s+5kB \(100%\)$/);
    assert.match(df[3], /^Local Volumes\s+0\s+0\s+0B\s+0B$/);
    assert.match(df[4], /^Build Cache\s+0\s+0\s+0B\s+0B$/);
    const verbose = ok(root(), ['system', 'df', '-v']);
    assert.match(verbose, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\n/);
    assert.match(verbose, /^kept\s+1\s+[0-9a-f]{12}\s+.*\s1$/m);
    assert.match(verbose, /\nContainers space usage:\n\nCONTAINER ID .*\n[0-9a-f]{12}\s+kept:1\s+.*5kB.*holder\n/);

    const r = expectCode(dockling(root(), ['image', 'prune', '-a'], { input: 'yes\n' }), 0);
    assert.ok(r.stdout.startsWith('WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] Deleted Images:\n'), r.stdout);
    assert.match(r.stdout, /^untagged: gone:1$/m);
    // busybox is kept:1's parent: an image with a child is not removed (dockerd's conflict, skipped by prune).
    assert.doesNotMatch(r.stdout, /busybox/);
    assert.match(r.stdout, /\nTotal reclaimed space: \S+\n$/);
    // kept:1 stays for the stopped container, and busybox under it.
    const left = imageIDs();
    assert.ok(left.includes(kept) && !left.includes(gone) && left.length === 2, `left: ${left.join(' ')}`);
    assert.ok(!fs.existsSync(path.join(layout(root()).img, 'imagedb/content/sha256', gone.replace('sha256:', ''))));
  } finally {
    rmQuietly(root(), 'holder');
    dockling(root(), ['rmi', '-f', 'kept:1', 'gone:1']);
  }
});

test('`image` alone lists its commands (on stderr, status 0, as the docker CLI); image prune and image ls among them', { skip }, () => {
  const r = expectCode(dockling(root(), ['image']), 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^\nUsage:  dockling image COMMAND\n\nManage images\n\nCommands:\n/);
  for (const w of ['history', 'inspect', 'load', 'ls', 'prune', 'rm', 'save', 'tag', 'import']) assert.match(r.stderr, new RegExp(`^  ${w}\\s+\\S`, 'm'));
  assert.match(expectCode(dockling(root(), ['system']), 0).stderr, /^  df\s+Show docker disk usage$/m);
  // `image` forms of chapter 4's commands.
  assert.match(ok(root(), ['image', 'ls']), /^REPOSITORY\s+TAG/);
  assert.match(ok(root(), ['image', 'history', 'busybox']), /^IMAGE\s+CREATED/);
});
