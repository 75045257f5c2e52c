// Chapter 1, "Try it": the demo steps of chapters/01-namespaces/demo.ts.
//
// Every demo step of chapter 1, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..1 (every step must pass)
// and with layers 1..0 (every step must fail: there is no `run` at all).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, runStep } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/01-namespaces/demo.js';
import { assertNoContainerLeft } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 1);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const root = useTempDir('dockling-demo1-');

describe("chapter 1's demo steps", () => {
  for (const [i, step] of steps.entries()) {
    test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
      const r = await runStep(step, { stateRoot: root(), chapter });
      const problem = step.check(r);
      assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
      // Nothing of the container is left once `run --rm` has returned.
      assertNoContainerLeft(root());
    });
  }
});
