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
  chapterReadmes, checkAll, checkChapter, extractRegions, findQuotes, formatProblem, rewriteQuotes, scanRegions,
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

function readme(body: string): string {
  return ['# Chapter', '', 'Some prose.', '', '<!-- quote runtime/demo.ts#greet -->', '```ts', body, '```', '', 'More prose.', ''].join('\n');
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
    const md = write('chapters/01-demo/README.md', '<!-- quote runtime/half.ts#a -->\n```ts\nx\n```\n');
    const problems = checkChapter(md, dir);
    fs.rmSync(path.join(dir, 'runtime/half.ts'));
    assert.equal(problems.length, 1);
    assert.equal(problems[0].file, path.join('runtime', 'half.ts'));
    assert.match(problems[0].message, /#region b is never closed/);
  });
});

describe('rewriteQuotes (--write)', () => {
  test('refreshes stale blocks and adds missing ones; the result checks clean', () => {
    const stale = readme('old text\nmore old text') + '\n<!-- quote runtime/demo.ts#inner -->\nno block here\n';
    const { text, problems } = rewriteQuotes(stale, dir);
    assert.deepEqual(problems, []);
    assert.ok(text.includes('```ts\n' + GREET + '\n```'));
    assert.ok(text.includes('<!-- quote runtime/demo.ts#inner -->\n```ts\nreturn greeting.length;\n```\nno block here'));
    const md = write('chapters/01-demo/README.md', text);
    assert.deepEqual(checkChapter(md, dir), []);
    // and a second rewrite changes nothing
    assert.equal(rewriteQuotes(text, dir).text, text);
  });

  test('leaves a quote it cannot resolve alone, and says why', () => {
    const md = readme('keep me').replace('#greet', '#nope');
    const { text, problems } = rewriteQuotes(md, dir);
    assert.equal(text, md);
    assert.equal(problems.length, 1);
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
