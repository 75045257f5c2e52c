// The quote checker (chapters/quotes.ts): first on a small repository made
// in a temp directory, then on the book itself, whose every quote must match
// the runtime code it quotes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  caption, chapterReadmes, checkAll, checkChapter, elide, extractRegions, findQuotes, formatProblem, parseLines, rewriteQuotes, scanRegions,
} from '../../chapters/quotes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SOURCE = [
  '// a runtime file',
  'export function outer(): number {',
  '  // #region greet',
  '  const greeting = "hello";',
  '',
  '  // #region inner',
  '  return greeting.length;',
  '  // #endregion inner',
  '  // #endregion greet',
  '}',
  '',
].join('\n');

const GREET = ['const greeting = "hello";', '', 'return greeting.length;'].join('\n');

const GREET_CAPTION = '*From [`runtime/demo.ts`](../../runtime/demo.ts), region `greet`*';

/** A chapter README (chapters/01-demo/README.md) quoting greet, with its caption. */
function readme(body: string, marker = '<!-- quote runtime/demo.ts#greet -->', under = GREET_CAPTION): string {
  return ['# Chapter', '', 'Some prose.', '', marker, '```ts', body, '```', under, '', 'More prose.', ''].join('\n');
}

let dir: string;
const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
  return path.join(dir, rel);
};

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-quotes-'));
  write('runtime/demo.ts', SOURCE);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('extractRegions', () => {
  test('takes the lines between the markers, dedented, without nested markers', () => {
    const r = extractRegions(SOURCE);
    assert.deepEqual([...r.keys()].sort(), ['greet', 'inner']);
    assert.equal(r.get('greet'), GREET);
    assert.equal(r.get('inner'), 'return greeting.length;');
  });

  test("a lab's markers (#lab, #todo, #starter, #endlab) are left out of a region; the code between them stays", () => {
    const src = [
      '// #region r',
      'const a = 1;',
      '  // #lab 09-x TODO 1: compute b',
      '  // #todo from a',
      "  // #starter throw new Error('TODO 1');",
      '  const b = a + 1;',
      '  // #endlab',
      '// #endregion r',
    ].join('\n');
    assert.equal(extractRegions(src).get('r'), 'const a = 1;\n  const b = a + 1;');
  });

  test('an empty region is the empty string; CRLF sources read like LF ones', () => {
    assert.equal(extractRegions('// #region e\n// #endregion e\n').get('e'), '');
    assert.equal(extractRegions(SOURCE.replace(/\n/g, '\r\n')).get('greet'), GREET);
  });
});

