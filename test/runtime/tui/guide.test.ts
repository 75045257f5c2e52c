// The walkthrough's screen, driven through ink-testing-library: keys in,
// frames out. The steps are a list of the test's own, run for real by
// chapters/demo.ts's runStep as host steps (`sh -c …`: no root needed).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { cleanup, render } from 'ink-testing-library';
import { runStep, type DemoStep, type RunOptions, type StepResult } from '../../../chapters/demo.ts';
import { Guide, type GuideProps } from '../../../runtime/tui/guide.tsx';
import type { Progress } from '../../../runtime/tui/session.ts';

afterEach(() => cleanup());

const STEPS: DemoStep[] = [
  {
    title: 'Say hello',
    look: 'EXPLAINED: the shell printed what echo was given.',
    args: [],
    host: ['sh', '-c', 'echo hello; echo from the step'],
    check: (r) => (r.stdout.includes('hello') ? null : 'no hello in the output'),
  },
  {
    title: 'A step whose check fails',
    look: 'EXPLAINED-2: exit 3 is not what the check wants.',
    args: [],
    host: ['sh', '-c', 'echo nearly; exit 3'],
    check: (r) => (r.code === 0 ? null : `it exited with ${r.code}, not 0`),
  },
  {
    title: 'Many lines',
    look: 'EXPLAINED-3',
    args: [],
    host: ['sh', '-c', 'i=1; while [ $i -le 60 ]; do echo "line $i"; i=$((i+1)); done'],
    check: () => null,
  },
];

const ENTER = '\r';
// Tab skips the question (Esc does too, but a lone Esc followed at once by a
// key reads as Alt+key: a test types faster than a person).
const SKIP = '\t';
const UP = '\x1b[A';

interface Drive {
  frame: () => string;
  press: (...keys: string[]) => Promise<void>;
  until: (what: RegExp | string) => Promise<string>;
  runs: string[];
  saved: Progress[];
  stdout: ReturnType<typeof render>['stdout'];
}

function drive(over: Partial<GuideProps> = {}): Drive {
  const runs: string[] = [];
  const saved: Progress[] = [];
  const props: GuideProps = {
    chapters: [
      { chapter: 1, dir: '01-test' },
      { chapter: 2, dir: '02-other' },
    ],
    chapter: 1,
    load: async (n) => ({ dir: n === 1 ? '01-test' : '02-other', steps: n === 1 ? STEPS : [{ ...STEPS[0], title: 'Chapter two first step' }] }),
    readme: () => '# The chapter\n\nSome prose that explains.\n\n## A section\n\n```\ncode line\n```\n\n| flag | meaning |\n|---|---|\n| -m | memory |\n',
    run: async (step: DemoStep, opts: RunOptions): Promise<StepResult> => {
      runs.push(step.title);
      // long enough for the screen to show "running…" between two keys
      await new Promise((res) => setTimeout(res, 200));
      return runStep(step, opts);
    },
    stateRoot: '/tmp/nowhere-scratch',
    readOnly: null,
    progress: { chapters: {} },
    onProgress: (p) => saved.push(p),
    colour: false,
    ...over,
  };
  const r = render(React.createElement(Guide, props));
  const frame = () => r.lastFrame() ?? '';
  const tick = () => new Promise((res) => setTimeout(res, 30));
  return {
    frame,
    runs,
    saved,
    stdout: r.stdout,
    press: async (...keys) => {
      for (const k of keys) {
        r.stdin.write(k);
        await tick();
      }
    },
    until: async (what) => {
      const ok = () => (typeof what === 'string' ? frame().includes(what) : what.test(frame()));
      // By the clock, not a count of ticks: on a loaded machine a frame (and a
      // step's shell) can take seconds to come.
      for (const end = Date.now() + 30_000; !ok() && Date.now() < end; ) await tick();
      assert.ok(ok(), `the screen never showed ${what}:\n${frame()}`);
      return frame();
    },
  };
}

test('a step opens with its question and command; the explanation is not shown yet', async () => {
  const d = drive();
  const f = await d.until('Say hello');
  assert.match(f, /What do you expect/);
  assert.match(f, /\$ sh -c 'echo hello; echo from the step'/);
  assert.match(f, /step 1\/3/);
  assert.match(f, /root \/tmp\/nowhere-scratch/, 'the scratch state root is on screen');
  assert.doesNotMatch(f, /EXPLAINED/);
});

test('the learner types a guess; Enter keeps it and the step waits for Enter to run', async () => {
  const d = drive();
  await d.until('Say hello');
  await d.press('h', 'i', 'x', '\x7f', ENTER); // a backspace takes the x back
  const f = await d.until('you expected: hi');
  assert.equal(d.runs.length, 0, 'keeping the guess does not run the step');
  assert.match(f, /Enter: run this step/);
  assert.doesNotMatch(f, /EXPLAINED/);
});

