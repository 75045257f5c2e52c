// Every demo step points at its chapter's text and at the code it
// exercises (DemoStep's `section` and `code`, shown on the walkthrough's
// step screen). Headings get renamed and regions moved: this file makes
// sure no step points at one that is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chapterList, chapterReadme, loadSteps, repoPath } from '../../chapters/demo.ts';
import { describeLinks, headings, regionLines, splitCode } from '../../runtime/tui/links.ts';

const read = (file: string) => (fs.existsSync(repoPath(file)) ? fs.readFileSync(repoPath(file), 'utf8') : null);

test("every step's section is a heading of its chapter's README, and its code a region of the file it names", async () => {
  const problems: string[] = [];
  for (const { chapter, dir } of chapterList()) {
    const readme = fs.readFileSync(chapterReadme(dir), 'utf8');
    const anchors = new Set(headings(readme).map((h) => h.anchor));
    for (const [i, step] of (await loadSteps(chapter)).steps.entries()) {
      const where = `chapter ${chapter} step ${i + 1} (${step.title})`;
      if (!step.section) problems.push(`${where}: no section`);
      else if (!anchors.has(step.section)) problems.push(`${where}: ${step.section} is not a heading of ${dir}/README.md`);
      // Setting the scene (a registry started, a container removed) may have no code of its own.
      if (!step.code) {
        if (!step.role && !step.host) problems.push(`${where}: no code region`);
        continue;
      }
      const { file, region } = splitCode(step.code);
      const text = read(file);
      if (text === null) problems.push(`${where}: ${file} does not exist`);
      else if (!regionLines(text, region)) problems.push(`${where}: ${file} has no region "${region}" (// #region ${region} … // #endregion ${region})`);
    }
  }
  assert.deepEqual(problems, []);
});

test('anchors follow GitHub: lower case, punctuation dropped, spaces to hyphens, repeats numbered', () => {
  const h = headings('# Chapter 1 — Namespaces\n\n## 6. pivot_root, and why not chroot\n```\n# not a heading\n```\n### The door\n### The door\n## 9. Terminals: -t\n');
  assert.deepEqual(
    h.map((x) => x.anchor),
    ['#chapter-1--namespaces', '#6-pivot_root-and-why-not-chroot', '#the-door', '#the-door-1', '#9-terminals--t'],
  );
});

test('the step screen says where a link points, and says so when it points nowhere', () => {
  const readme = '# Ch\n\n## 6. `pivot_root`, and why not chroot\n';
  const source = 'a\n// #region pivot-root\nb\nc\n// #endregion pivot-root\n';
  const reader = (f: string) => (f === 'x.ts' ? source : null);
  assert.deepEqual(describeLinks({ section: '#6-pivot_root-and-why-not-chroot', code: 'x.ts#pivot-root' }, readme, reader), [
    '§ 6. pivot_root, and why not chroot',
    'code: x.ts:2-5 (region pivot-root)',
  ]);
  assert.deepEqual(describeLinks({ section: '#gone', code: 'x.ts#moved' }, readme, reader), ['§ #gone (no such heading in the README)', 'code: x.ts#moved (no such region)']);
});
