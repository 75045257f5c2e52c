// Every demo step of chapter 1, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..1 (every step must pass)
// and with layers 1..0 (every step must fail: there is no `run` at all).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine, runStep } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/01-namespaces/demo.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 1);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
let root: string;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-demo1-'));
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Mount points under the state root, as the host sees them. */
function mountsUnderRoot(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p && p.startsWith(root + '/'));
}

describe("chapter 1's demo steps", () => {
  for (const [i, step] of steps.entries()) {
    test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
      const r = await runStep(step, { stateRoot: root, chapter });
      const problem = step.check(r);
      assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
      // Nothing of the container is left once `run --rm` has returned.
      assert.deepEqual(mountsUnderRoot(), [], 'mounts of the container remain');
      const left = fs.existsSync(path.join(root, 'containers'))
        ? fs.readdirSync(path.join(root, 'containers')).filter((f) => /^[0-9a-f]{64}$/.test(f))
        : [];
      assert.deepEqual(left, [], 'container directories remain');
    });
  }
});
