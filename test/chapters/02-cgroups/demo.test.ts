// Chapter 2, "Try it": the demo steps of chapters/02-cgroups/demo.ts.
//
// Every demo step of chapter 2, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..2 (every step must pass)
// and with layers 1..1 (every step must fail: the resource flags do not
// exist there). Nothing of a container may be left behind, its cgroups
// above all: after each step, and again after the last, no cgroup named
// dockling-<id> of this state root's containers remains in any hierarchy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, runStep, type StepResult } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/02-cgroups/demo.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { assertNoContainerLeft } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 2);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const root = useTempDir('dockling-demo2-');
/** the id of every container the steps made (from chapter 1's mkdir of its state directory) */
const ids = new Set<string>();

after(() => {
  assert.deepEqual(leftCgroups(), [], 'cgroups of the demo containers remain');
});

/** Every cgroup of a container the steps made, in any cgroup hierarchy. */
const leftCgroups = () => containerCgroups(cgroupMounts(), ids);

function containerIds(r: StepResult): string[] {
  return r.trace.flatMap((e) => {
    const m = e.op === 'mkdir' ? /\/containers\/([0-9a-f]{64})$/.exec(e.path) : null;
    return m ? [m[1]] : [];
  });
}

for (const [i, step] of steps.entries()) {
  test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
    const r = await runStep(step, { stateRoot: root(), chapter });
    for (const id of containerIds(r)) ids.add(id);
    const problem = step.check(r);
    assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
    // `run --rm` has returned: nothing of the container may remain.
    assert.deepEqual(leftCgroups(), [], 'cgroups of the container remain');
    assertNoContainerLeft(root());
  });
}
