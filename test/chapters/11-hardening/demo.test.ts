// Chapter 11, "Try it": the demo steps of chapters/11-hardening/demo.ts.
//
// Every demo step of chapter 11, run unattended: each step's own check must
// hold. test/run.ts runs this file with layers 1..11 (every test must pass)
// and with layers 1..10 (every test must fail).
//
// A step pinned to `--chapter 10` shows a door open; it would pass without
// this chapter's layer too. So it is checked inside the test of the step
// after it, the one that shows the same door closed: the pair passes only
// when the door is open at chapter 10 and closed at the chapter under test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine, runStep, type DemoStep } from '../../../chapters/demo.js';
import { saveRemapHost, steps } from '../../../chapters/11-hardening/demo.js';
import { assertNoContainerLeft } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 11);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const root = useTempDir('dockling-demo11-');

// The user-namespace steps use `--userns-remap default`, which makes the
// dockremap user and its ranges as dockerd does: put the host back after.
// And the remapped root must pass through every directory above the state
// root, which the runner's TMPDIR (0700) does not allow: o+x meanwhile.
let restoreHost: (() => void) | undefined;
const modes: [string, number][] = [];
before(() => {
  if (skip) return;
  restoreHost = saveRemapHost();
  for (let d = os.tmpdir(); d !== '/'; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode & 0o7777;
    if (mode & 0o001) continue;
    modes.push([d, mode]);
    fs.chmodSync(d, mode | 0o001);
  }
});
after(() => {
  restoreHost?.();
  for (const [d, mode] of modes) fs.chmodSync(d, mode);
});

const pinned = (s: DemoStep) => s.args[0] === '--chapter';

/** Each unpinned step, with the pinned steps just before it. */
function groups(): { before: DemoStep[]; step: DemoStep; n: number }[] {
  const out: { before: DemoStep[]; step: DemoStep; n: number }[] = [];
  let before: DemoStep[] = [];
  for (const [i, s] of steps.entries()) {
    if (pinned(s)) before.push(s);
    else {
      out.push({ before, step: s, n: i + 1 });
      before = [];
    }
  }
  assert.equal(before.length, 0, 'a step pinned to --chapter 10 must be followed by the step that closes its door');
  return out;
}

async function check(step: DemoStep): Promise<void> {
  const r = await runStep(step, { stateRoot: root(), chapter });
  const problem = step.check(r);
  assert.equal(problem, null, `${commandLine(step)}: ${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  assertNoContainerLeft(root());
}

describe("chapter 11's demo steps", () => {
  for (const { before, step, n } of groups()) {
    const title = [...before, step].map(commandLine).join(', then ');
    test(`step ${n}: ${step.title} — ${title}`, { skip }, async () => {
      for (const b of before) await check(b);
      await check(step);
    });
  }
});
