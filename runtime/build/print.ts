// The parser run backwards: a ParsedDockerfile as text that parses back to
// the same instructions (keyword, flags, rest, exec form, heredocs). The
// round trip is the parser's test: whatever the printer has to quote is
// something the parser must read back exactly.
import type { Directives, ParsedDockerfile, RawInstruction } from './ast.ts';

// #region print
/** A flag word: quoted when its value holds a space, a quote or the escape character. */
function printFlag(f: RawInstruction['flags'][number], escape: string): string {
  if (f.value === null) return `--${f.name}`;
  if (!/[\s"'`\\]/.test(f.value) && f.value !== '') return `--${f.name}=${f.value}`;
  // Inside double quotes the escape character keeps the next character as it is.
  const body = [...f.value].map((ch) => (ch === '"' || ch === escape ? escape + ch : ch)).join('');
  return `--${f.name}="${body}"`;
}

function printDirectives(d: Directives): string {
  let out = '';
  if (d.syntax !== undefined) out += `# syntax=${d.syntax}\n`;
  if (d.escape !== '\\') out += `# escape=${d.escape}\n`;
  if (d.check !== undefined) out += `# check=${d.check}\n`;
  return out;
}

export function printInstruction(i: RawInstruction, escape: string): string {
  const parts = [i.keyword, ...i.flags.map((f) => printFlag(f, escape))];
  // A rest that starts with `--` would be read as a flag: `--` ends the flags first.
  if (i.rest.startsWith('--')) parts.push('--');
  if (i.rest !== '') parts.push(i.rest);
  let out = parts.join(' ') + '\n';
  for (const h of i.heredocs) out += h.content + h.name + '\n';
  return out;
}

export function printDockerfile(d: ParsedDockerfile): string {
  return printDirectives(d.directives) + d.instructions.map((i) => printInstruction(i, d.directives.escape)).join('');
}
// #endregion print
