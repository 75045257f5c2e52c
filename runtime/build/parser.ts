// The first step of the Dockerfile's front end: text → lines → instructions.
// Nothing here knows what ENV or COPY mean; it knows where an instruction
// starts and ends (comments, continuations, heredocs), its keyword, its
// --flags and the rest of its line. instructions.ts reads the arguments.
//
// The rules are Docker's (moby/buildkit frontend/dockerfile/parser), so a
// Dockerfile that Docker reads one way is read the same way here, including
// the odd corners: a comment inside a continuation is dropped, a blank line
// inside one is dropped with a warning, and the escape character is `\`
// unless the first lines say `# escape=\``.
import { DockerfileError, type Directives, type Heredoc, type ParsedDockerfile, type RawInstruction, type Warning } from './ast.ts';
import { distance, splitFlags, words } from './words-split.ts';

/** Every instruction Docker knows, in a fixed order (the "did you mean" search walks it). */
export const INSTRUCTIONS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
];
/** The instructions whose argument may be a JSON array (Docker's parseMaybeJSON / parseMaybeJSONToList). */
const MAYBE_JSON = new Set(['ADD', 'CMD', 'COPY', 'ENTRYPOINT', 'RUN', 'SHELL', 'VOLUME']);
/** Only these read heredocs; elsewhere `<<EOF` is just text. */
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

// #region directives
/**
 * Parser directives: `# name=value` comments, read only while every line so
 * far has been one. The first line that is anything else (an instruction, a
 * blank line, an ordinary comment, an unknown directive) ends them for good,
 * which is why `# escape=` further down is only a comment.
 */
class DirectiveReader {
  done = false;
  readonly seen = new Set<string>();
  readonly directives: Directives = { escape: '\\' };

  /** true when the line was a directive; throws Docker's message for a repeated or bad one */
  read(line: string): boolean {
    if (this.done) return false;
    const m = line.startsWith('#') ? /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(line.slice(1).trimStart()) : null;
    const name = m?.[1].toLowerCase();
    if (!m || (name !== 'syntax' && name !== 'escape' && name !== 'check')) {
      this.done = true;
      return false;
    }
    if (this.seen.has(name)) throw new Error(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const value = m[2];
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw new Error(`invalid escape token '${value}' does not match \` or \\`);
      this.directives.escape = value;
    } else this.directives[name] = value;
    return true;
  }
}
// #endregion directives

// #region lines
const isComment = (line: string) => line.trimStart().startsWith('#');

/**
 * A line ending in the escape character (spaces after it allowed) continues
 * on the next line. An escaped escape (`\\` at the end) does not: Docker's
 * rule is "the escape not preceded by another escape", which also covers a
 * line that is nothing but the escape.
 */
function trimContinuation(line: string, escape: string): { text: string; more: boolean } {
  const e = escape === '\\' ? '\\\\' : escape;
  const re = new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
  if (!re.test(line)) return { text: line, more: false };
  return { text: line.replace(re, '$1'), more: true };
}
// #endregion lines

export function suggestInstruction(word: string): string | null {
  let best: string | null = null;
  let min = 3;
  for (const name of INSTRUCTIONS) {
    const d = distance(word.toUpperCase(), name);
    if (d < min) [best, min] = [name, d];
  }
  if (best === null) return null;
  // Docker answers in the casing the user wrote: `form` → `from`
  return word === word.toUpperCase() ? best : best.toLowerCase();
}

