// Every lab is passable and not passed for free: its grader (tutorials/grade.mjs),
// run on the starter made from the reference (tutorials/starter.mjs), fails;
// run on the reference itself, passes. The grader runs the chapter's real
// tests in a temporary copy of the repository: this checks that copy is gone
// after. To stay quick (this file is in the unit suite), it grades with
// --quick: only the tests lab.json's "quick" names, which together need every
// TODO. The whole of each lab's test files runs against the reference in its
// chapter's suite anyway; here the lab's own parts are checked: the swap, the
// build, the starter, and (without root) that lab.json's stages still name
// tests that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, rootOrSkip } from '../helpers/dockling.ts';
// @ts-expect-error: plain JavaScript, no types (the zx scripts share it)
import { makeStarter, scanLabRegions } from '../../tutorials/lab-markers.mjs';

interface Lab {
  chapter: number;
  replaces: string;
  tests: string[];
  quick?: string[];
  stages: { todo: string; match: string[] }[];
}
interface Made {
  text: string;
  todos: Map<number, string>;
  problems: { line: number; message: string }[];
}

const LABS = path.join(REPO, 'tutorials/labs');
const labs = fs.readdirSync(LABS).filter((d) => fs.existsSync(path.join(LABS, d, 'lab.json'))).sort();
const metaOf = (lab: string) => JSON.parse(fs.readFileSync(path.join(LABS, lab, 'lab.json'), 'utf8')) as Lab;
const starterOf = (lab: string): Made => {
  const m = metaOf(lab);
  return makeStarter(fs.readFileSync(path.join(REPO, m.replaces), 'utf8'), lab, m.replaces) as Made;
};

/** Run the grader with its own TMPDIR; return its outcome and what it left there. */
function grade(lab: string, ...args: string[]) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-labtest-'));
  try {
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules/zx/build/cli.js'), path.join(REPO, 'tutorials/grade.mjs'), lab, '--quick', ...args], {
      cwd: REPO, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, maxBuffer: 64 * 1024 * 1024,
    });
    // (tsx keeps its cache there too: only the grader's copies count.)
    return { status: r.status, out: r.stdout + r.stderr, left: fs.readdirSync(tmp).filter((n) => n.startsWith('dockling-lab-')) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('there are labs; each starter is made from its reference, with its TODOs numbered 1, 2, 3…', () => {
  assert.ok(labs.length >= 4, `labs: ${labs.join(', ')}`);
  for (const lab of labs) {
    const m = metaOf(lab);
    const made = starterOf(lab);
    assert.deepEqual(made.problems, [], `${lab}: ${JSON.stringify(made.problems)}`);
    assert.ok(made.todos.size >= 1, lab);
    assert.ok(m.quick?.length, `${lab}: lab.json has no "quick" tests (the suite grades with --quick)`);
    assert.notEqual(made.text, fs.readFileSync(path.join(REPO, m.replaces), 'utf8'), lab);
    assert.doesNotMatch(made.text, /\/\/\s*#(lab|todo|starter|endlab)\b/, `${lab}: a marker left in the starter`);
    // No hand-made copy beside it to drift from the reference.
    assert.ok(!fs.existsSync(path.join(LABS, lab, 'starter.ts')), `${lab}/starter.ts: starters are made by tutorials/starter.mjs now`);
  }
});

test('makeStarter: a region becomes its TODO and its #starter lines (a throw without them); bad markers are problems', () => {
  const src = [
    'export function f(a: number): number {',
    '  // #lab 09-x TODO 1: double a',
    '  // #todo (twice a)',
    '  return a * 2;',
    '  // #endlab',
    '}',
    'export function g(): void {',
    '  // #lab 09-x TODO 2: nothing to return',
    '  // #starter',
    "  console.log('g');",
    '  // #endlab',
    '}',
    '// #lab 08-other TODO 1: given here',
    'export const h = 1;',
    '// #endlab',
  ].join('\n');
  const made = makeStarter(src, '09-x', 'runtime/x.ts') as Made;
  assert.deepEqual(made.problems, []);
  assert.deepEqual([...made.todos], [[1, 'double a'], [2, 'nothing to return']]);
  const body = made.text.split('\n').filter((l) => !l.startsWith('// Lab ') && !l.startsWith('// Fill in') && !l.startsWith('// It builds'));
  assert.deepEqual(body, [
    '',
    'export function f(a: number): number {',
    '  // TODO 1: double a',
    '  //   (twice a)',
    "  throw new Error('lab 09-x: TODO 1 is not written yet');",
    '}',
    'export function g(): void {',
    '  // TODO 2: nothing to return',
    '}',
    'export const h = 1;',
  ]);
  const bad = (text: string, file = 'runtime/x.ts') => (makeStarter(text, '09-x', file) as Made).problems.map((p) => p.message).join('\n');
  assert.match(bad('// #lab 09-x TODO 1: a\nx;'), /never closed/);
  assert.match(bad('// #lab 09-x TODO 1: a\n// #lab 09-x TODO 2: b\n// #endlab'), /starts inside the region/);
  assert.match(bad('x;\n// #endlab'), /#endlab without a #lab/);
  assert.match(bad('// #lab 09-x TODO 2: a\n// #endlab'), /numbered 2: number them 1, 2, 3/);
  assert.match(bad('// #lab 09-x TODO 1: a\nx;\n// #endlab', 'runtime/x.c'), /needs "\/\/ #starter CODE" lines/);
  assert.match(bad('x;'), /no "\/\/ #lab 09-x TODO N: …" region/);
});

test("every #lab marker in runtime/ names a lab, in the file that lab's lab.json replaces", () => {
  const replaces = new Map(labs.map((l) => [l, metaOf(l).replaces]));
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : /\.(ts|tsx|c|h)$/.test(e.name) ? [p] : [];
  });
  let seen = 0;
  for (const file of walk(path.join(REPO, 'runtime'))) {
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes('#lab') && !text.includes('#endlab')) continue;
    const rel = path.relative(REPO, file);
    const { regions, problems } = scanLabRegions(text) as { regions: { lab: string; start: number }[]; problems: unknown[] };
    assert.deepEqual(problems, [], rel);
    for (const r of regions) {
      seen++;
      assert.equal(replaces.get(r.lab), rel, `${rel}:${r.start + 1}: #lab ${r.lab}: no such lab replaces this file (labs: ${labs.join(', ')})`);
    }
  }
  assert.ok(seen >= labs.length, `only ${seen} lab regions found`);
});

