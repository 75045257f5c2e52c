// Chapter 4, "Try it": the demo steps of chapters/04-overlay2/demo.ts.
//
// Every demo step of chapter 4, run unattended and in order, in ONE state
// root: the steps build on each other (step 2's container `web` is diffed,
// committed, exported and finally removed by later steps; the archive saved
// in one step is loaded in another). Each step's own check must hold.
// test/run.ts runs this file with layers 1..4 (every step must pass) and
// with layers 1..3 (every step must fail: there are no image commands, and
// `run` makes no overlay mount).
//
// Between steps no mount may remain under the root (containers that have
// exited are kept, but unmounted); after the last step (`rm web`) nothing of
// any container may remain at all.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, runStep } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/04-overlay2/demo.js';
import { dockling } from '../../helpers/dockling.js';
import { assertNoContainerLeft, mountsInside } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 4);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';

// Registered before the directory's own removal, so that it runs first: if
// a step failed half-way, the container it kept is removed before its
// directory is.
after(() => {
  if (skip) return;
  dockling(root(), ['rm', '-f', 'web']);
  assert.deepEqual(mountsInside(root()), [], 'mounts remain under the demo root');
});
const root = useTempDir('dockling-demo4-');

describe("chapter 4's demo steps", () => {
  for (const [i, step] of steps.entries()) {
    test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
      const r = await runStep(step, { stateRoot: root(), chapter });
      const problem = step.check(r);
      assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
      // A kept container is stopped: its root is unmounted when run returns.
      assert.deepEqual(mountsInside(root()), [], 'mounts remain under the state root');
      // After the last step (rm web), nothing of any container remains.
      if (i === steps.length - 1) assertNoContainerLeft(root());
    });
  }
});