/** `["a","b"]` as Docker reads it: null when it is not a JSON array; an error when it is one of non-strings. */
function parseJsonArray(rest: string): string[] | null {
  if (!rest.startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(rest);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  if (!value.every((v) => typeof v === 'string')) throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
  return value;
}

// #region heredoc-words
/**
 * The heredocs a line opens: each word of the form `<<NAME`, `<<-NAME`,
 * `<<'NAME'` or `<<"NAME"` (optionally after a file descriptor, `3<<EOF`).
 * A quoted name means "do not expand $vars in the content", as in sh.
 */
export function heredocWord(word: string): Omit<Heredoc, 'content'> | null {
  const m = /^(\d*)<<(-?)\s*([^<]*)$/.exec(word);
  if (!m || m[3] === '') return null;
  const raw = m[3];
  const name = raw.replace(/'([^']*)'|"([^"]*)"/g, (_, a, b) => a ?? b);
  if (name === '' || /\s/.test(name)) return null;
  return { name, expand: !/['"]/.test(raw), chomp: m[2] === '-' };
}
// #endregion heredoc-words

/** The keyword an ONBUILD trigger (or the instruction itself) decides heredocs by. */
function heredocKeyword(keyword: string, rest: string): string {
  return keyword === 'ONBUILD' ? (rest.split(/\s+/)[0] ?? '').toUpperCase() : keyword;
}

interface Source {
  lines: string[];
  file: string;
  /** added to every 1-based line number (ONBUILD triggers keep their ONBUILD's line) */
  offset: number;
}

/**
 * Reads instructions from the lines. `reader` is null when the text cannot
 * have directives (an ONBUILD trigger), and then `escape` is fixed.
 */
function scan(src: Source, reader: DirectiveReader | null, escape: () => '\\' | '`'): { instructions: RawInstruction[]; warnings: Warning[] } {
  const { lines, file } = src;
  const instructions: RawInstruction[] = [];
  const warnings: Warning[] = [];
  const at = (line: number, endLine = line) => ({ file, line: line + src.offset, endLine: endLine + src.offset });
  let i = 0;
  // A directive's error names the directive's own line.
  const readDirective = (line: string, n: number) => {
    try {
      return reader?.read(line) ?? false;
    } catch (err) {
      throw new DockerfileError((err as Error).message, at(n), line);
    }
  };

  while (i < lines.length) {
    // #region continuation
    // An instruction's first line: leading whitespace does not count, a
    // directive (only possible at the top) or a comment is skipped whole.
    const first = lines[i].trimStart();
    i++;
    const startLine = i;
    if (readDirective(first, i)) continue;
    if (isComment(first)) continue;
    let { text, more } = trimContinuation(first, escape());
    if (!more && text.trim() === '') continue;
    let joined = text;
    let emptyContinuation = false;
    while (more && i < lines.length) {
      const next = lines[i];
      i++;
      // A comment line inside a continuation is dropped whole: it neither
      // ends the instruction nor adds to it (Docker strips comments before
      // it looks for the escape at the end of the line).
      if (isComment(next)) continue;
      // So is a blank one, but Docker warns: it will become an error.
      if (next.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      ({ text, more } = trimContinuation(next, escape()));
      joined += text;
    }
    // #endregion continuation
    const where = at(startLine, i);
    if (emptyContinuation) {
      warnings.push({ ...at(i), rule: 'NoEmptyContinuation', message: 'Empty continuation line' });
    }

    const raw = splitInstruction(joined, where, escape());
    // #region heredocs
    if (HEREDOC_INSTRUCTIONS.has(heredocKeyword(raw.keyword, raw.rest)) && raw.json === null && joined.includes('<<')) {
      for (const word of words(joined, '\\')) {
        const doc = heredocWord(word);
        if (!doc) continue;
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const line = lines[i];
          i++;
          // <<-EOF allows the terminator to be indented with tabs, as in sh
          if ((doc.chomp ? line.replace(/^\t+/, '') : line) === doc.name) {
            terminated = true;
            break;
          }
          content += line + '\n';
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', at(startLine, i), joined);
        raw.heredocs.push({ ...doc, content });
      }
      raw.endLine = i + src.offset;
    }
    // #endregion heredocs
    instructions.push(raw);
  }
  return { instructions, warnings };
}

// #region split
/** One joined line → keyword, flags, rest, and the exec form when there is one. */
function splitInstruction(line: string, where: { file: string; line: number; endLine: number }, escape: '\\' | '`'): RawInstruction {
  const trimmed = line.trim();
  const [word, after = ''] = trimmed.split(/[\t\v\f\r ]+(.*)/s);
  const keyword = word.toUpperCase();
  const fail = (message: string): never => {
    throw new DockerfileError(message, where, trimmed);
  };
  if (!INSTRUCTIONS.includes(keyword)) {
    const hint = suggestInstruction(word);
    fail(`unknown instruction: ${word}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  const { flags, rest } = splitFlags(after, escape);
  let json: string[] | null = null;
  if (MAYBE_JSON.has(keyword)) {
    try {
      json = parseJsonArray(rest);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  return {
    ...where,
    keyword,
    original: trimmed,
    flags: flags.map((f) => {
      const eq = f.indexOf('=');
      return eq < 0 ? { name: f.slice(2), value: null } : { name: f.slice(2, eq), value: f.slice(eq + 1) };
    }),
    rest,
    json,
    heredocs: [],
  };
}
// #endregion split

const splitLines = (text: string) => {
  const lines = text.replace(/^\uFEFF/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

/** The whole Dockerfile: directives, then its instructions. Throws DockerfileError with Docker's message. */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const reader = new DirectiveReader();
  const lines = splitLines(text);
  const { instructions, warnings } = scan({ lines, file, offset: 0 }, reader, () => reader.directives.escape);
  if (instructions.length === 0) {
    throw new DockerfileError('file with no instructions', { file, line: lines.length, endLine: lines.length });
  }
  return { directives: reader.directives, instructions, warnings };
}

/**
 * One instruction from its text: an ONBUILD trigger when the child image is
 * built (its heredocs, if any, follow on the next lines). `line` is where
 * the ONBUILD was, so an error points there.
 */
export function parseInstructionLine(text: string, file: string, line: number, escape: '\\' | '`'): RawInstruction {
  const { instructions } = scan({ lines: splitLines(text), file, offset: line - 1 }, null, () => escape);
  if (instructions.length !== 1) {
    throw new DockerfileError(instructions.length === 0 ? 'file with no instructions' : 'expected one instruction', { file, line, endLine: line }, text);
  }
  const raw = instructions[0];
  return { ...raw, line, endLine: Math.max(line, raw.endLine) };
}
