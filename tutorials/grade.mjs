#!/usr/bin/env -S npx zx
// The labs' grader, one script for every lab (a zx script: shell steps in
// plain JavaScript, easy for a teacher to read and change).
//
//   npx zx tutorials/grade.mjs LAB [--file YOUR_FILE] [--reference] [--keep] [--quick]
//
// LAB is a folder name under tutorials/labs (02-cgroups-layer). Its lab.json
// says which repository file the student writes ("replaces"), which of the
// chapter's test files grade it ("tests": a small subset, so grading is
// quick), and which TODO/stage each test checks ("stages": substrings of
// test names). --quick runs only the tests lab.json's "quick" names (a few,
// together needing every TODO): the suite's check that a lab is passable and
// not passed for free (test/book/labs.test.ts) uses it to stay fast.
//
// Why a temporary copy of the repository: the student's file must stand in
// for the real one, build and all. Swapping it into the checkout would leave
// the checkout broken if the grader were killed half-way (Ctrl-C, SIGKILL),
// and a restore on every exit path is easy to get wrong. So the grader copies
// the sources (not .git, dist or node_modules: node_modules is symlinked) to
// a directory under $TMPDIR, puts the student's file in place there, builds
// there, and runs the tests there. The checkout is never written to; the
// copy is removed at the end (unless --keep, to try the layer by hand).
import { $, fs, path, argv, os } from 'zx';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lab = argv._[0];
const labDir = path.join(REPO, 'tutorials/labs', String(lab ?? ''));
if (!lab || !fs.existsSync(path.join(labDir, 'lab.json'))) {
  const labs = fs.readdirSync(path.join(REPO, 'tutorials/labs')).filter((d) => fs.existsSync(path.join(REPO, 'tutorials/labs', d, 'lab.json')));
  console.error(`grade: name a lab: npx zx tutorials/grade.mjs LAB, with LAB one of: ${labs.join(', ')}`);
  process.exit(2);
}
const meta = fs.readJsonSync(path.join(labDir, 'lab.json'));

// The file graded: --file, else work/<name> beside the lab; --reference grades
// the repository's own file (the suite uses it to check the lab is passable).
let student = null;
if (!argv.reference) {
  student = path.resolve(argv.file ?? path.join(labDir, 'work', path.basename(meta.replaces)));
  if (!fs.existsSync(student)) {
    console.error(`grade: ${student} not found: make your starter there (from the reference, with the lab's parts left as TODOs) and fill it in:\n  npx zx tutorials/starter.mjs ${lab}`);
    process.exit(2);
  }
}

// 1. The copy. Sources only; node_modules shared (read-only use).
const copy = fs.mkdtempSync(path.join(os.tmpdir(), `dockling-lab-${lab}-`));
const SKIP = new Set(['.git', 'node_modules', 'dist', 'coverage']);
fs.copySync(REPO, copy, { filter: (src) => !SKIP.has(path.relative(REPO, src).split(path.sep)[0]) });
fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
const cleanup = () => { if (!argv.keep) fs.rmSync(copy, { recursive: true, force: true }); };
// Ctrl-C: the checkout is untouched anyway; just do not leave the copy behind.
process.on('SIGINT', () => { cleanup(); process.exit(130); });

