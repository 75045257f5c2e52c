#!/usr/bin/env -S npx zx
// Make a student's copy of the repository for one lab:
//
//   npx zx tutorials/student-copy.mjs LAB DEST
//
// DEST gets the sources (not .git, dist, coverage, nor anyone's work/), with
// the lab's reference file (lab.json's "replaces") overwritten by the
// starter made from it (tutorials/lab-markers.mjs), and without the lab's
// TEACHER.md. node_modules is a symlink to
// this checkout's (run `rm node_modules && npm ci` in DEST to make it its
// own). The grader works there unchanged: `npx zx tutorials/grade.mjs LAB`.
// (In the copy, test/book/labs.test.ts fails for this lab, as it should:
// the reference is gone.)
import { $, fs, path, argv } from 'zx';
import { makeStarter } from './lab-markers.mjs';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const [lab, dest] = argv._.map(String);
const labDir = path.join(REPO, 'tutorials/labs', lab ?? '');
if (!lab || !dest || !fs.existsSync(path.join(labDir, 'lab.json'))) {
  console.error('student-copy: usage: npx zx tutorials/student-copy.mjs LAB DEST (LAB a folder of tutorials/labs with a lab.json)');
  process.exit(2);
}
const out = path.resolve(dest);
if (fs.existsSync(out) && fs.readdirSync(out).length) {
  console.error(`student-copy: ${out} is not empty: give a new or empty directory`);
  process.exit(2);
}
const meta = fs.readJsonSync(path.join(labDir, 'lab.json'));
const starter = makeStarter(fs.readFileSync(path.join(REPO, meta.replaces), 'utf8'), lab, meta.replaces);
if (starter.problems.length) {
  for (const p of starter.problems) console.error(`student-copy: ${meta.replaces}:${p.line}: ${p.message}`);
  process.exit(1);
}

const SKIP = new Set(['.git', 'node_modules', 'dist', 'coverage']);
fs.copySync(REPO, out, {
  filter: (src) => {
    const rel = path.relative(REPO, src);
    if (SKIP.has(rel.split(path.sep)[0])) return false;
    return !/^tutorials\/labs\/[^/]+\/work(\/|$)/.test(rel) && rel !== path.join('tutorials/labs', lab, 'TEACHER.md');
  },
});
fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
// The reference goes; the starter takes its place (so the copy builds, and fails the lab's tests).
fs.writeFileSync(path.join(out, meta.replaces), starter.text);
// The student builds once (the grader builds its own copy; this is for trying by hand).
const b = await $({ cwd: out, nothrow: true, quiet: true })`npm run -s build`;
console.log(`student-copy: ${out}: ${meta.replaces} is the starter of ${lab}${b.exitCode === 0 ? '' : ' (its build failed: run `npm run build` there)'}`);
console.log(`  grade: cd ${out} && npx zx tutorials/grade.mjs ${lab} --file ${meta.replaces}`);
