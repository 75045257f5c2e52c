// The quote checker: literate chapters stay true to the code.
//
// Runtime source files mark the parts a chapter may quote:
//
//     // #region pivot-root
//     function pivotRoot(rootfs: string): void { … }
//     // #endregion pivot-root
//
// and a chapter's README quotes a region with an HTML comment (invisible
// when the Markdown is rendered) followed at once by a fenced code block:
//
//     <!-- quote runtime/process/init.ts#pivot-root -->
//     ```ts
//     function pivotRoot(rootfs: string): void { … }
//     ```
//
// The block must hold exactly the region's lines: those strictly between
// the two marker lines, minus their common leading indentation (and minus
// the marker lines of any region nested inside, and the lines that mark a
// lab's part: `// #lab`, `#todo`, `#starter`, `#endlab`, see
// tutorials/lab-markers.mjs). When the code changes and the quote does not,
// the tests fail; `--write` refreshes every quote from its source, so an
// author changes the code, rewrites the quotes, and reads the prose around
// them again.
//
// A long region can be quoted in part: `<!-- quote FILE#REGION lines=3-20,41-52 -->`
// keeps those lines of the region (1-based, counted in the region's text)
// and puts an elision line, `// …`, where lines are left out.
//
// Right after the block comes a caption the reader sees, naming the file
// (a link relative to the README), the region and, for a part, which lines:
//
//     *From [`runtime/process/init.ts`](../../runtime/process/init.ts), region `pivot-root`*
//
// It is checked and written like the block.
//
//   tsx chapters/quotes.ts            check chapters/NN-*/README.md; exit 1 on problems
//   tsx chapters/quotes.ts --write    rewrite every quote block from its source
//   tsx chapters/quotes.ts FILE.md…   only these Markdown files
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A quote found in a chapter: where it points and what the README holds. */
export interface Quote {
  /** the source file, relative to the repository root */
  file: string;
  region: string;
  /** the `lines=` option as written (e.g. "3-20,41-52"), or null: the whole region */
  lines: string | null;
  /** the code block's content, or null when no code block follows the comment */
  quoted: string | null;
  /** 1-based line of the `<!-- quote … -->` comment in the Markdown */
  line: number;
  /** 0-based line indexes of the code block's fences (-1 when there is none) */
  open: number;
  close: number;
  /** an option the marker gives that is not `lines=` (a problem) */
  unknownOption?: string;
}

/** Something wrong with a quote or a source file's markers. */
export interface Problem {
  /** the file the problem is in (a README, or a source file for marker problems) */
  file: string;
  /** 1-based line in that file */
  line: number;
  message: string;
}

export const formatProblem = (p: Problem) => `${p.file}:${p.line}: ${p.message}`;

const NAME = /^[a-z0-9-]+$/;
const MARKER = /^\s*\/\/\s*#(region|endregion)\b\s*(.*?)\s*$/;
/**
 * A lab's markers (tutorials/lab-markers.mjs: `// #lab LAB TODO N: …`,
 * `// #todo`, `// #starter`, `// #endlab`): they say what a lab's starter
 * leaves out, and are no part of the code the book shows.
 */
