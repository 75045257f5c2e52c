// The shell patterns of ${v#p}, ${v%p} and ${v/p/r}: `*` any string, `?`
// one character, `\` makes `*`, `?` or `\` literal (and is dropped before
// `}` and `/`, which it only protected from ending the word). Unlike
// filepath.Match (glob.ts) there are no [classes] and `*` crosses '/'.
// Docker turns the pattern into a regular expression; so do we.

/** A failure inside the expander; words.ts wraps it with the word (ExpandError). */
export class ExpandFail extends Error {}

// Characters that mean something in a JavaScript regular expression.
const META = /[\\^$.*+?()[\]{}|/]/g;

// #region words-pattern
/**
 * The pattern as a regular expression. `greedy` picks the longest match
 * (## and %%) rather than the shortest; `anchored` ties it to the start.
 */
export function shellPatternRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = [...pattern];
  let re = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') re += greedy ? '[^\\n]*' : '[^\\n]*?'; // Go's `.*`, which stops at a newline
    else if (c === '?') re += '[^\\n]'; // Go's `.`: any character but a newline
    else if (c === '\\') {
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue; // the escape only kept the word open
      if (next !== '*' && next !== '?' && next !== '\\') {
        throw new ExpandFail(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? '\uFFFD'}'`);
      }
      re += '\\' + next;
      i++;
    } else re += c.replace(META, '\\$&');
  }
  return new RegExp(re, 'u');
}
// #endregion words-pattern

/** ${v#p} / ${v##p}: remove the shortest (longest) prefix matching p. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/**
 * ${v%p} / ${v%%p}: remove the shortest (longest) suffix matching p. A
 * regular expression finds the leftmost match, not the rightmost, so (as
 * Docker does) reverse both the pattern and the value and trim a prefix.
 */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
  return reversed;
}

function reverseString(s: string): string {
  return [...s].reverse().join('');
}

/** Reverse a pattern, keeping each `\x` pair in its order: `a\*c` → `c\*a`. */
function reversePattern(pattern: string): string {
  const chars = [...pattern];
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift('\\' + chars[i + 1]);
      i += 2;
    } else {
      out.unshift(chars[i]);
      i++;
    }
  }
  return out.join('');
}

/** ${v/p/r}: the first match replaced by r, literally. */
export function replaceFirst(re: RegExp, value: string, replacement: string): string {
  const m = re.exec(value);
  return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
}

/**
 * ${v//p/r}: every match replaced, as Go's Regexp.ReplaceAllString does it:
 * an empty match right after another match is skipped, and r is a Go
 * template, where `$$` is a `$` and `$name`/`${name}` (a group; there are
 * none here) is empty.
 */
export function replaceAll(re: RegExp, value: string, replacement: string): string {
  const g = new RegExp(re.source, 'gu');
  const text = goTemplate(replacement);
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= value.length) {
    g.lastIndex = search;
    const m = g.exec(value);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += value.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += text;
    lastEnd = end;
    // Always move on by at least one character.
    const width = search < value.length ? String.fromCodePoint(value.codePointAt(search)!).length : 1;
    search = search + width > end ? search + width : end;
  }
  return out + value.slice(lastEnd);
}

function goTemplate(template: string): string {
  return template.replace(/\$(\$|\{[A-Za-z0-9_]+\}|[A-Za-z0-9_]+)?/g, (all, ref: string | undefined) => {
    if (ref === undefined) return '$'; // a lone `$` stays
    return ref === '$' ? '$' : '';
  });
}
