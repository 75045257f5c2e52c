// Chapter 4, section 7: "export, import, save, load", its "Packing a tree the
// container is still changing".
//
// Chapter 4's part of the ESCAPE SUITE (later chapters extend it with their
// own escape.test.ts): a container is the adversary, and nothing it does to
// its own files may make the host-side code of this chapter read host files.
//
// Escape 5: `export` and `commit` walk a live container's tree on the host.
// A container that swaps a directory and a symlink to a host directory in a
// loop (renameat2 RENAME_EXCHANGE) made a path-based walk follow the
// symlink and pack the host directory's files. Here the symlink points at a
// directory in this test's own temp dir holding a marker file; no export or
// commit may ever contain the marker. The probe only reads.
//
// The same container also shows item 3 of issue 9: a tree that changes
// during the walk (names vanish, change type) must not make export or
// commit fail; every run must succeed and give a well-formed tar.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: export and commit do not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, until } from '../../helpers/dockling.ts';
import { useStateRoot } from '../../helpers/chapter.ts';
import { useTempDir } from '../../helpers/temp.ts';
import { finish } from '../../helpers/processes.ts';
import { assertNoContainerLayers, ok, readTar, rmQuietly } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-escape');
const tmp = useTempDir('dockling-escape-');

const MARKER = 'MARKER-escape5';
const EXPORTS = 20;
const COMMITS = 10;

// A static program (the image has no renameat2 tool): exchange /x/a (a
// directory) and /x/b (a symlink) forever, as fast as it can.
const SWAP_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  for (;;) syscall(SYS_renameat2, AT_FDCWD, "/x/a", AT_FDCWD, "/x/b", 2 /* RENAME_EXCHANGE */);
}
`;

/** Every path under `dir` whose name is `name`, never following a symlink. */
function findNamed(dir: string, name: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.name === name) out.push(p);
      if (e.isDirectory()) stack.push(p);
    }
  }
  return out;
}

test('escape 5: a container swapping a directory and a symlink cannot get host files into export, diff or commit', { skip }, async () => {
  const secret = path.join(tmp(), 'secret');
  fs.mkdirSync(secret);
  fs.writeFileSync(path.join(secret, MARKER), 'host file: must never be packed\n');
  fs.writeFileSync(path.join(tmp(), 'swap.c'), SWAP_C);
  const cc = spawnSync('cc', ['-static', '-O2', '-o', path.join(tmp(), 'swap'), path.join(tmp(), 'swap.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);

  const script = `mkdir -p /x/a && touch /x/a/inner && ln -s ${secret} /x/b && while [ ! -e /swap ]; do sleep 0.1; done; exec /swap`;
  const cli = docklingAsync(root(), ['run', '--name', 'swapper', 'busybox', 'sh', '-c', script]);
  const images: string[] = [];
  try {
    let pid = 0;
    await until(() => {
      const r = dockling(root(), ['inspect', '-f', '{{.State.Pid}}', 'swapper']);
      pid = r.code === 0 ? Number(r.stdout.trim()) : 0;
      return pid > 0 && fs.existsSync(`/proc/${pid}/root/x/b`);
    }, 30_000, 'the container to set up /x');
    // The test (not dockling) puts the program into the container, through
    // the container's own root as its PID 1 sees it.
    fs.copyFileSync(path.join(tmp(), 'swap'), `/proc/${pid}/root/swap.tmp`);
    fs.chmodSync(`/proc/${pid}/root/swap.tmp`, 0o755);
    fs.renameSync(`/proc/${pid}/root/swap.tmp`, `/proc/${pid}/root/swap`);
    await until(() => fs.readlinkSync(`/proc/${pid}/exe`).endsWith('/swap'), 30_000, 'the swap loop to start');

    for (let i = 0; i < EXPORTS; i++) {
      const file = path.join(tmp(), `e${i}.tar`);
      const r = dockling(root(), ['export', '-o', file, 'swapper']);
      assert.equal(r.code, 0, `export ${i} failed: ${r.stderr}`);
      const names = readTar(fs.readFileSync(file)).map((e) => e.name);
      assert.ok(names.includes('swap'), `export ${i} is a whole tar of the container`);
      assert.deepEqual(names.filter((n) => n.includes(MARKER)), [], `export ${i} packed a host file`);
      fs.rmSync(file);
    }
    // diff lists names only, but a host directory's names are no less the host's.
    for (let i = 0; i < EXPORTS; i++) {
      const r = dockling(root(), ['diff', 'swapper']);
      assert.equal(r.code, 0, `diff ${i} failed: ${r.stderr}`);
      assert.ok(!r.stdout.includes(MARKER), `diff ${i} listed a host file:\n${r.stdout}`);
    }
    // Commit without pausing, so the race is on: a commit must be as safe as an export.
    for (let i = 0; i < COMMITS; i++) {
      const r = dockling(root(), ['commit', '--pause=false', 'swapper', `escape5:${i}`]);
      assert.equal(r.code, 0, `commit ${i} failed: ${r.stderr}`);
      images.push(`escape5:${i}`);
    }
  } finally {
    dockling(root(), ['rm', '-f', 'swapper']);
    await finish(cli, 10_000);
    rmQuietly(root(), 'swapper');
  }
  try {
    // A committed layer is unpacked into the store: a leaked marker would be
    // there (looked for once the container, whose own tree still swaps, is gone).
    assert.deepEqual(findNamed(path.join(root(), 'overlay2'), MARKER), [], 'a commit packed a host file');
  } finally {
    if (images.length) dockling(root(), ['rmi', ...images]);
  }
  assert.ok(fs.existsSync(path.join(secret, MARKER)), 'the host file is untouched');
  assertNoContainerLayers(root());
});
