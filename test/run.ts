// The test suite, as DESIGN.md asks for it:
//
// 1. Unit and property tests (test/runtime, test/book): no chapter involved.
// 2. For each chapter N with tests (test/chapters/NN-topic/*.test.ts):
//    a. run them with layers 1..N (DOCKLING_CHAPTER=N): every test must pass;
//    b. run them with layers 1..N-1: every test must FAIL. A chapter test
//       that passes without its chapter's layer cannot fail, so it tests
//       nothing the chapter adds, and the suite says so.
//
// Usage: tsx test/run.ts [--chapter N] [--only unit|chapters|escapes] [--no-negative]
//
// `--only escapes` runs the escape suite alone: each chapter's
// escape*.test.ts, the probes that root in a container reaches nothing of
// the host through what that chapter built (`npm run test:escapes`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TEST = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const onlyChapter = opt('--chapter') ? Number(opt('--chapter')) : undefined;
const only = opt('--only');
const negative = !args.includes('--no-negative');

function testFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

interface Outcome {
  passed: number;
  failed: number;
  /** names of tests that passed (from the TAP stream) */
  passedNames: string[];
  status: number;
}

/** Run files under node's test runner, one file at a time, reading TAP. */
function runNodeTests(files: string[], env: NodeJS.ProcessEnv, echo: boolean): Outcome {
  // A temporary directory of this run's own: the leak checks compare its
  // contents before and after each test, undisturbed by anything else on
  // the machine that uses /tmp at the same time.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-suite-'));
  try {
    return runIn(files, { ...env, TMPDIR: tmp }, echo);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function runIn(files: string[], env: NodeJS.ProcessEnv, echo: boolean): Outcome {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files],
    { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (echo) process.stdout.write(r.stdout);
  const passedNames: string[] = [];
  let passed = 0;
  let failed = 0;
  // TAP prints a test's subtests (indented further) before the test's own
  // line. So a line is a leaf test when the test line before it is not
  // indented deeper; a deeper one before it means it closes a suite or a
  // file. Leaves are what we count, at any depth.
  let prevIndent = -1;
  for (const line of r.stdout.split('\n')) {
    const m = /^(\s*)(ok|not ok) \d+ - (.*?)(\s+# SKIP.*)?$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const leaf = prevIndent <= indent;
    prevIndent = indent;
    if (!leaf) continue;
    if (m[2] === 'ok') {
      passed++;
      passedNames.push(m[3]);
    } else failed++;
  }
  return { passed, failed, passedNames, status: r.status ?? 1 };
}

let totalPassed = 0;
let totalFailed = 0;
const problems: string[] = [];

if (only === undefined || only === 'unit') {
  const files = [...testFiles(path.join(TEST, 'runtime')), ...testFiles(path.join(TEST, 'book'))];
  console.log(`\n# unit and property tests (${files.length} files)`);
  const o = runNodeTests(files, {}, true);
  totalPassed += o.passed;
  totalFailed += o.failed;
  if (o.status !== 0 && o.failed === 0) problems.push('unit tests: the test runner failed');
}

if (only !== 'unit') {
  const chapters = fs
    .readdirSync(path.join(TEST, 'chapters'))
    .filter((d) => /^\d\d-/.test(d))
    .sort();
  for (const dir of chapters) {
    const n = Number(dir.slice(0, 2));
    if (onlyChapter !== undefined && n !== onlyChapter) continue;
    const files = testFiles(path.join(TEST, 'chapters', dir)).filter((f) => only !== 'escapes' || /\/escape[^/]*\.test\.ts$/.test(f));
    if (files.length === 0) continue;
    console.log(`\n# chapter ${n} (${dir}) with layers 1..${n}: every test must pass`);
    const o = runNodeTests(files, { DOCKLING_CHAPTER: String(n) }, true);
    totalPassed += o.passed;
    totalFailed += o.failed;
    if (o.status !== 0 && o.failed === 0) problems.push(`chapter ${n}: the test runner failed`);
    if (!negative) continue;
    console.log(`\n# chapter ${n} (${dir}) with layers 1..${n - 1}: every test must fail`);
    const neg = runNodeTests(files, { DOCKLING_CHAPTER: String(n - 1) }, false);
    console.log(`# ${neg.failed} failed as they must, ${neg.passed} passed without chapter ${n}'s layer`);
    if (neg.passed > 0) {
      totalFailed += neg.passed;
      problems.push(`chapter ${n}: these tests pass without chapter ${n}'s layer, so they cannot fail: ${neg.passedNames.join('; ')}`);
    } else {
      totalPassed += 1; // the negative check itself
    }
  }
}

for (const p of problems) console.log(`# PROBLEM: ${p}`);
// The closing line CI reads.
console.log(`\n${totalPassed} passed, ${totalFailed} failed`);
process.exitCode = totalFailed > 0 || problems.length > 0 ? 1 : 0;
