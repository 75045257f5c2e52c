// .dockerignore: which files of the build context are left out before the
// context is handed to the builder. Docker's CLI reads the file
// (docker-cli's ignorefile.ReadAll), compiles each line (moby's
// patternmatcher) and drops every matching path while it packs the context
// (go-archive's TarWithOptions); COPY . then never sees them.
//
// The rules, as Docker applies them:
//  - a line starting with `#` is a comment; blank lines are skipped; each
//    line is trimmed, cleaned like a path (`a/./b/` is `a/b`), and a leading
//    `/` is dropped: every pattern is relative to the context's root;
//  - `*` and `?` do not cross `/`, `[a-z]` is a class, `\` escapes;
//    `**` matches any number of directories (`**/*.go`, `logs/**`);
//  - a pattern that matches a directory excludes everything under it;
//  - `!pattern` re-includes what it matches; the LAST matching line wins.

import { checkPattern, PatternError } from './glob.js';

export { PatternError };

/** One compiled line of a .dockerignore. */
export interface Pattern {
  /** the cleaned pattern, without its `!` */
  readonly text: string;
  /** a `!` line: re-include what it matches */
  readonly exclusion: boolean;
  /** how many path components the pattern has (a/b/* has 3) */
  readonly depth: number;
  /** the pattern compiled; see compile() */
  readonly test: (path: string) => boolean;
}

/** Go's filepath.Clean for '/'-separated paths: no `.`, no `x/..`, no doubled or trailing `/`. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..'); // `/..` is `/`
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return rooted ? '/' + joined : joined === '' ? '.' : joined;
}

const trimSpace = (s: string) => s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');

// #region dockerignore-parse
/** The lines of a .dockerignore as Docker compiles them. Throws PatternError for a malformed line. */
export function parseDockerignore(text: string): Pattern[] {
  const patterns: Pattern[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
    // The `#` must be the first character: "  # x" is a pattern, not a comment.
    if (raw.startsWith('#')) continue;
    let p = trimSpace(raw);
    if (p === '') continue;
    const exclusion = p.startsWith('!');
    if (exclusion) p = trimSpace(p.slice(1));
    if (exclusion && p === '') throw new PatternError('illegal exclusion pattern: "!"');
    p = cleanPath(p);
    // "/etc/passwd" in .dockerignore means the context's etc/passwd.
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    checkPattern(p); // Go's filepath.Match syntax check
    patterns.push({ text: p, exclusion, depth: p.split('/').length, test: compile(p) });
  }
  return patterns;
}
// #endregion dockerignore-parse

// #region dockerignore-compile
/**
 * A pattern as a test on a path. Like patternmatcher, `**` becomes "any
 * directories" and the rest a regular expression where `*` and `?` stay
 * inside one path component; a pattern with no wildcard is compared as is,
 * and `x/**` and `**\/x` are the prefix and suffix tests they amount to.
 */
function compile(pattern: string): (path: string) => boolean {
  const chars = [...pattern];
  let re = '^';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*' && !inClass) {
      if (chars[i + 1] === '*') {
        const at = i;
        i++;
        if (chars[i + 1] === '/') i++; // `**/` swallows its slash: `**/a` matches `a` too
        if (i + 1 >= chars.length) {
          // `**` at the end: everything below
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '[^\\n]*';
            kind = 'regexp';
          }
        } else {
          re += '(?:[^\\n]*/)?';
          kind = 'regexp';
        }
        if (at === 0) kind = 'suffix'; // `**/x`: a test on the end of the path
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (c === '?' && !inClass) {
      re += '[^/]';
      kind = 'regexp';
    } else if (c === '\\') {
      if (i + 1 < chars.length) {
        re += literal(chars[++i], inClass);
        kind = 'regexp';
      } else re += '\\\\';
    } else if (c === '[' && !inClass) {
      inClass = true;
      re += '[';
      kind = 'regexp';
    } else if (c === ']' && inClass) {
      inClass = false;
      re += ']';
    } else if (c === '^' && inClass) {
      re += '^'; // [^a]: a negated class, as in filepath.Match
    } else if (c === '-' && inClass) {
      re += '-';
    } else re += literal(c, inClass);
  }
  if (kind === 'exact') return (path) => path === pattern;
  if (kind === 'prefix') {
    const prefix = pattern.slice(0, -2);
    return (path) => path.startsWith(prefix);
  }
  if (kind === 'suffix') {
    const suffix = pattern.slice(2);
    return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
  }
  const regex = new RegExp(re + '$', 'u');
  return (path) => regex.test(path);
}
// #endregion dockerignore-compile

