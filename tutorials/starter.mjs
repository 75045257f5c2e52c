#!/usr/bin/env -S npx zx
// Make a lab's starter from the reference source (tutorials/lab-markers.mjs
// says how the reference marks the lab's parts):
//
//   npx zx tutorials/starter.mjs LAB            writes tutorials/labs/LAB/work/<file>
//   npx zx tutorials/starter.mjs LAB --out F    writes F
//   npx zx tutorials/starter.mjs LAB --stdout   prints it
//
// It never overwrites a file (your work): remove it first to start again.
import { fs, path, argv } from 'zx';
import { makeStarter } from './lab-markers.mjs';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const lab = argv._[0] === undefined ? '' : String(argv._[0]);
const labDir = path.join(REPO, 'tutorials/labs', lab);
if (!lab || !fs.existsSync(path.join(labDir, 'lab.json'))) {
  const labs = fs.readdirSync(path.join(REPO, 'tutorials/labs')).filter((d) => fs.existsSync(path.join(REPO, 'tutorials/labs', d, 'lab.json')));
  console.error(`starter: name a lab: npx zx tutorials/starter.mjs LAB, with LAB one of: ${labs.join(', ')}`);
  process.exit(2);
}
const meta = fs.readJsonSync(path.join(labDir, 'lab.json'));
const reference = fs.readFileSync(path.join(REPO, meta.replaces), 'utf8');
// A student's copy (student-copy.mjs) has the starter in the reference's place.
if (reference.startsWith(`// Lab ${lab}: the starter`)) {
  console.error(`starter: ${meta.replaces} already is the starter of ${lab} (a student's copy): fill it in there, and grade it with\n  npx zx tutorials/grade.mjs ${lab} --file ${meta.replaces}`);
  process.exit(1);
}
const { text, todos, problems } = makeStarter(reference, lab, meta.replaces);
if (problems.length) {
  for (const p of problems) console.error(`starter: ${meta.replaces}:${p.line}: ${p.message}`);
  process.exit(1);
}
if (argv.stdout) {
  process.stdout.write(text);
  process.exit(0);
}
const out = path.resolve(argv.out ?? path.join(labDir, 'work', path.basename(meta.replaces)));
if (fs.existsSync(out)) {
  console.error(`starter: ${out} exists (your work?): not overwritten. Remove it to start again.`);
  process.exit(1);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, text);
console.log(`starter: ${path.relative(process.cwd(), out)}: ${meta.replaces} with ${todos.size} TODO${todos.size > 1 ? 's' : ''} to fill in:`);
for (const [n, what] of [...todos].sort((a, b) => a[0] - b[0])) console.log(`  TODO ${n}: ${what}`);
console.log(`then grade it, as root: npx zx tutorials/grade.mjs ${lab}`);
