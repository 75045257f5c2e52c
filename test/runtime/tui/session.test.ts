// The walkthrough's life outside the screen: saved progress, the read-only
// verdict, the scratch root's clean-up; and the README as terminal lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cannotRun, chapterState, cleanUpScratchRoot, loadProgress, resetProgress, saveProgress } from '../../../runtime/tui/session.ts';
import { renderProse } from '../../../runtime/tui/prose.ts';
import { chapterList, chapterReadme } from '../../../chapters/demo.ts';
import { useTempDir } from '../../helpers/temp.ts';

const dir = useTempDir('dockling-tui-session-');

test('progress is saved whole (a rename), read back, and --reset forgets it', () => {
  const file = path.join(dir(), 'sub', 'walkthrough.json');
  assert.deepEqual(loadProgress(file), { chapters: {} }, 'no file yet: a fresh start');
  saveProgress({ chapters: { '2': { done: [0, 3], current: 4 } }, last: 2 }, file);
  assert.deepEqual(loadProgress(file), { chapters: { '2': { done: [0, 3], current: 4 } }, last: 2 });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['walkthrough.json'], 'no temporary file is left');
  fs.writeFileSync(file, '{"chapters": {"1": '); // a torn file (another writer, a full disk)
  assert.deepEqual(loadProgress(file), { chapters: {} }, 'unreadable progress starts afresh, never a crash');
  resetProgress(file);
  assert.equal(fs.existsSync(file), false);
});

test('a chapter is done when every step held, current when begun, else not yet', () => {
  const p = { chapters: { '1': { done: [0, 1, 2], current: 2 }, '2': { done: [0], current: 1 } }, last: 2 };
  assert.equal(chapterState(p, 1, 3), 'done');
  assert.equal(chapterState(p, 2, 5), 'current');
  assert.equal(chapterState(p, 3, 4), 'not yet');
});

test('off Linux or without root the guide is read-only and says how to get the VM', () => {
  assert.equal(cannotRun('linux', 0), null);
  const mac = cannotRun('darwin', 501)!;
  assert.match(mac, /need Linux/);
  assert.match(mac, /cd vagrant && vagrant up && vagrant ssh/);
  const user = cannotRun('linux', 1000)!;
  assert.match(user, /need root/);
  assert.match(user, /sudo npm start/);
});

test('the clean-up removes the scratch root with what is in it', () => {
  const root = fs.mkdtempSync(path.join(dir(), 'dockling-walkthrough-'));
  fs.mkdirSync(path.join(root, 'image/overlay2'), { recursive: true });
  fs.writeFileSync(path.join(root, 'image/overlay2/x'), 'x');
  assert.deepEqual(cleanUpScratchRoot(root, 1), []);
  assert.equal(fs.existsSync(root), false);
  assert.deepEqual(cleanUpScratchRoot(root, 1), [], 'twice is harmless');
});

test('prose: headings, wrapped paragraphs, code as it is, tables aligned, quote markers left out', () => {
  const md = '# Title\n\n<!-- quote: x -->\nA paragraph that is long enough to need wrapping at twenty columns.\n\n```ts\nconst x = 1;\n```\n\n| a | bb |\n|---|---|\n| ccc | d |\n';
  const lines = renderProse(md, 20);
  assert.deepEqual(lines[0], { kind: 'h1', text: 'Title', anchor: '#title' });
  assert.ok(lines.filter((l) => l.kind === 'text').every((l) => l.text.length <= 20));
  assert.ok(lines.some((l) => l.kind === 'code' && l.text.includes('const x = 1;')));
  assert.ok(lines.some((l) => l.kind === 'table' && l.text === 'ccc  d'));
  assert.ok(!lines.some((l) => l.text.includes('quote')));
});

test("every chapter in the registry has a README the guide can show", () => {
  for (const { dir: d } of chapterList()) {
    const lines = renderProse(fs.readFileSync(chapterReadme(d), 'utf8'), 80);
    assert.ok(lines.some((l) => l.kind === 'h1'), `${d}: no heading`);
    assert.ok(lines.length > 50, `${d}: ${lines.length} lines`);
  }
});

test('the host pane: a cgroup the step made and --rm removed says so; a storage directory is listed', async () => {
  const { hostView } = await import('../../../runtime/tui/host.ts');
  const root = fs.mkdtempSync(path.join(dir(), 'host-'));
  fs.mkdirSync(path.join(root, 'overlay2', 'abc123'), { recursive: true });
  const gone = `/sys/fs/cgroup/memory/dockling-${'0'.repeat(64)}`;
  const lines = hostView(root, [{ op: 'mkdir', path: gone, mode: 0o755, t: 0, side: 'host', chapter: 2 } as never]);
  assert.ok(lines.includes(gone), lines.join('\n'));
  assert.ok(lines.includes('  (removed when the container ended)'));
  assert.ok(lines.some((l) => l.endsWith('overlay2: 1 directory')));
  assert.ok(lines.includes('  abc123'));
  assert.deepEqual(hostView(path.join(dir(), 'none'), []), ['Nothing on the host to show for this step: run it first, or its container is gone.']);
});

test("the host pane opens on what the step is about (its hostView), then the rest", async () => {
  const { hostView } = await import('../../../runtime/tui/host.ts');
  const root = fs.mkdtempSync(path.join(dir(), 'host-'));
  fs.mkdirSync(path.join(root, 'overlay2', 'abc123'), { recursive: true });
  const lines = hostView(root, [], ['ns', 'cgroup']);
  // asked for, each part says something even with nothing to show, in the order asked
  assert.match(lines[0], /^namespaces: no container of the state root is running now/);
  assert.match(lines[2], /^cgroups: this run of the step made none/);
  assert.equal(lines[4], 'also:');
  assert.ok(lines[5].endsWith('overlay2: 1 directory'), lines.join('\n'));
  // not asked for, storage comes first: nothing else has anything to show
  assert.ok(hostView(root, [])[0].endsWith('overlay2: 1 directory'));
});
