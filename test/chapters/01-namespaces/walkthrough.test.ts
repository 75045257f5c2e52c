// Chapter 1 in the guide, for real: `dockling walkthrough 1` in a terminal
// (tmux), keys sent as a learner would press them, the screen read back with
// capture-pane until chapter 1's first two steps show ✓; then q, and nothing
// of the walkthrough's scratch state root may remain. And `--script`, the
// unattended transcript, of the same chapter.
//
// Without chapter 1's layer (test/run.ts's negative run, DOCKLING_CHAPTER=0)
// the steps run with no `run` command: every check says ✗, and both fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN } from '../../helpers/dockling.js';
import { useTempDir } from '../../helpers/temp.js';
import { mountsInside } from '../../helpers/leaks.js';
import { guideEnv as envIn, guideInTmux, scratchRoots as rootsIn } from '../../helpers/guide-terminal.js';

const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
const dir = useTempDir('dockling-guide1-');
const guideEnv = () => envIn(dir());
const scratchRoots = () => rootsIn(dir());

test("in tmux: chapter 1's first steps show ✓, and q leaves nothing behind", { skip, timeout: 120_000 }, async () => {
  const guide = guideInTmux(dir(), 'dockling-guide', ['1']);
  const { tmux, waitFor } = guide;
  try {
    let s = await waitFor(/What do you expect/);
    assert.match(s, /step 1\/10/);
    assert.match(s, /root \S*dockling-walkthrough-\w{6}\n/, 'the scratch state root is on screen');
    assert.doesNotMatch(s, /new PID namespace the first process/, 'the explanation waits until the step has run');
    assert.equal(scratchRoots().length, 1, 'the walkthrough made its scratch root in TMPDIR');

    tmux('send-keys', '-l', 'PID 1');
    tmux('send-keys', 'Enter');
    await waitFor(/you expected: PID 1/);
    tmux('send-keys', 'Enter');
    s = await waitFor(/[✓✗] /);
    assert.match(s, /✓ exit 0/, s);
    assert.match(s, /my PID is 1/); // the step's output
    assert.match(s, /execve/); // its trace, beside it
    assert.match(s, /new PID namespace/); // and now the explanation

    tmux('send-keys', 'Enter'); // on to step 2
    await waitFor(/step 2\/10/);
    tmux('send-keys', 'Tab'); // skip the question
    await waitFor(/Enter: run this step/);
    tmux('send-keys', 'Enter');
    s = await waitFor(/[✓✗] /);
    assert.match(s, /✓ exit 0/, s);
    assert.match(s, /^│ box/m);

    tmux('send-keys', 'q');
    s = await waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=0/);
    assert.match(s, /scratch state root is removed:/);
    assert.deepEqual(scratchRoots(), [], 'the scratch state root is gone');
    assert.deepEqual(mountsInside(dir()), []);
    const progress = JSON.parse(fs.readFileSync(path.join(dir(), 'progress.json'), 'utf8'));
    assert.deepEqual(progress.chapters['1'].done, [0, 1], 'progress: steps 1 and 2 done');
  } finally {
    guide.kill();
  }
});

test("--script --chapter 1 prints chapter 1's transcript and exits 0", { skip, timeout: 120_000 }, () => {
  const before = scratchRoots();
  const r = spawnSync(process.execPath, ['--', BIN, 'walkthrough', '--script', '--chapter', '1'], { env: guideEnv(), encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^## Step 1\/10: The command is PID 1\n\n\$ dockling run --rm busybox sh -c 'echo "my PID is \$\$"; ps'\n/m);
  assert.match(r.stdout, /^my PID is 1$/m);
  assert.equal(r.stdout.match(/^✓ the output shows it$/gm)?.length, 10);
  assert.match(r.stdout, /# 10 of 10 checks held/);
  assert.deepEqual(scratchRoots(), before, 'the scratch state root is gone');
});