test("each lab's tests exist, and its stages and quick tests name tests that are in them", () => {
  for (const lab of labs) {
    const m = metaOf(lab);
    // The test names as written in the sources (\' unescaped: close enough to the names the runner prints).
    const source = m.tests.map((t) => {
      assert.ok(fs.existsSync(path.join(REPO, t)), `${lab}: ${t} does not exist`);
      return fs.readFileSync(path.join(REPO, t), 'utf8').replace(/\\'/g, "'");
    }).join('\n');
    for (const p of [...m.stages.flatMap((s) => s.match), ...(m.quick ?? [])]) {
      if (p !== '') assert.ok(source.includes(p), `${lab}: "${p}" is in none of its test files (a test renamed?)`);
    }
  }
});

for (const lab of labs) {
  test(`lab ${lab}: the starter made from the reference fails its grader`, { skip: rootOrSkip() }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-labstarter-'));
    try {
      const file = path.join(dir, path.basename(metaOf(lab).replaces));
      fs.writeFileSync(file, starterOf(lab).text);
      const r = grade(lab, '--file', file);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /^FAIL /m, r.out);
      assert.match(r.out, /grade: \d+ of \d+ tests fail/, r.out);
      assert.deepEqual(r.left, [], 'the grader left its copy behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`lab ${lab}: the reference passes its grader`, { skip: rootOrSkip() }, () => {
    const r = grade(lab, '--reference');
    assert.equal(r.status, 0, r.out);
    const ran = /grade: all (\d+) tests pass/.exec(r.out);
    assert.ok(ran, r.out);
    assert.ok(Number(ran[1]) >= metaOf(lab).quick!.length, `fewer tests ran than lab.json's quick names:\n${r.out}`);
    assert.doesNotMatch(r.out, /^FAIL /m, r.out);
    assert.deepEqual(r.left, [], 'the grader left its copy behind');
  });
}
