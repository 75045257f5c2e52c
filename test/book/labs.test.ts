// The labs' graders really swap the student's layer in: a build with the
// starter (stages left as TODOs) fails where the reference layer works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWith } from '../../tutorials/labs/02-cgroups-layer/grade.ts';
import { REPO, rootOrSkip, tempRoot } from '../helpers/dockling.ts';

const LAB = path.join(REPO, 'tutorials/labs/02-cgroups-layer');
let work: string;
let root: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-labtest-'));
  root = tempRoot('lab');
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

function runWith(bin: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: '2' };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, ['--', bin, '--root', root, 'run', '--rm', '-m', '64m', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'], { encoding: 'utf8', env });
}

test('lab 02: the starter layer is swapped in and fails', { skip: rootOrSkip() }, async () => {
  const bin = await buildWith(path.join(LAB, 'starter.ts'), path.join(work, 'starter'));
  const r = runWith(bin);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /lab: validate\(\) is not written yet/);
});

test('lab 02: the reference layer, built the same way, sets the limit', { skip: rootOrSkip() }, async () => {
  const bin = await buildWith(path.join(REPO, 'runtime/cgroups/layer.ts'), path.join(work, 'reference'));
  const r = runWith(bin);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '67108864'); // v1 memory.limit_in_bytes or v2 memory.max
});