const LAB_MARKER = /^\s*\/\/\s*#(lab|todo|starter|endlab)\b/;
const QUOTE = /^\s*<!--\s*quote\s+(\S+)((?:\s+[a-z]+=\S*)*)\s*-->\s*$/;
/** A caption line written by rewriteQuotes (so that --write can replace it). */
const CAPTION = /^\*From \[`[^`]*`\]\(/;
/** What stands for left-out lines. */
export const ELISION = '// …';
const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;

interface RegionScan {
  regions: Map<string, string>;
  problems: { line: number; message: string }[];
}

/** Remove the indentation every non-blank line shares. */
function dedent(lines: string[]): string[] {
  let prefix: string | undefined;
  for (const l of lines) {
    if (l.trim() === '') continue;
    const ws = /^\s*/.exec(l)![0];
    if (prefix === undefined) prefix = ws;
    else {
      let i = 0;
      while (i < prefix.length && i < ws.length && prefix[i] === ws[i]) i++;
      prefix = prefix.slice(0, i);
    }
  }
  const n = prefix?.length ?? 0;
  return lines.map((l) => (l.trim() === '' ? '' : l.slice(n)));
}

/**
 * Read a source file's regions, and what is wrong with its markers:
 * an #endregion with no open region, a region never closed, a name used
 * twice, a name that is not [a-z0-9-]+.
 */
export function scanRegions(sourceText: string): RegionScan {
  const lines = sourceText.replace(/\r\n/g, '\n').split('\n');
  const problems: RegionScan['problems'] = [];
  const open = new Map<string, number>(); // name → index of its #region line
  const spans = new Map<string, [number, number]>();
  const markerLines = new Set<number>();
  lines.forEach((text, i) => {
    if (LAB_MARKER.test(text)) {
      markerLines.add(i);
      return;
    }
    const m = MARKER.exec(text);
    if (!m) return;
    markerLines.add(i);
    const [, kind, name] = m;
    if (!NAME.test(name)) {
      problems.push({ line: i + 1, message: `#${kind} needs a name of [a-z0-9-]+, found ${JSON.stringify(name)}` });
      return;
    }
    if (kind === 'region') {
      if (open.has(name) || spans.has(name)) {
        const first = open.get(name) ?? spans.get(name)![0];
        problems.push({ line: i + 1, message: `region "${name}" is defined twice (first at line ${first + 1})` });
        return;
      }
      open.set(name, i);
    } else {
      const start = open.get(name);
      if (start === undefined) {
        problems.push({ line: i + 1, message: `#endregion ${name} has no matching #region ${name}` });
        return;
      }
      open.delete(name);
      spans.set(name, [start, i]);
    }
  });
  for (const [name, start] of open) {
    problems.push({ line: start + 1, message: `#region ${name} is never closed (add "// #endregion ${name}")` });
  }
  const regions = new Map<string, string>();
  // In the order the regions start in the file.
  for (const [name, [start, end]] of [...spans].sort((a, b) => a[1][0] - b[1][0])) {
    const body: string[] = [];
    for (let i = start + 1; i < end; i++) if (!markerLines.has(i)) body.push(lines[i]);
    regions.set(name, dedent(body).join('\n'));
  }
  return { regions, problems };
}

/** The regions of a source file: name → text (dedented, marker lines, a lab's too, left out). */
export function extractRegions(sourceText: string): Map<string, string> {
  return scanRegions(sourceText).regions;
}

/**
 * Every `<!-- quote FILE#REGION -->` in a Markdown text, with the code block
 * right after it. Quote comments inside code blocks are examples, not quotes.
 */
export function findQuotes(markdown: string): Quote[] {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const quotes: Quote[] = [];
  let fence: string | null = null; // the fence we are inside, if any
  for (let i = 0; i < lines.length; i++) {
    const f = FENCE.exec(lines[i]);
    if (fence !== null) {
      if (f && f[1][0] === fence[0] && f[1].length >= fence.length && f[2].trim() === '') fence = null;
      continue;
    }
    if (f) {
      fence = f[1];
      continue;
    }
    const q = QUOTE.exec(lines[i]);
    if (!q) continue;
    const hash = q[1].lastIndexOf('#');
    const file = hash < 0 ? q[1] : q[1].slice(0, hash);
    const region = hash < 0 ? '' : q[1].slice(hash + 1);
    const options = new Map((q[2] ?? '').trim().split(/\s+/).filter(Boolean).map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] as const));
    const quote: Quote = { file, region, lines: options.get('lines') ?? null, quoted: null, line: i + 1, open: -1, close: -1 };
    for (const k of options.keys()) if (k !== 'lines') quote.unknownOption = k;
    const open = FENCE.exec(lines[i + 1] ?? '');
    if (open) {
      const mark = open[1];
      let j = i + 2;
      while (j < lines.length) {
        const c = FENCE.exec(lines[j]);
        if (c && c[1][0] === mark[0] && c[1].length >= mark.length && c[2].trim() === '') break;
        j++;
      }
      if (j < lines.length) {
        quote.open = i + 1;
        quote.close = j;
        quote.quoted = lines.slice(i + 2, j).join('\n');
        i = j;
      }
    }
    quotes.push(quote);
  }
  return quotes;
}

/** A file's text, read once per check. */
export type Reader = (file: string) => string | null;

