// Every lab is passable and not passed for free: its grader (tutorials/grade.mjs),
// run on the starter as shipped, fails; run on the reference layer, passes.
// The grader runs the chapter's real tests (the few files lab.json names),
// in a temporary copy of the repository: this checks that copy is gone after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, rootOrSkip } from '../helpers/dockling.ts';

const LABS = path.join(REPO, 'tutorials/labs');
const labs = fs.readdirSync(LABS).filter((d) => fs.existsSync(path.join(LABS, d, 'lab.json'))).sort();

/** Run the grader with its own TMPDIR; return its outcome and what it left there. */
function grade(lab: string, ...args: string[]) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-labtest-'));
  try {
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules/zx/build/cli.js'), path.join(REPO, 'tutorials/grade.mjs'), lab, ...args], {
      cwd: REPO, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, maxBuffer: 64 * 1024 * 1024,
    });
    // (tsx keeps its cache there too: only the grader's copies count.)
    return { status: r.status, out: r.stdout + r.stderr, left: fs.readdirSync(tmp).filter((n) => n.startsWith('dockling-lab-')) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('there are labs, each with a starter', () => {
  assert.ok(labs.length >= 1, 'no tutorials/labs/*/lab.json');
  for (const l of labs) assert.ok(fs.existsSync(path.join(LABS, l, 'starter.ts')), `${l} has no starter.ts`);
});

for (const lab of labs) {
  test(`lab ${lab}: the starter as shipped fails its grader`, { skip: rootOrSkip() }, () => {
    const r = grade(lab, '--file', path.join(LABS, lab, 'starter.ts'));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /^FAIL /m, r.out);
    assert.match(r.out, /grade: \d+ of \d+ tests fail/, r.out);
    assert.deepEqual(r.left, [], 'the grader left its copy behind');
  });

  test(`lab ${lab}: the reference layer passes its grader`, { skip: rootOrSkip() }, () => {
    const r = grade(lab, '--reference');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /grade: all \d+ tests pass/, r.out);
    assert.doesNotMatch(r.out, /^FAIL /m, r.out);
    assert.deepEqual(r.left, [], 'the grader left its copy behind');
  });
}
