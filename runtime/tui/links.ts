// Where a step points: the section of its chapter's README (by the anchor
// a Markdown viewer gives the heading) and the region of code it exercises
// (a `// #region NAME` of a source file, the regions the README quotes).
// Shown on the step's screen as text a terminal can follow: the heading,
// and the file with the region's line numbers.
//
// No Ink here: the book test checks every step's links with it.

export interface Heading {
  /** the heading's words, as written after the #s */
  text: string;
  /** GitHub's anchor for it, with the '#': "## Step 3: pivot_root" is #step-3-pivot_root */
  anchor: string;
  /** 1-based line in the README */
  line: number;
}

/** GitHub's anchor rule: lower case, punctuation dropped (- and _ kept), spaces to hyphens. */
export function anchorOf(text: string): string {
  const words = text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
  return `#${words}`;
}

/** The README's headings, outside code blocks; a repeated anchor gets -1, -2… as GitHub gives it. */
export function headings(markdown: string): Heading[] {
  const out: Heading[] = [];
  const seen = new Map<string, number>();
  let fenced = false;
  for (const [i, line] of markdown.split('\n').entries()) {
    if (/^```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = anchorOf(m[1].trim());
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push({ text: m[1].trim(), anchor: n ? `${base}-${n}` : base, line: i + 1 });
  }
  return out;
}

/** The lines of `// #region NAME` … `// #endregion NAME` in a source file (1-based, the markers included), or null. */
export function regionLines(source: string, name: string): { start: number; end: number } | null {
  const lines = source.split('\n');
  const marker = (kind: string) => (l: string) => new RegExp(`^\\s*//\\s*#${kind}\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`).test(l);
  const start = lines.findIndex(marker('region'));
  if (start < 0) return null;
  const end = lines.findIndex((l, i) => i > start && marker('endregion')(l));
  return end < 0 ? null : { start: start + 1, end: end + 1 };
}

/** "runtime/process/init.ts#pivot-root" as its file and region. */
export function splitCode(code: string): { file: string; region: string } {
  const hash = code.lastIndexOf('#');
  return { file: code.slice(0, hash), region: code.slice(hash + 1) };
}

/**
 * A step's links as the screen shows them: "§ Step 3: pivot_root" and
 * "runtime/process/init.ts:120-171 (region pivot-root)"; a link that
 * does not resolve says so rather than pointing nowhere.
 */
export function describeLinks(step: { section?: string; code?: string }, readme: string, read: (file: string) => string | null): string[] {
  const out: string[] = [];
  if (step.section) {
    const h = headings(readme).find((x) => x.anchor === step.section);
    out.push(h ? `§ ${h.text.replace(/`/g, '')}` : `§ ${step.section} (no such heading in the README)`);
  }
  if (step.code) {
    const { file, region } = splitCode(step.code);
    const text = read(file);
    const at = text === null ? null : regionLines(text, region);
    out.push(at ? `code: ${file}:${at.start}-${at.end} (region ${region})` : `code: ${step.code} (no such region)`);
  }
  return out;
}