function cachedReader(): Reader {
  const cache = new Map<string, string | null>();
  return (file) => {
    if (!cache.has(file)) {
      let text: string | null = null;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        text = null;
      }
      cache.set(file, text);
    }
    return cache.get(file)!;
  };
}

const show = (s: string | undefined) => (s === undefined ? '(nothing: the quote ends here)' : JSON.stringify(s));

/**
 * Parse a `lines=` option against a region of `total` lines: ascending,
 * non-overlapping 1-based ranges ("3-20,41-52"; "7" is one line).
 */
export function parseLines(spec: string, total: number): { ranges: [number, number][] } | { problem: string } {
  const ranges: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return { problem: `lines=${spec}: each part is N or N-M (1-based lines of the region), e.g. lines=3-20,41-52` };
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b < a) return { problem: `lines=${spec}: ${part} is not a range of lines (1-based, first ≤ last)` };
    if (b > total) return { problem: `lines=${spec}: the region has only ${total} lines` };
    if (ranges.length && a <= ranges[ranges.length - 1][1]) return { problem: `lines=${spec}: the ranges must be in order and must not overlap` };
    ranges.push([a, b]);
  }
  return { ranges };
}

/**
 * The kept lines of a region, with an elision line (indented like its
 * neighbour) for each gap. A gap of blank lines only is kept as it is:
 * `// …` for an empty line would hide nothing and mislead.
 */
export function elide(text: string, ranges: [number, number][]): string {
  const lines = text.split('\n');
  const indent = (l: string | undefined) => /^\s*/.exec(l ?? '')![0];
  const out: string[] = [];
  const gap = (from: number, to: number, near: string | undefined) => {
    const left = lines.slice(from - 1, to);
    if (left.every((l) => l.trim() === '')) out.push(...left);
    else out.push(indent(near) + ELISION);
  };
  let next = 1; // the first line not yet kept or elided
  for (const [a, b] of ranges) {
    if (a > next) gap(next, a - 1, lines[a - 1]);
    out.push(...lines.slice(a - 1, b));
    next = b + 1;
  }
  if (next <= lines.length) gap(next, lines.length, lines[ranges[ranges.length - 1][1] - 1]);
  return out.join('\n');
}

/** The visible line under a quote: the file (linked relative to the README), the region, the lines kept. */
export function caption(q: Pick<Quote, 'file' | 'region'>, readmeDir: string, repoRoot: string, part?: { ranges: [number, number][]; total: number }): string {
  const link = path.relative(readmeDir, path.resolve(repoRoot, q.file)).split(path.sep).join('/');
  let text = `*From [\`${q.file}\`](${link}), region \`${q.region}\``;
  if (part) {
    const kept = part.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
    const list = kept.length === 1 ? kept[0] : `${kept.slice(0, -1).join(', ')} and ${kept[kept.length - 1]}`;
    const one = kept.length === 1 && part.ranges[0][0] === part.ranges[0][1];
    text += `, ${one ? 'line' : 'lines'} ${list} of ${part.total} (\`${ELISION}\` marks lines left out)`;
  }
  return text + '*';
}

/** What a quote should hold, or the problem that stops us knowing. */
function resolveQuote(q: Quote, repoRoot: string, read: Reader, readmeDir: string): { text: string; caption: string } | { problem: string } {
  const r = resolveRegion(q, repoRoot, read);
  if ('problem' in r) return r;
  if (q.unknownOption) return { problem: `quote ${q.file}#${q.region}: unknown option ${q.unknownOption}= (the one option is lines=N-M,…)` };
  if (q.lines === null) return { text: r.text, caption: caption(q, readmeDir, repoRoot) };
  const total = r.text.split('\n').length;
  const p = parseLines(q.lines, total);
  if ('problem' in p) return { problem: `quote ${q.file}#${q.region}: ${p.problem}` };
  return { text: elide(r.text, p.ranges), caption: caption(q, readmeDir, repoRoot, { ranges: p.ranges, total }) };
}

