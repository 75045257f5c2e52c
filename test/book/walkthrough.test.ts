// The Ink walkthrough, driven like a person would: in a terminal (tmux),
// pressing Enter to run the first demo step of chapter 1 and reading the
// screen for the step's output, its trace and the check's verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { BIN, rootOrSkip } from '../helpers/dockling.ts';
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

test('in a terminal, Enter runs step 1 and the screen shows its output, its trace and a ✓', { skip: rootOrSkip() }, async () => {
  const socket = `dockling-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_V8_COVERAGE;
  try {
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-x', '160', '-y', '50', process.execPath, '--', BIN, '--root', root(), 'walkthrough', '1'], { env });
    const screen = () => tmux('capture-pane', '-p');
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(screen()); i++) await new Promise((r) => setTimeout(r, 50));
      return screen();
    };
    assert.match(await waitFor(/step 1\/\d+/), /Enter: run this step/);
    tmux('send-keys', 'Enter');
    const after = await waitFor(/✓|✗/);
    assert.match(after, /✓ exit 0/, after);
    assert.match(after, /my PID is 1/); // the step's own output
    assert.match(after, /execve\(/); // its trace, beside it
    tmux('send-keys', 'q');
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
});