test('Enter runs the step: its output streams in, the check says ✓, and only then the explanation', async () => {
  const d = drive();
  await d.until('Say hello');
  await d.press(SKIP, ENTER);
  const f = await d.until('✓');
  assert.deepEqual(d.runs, ['Say hello']);
  assert.match(f, /hello/);
  assert.match(f, /from the step/);
  assert.match(f, /✓ exit 0/);
  assert.match(f, /EXPLAINED: the shell printed/);
  // progress: step 0 is done, saved
  assert.deepEqual(d.saved.at(-1)?.chapters['1'].done, [0]);
});

test('a failing check shows ✗ with its reason, and the step is not counted as done', async () => {
  const d = drive({ progress: { chapters: { '1': { done: [1], current: 1 } } } });
  await d.until('A step whose check fails');
  await d.press(SKIP, ENTER);
  const f = await d.until('✗');
  assert.match(f, /✗ it exited with 3, not 0/);
  assert.match(f, /nearly/);
  assert.match(f, /EXPLAINED-2/);
  assert.deepEqual(d.saved.at(-1)?.chapters['1'].done, []);
});

test('n and p move between steps; r runs a step again', async () => {
  const d = drive();
  await d.until('Say hello');
  await d.press(SKIP, 'n');
  await d.until('step 2/3');
  await d.press(SKIP, 'p');
  await d.until('step 1/3');
  await d.press(SKIP, ENTER);
  await d.until('✓');
  await d.press('r');
  await d.until('running…');
  await d.until('✓');
  assert.deepEqual(d.runs, ['Say hello', 'Say hello']);
  await d.press(ENTER); // after a step, Enter moves on
  await d.until('step 2/3');
});

test('the output pane scrolls: 60 lines, the last ones shown, ↑ goes back', async () => {
  const d = drive({ progress: { chapters: { '1': { done: [], current: 2 } } } });
  await d.until('Many lines');
  await d.press(SKIP, ENTER);
  let f = await d.until('✓');
  assert.match(f, /line 60/);
  assert.doesNotMatch(f, /line 1\b/);
  for (let i = 0; i < 55; i++) await d.press(UP);
  f = d.frame();
  assert.match(f, /line 1\b/, f);
  assert.doesNotMatch(f, /line 60/);
});

test('resume: the guide opens a chapter at the step saved for it', async () => {
  const d = drive({ progress: { chapters: { '1': { done: [0], current: 1 } }, last: 1 } });
  const f = await d.until('A step whose check fails');
  assert.match(f, /step 2\/3 · 1 done/);
});

test('the chapter list shows progress and opens another chapter', async () => {
  const d = drive({ chapter: undefined, progress: { chapters: { '1': { done: [0, 1, 2], current: 2 } }, last: 1 } });
  let f = await d.until(/✓\s+1\s+01-test\s+done/);
  assert.match(f, /2\s+02-other\s+not yet/);
  await d.press('\x1b[B', ENTER);
  f = await d.until('Chapter two first step');
  assert.match(f, /02-other · step 1\/1/);
});

test("b shows the chapter's README: headings, code, a table", async () => {
  const d = drive();
  await d.until('Say hello');
  await d.press(SKIP, 'b');
  const f = await d.until('README.md');
  assert.match(f, /The chapter/);
  assert.match(f, /Some prose that explains/);
  assert.match(f, /code line/);
  assert.match(f, /-m\s+memory/);
  assert.doesNotMatch(f, /\|/);
});

test("a step says where it points (§ section, code file:lines); s opens the README at that section", async () => {
  const long = ['# The chapter', '', ...Array.from({ length: 80 }, (_, i) => `Filler paragraph ${i}.\n`), '## 6. `pivot_root`, and why not chroot', '', 'SECTION-TEXT here.', '', ...Array.from({ length: 40 }, (_, i) => `After ${i}.\n`)].join('\n');
  const d = drive({
    readme: () => long,
    source: (file) => (file === 'runtime/x.ts' ? 'a\n// #region pivot-root\nb\n// #endregion pivot-root\n' : null),
    load: async () => ({ dir: '01-test', steps: [{ ...STEPS[0], section: '#6-pivot_root-and-why-not-chroot', code: 'runtime/x.ts#pivot-root' }] }),
  });
  let f = await d.until('Say hello');
  assert.match(f, /§ 6\. pivot_root, and why not chroot/);
  assert.match(f, /code: runtime\/x\.ts:2-4 \(region pivot-root\)/);
  await d.press(SKIP, 's');
  f = await d.until('SECTION-TEXT');
  assert.match(f, /README\.md · lines 163–.*\n\s*6\. `pivot_root`, and why not chroot\n/, 'opened at the heading (its first line), not at the top');
  assert.doesNotMatch(f, /Filler paragraph 0\./);
  await d.press('b');
  await d.until('Enter: run this step');
});

test('? shows the keys; any key closes them', async () => {
  const d = drive();
  await d.until('Say hello');
  await d.press(SKIP, '?');
  await d.until('Keys (any key closes this)');
  await d.press('x');
  await d.until('Say hello');
});

