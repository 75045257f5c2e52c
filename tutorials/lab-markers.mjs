// A lab's starter is made from the reference source, never written by hand,
// so that it cannot drift from the code the book quotes and the tests pass.
//
// The reference marks the parts a lab leaves to the student:
//
//     // #lab 01-rootfs-pivot-root TODO 2: pivot into the new root
//     // #todo (more lines of the TODO, when one is not enough)
//     // #starter throw new Error('…');   (what the starter has instead)
//     …the reference code…
//     // #endlab
//
// makeStarter() replaces each region of the lab with its TODO, as comments,
// and its #starter lines: code that keeps the file building, so that the
// starter fails its grader's tests rather than its build. A TypeScript file's
// region without #starter lines gets a throw naming the TODO. Regions of
// other labs in the same file stay as the reference has them. Every marker
// line is left out of the starter, and out of the book's quotes too
// (chapters/quotes.ts skips them as it skips #region lines).
//
// Plain Node (no zx): chapters/quotes.ts's tests and the suite import it.

/** `// #lab LAB TODO N: what to do` */
const OPEN = /^(\s*)\/\/\s*#lab\s+(\S+)\s+TODO\s+(\d+):\s*(.*?)\s*$/;
const TODO = /^\s*\/\/\s*#todo\b ?(.*?)\s*$/;
const STARTER = /^\s*\/\/\s*#starter\b ?(.*?)\s*$/;
const CLOSE = /^\s*\/\/\s*#endlab\b\s*$/;
/** Any of the four: what quotes.ts leaves out of a quote. */
export const LAB_MARKER = /^\s*\/\/\s*#(lab|todo|starter|endlab)\b/;

/**
 * The regions of every lab in a source text, and what is wrong with the
 * markers (a region never closed, one inside another, an #endlab or #todo
 * outside any region).
 */
export function scanLabRegions(text) {
  const lines = text.split('\n');
  const regions = []; // { lab, todo, text: [lines], starter: [lines], indent, start, end }
  const problems = [];
  let cur = null;
  lines.forEach((line, i) => {
    const o = OPEN.exec(line);
    if (o) {
      if (cur) problems.push({ line: i + 1, message: `#lab ${o[2]} starts inside the region of #lab ${cur.lab} (line ${cur.start + 1}): close that one first (// #endlab)` });
      cur = { lab: o[2], todo: Number(o[3]), text: [o[4]], starter: [], indent: o[1], start: i, end: -1 };
      return;
    }
    if (CLOSE.test(line)) {
      if (!cur) problems.push({ line: i + 1, message: '#endlab without a #lab before it' });
      else {
        cur.end = i;
        regions.push(cur);
        cur = null;
      }
      return;
    }
    const t = TODO.exec(line);
    const s = STARTER.exec(line);
    if ((t || s) && !cur) problems.push({ line: i + 1, message: `#${t ? 'todo' : 'starter'} outside a #lab region` });
    else if (t) cur.text.push(t[1]);
    else if (s) cur.starter.push(s[1]);
    else if (/^\s*\/\/\s*#lab\b/.test(line)) problems.push({ line: i + 1, message: 'a #lab line is "// #lab LAB TODO N: what to do"' });
  });
  if (cur) problems.push({ line: cur.start + 1, message: `#lab ${cur.lab} TODO ${cur.todo} is never closed (add "// #endlab")` });
  return { lines, regions, problems };
}

/**
 * The starter of `lab` made from the reference `text` of `file` (its path in
 * the repository, for the header and the default stub). Returns the text,
 * the TODOs (number → first line), and problems (none when all is well).
 */
export function makeStarter(text, lab, file) {
  const { lines, regions, problems } = scanLabRegions(text);
  const mine = regions.filter((r) => r.lab === lab);
  if (!mine.length) problems.push({ line: 1, message: `no "// #lab ${lab} TODO N: …" region in ${file}` });
  const todos = new Map();
  for (const r of mine) if (!todos.has(r.todo)) todos.set(r.todo, r.text[0]);
  const numbers = [...todos.keys()].sort((a, b) => a - b);
  if (numbers.some((n, k) => n !== k + 1)) problems.push({ line: 1, message: `lab ${lab}'s TODOs in ${file} are numbered ${numbers.join(', ')}: number them 1, 2, 3… without gaps` });
  const ts = /\.tsx?$/.test(file);
  for (const r of mine) {
    if (!r.starter.length && !ts) problems.push({ line: r.start + 1, message: `#lab ${lab} TODO ${r.todo}: a ${file.split('.').pop()} file needs "// #starter CODE" lines (what keeps the starter building)` });
  }
  const out = [];
  const header = [
    `// Lab ${lab}: the starter, made from ${file} by tutorials/starter.mjs.`,
    `// Fill in each TODO (${numbers.map((n) => `TODO ${n}`).join(', ')}); the rest is the reference, as given.`,
    `// It builds in ${file}'s place: the grader puts it there (its imports resolve from there).`,
  ];
  out.push(...header, '');
  for (let i = 0; i < lines.length; i++) {
    const r = regions.find((x) => x.start === i);
    if (r && r.lab === lab) {
      out.push(`${r.indent}// TODO ${r.todo}: ${r.text[0]}`);
      for (const more of r.text.slice(1)) out.push(`${r.indent}//   ${more}`);
      // No #starter line: a throw; "// #starter" alone: nothing (the function just returns).
      const stub = r.starter.length ? r.starter : [`throw new Error('lab ${lab}: TODO ${r.todo} is not written yet');`];
      for (const s of stub) if (s !== '') out.push(`${r.indent}${s}`);
      i = r.end;
      continue;
    }
    // Another lab's markers: the code between them is given here.
    if (LAB_MARKER.test(lines[i])) continue;
    out.push(lines[i]);
  }
  return { text: out.join('\n'), todos, problems };
}
