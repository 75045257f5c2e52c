// Chapter 5's interactive step in the guide, for real: `dockling walkthrough 5`
// in a terminal (tmux), opened at `exec -it web sh` (the progress file says
// the learner got that far). The guide hands the terminal over: a shell in
// the container reads the keys sent, then `exit` gives the terminal back,
// and the guide draws the step again with its ✓. Then q, and nothing of the
// walkthrough's scratch state root may remain.
//
// Without chapter 5's layer (test/run.ts's negative run, DOCKLING_CHAPTER=4)
// there is no exec: no shell ever answers, and the test fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { steps } from '../../../chapters/05-containers/demo.js';
import { BIN } from '../../helpers/dockling.js';
import { useTempDir } from '../../helpers/temp.js';
import { mountsInside } from '../../helpers/leaks.js';
import { guideEnv as envIn, guideInTmux, scratchRoots as rootsIn } from '../../helpers/guide-terminal.js';

const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const dir = useTempDir('dockling-guide5-');
const at = steps.findIndex((s) => s.interactive);
const guideEnv = () => envIn(dir());
const scratchRoots = () => rootsIn(dir());

test('in tmux: exec -it hands the terminal to a shell in the container, exit gives it back to the guide', { skip, timeout: 120_000 }, async () => {
  assert.ok(at >= 0, 'chapter 5 has an interactive step');
  fs.writeFileSync(path.join(dir(), 'progress.json'), JSON.stringify({ chapters: { '5': { done: [], current: at } }, last: 5 }));
  let scratch: string | undefined;
  const guide = guideInTmux(dir(), 'dockling-guide5', ['5']);
  const { tmux, waitFor } = guide;
  try {
    await waitFor(new RegExp(`step ${at + 1}/${steps.length}`));
    // The scene the earlier steps would have set: web running, in the guide's scratch root.
    scratch = path.join(dir(), scratchRoots()[0]);
    const web = spawnSync(process.execPath, ['--', BIN, '--chapter', '5', '--root', scratch, 'run', '-d', '--name', 'web', 'busybox', 'sleep', '120'], { env: guideEnv(), encoding: 'utf8' });
    assert.equal(web.status, 0, web.stderr);

    tmux('send-keys', 'Tab'); // skip the question
    await waitFor(/Enter: run this step/);
    tmux('send-keys', 'Enter');
    let s = await waitFor(/the terminal is the command's now[\s\S]*^\/ #/m);
    assert.doesNotMatch(s, /step \d+\/\d+/, 'the guide has cleared its screen');
    tmux('send-keys', '-l', 'echo HANDED-$((6*7)) on $(hostname)');
    tmux('send-keys', 'Enter');
    await waitFor(/^HANDED-42 on [0-9a-f]{12}$/m);

    tmux('send-keys', '-l', 'exit');
    tmux('send-keys', 'Enter');
    s = await waitFor(/[✓✗] /);
    assert.match(s, /✓ exit 0/, s);
    assert.match(s, /exec -it: a shell inside/, 'the guide is back, on the same step');
    assert.doesNotMatch(s, /HANDED-42/, 'the shell is off the screen');

    tmux('send-keys', 'q');
    s = await waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=0/);
    assert.deepEqual(scratchRoots(), [], 'the scratch state root is gone, web with it');
    assert.deepEqual(mountsInside(dir()), []);
    const progress = JSON.parse(fs.readFileSync(path.join(dir(), 'progress.json'), 'utf8'));
    assert.deepEqual(progress.chapters['5'].done, [at], 'progress: the interactive step done');
  } finally {
    // Failed half-way: web is removed here, and the guide (hung up on by
    // tmux) is given the moment its own clean-up takes, before `dir` goes.
    if (scratch && fs.existsSync(scratch)) spawnSync(process.execPath, ['--', BIN, '--chapter', '5', '--root', scratch, 'rm', '-f', 'web'], { env: guideEnv() });
    guide.kill();
    for (const end = Date.now() + 15_000; scratchRoots().length && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
  }
});
