// A chapter's README as lines a terminal can show: headings, paragraphs
// wrapped to the width, code blocks as they are, tables with aligned
// columns. Just enough Markdown for the book's own chapters; HTML comments
// (the quote markers) are left out.
import { anchorOf } from './links.js';

export type ProseKind = 'h1' | 'h2' | 'text' | 'code' | 'table' | 'blank';
export interface ProseLine {
  kind: ProseKind;
  text: string;
  /** a heading's anchor ('#6-pivot_root-and-why-not-chroot'): where a step's `section` opens the text */
  anchor?: string;
}

/** Inline Markdown a terminal cannot show: links keep their words, emphasis marks go. */
function inline(s: string): string {
  return s
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/(^|\W)[*_]([^*_]+)[*_](?=\W|$)/g, '$1$2');
}

/** Words wrapped to `width` columns (a word longer than the width gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function table(rows: string[], width: number): ProseLine[] {
  const cells = rows
    .filter((r) => !/^\s*\|?\s*:?-{2,}/.test(r))
    .map((r) => r.trim().replace(/^\||\|$/g, '').split('|').map((c) => inline(c.trim())));
  const cols = Math.max(...cells.map((r) => r.length));
  const w = Array.from({ length: cols }, (_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r, k) => ({
    kind: k === 0 ? 'h2' : 'table',
    text: r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd().slice(0, Math.max(width, 20)),
  }));
}

export function renderProse(markdown: string, width: number): ProseLine[] {
  const src = markdown.replace(/<!--[\s\S]*?-->/g, '').split('\n');
  const out: ProseLine[] = [];
  let para: string[] = [];
  const seen = new Map<string, number>();
  const flush = () => {
    if (para.length) for (const l of wrap(inline(para.join(' ')), width)) out.push({ kind: 'text', text: l });
    if (para.length) out.push({ kind: 'blank', text: '' });
    para = [];
  };
  for (let i = 0; i < src.length; i++) {
    const line = src[i];
    if (/^```/.test(line)) {
      flush();
      for (i++; i < src.length && !/^```/.test(src[i]); i++) out.push({ kind: 'code', text: '  ' + src[i] });
      out.push({ kind: 'blank', text: '' });
    } else if (/^#{1,6} /.test(line)) {
      flush();
      // numbered as links.ts's headings() numbers a repeated heading
      const base = anchorOf(line.replace(/^#+ /, '').trim());
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.push({ kind: line.startsWith('# ') ? 'h1' : 'h2', text: inline(line.replace(/^#+ /, '')), anchor: n ? `${base}-${n}` : base });
      out.push({ kind: 'blank', text: '' });
    } else if (/^\s*\|/.test(line)) {
      flush();
      const rows: string[] = [];
      for (; i < src.length && /^\s*\|/.test(src[i]); i++) rows.push(src[i]);
      i--;
      out.push(...table(rows, width), { kind: 'blank', text: '' });
    } else if (/^( {4}|\t)/.test(line) && para.length === 0) {
      out.push({ kind: 'code', text: line.replace(/^\t/, '    ') });
    } else if (/^\s*([-*]|\d+\.) /.test(line)) {
      flush();
      para = [line.trim()];
    } else if (line.trim() === '') flush();
    else para.push(line.trim());
  }
  flush();
  while (out.at(-1)?.kind === 'blank') out.pop();
  return out;
}