/** A region's whole text, or the problem that stops us knowing. */
function resolveRegion(q: Quote, repoRoot: string, read: Reader): { text: string } | { problem: string } {
  const target = q.file ? `${q.file}#${q.region}` : '';
  if (!q.file || !q.region) return { problem: `quote "${target}" must name FILE#REGION, e.g. runtime/process/init.ts#pivot-root` };
  if (!NAME.test(q.region)) return { problem: `quote ${target}: a region name is [a-z0-9-]+` };
  const abs = path.resolve(repoRoot, q.file);
  if (path.isAbsolute(q.file) || !abs.startsWith(path.resolve(repoRoot) + path.sep)) {
    return { problem: `quote ${target}: the file must be a path inside the repository, relative to its root` };
  }
  const source = read(abs);
  if (source === null) return { problem: `quote ${target}: file ${q.file} not found` };
  const text = extractRegions(source).get(q.region);
  if (text === undefined) {
    const known = [...extractRegions(source).keys()];
    return { problem: `quote ${target}: ${q.file} has no region "${q.region}" (its regions: ${known.join(', ') || 'none'})` };
  }
  return { text };
}

/** The first difference between a quote and its source, described in one line. */
function firstDifference(q: Quote, readme: string, expected: string): Problem {
  const got = (q.quoted ?? '').split('\n');
  const want = expected.split('\n');
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  return {
    file: readme,
    line: q.line + 2 + i,
    message:
      `quote ${q.file}#${q.region} differs from the source at line ${i + 1} of the quote: ` +
      `the README has ${show(got[i])}, ${q.file} has ${show(want[i])} ` +
      `(run \`npx tsx chapters/quotes.ts --write\` to refresh the quote, then reread the prose around it)`,
  };
}

/** Marker problems of one source file, as Problems (file relative to repoRoot). */
export function checkMarkers(file: string, repoRoot: string, read: Reader = cachedReader()): Problem[] {
  const text = read(path.resolve(repoRoot, file));
  if (text === null) return [];
  return scanRegions(text).problems.map((p) => ({ file, line: p.line, message: p.message }));
}

/**
 * Check one chapter README: every quote must name an existing file and region
 * and hold its text exactly; the files it quotes must have sound markers.
 */
export function checkChapter(readmePath: string, repoRoot: string, read: Reader = cachedReader()): Problem[] {
  const readme = path.relative(process.cwd(), readmePath) || readmePath;
  const text = read(path.resolve(readmePath));
  if (text === null) return [{ file: readme, line: 1, message: 'file not found' }];
  const problems: Problem[] = [];
  const checkedFiles = new Set<string>();
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (const q of findQuotes(text)) {
    if (q.quoted === null) {
      problems.push({ file: readme, line: q.line, message: `quote ${q.file}#${q.region}: the comment must be followed at once by a fenced code block (\`\`\`ts … \`\`\`)` });
      continue;
    }
    const r = resolveQuote(q, repoRoot, read, path.dirname(path.resolve(readmePath)));
    if ('problem' in r) {
      problems.push({ file: readme, line: q.line, message: r.problem });
      continue;
    }
    if (!checkedFiles.has(q.file)) {
      checkedFiles.add(q.file);
      problems.push(...checkMarkers(q.file, repoRoot, read));
    }
    if (q.quoted !== r.text) problems.push(firstDifference(q, readme, r.text));
    const under = lines[q.close + 1];
    if (under !== r.caption) {
      problems.push({
        file: readme,
        line: q.close + 2,
        message: `quote ${q.file}#${q.region}: the line under the block must be its caption ${JSON.stringify(r.caption)}, found ${show(under)} (run \`npx tsx chapters/quotes.ts --write\`)`,
      });
    }
  }
  return problems;
}

/**
 * Rewrite every quote block of a Markdown text from its source, and the
 * caption under it. Returns the new text and the quotes that could not be
 * refreshed (missing file/region, a bad lines= option). `readme` is the
 * README's path (relative to the working directory, or absolute): captions
 * link to the source relative to its directory.
 */
