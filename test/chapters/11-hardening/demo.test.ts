// Every demo step of chapter 11, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..11 (every step must pass)
// and with layers 1..10 (every step must fail: without the hardening layer
// each door the steps show closed is open, or the flag does not exist).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, runStep } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/11-hardening/demo.js';
import { assertNoContainerLeft } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 11);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const root = useTempDir('dockling-demo11-');

describe("chapter 11's demo steps", () => {
  for (const [i, step] of steps.entries()) {
    test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
      const r = await runStep(step, { stateRoot: root(), chapter });
      const problem = step.check(r);
      assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
      assertNoContainerLeft(root());
    });
  }
});
