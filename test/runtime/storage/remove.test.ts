// removeTree (runtime/storage/remove.ts) on a tree 5000 levels deep, the
// kind root in a container makes with mkdir+chdir in a loop: its bottom is
// more than PATH_MAX (4096 bytes) from the top, and Node's own
// fs.rmSync({recursive}) overflows the stack on it (checked here too, so
// that the reason for removeTree stays visible). No root needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from '../../../runtime/storage/remove.ts';

/** top/c/a/a/.../a (depth levels), a file at each level and a leaf at the bottom, made with short paths only. */
function deepTree(top: string, depth: number): void {
  fs.mkdirSync(path.join(top, 'c'));
  fs.writeFileSync(path.join(top, 'c', 'leaf'), 'x');
  for (let i = 0; i < depth; i++) {
    fs.mkdirSync(path.join(top, 'p'));
    fs.renameSync(path.join(top, 'c'), path.join(top, 'p', 'a'));
    fs.writeFileSync(path.join(top, 'p', 'f'), 'y');
    fs.symlinkSync('/', path.join(top, 'p', 'root-link')); // removed as a link, never followed
    fs.renameSync(path.join(top, 'p'), path.join(top, 'c'));
  }
}

test('removeTree removes a 5000-level tree that fs.rmSync cannot, and follows no symlink', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rmtree-test-'));
  const top = path.join(base, 'tree');
  const marker = path.join(base, 'marker');
  fs.writeFileSync(marker, 'kept');
  try {
    fs.mkdirSync(top);
    deepTree(top, 5000);
    fs.symlinkSync(base, path.join(top, 'c', 'base-link'));
    assert.throws(() => fs.rmSync(top, { recursive: true, force: true }), /call stack|ENAMETOOLONG/);
    removeTree(top);
    assert.equal(fs.existsSync(top), false);
    assert.equal(fs.readFileSync(marker, 'utf8'), 'kept', 'removeTree went through a symlink');
  } finally {
    removeTree(base);
  }
});

test('removeTree of a file removes the file; of nothing, does nothing', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rmtree-test-'));
  try {
    fs.writeFileSync(path.join(base, 'f'), 'x');
    removeTree(path.join(base, 'f'));
    removeTree(path.join(base, 'missing'));
    assert.deepEqual(fs.readdirSync(base), []);
  } finally {
    fs.rmdirSync(base);
  }
});
