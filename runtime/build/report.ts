// How a Dockerfile's mistakes are shown: the message, then the file, the
// line, and the lines around it with the culprit marked, as `docker build
// --check` (and BuildKit's errors) print them.
import type { DockerfileError, Warning } from './ast.js';

// #region snippet
/** The lines of the instruction, two before it, marked `>>>`. */
export function snippet(text: string, file: string, line: number, endLine = line): string {
  const lines = text.split('\n');
  const from = Math.max(1, line - 2);
  const to = Math.min(lines.length, Math.max(endLine, line));
  const width = String(to).length;
  const body = [];
  for (let n = from; n <= to; n++) body.push(` ${String(n).padStart(width + 2)} | ${n >= line && n <= endLine ? '>>> ' : '    '}${lines[n - 1] ?? ''}`);
  return [`${file}:${line}${endLine > line ? `-${endLine}` : ''}`, '--------------------', ...body, '--------------------'].join('\n');
}
// #endregion snippet

/**
 * A parse error: the classic builder's line ("dockerfile parse error line
 * 3: unknown instruction: RUNN"), then where it is.
 */
export function parseErrorReport(e: DockerfileError, text: string): string {
  if (!e.where || e.where.line < 1) return `Error response from daemon: dockerfile parse error: ${e.message}`;
  return `Error response from daemon: dockerfile parse error line ${e.where.line}: ${e.message}\n${snippet(text, e.where.file, e.where.line, e.where.endLine)}`;
}

/** `docker build --check`'s report: the count, then each warning with its rule's page and its lines. */
export function checkReport(warnings: Warning[], text: string): string {
  if (!warnings.length) return 'Check complete, no warnings found.\n';
  const kebab = (rule: string) => rule.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  const parts = warnings.map((w) => `WARNING: ${w.rule} - https://docs.docker.com/go/dockerfile/rule/${kebab(w.rule)}/\n${w.message}\n${snippet(text, w.file, w.line, w.endLine)}\n`);
  return `Check complete, ${warnings.length} warning${warnings.length > 1 ? 's have' : ' has'} been found!\n\n${parts.join('\n')}`;
}