export function rewriteQuotes(markdown: string, repoRoot: string, readme = 'README.md', read: Reader = cachedReader()): { text: string; problems: Problem[] } {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const problems: Problem[] = [];
  // Bottom-up, so earlier line numbers stay valid while we splice.
  for (const q of findQuotes(markdown).reverse()) {
    const r = resolveQuote(q, repoRoot, read, path.dirname(path.resolve(readme)));
    if ('problem' in r) {
      problems.unshift({ file: readme, line: q.line, message: r.problem });
      continue;
    }
    const body = r.text.split('\n');
    // The caption under the block: replaced if there is one, else added
    // (with a blank line after it when prose follows at once).
    const after = q.quoted === null ? q.line : q.close + 1;
    if (CAPTION.test(lines[after] ?? '')) lines.splice(after, 1, r.caption);
    else lines.splice(after, 0, r.caption, ...((lines[after] ?? '').trim() === '' ? [] : ['']));
    // A fence longer than any run of backticks in the code, at least three.
    const longest = Math.max(0, ...(r.text.match(/`+/g) ?? []).map((s) => s.length));
    if (q.quoted === null) {
      const mark = '`'.repeat(Math.max(3, longest + 1));
      lines.splice(q.line, 0, mark + 'ts', ...body, mark);
    } else {
      const f = FENCE.exec(lines[q.open])!;
      let mark = f[1];
      if (mark[0] === '`' && mark.length <= longest) mark = '`'.repeat(longest + 1);
      lines.splice(q.open, q.close - q.open + 1, mark + f[2], ...body, mark);
    }
  }
  return { text: lines.join('\n'), problems };
}

/** Source files under dir (relative to repoRoot) that may carry region markers. */
export function sourceFiles(repoRoot: string, dir = 'runtime'): string[] {
  const abs = path.join(repoRoot, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|c|h)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)))
    .sort();
}

// Every chapter README: chapters/NN-topic/README.md.
export function chapterReadmes(repoRoot: string): string[] {
  const dir = path.join(repoRoot, 'chapters');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => /^\d\d-/.test(d) && fs.existsSync(path.join(dir, d, 'README.md')))
    .sort()
    .map((d) => path.join(dir, d, 'README.md'));
}

/** The whole check the CLI runs: every chapter's quotes and every runtime file's markers. */
export function checkAll(repoRoot: string, readmes = chapterReadmes(repoRoot)): Problem[] {
  const read = cachedReader();
  const problems: Problem[] = [];
  for (const f of sourceFiles(repoRoot)) problems.push(...checkMarkers(f, repoRoot, read));
  const seen = new Set(problems.map(formatProblem));
  for (const r of readmes) {
    for (const p of checkChapter(r, repoRoot, read)) {
      if (!seen.has(formatProblem(p))) problems.push(p);
      seen.add(formatProblem(p));
    }
  }
  return problems;
}

/** The repository root: the nearest directory above this file with a package.json. */
export function findRepoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

function cli(argv: string[]): number {
  const write = argv.includes('--write');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--write');
  if (unknown.length > 0) {
    process.stderr.write(`unknown option ${unknown[0]}\nusage: tsx chapters/quotes.ts [--write] [README.md…]\n`);
    return 2;
  }
  const repoRoot = findRepoRoot();
  const given = argv.filter((a) => !a.startsWith('-')).map((a) => path.resolve(a));
  const readmes = given.length > 0 ? given : chapterReadmes(repoRoot);
  if (write) {
    const read = cachedReader();
    let changed = 0;
    const problems: Problem[] = [];
    for (const r of readmes) {
      const before = fs.readFileSync(r, 'utf8');
      const out = rewriteQuotes(before, repoRoot, path.relative(process.cwd(), r), read);
      problems.push(...out.problems);
      if (out.text !== before.replace(/\r\n/g, '\n')) {
        fs.writeFileSync(r, out.text);
        changed++;
        process.stdout.write(`rewrote quotes in ${path.relative(process.cwd(), r)}\n`);
      }
    }
    for (const f of sourceFiles(repoRoot)) problems.push(...checkMarkers(f, repoRoot, read));
    for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
    process.stdout.write(`${readmes.length} chapter(s), ${changed} rewritten, ${problems.length} problem(s) left\n`);
    return problems.length > 0 ? 1 : 0;
  }
  const problems = checkAll(repoRoot, readmes);
  for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
  const quotes = readmes.reduce((n, r) => n + findQuotes(fs.readFileSync(r, 'utf8')).length, 0);
  process.stdout.write(`${readmes.length} chapter(s), ${quotes} quote(s), ${problems.length} problem(s)\n`);
  return problems.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = cli(process.argv.slice(2));
}
