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
import { after, before } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveRemapHost, steps } from '../../../chapters/11-hardening/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

const skip = process.getuid?.() !== 0 && !process.env.CI;

// The user-namespace steps use `--userns-remap default`, which makes the
// dockremap user and its ranges as dockerd does: put the host back after.
// And the remapped root must pass through every directory above the state
// root, which the runner's TMPDIR (0700) does not allow: o+x meanwhile.
// (Registered before demoSuite's hooks: the walkthrough runs after these.)
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

// A step pinned to --chapter 10 is tested with the step after it.
demoSuite({ chapter: 11, steps, names: [], withNext: (s) => s.args[0] === '--chapter' });