function literal(c: string, inClass: boolean): string {
  if (/[\\^$.*+?()[\]{}|/]/.test(c) || (inClass && c === '-')) return '\\' + c;
  return c;
}

// #region dockerignore-match
/**
 * One step of Docker's walk (patternmatcher's MatchesUsingParentResults):
 * is `path` excluded, given which patterns matched its parent directory? A
 * pattern that matched the parent matches the child too (a directory's
 * exclusion covers its content); the others are tried on the path itself.
 * Lines are read in order and the last one that matches decides; a line
 * that could not change the answer so far is not even tried.
 */
function step(patterns: Pattern[], path: string, parent: boolean[]): { excluded: boolean; matched: boolean[] } {
  let excluded = false;
  const matched: boolean[] = patterns.map(() => false);
  patterns.forEach((p, i) => {
    let match = parent[i];
    if (!match) {
      if (p.exclusion !== excluded) return;
      match = p.test(path);
    }
    matched[i] = match;
    if (match) excluded = !p.exclusion;
  });
  return { excluded, matched };
}

/**
 * Is relPath ('/'-separated, relative to the context root) left out of the
 * context? The answer Docker's walk gives, directory by directory, from the
 * top down to relPath.
 */
export function isIgnored(patterns: Pattern[], relPath: string): boolean {
  const path = cleanPath(relPath);
  if (path === '.' || patterns.length === 0) return false;
  // The walk starts at the top, where nothing has matched yet.
  let parent: boolean[] = patterns.map(() => false);
  let excluded = false;
  for (const dir of [...ancestors(path), path]) {
    ({ excluded, matched: parent } = step(patterns, dir, parent));
  }
  return excluded;
}

/** a/b/c → [a, a/b] */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Must a walker look inside the excluded directory relDir? Only if some `!`
 * line names a path under it: Docker compares the text of each `!` pattern
 * with the directory's path, so `!dir/keep` opens `dir`, but `!**\/keep`
 * does not (a known limit of Docker's, kept here so the same files are sent).
 */
export function dirMayHaveExceptions(patterns: Pattern[], relDir: string): boolean {
  const dirSlash = cleanPath(relDir) + '/';
  return patterns.some((p) => p.exclusion && (p.text + '/').startsWith(dirSlash));
}
// #endregion dockerignore-match

/**
 * The Dockerfile and the .dockerignore are always sent, even when a line
 * excludes them (docker-cli re-includes them: the builder needs to read
 * them; it does not copy them into the image unless a COPY names them).
 */
export function keepBuildFiles(patterns: Pattern[], dockerfile: string): Pattern[] {
  const out = [...patterns];
  for (const name of ['.dockerignore', cleanPath(dockerfile)]) {
    if (matchesPlain(out, name)) {
      out.push({ text: name, exclusion: true, depth: name.split('/').length, test: compile(name) });
    }
  }
  return out;
}

/** patternmatcher's Matches: a pattern of n components is also tried on the path's first n-1... components. */
function matchesPlain(patterns: Pattern[], path: string): boolean {
  let excluded = false;
  const parents = path.split('/').slice(0, -1);
  for (const p of patterns) {
    if (p.exclusion !== excluded) continue;
    let match = p.test(path);
    if (!match && parents.length > 0 && p.depth <= parents.length) match = p.test(parents.slice(0, p.depth).join('/'));
    if (match) excluded = !p.exclusion;
  }
  return excluded;
}
