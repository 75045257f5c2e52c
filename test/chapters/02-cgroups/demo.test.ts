// Every demo step of chapter 2, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..2 (every step must pass)
// and with layers 1..1 (every step must fail: the resource flags do not
// exist there). Nothing of a container may be left behind, its cgroups
// above all: after each step, and again after the last, no cgroup named
// dockling-<id> of this state root's containers remains in any hierarchy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine, runStep, type StepResult } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/02-cgroups/demo.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 2);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
let root: string;
/** the id of every container the steps made (from chapter 1's mkdir of its state directory) */
const ids = new Set<string>();

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-demo2-'));
});
after(() => {
  try {
    assert.deepEqual(leftCgroups(), [], 'cgroups of the demo containers remain');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** Where cgroup hierarchies (v1 and v2) are mounted on the host. */
function cgroupMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]);
}

/** Every directory named dockling-<id>, for an id of ours, in any cgroup hierarchy. */
function leftCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while we looked
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      const m = /^dockling-([0-9a-f]{64})$/.exec(e.name);
      if (m && ids.has(m[1])) found.push(p);
      walk(p);
    }
  };
  for (const m of cgroupMounts()) walk(m);
  return found;
}

function containerIds(r: StepResult): string[] {
  return r.trace.flatMap((e) => {
    const m = e.op === 'mkdir' ? /\/containers\/([0-9a-f]{64})$/.exec(e.path) : null;
    return m ? [m[1]] : [];
  });
}

/** Mount points under the state root, as the host sees them. */
function mountsUnderRoot(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p && p.startsWith(root + '/'));
}

for (const [i, step] of steps.entries()) {
  test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
    const r = await runStep(step, { stateRoot: root, chapter });
    for (const id of containerIds(r)) ids.add(id);
    const problem = step.check(r);
    assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
    // `run --rm` has returned: nothing of the container may remain.
    assert.deepEqual(leftCgroups(), [], 'cgroups of the container remain');
    assert.deepEqual(mountsUnderRoot(), [], 'mounts of the container remain');
    const left = fs.existsSync(path.join(root, 'containers'))
      ? fs.readdirSync(path.join(root, 'containers')).filter((f) => /^[0-9a-f]{64}$/.test(f))
      : [];
    assert.deepEqual(left, [], 'container directories remain');
  });
}