test('read-only: says why and how to get the VM; Enter runs nothing', async () => {
  const why = 'Read-only: the steps need root (they make namespaces, cgroups and mounts). Run `sudo npm start`, or on a machine where you cannot: Get the VM: `cd vagrant && vagrant up && vagrant ssh`';
  const d = drive({ readOnly: why });
  const f = await d.until('Say hello');
  assert.match(f, /Read-only: the steps need root/);
  assert.match(f, /cd vagrant && vagrant up/, 'the whole message, wrapped, not cut');
  assert.doesNotMatch(f, /What do you expect/);
  assert.match(f, /EXPLAINED: the shell printed/, 'read-only, the explanation is what a step can give');
  await d.press(ENTER, ENTER, 'r');
  assert.equal(d.runs.length, 0);
  await d.press('n');
  await d.until('step 2/3');
});

test('resize: at 80×24 every line fits; wider, the panes grow', async () => {
  const d = drive();
  await d.until('Say hello');
  const size = (cols: number, rows: number) => {
    Object.defineProperty(d.stdout, 'columns', { get: () => cols, configurable: true });
    Object.defineProperty(d.stdout, 'rows', { get: () => rows, configurable: true });
    d.stdout.emit('resize');
  };
  size(80, 24);
  await d.press(SKIP);
  let f = await d.until('Enter: run this step');
  let lines = f.split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines at 24 rows:\n${f}`);
  assert.ok(Math.max(...lines.map((l) => l.length)) <= 80, f);
  size(140, 40);
  // The redraw at the new size, however long it takes to come.
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 30))) {
    f = d.frame();
    if (f.split('\n').length > 24 && /.{101}/.test(f)) break;
  }
  lines = f.split('\n');
  assert.ok(lines.length > 24 && lines.length <= 40, `${lines.length} lines at 40 rows`);
  assert.ok(Math.max(...lines.map((l) => l.length)) > 100, 'the panes use the width');
});

test('NO_COLOR: no colour escapes in the frame', async () => {
  const d = drive({ colour: false });
  await d.until('Say hello');
  await d.press(SKIP, ENTER);
  const f = await d.until('✓');
  assert.doesNotMatch(f, /\x1b\[3\dm/);
});

test('h swaps the trace for the host pane, h again brings the trace back', async () => {
  const seen: string[] = [];
  const d = drive({
    host: (root, _trace, about) => {
      seen.push(`${root} ${about}`);
      return ['HOST-LINE-1 cgroup files', 'HOST-LINE-2 ns links'];
    },
    load: async () => ({ dir: '01-test', steps: [{ ...STEPS[0], hostView: ['cgroup', 'ns'] }] }),
  });
  await d.until('Say hello');
  await d.press(SKIP, ENTER);
  await d.until('✓');
  await d.press('h');
  let f = await d.until('HOST-LINE-2');
  assert.match(f, /host \[cgroup, ns\] \(h: back to the trace\)/);
  assert.doesNotMatch(f, /trace \[all\]/);
  assert.deepEqual(seen, ['/tmp/nowhere-scratch cgroup,ns'], "the host pane reads the scratch root, opening on the step's parts");
  await d.press('h');
  f = await d.until('trace [all]');
  assert.doesNotMatch(f, /HOST-LINE/);
});

test('--present: after a step, Enter stays on it (n moves on), r runs it again', async () => {
  const d = drive({ present: true });
  await d.until('Say hello');
  await d.press(SKIP, ENTER);
  await d.until('✓');
  await d.press(ENTER);
  assert.match(d.frame(), /step 1\/3/, 'Enter does not move on in present mode');
  await d.press('r');
  await d.until('running…');
  await d.until('✓');
  assert.equal(d.runs.length, 2);
  await d.press('n');
  await d.until('step 2/3');
});

test('an interactive step hands the terminal over: no keys read meanwhile, the screen back with ✓ after', async () => {
  let release!: (code: number) => void;
  const handed: string[] = [];
  const d = drive({
    load: async () => ({
      dir: '01-test',
      steps: [{ title: 'A shell of your own', look: 'EXPLAINED-SHELL', args: ['run', '-it', 'busybox', 'sh'], interactive: true, check: (r) => (r.code === 0 ? null : `exit ${r.code}`) }],
    }),
    handOver: (step, root) => {
      handed.push(`${step.title} in ${root}`);
      return new Promise((res) => (release = res));
    },
  });
  await d.until('A shell of your own');
  await d.press(SKIP, ENTER);
  for (const end = Date.now() + 30_000; handed.length === 0 && Date.now() < end; ) await d.press('');
  assert.deepEqual(handed, ['A shell of your own in /tmp/nowhere-scratch']);
  await d.press('q', 'n'); // typed into the command, not the guide
  assert.doesNotMatch(d.frame(), /A shell of your own/, 'the guide draws nothing while the command has the terminal');
  release(0);
  const f = await d.until('✓');
  assert.match(f, /EXPLAINED-SHELL/);
  assert.deepEqual(d.runs, [], 'runStep was not used: the command had the terminal');
});