let code = 1;
try {
  if (student) fs.copyFileSync(student, path.join(copy, meta.replaces));
  const what = student ? path.relative(process.cwd(), student) : `the reference ${meta.replaces}`;

  // 2. The build, as `npm run build` does it, in the copy.
  const b = await $({ cwd: copy, nothrow: true, quiet: true })`npm run -s build`;
  if (b.exitCode !== 0) {
    console.log(`grade: ${what} does not build:\n${b.stderr}${b.stdout}`);
    code = 1;
  } else {
    // 3. The chapter's chosen tests, as test/run.ts runs a chapter: layers
    // 1..N (DOCKLING_CHAPTER), in a network namespace of its own holding only
    // lo, with DOCKLING_HOST_NETNS naming the one we came from.
    // --quick: only the files that hold a quick test (its name in the source,
    // \' read as '), and there Node's runner skips every test whose name
    // matches none of the patterns.
    const quick = argv.quick && meta.quick?.length ? meta.quick : null;
    const files = quick ? meta.tests.filter((t) => quick.some((q) => fs.readFileSync(path.join(copy, t), 'utf8').replace(/\\'/g, "'").includes(q))) : meta.tests;
    const only = quick ? quick.flatMap((q) => ['--test-name-pattern', q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')]) : [];
    console.log(`grade: ${what} built as chapter ${meta.chapter}'s ${meta.replaces}; running ${files.length} test files${quick ? ` (--quick: only the tests named ${quick.map((q) => JSON.stringify(q)).join(', ')})` : ''}`);
    const env = { ...process.env, DOCKLING_CHAPTER: String(meta.chapter), DOCKLING_HOST_NETNS: fs.readlinkSync('/proc/self/ns/net') };
    // A TMPDIR of their own, as test/run.ts gives them: some check that
    // nothing is left in it.
    env.TMPDIR = path.join(copy, '.tmp');
    fs.mkdirSync(env.TMPDIR);
    // Run from inside another `node --test` (the suite's labs check), the
    // tests would report to that runner instead of printing TAP: they are ours.
    delete env.NODE_TEST_CONTEXT;
    const t = await $({ cwd: copy, env, nothrow: true, quiet: true })`unshare --net -- sh -c ${'ip link set lo up && exec "$@"'} sh ${process.execPath} --import tsx --test --test-concurrency=1 --test-reporter=tap ${only} ${files}`;
    code = report(t.stdout, meta) && t.exitCode === 0 ? 0 : 1;
    if (!/^\s*(not )?ok /m.test(t.stdout)) console.log(t.stderr.split('\n').slice(-30).join('\n'));
  }
  if (argv.keep) {
    console.log(`\ngrade: the copy is kept: try your layer by hand (in a network namespace of its own):\n` +
      `  cd ${copy} && unshare --net sh -c 'ip link set lo up && DOCKLING_CHAPTER=${meta.chapter} node bin/dockling.js run --rm IMAGE CMD'\n` +
      `  then: rm -rf ${copy}`);
  } else {
    console.log(`grade: to try it by hand, grade again with --keep (the build is kept, and the command printed)`);
  }
} finally {
  cleanup();
}
process.exit(code);

/** Print each stage's failing tests and why; true when none fail. */
function report(tap, meta) {
  const results = []; // { name, ok, why }
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(ok|not ok) \d+ - (.*?)(\s+# SKIP.*)?$/.exec(lines[i]);
    if (!m) continue;
    let why = '';
    if (m[2] === 'not ok') {
      for (let j = i + 1; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]); j++) {
        const e = /^\s*error: (.*)$/.exec(lines[j]);
        if (!e) continue;
        if (!/^[|>]-?$/.test(e[1].trim())) {
          why = e[1].replace(/^'|'$/g, '');
          break;
        }
        // A block (|-) error: the lines indented under it. Its first two are
        // the gist, unless it shows a command's stderr (the tests' helpers
        // do, after "--- stderr"): then its first line and the stderr's,
        // where dockling says what went wrong.
        const indent = (l) => /^\s*/.exec(l)[0].length;
        const block = [];
        for (let k = j + 1; k < lines.length && (lines[k].trim() === '' || indent(lines[k]) >= indent(lines[j + 1])); k++) block.push(lines[k].trim());
        const err = block.indexOf('--- stderr');
        const said = err >= 0 ? block.slice(err + 1).find((l) => l !== '') : undefined;
        why = said ? `${block[0]}: ${said}` : block.slice(0, 2).join(' ');
        break;
      }
    }
    results.push({ name: m[3], ok: m[2] === 'ok', why, indent: m[1].length, skipped: Boolean(m[4]) });
  }
  // A file's or suite's own line comes after its subtests, less indented: keep leaves.
  // A skipped test (--quick's others, or not root) neither passes nor fails: left out.
  const leaves = results.filter((r, k) => !(k > 0 && results[k - 1].indent > r.indent) && !r.name.endsWith('.test.ts') && !r.skipped);
  const stageOf = (name) => meta.stages.find((s) => s.match.some((p) => name.includes(p)))?.todo ?? '(no stage)';
  let failed = 0;
  // Stages are matched in lab.json's order (so a catch-all "" can come last) but printed by their TODO number.
  for (const s of [...meta.stages.map((x) => x.todo).sort(), '(no stage)']) {
    const mine = leaves.filter((r) => stageOf(r.name) === s);
    if (!mine.length) continue;
    const bad = mine.filter((r) => !r.ok);
    failed += bad.length;
    console.log(`${bad.length ? 'FAIL' : 'ok  '} ${s}: ${mine.length - bad.length}/${mine.length} tests pass`);
    for (const r of bad) console.log(`       - ${r.name}\n         ${r.why}`);
  }
  if (!leaves.length) console.log('grade: no test ran (see the output above)');
  console.log(failed || !leaves.length ? `grade: ${failed} of ${leaves.length} tests fail` : `grade: all ${leaves.length} tests pass`);
  return failed === 0 && leaves.length > 0;
}
