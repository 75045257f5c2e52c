// Go's filepath.Match, which Docker uses for COPY and ADD sources: the
// source `src/*.ts` is matched against each path of the build context
// (relative to its root), and `*` stops at `/`, so `src/*.ts` does not
// reach into src/lib/. The same function checks .dockerignore patterns for
// syntax before they are used (dockerignore.ts).
//
// The grammar (Go's documentation of path/filepath.Match):
//   pattern: { term }
//   term:    '*'         any run of characters except '/'
//            '?'         one character except '/'
//            '[' [ '^' ] { range } ']'   one character of a class
//            '\' c       the character c
//            c           itself
//   range:   c  |  lo '-' hi
// There is no `**` here: that is .dockerignore's own extension.

/** Go's filepath.ErrBadPattern: the pattern itself is malformed. */
export class PatternError extends Error {
  constructor(message = 'syntax error in pattern') {
    super(message);
  }
}

const SEP = '/';

// #region glob-chunks
// Go splits a pattern into chunks, each a run of non-star terms with
// whether a `*` came before it. A chunk is matched at one place; a starred
// chunk may also be tried further along the name, but never past a '/'.
interface Chunk {
  star: boolean;
  terms: string[]; // the chunk's characters, one code point each
}

function splitChunks(pattern: string[]): Chunk[] {
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < pattern.length) {
    let star = false;
    while (i < pattern.length && pattern[i] === '*') {
      star = true;
      i++;
    }
    // The chunk runs to the next '*' that is not inside [...]; '\' hides the
    // character after it.
    const start = i;
    let inClass = false;
    for (; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === '\\') {
        if (i + 1 < pattern.length) i++;
      } else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '*' && !inClass) break;
    }
    chunks.push({ star, terms: pattern.slice(start, i) });
  }
  return chunks;
}

/**
 * Match one chunk at the start of `name` (from index `at`). Returns the index
 * after the match, or -1. Like Go it reads the whole chunk even after a
 * mismatch, so a malformed class is reported whatever the name is.
 */
function matchChunk(terms: string[], name: string[], at: number): number {
  let failed = false;
  let s = at;
  let t = 0;
  while (t < terms.length) {
    if (!failed && s >= name.length) failed = true;
    const c = terms[t];
    if (c === '[') {
      const r = failed ? '' : name[s++];
      t++;
      let negated = false;
      if (terms[t] === '^') {
        negated = true;
        t++;
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (terms[t] === ']' && ranges > 0) {
          t++;
          break;
        }
        let lo: string;
        [lo, t] = classChar(terms, t);
        let hi = lo;
        if (terms[t] === '-') [hi, t] = classChar(terms, t + 1);
        const cp = r === '' ? -1 : r.codePointAt(0)!;
        if (lo.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed && name[s++] === SEP) failed = true;
      t++;
    } else {
      if (c === '\\') {
        t++;
        if (t >= terms.length) throw new PatternError(); // a '\' with nothing to escape
      }
      if (!failed && terms[t] !== name[s++]) failed = true;
      t++;
    }
  }
  return failed ? -1 : s;
}

/** One character of a [...] class: '\' escapes; '-' and ']' may not start a range; the class must be closed. */
function classChar(terms: string[], t: number): [string, number] {
  let c = terms[t];
  if (c === undefined || c === '-' || c === ']') throw new PatternError();
  if (c === '\\') {
    t++;
    c = terms[t];
    if (c === undefined) throw new PatternError();
  }
  t++;
  if (t >= terms.length) throw new PatternError(); // "[a" never closes
  return [c, t];
}
// #endregion glob-chunks

// #region glob-match
/**
 * Go's filepath.Match(pattern, name) on Linux. Throws PatternError
 * ("syntax error in pattern") for a malformed pattern, whatever the name.
 */
export function matchPattern(pattern: string, name: string): boolean {
  const chunks = splitChunks([...pattern]);
  const chars = [...name];
  let pos = 0;
  for (let k = 0; k < chunks.length; k++) {
    const { star, terms } = chunks[k];
    const last = k === chunks.length - 1;
    // A trailing '*' takes the rest of the name, unless that crosses a '/'.
    if (star && terms.length === 0) return !chars.slice(pos).includes(SEP);
    // First try the chunk right here; the last chunk must also use up the name.
    const end = matchChunk(terms, chars, pos);
    if (end >= 0 && (end === chars.length || !last)) {
      pos = end;
      continue;
    }
    // After a '*', try the chunk one character further on each time: the
    // star swallows those characters, but never a '/'.
    let found = -1;
    if (star) {
      for (let i = pos; i < chars.length && chars[i] !== SEP; i++) {
        const e = matchChunk(terms, chars, i + 1);
        if (e >= 0 && !(last && e < chars.length)) {
          found = e;
          break;
        }
      }
    }
    if (found >= 0) {
      pos = found;
      continue;
    }
    // No match: still check that the rest of the pattern is well formed, so a
    // bad pattern is an error for every name, as Go reports it.
    for (const later of chunks.slice(k + 1)) matchChunk(later.terms, [], 0);
    return false;
  }
  return pos === chars.length;
}
// #endregion glob-match

/** Throw PatternError if `pattern` is malformed (Go's check: filepath.Match(pattern, ".")). */
export function checkPattern(pattern: string): void {
  matchPattern(pattern, '.');
}