describe('scanRegions: unbalanced and duplicated markers', () => {
  test('a region never closed', () => {
    const { problems } = scanRegions('a\n// #region open\nb\n');
    assert.equal(problems.length, 1);
    assert.equal(problems[0].line, 2);
    assert.match(problems[0].message, /#region open is never closed/);
  });

  test('an #endregion with no #region', () => {
    const { problems } = scanRegions('// #endregion stray\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /#endregion stray has no matching #region/);
  });

  test('a name used twice', () => {
    const { problems } = scanRegions('// #region x\n// #endregion x\n// #region x\n// #endregion x\n');
    assert.ok(problems.some((p) => p.line === 3 && /"x" is defined twice \(first at line 1\)/.test(p.message)), JSON.stringify(problems));
  });

  test('a bad name', () => {
    const { problems } = scanRegions('// #region Bad_Name\n');
    assert.match(problems[0].message, /\[a-z0-9-\]\+/);
  });

  test('checkAll reports marker problems in runtime/ sources, naming file and line', () => {
    write('runtime/broken.ts', 'x\n// #region half\ny\n');
    try {
      const problems = checkAll(dir, []);
      assert.equal(problems.length, 1);
      assert.equal(problems[0].file, path.join('runtime', 'broken.ts'));
      assert.equal(problems[0].line, 2);
    } finally {
      fs.rmSync(path.join(dir, 'runtime/broken.ts'));
    }
  });
});

describe('findQuotes', () => {
  test('finds each quote with its line and block; quotes inside code blocks are examples', () => {
    const md = [
      '<!-- quote runtime/demo.ts#greet -->', // line 1
      '```ts',
      'x',
      '```',
      '````md',
      '<!-- quote runtime/demo.ts#inner -->', // an example, inside a block
      '```ts',
      '```',
      '````',
      '<!-- quote runtime/demo.ts#inner -->', // line 10, no block after it
      'text',
    ].join('\n');
    const q = findQuotes(md);
    assert.equal(q.length, 2);
    assert.deepEqual([q[0].file, q[0].region, q[0].quoted, q[0].line], ['runtime/demo.ts', 'greet', 'x', 1]);
    assert.deepEqual([q[1].region, q[1].quoted, q[1].line], ['inner', null, 10]);
  });
});

describe('checkChapter', () => {
  test('a quote that matches its region: no problems', () => {
    const md = write('chapters/01-demo/README.md', readme(GREET));
    assert.deepEqual(checkChapter(md, dir), []);
  });

  test('a changed line: one problem naming the file, the region and the line', () => {
    const md = write('chapters/01-demo/README.md', readme(GREET.replace('"hello"', '"hi"')));
    const problems = checkChapter(md, dir);
    assert.equal(problems.length, 1);
    const text = formatProblem(problems[0]);
    assert.match(text, /runtime\/demo\.ts#greet/);
    assert.match(text, /line 1 of the quote/);
    assert.match(text, /"const greeting = \\"hi\\";"/);
    assert.match(text, /"const greeting = \\"hello\\";"/);
    // the README line of the differing line: the block opens at line 6
    assert.equal(problems[0].line, 7);
    assert.equal(problems[0].file, path.relative(process.cwd(), md));
  });

  test('a quote missing its last line, or with one line too many', () => {
    const short = write('chapters/01-demo/README.md', readme(GREET.split('\n').slice(0, 2).join('\n')));
    assert.match(checkChapter(short, dir)[0].message, /line 3 of the quote: the README has \(nothing/);
    const long = write('chapters/01-demo/README.md', readme(GREET + '\nextra'));
    assert.match(checkChapter(long, dir)[0].message, /line 4 of the quote: the README has "extra"/);
  });

  test('a missing region is a problem that lists the regions there are', () => {
    const md = write('chapters/01-demo/README.md', readme(GREET).replace('#greet', '#farewell'));
    const problems = checkChapter(md, dir);
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /runtime\/demo\.ts has no region "farewell" \(its regions: greet, inner\)/);
    assert.equal(problems[0].line, 5);
  });

  test('a missing file is a problem', () => {
    const md = write('chapters/01-demo/README.md', readme(GREET).replace('runtime/demo.ts', 'runtime/gone.ts'));
    assert.match(checkChapter(md, dir)[0].message, /file runtime\/gone\.ts not found/);
  });

  test('a quote comment with no code block after it is a problem', () => {
    const md = write('chapters/01-demo/README.md', '<!-- quote runtime/demo.ts#greet -->\n\nprose\n');
    assert.match(checkChapter(md, dir)[0].message, /must be followed at once by a fenced code block/);
  });

  test('a path outside the repository is refused', () => {
    const md = write('chapters/01-demo/README.md', readme(GREET).replace('runtime/demo.ts', '../etc/passwd'));
    assert.match(checkChapter(md, dir)[0].message, /inside the repository/);
  });

  test('unbalanced markers in a quoted file are reported with the quote', () => {
    write('runtime/half.ts', '// #region a\nx\n// #endregion a\n// #region b\n');
    const md = write('chapters/01-demo/README.md', '<!-- quote runtime/half.ts#a -->\n```ts\nx\n```\n*From [`runtime/half.ts`](../../runtime/half.ts), region `a`*\n');
    const problems = checkChapter(md, dir);
    fs.rmSync(path.join(dir, 'runtime/half.ts'));
    assert.equal(problems.length, 1);
    assert.equal(problems[0].file, path.join('runtime', 'half.ts'));
    assert.match(problems[0].message, /#region b is never closed/);
  });
});

describe('rewriteQuotes (--write)', () => {
  test('refreshes stale blocks and adds missing ones, each with its caption; the result checks clean', () => {
    const stale = readme('old text\nmore old text', undefined, '') + '\n<!-- quote runtime/demo.ts#inner -->\nno block here\n';
    const at = path.join(dir, 'chapters/01-demo/README.md');
    const { text, problems } = rewriteQuotes(stale, dir, at);
    assert.deepEqual(problems, []);
    assert.ok(text.includes('```ts\n' + GREET + '\n```\n' + GREET_CAPTION + '\n'));
    assert.ok(text.includes('<!-- quote runtime/demo.ts#inner -->\n```ts\nreturn greeting.length;\n```\n*From [`runtime/demo.ts`](../../runtime/demo.ts), region `inner`*\n\nno block here'));
    const md = write('chapters/01-demo/README.md', text);
    assert.deepEqual(checkChapter(md, dir), []);
    // and a second rewrite changes nothing
    assert.equal(rewriteQuotes(text, dir, at).text, text);
  });

  test('an old caption is replaced, not doubled', () => {
    const at = path.join(dir, 'chapters/01-demo/README.md');
    const md = readme(GREET, undefined, '*From [`runtime/old.ts`](../../runtime/old.ts), region `old`*');
    const { text } = rewriteQuotes(md, dir, at);
    assert.equal(text, readme(GREET));
  });

  test('leaves a quote it cannot resolve alone, and says why', () => {
    const md = readme('keep me').replace('#greet', '#nope');
    const { text, problems } = rewriteQuotes(md, dir);
    assert.equal(text, md);
    assert.equal(problems.length, 1);
  });
});

describe('captions: the source named in visible text', () => {
  test('a quote without its caption, or with a wrong one, is a problem', () => {
    const none = write('chapters/01-demo/README.md', readme(GREET, undefined, ''));
    const p = checkChapter(none, dir);
    assert.equal(p.length, 1);
    assert.equal(p[0].line, 11); // the line under the closing fence
    assert.match(p[0].message, /the line under the block must be its caption/);
    const wrong = write('chapters/01-demo/README.md', readme(GREET, undefined, GREET_CAPTION.replace('greet', 'inner')));
    assert.equal(checkChapter(wrong, dir).length, 1);
  });

  test('the link is relative to the README, wherever it is', () => {
    assert.equal(caption({ file: 'runtime/a/b.ts', region: 'r' }, path.join(dir, 'chapters/05-x'), dir), '*From [`runtime/a/b.ts`](../../runtime/a/b.ts), region `r`*');
    assert.equal(caption({ file: 'runtime/a/b.ts', region: 'r' }, dir, dir), '*From [`runtime/a/b.ts`](runtime/a/b.ts), region `r`*');
  });
});

describe('lines=: quoting part of a region', () => {
  const TEN = Array.from({ length: 10 }, (_, i) => (i % 2 ? '  ' : '') + `line${i + 1}`).join('\n');

  test('parseLines: ranges and single lines, in order; anything else is refused with a reason', () => {
    assert.deepEqual(parseLines('2-4,7', 10), { ranges: [[2, 4], [7, 7]] });
    assert.match((parseLines('4-2', 10) as { problem: string }).problem, /first ≤ last/);
    assert.match((parseLines('1-11', 10) as { problem: string }).problem, /only 10 lines/);
    assert.match((parseLines('5-6,2-3', 10) as { problem: string }).problem, /in order/);
    assert.match((parseLines('5-6,6-7', 10) as { problem: string }).problem, /overlap/);
    assert.match((parseLines('a-b', 10) as { problem: string }).problem, /N or N-M/);
  });

  test('elide keeps the ranges and puts `// …`, indented like the next kept line, in each gap', () => {
    assert.equal(elide(TEN, [[2, 3], [6, 6]]), ['  // …', '  line2', 'line3', '  // …', '  line6', '  // …'].join('\n'));
    assert.equal(elide(TEN, [[1, 10]]), TEN);
    assert.equal(elide(TEN, [[1, 2], [3, 10]]), TEN);
  });

  test('a gap of blank lines only is kept, not elided', () => {
    const text = ['a', '', 'b', 'c'].join('\n');
    assert.equal(elide(text, [[1, 1], [3, 3]]), ['a', '', 'b', '// …'].join('\n'));
  });

  test('a quote with lines= checks against the elided text, with the lines named in its caption', () => {
    const marker = '<!-- quote runtime/demo.ts#greet lines=1 -->';
    const want = ['const greeting = "hello";', '// …'].join('\n');
    const cap = '*From [`runtime/demo.ts`](../../runtime/demo.ts), region `greet`, line 1 of 3 (`// …` marks lines left out)*';
    const good = write('chapters/01-demo/README.md', readme(want, marker, cap));
    assert.deepEqual(checkChapter(good, dir), []);
    // the whole region is now a difference: the elision is what must be there
    const whole = write('chapters/01-demo/README.md', readme(GREET, marker, cap));
    assert.match(checkChapter(whole, dir)[0].message, /line 2 of the quote: the README has "", runtime\/demo\.ts has "\/\/ …"/);
    // --write produces exactly that
    const at = path.join(dir, 'chapters/01-demo/README.md');
    assert.equal(rewriteQuotes(readme('stale', marker, cap).replace(cap + '\n', ''), dir, at).text, readme(want, marker, cap));
  });

  test('a bad lines= or an unknown option is a problem naming the quote, and --write leaves it alone', () => {
    const bad = write('chapters/01-demo/README.md', readme(GREET, '<!-- quote runtime/demo.ts#greet lines=2-9 -->'));
    assert.match(checkChapter(bad, dir)[0].message, /runtime\/demo\.ts#greet: lines=2-9: the region has only 3 lines/);
    const unknown = readme(GREET, '<!-- quote runtime/demo.ts#greet from=2 -->');
    assert.match(checkChapter(write('chapters/01-demo/README.md', unknown), dir)[0].message, /unknown option from=/);
    const out = rewriteQuotes(unknown, dir);
    assert.equal(out.text, unknown);
    assert.equal(out.problems.length, 1);
  });
});

describe('the book', () => {
  test('every chapter README quotes its code exactly', () => {
    const readmes = chapterReadmes(REPO);
    assert.ok(readmes.length > 0, 'no chapters/NN-*/README.md found');
    for (const r of readmes) {
      const problems = checkChapter(r, REPO);
      assert.deepEqual(problems.map(formatProblem), [], `${path.relative(REPO, r)} has stale quotes: run npx tsx chapters/quotes.ts --write`);
      assert.ok(findQuotes(fs.readFileSync(r, 'utf8')).length > 0, `${r} quotes no code`);
    }
  });

  test('the runtime region markers are balanced and unique', () => {
    assert.deepEqual(checkAll(REPO, []).map(formatProblem), []);
  });

  test('the CLI agrees, and exits 0', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'chapters/quotes.ts')], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\d+ chapter\(s\), \d+ quote\(s\), 0 problem\(s\)/);
  });
});
