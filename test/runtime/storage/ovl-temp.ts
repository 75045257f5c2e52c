// A temp dir for overlay tests that cleans up even after a failed test: any
// mount left inside it is detached (deepest first) before the directory is
// removed, and rm -r never runs while a mount remains inside (it would
// delete through the mount into the lower layers).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MNT_DETACH, umount2 } from '../../../runtime/sys/libc.ts';
import { mountPoints } from '../../../runtime/storage/overlay2-mounts.ts';

/** Mount points strictly inside `dir` (by its real path), deepest first. */
export function mountsInside(dir: string): string[] {
  const real = fs.realpathSync(dir);
  return mountPoints()
    .map((m) => m.target)
    .filter((t) => t.startsWith(real + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Detach every mount inside `dir`, then remove it; throws if a mount would not go. */
export function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const m of mountsInside(dir)) umount2(m, MNT_DETACH);
  assert.deepEqual(mountsInside(dir), [], `mounts remain inside ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

export function makeTemp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-ovl-'));
}

/** A fresh dockling-ovl-XXXXXX for the test file, removed (mounts first) after its last test. */
export function useOverlayTemp(): () => string {
  let dir: string | undefined;
  before(() => {
    dir = makeTemp();
  });
  after(() => {
    if (dir !== undefined) removeTree(dir);
  });
  return () => {
    if (dir === undefined) throw new Error('the temp dir is made in before()');
    return dir;
  };
}
