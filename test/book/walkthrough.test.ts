// The walkthrough's reach: every chapter's steps load, and without a
// terminal it says what it needs. (Its screen: test/runtime/tui/; chapter 1
// in it for real, in tmux: test/chapters/01-namespaces/walkthrough.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN } from '../helpers/dockling.ts';
import { useTempDir } from '../helpers/temp.ts';
import { loadSteps } from '../../chapters/demo.ts';
import { ALL_LAYERS } from '../../runtime/cli/layers.ts';

const root = useTempDir('dockling-walkthrough-');

test('every chapter with a layer has demo steps the walkthrough can load', async () => {
  for (const n of ALL_LAYERS.map((l) => l.chapter)) {
    const { dir, steps } = await loadSteps(n);
    assert.match(dir, new RegExp(`^${String(n).padStart(2, '0')}-`));
    assert.ok(steps.length >= 5, `chapter ${n} has ${steps.length} steps`);
    for (const s of steps) assert.ok(s.title && s.look && (s.args.length > 0 || (s.host?.length ?? 0) > 0) && typeof s.check === 'function');
  }
});

test('without a terminal the walkthrough says it needs one', () => {
  const r = spawnSync(process.execPath, ['--', BIN, '--root', root(), 'walkthrough', '1'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /needs a terminal/);
});

test('--state-root goes with --script, and names a directory', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--', BIN, '--root', root(), 'walkthrough', ...args], { encoding: 'utf8' });
  let r = run('--state-root', root(), '1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--state-root goes with --script/);
  r = run('--script', '--state-root', '', '--chapter', '1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /invalid --state-root "": name a directory/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
});
