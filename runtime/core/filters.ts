// Docker's --filter/-f (`ps`, `images`): the flag's `key=value` pairs as
// the docker CLI reads them (opts.FilterOpt) and the daemon matches them
// (api/types/filters). Values of one key form a set; what a set means is
// the key's: most keys match when ANY of their values does (`status=exited
// -f status=created`), `label` only when ALL do. Different keys must all
// hold. `name`, `id` and `status` are regular expressions matched anywhere
// in the value (Go's regexp: `name=web` finds "myweb1"); `reference` on
// images is a shell-like glob (Go's path.Match).
import { RunError } from './pipeline.js';

/** The values given for each key (lower-cased, as the CLI lower-cases it). */
export type Filters = Map<string, Set<string>>;

// #region filter-flag
/**
 * The docker CLI's FilterOpt.Set, once per -f: an empty value is nothing;
 * no "=" is a bad flag value (exit 125, like any bad flag); the key is
 * trimmed and lower-cased, the value trimmed.
 */
export function parseFilters(values: string[], command: string): Filters {
  const out: Filters = new Map();
  for (const v of values) {
    if (v === '') continue;
    const at = v.indexOf('=');
    if (at < 0) {
      throw new RunError(125, `invalid argument ${JSON.stringify(v)} for "-f, --filter" flag: bad format of filter (expected name=value)\nSee 'dockling ${command} --help'.`);
    }
    const key = v.slice(0, at).trim().toLowerCase();
    const value = v.slice(at + 1).trim();
    if (!out.has(key)) out.set(key, new Set());
    out.get(key)!.add(value);
  }
  return out;
}
// #endregion filter-flag

/**
 * The daemon's check, before anything is listed: a key it does not know is
 * refused ("invalid filter 'bogus'", the wording of Docker 23 and later;
 * dockerd 20.10 capitalised it: "Invalid filter").
 */
export function validateFilters(f: Filters, accepted: readonly string[]): void {
  for (const key of f.keys()) if (!accepted.includes(key)) throw daemonError(`invalid filter '${key}'`);
}

/** An error the daemon answers with: the docker CLI prints it so, and exits 1. */
export const daemonError = (message: string, cause?: unknown) => new RunError(1, `Error response from daemon: ${message}`, { cause });

/** The values of a key ([] when it is not given). */
export const valuesOf = (f: Filters, key: string): string[] => [...(f.get(key) ?? [])];

/**
 * Go's regexp.MatchString, as far as JavaScript's RegExp agrees with it;
 * null for a pattern it cannot compile. Go's spellings that JavaScript
 * lacks are translated: leading flags `(?i)` (also s, m, U is not), `\A`
 * and `\z` (start and end of text), `(?P<name>…)` groups.
 */
export function regexpMatches(pattern: string, s: string): boolean | null {
  const flags = /^\(\?([ims]+)\)/.exec(pattern);
  const body = (flags ? pattern.slice(flags[0].length) : pattern)
    .replace(/(^|[^\\])\\A/g, '$1^')
    .replace(/(^|[^\\])\\z/g, '$1(?![\\s\\S])')
    .replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(body, flags ? [...new Set(flags[1])].join('') : '').test(s);
  } catch {
    return null;
  }
}

/**
 * filters.Args.Match: true when the key is not given, or a value equals the
 * source, or a value as a regular expression matches in it (one that does
 * not compile matches nothing).
 */
export function matches(f: Filters, key: string, source: string): boolean {
  const values = f.get(key);
  if (!values || values.size === 0 || values.has(source)) return true;
  for (const v of values) if (regexpMatches(v, source)) return true;
  return false;
}

/** filters.Args.ExactMatch: the key not given, or one value is the source exactly. */
export function exactMatches(f: Filters, key: string, source: string): boolean {
  const values = f.get(key);
  return !values || values.size === 0 || values.has(source);
}

/**
 * filters.Args.MatchKVList (`label`): every value must hold; "k" asks that
 * the label is there, "k=v" that it has that value. Nothing labelled
 * matches no label filter.
 */
export function matchesLabels(f: Filters, key: string, labels: Record<string, string> | null | undefined): boolean {
  const values = f.get(key);
  if (!values || values.size === 0) return true;
  if (!labels || Object.keys(labels).length === 0) return false;
  for (const v of values) {
    const at = v.indexOf('=');
    const k = at < 0 ? v : v.slice(0, at);
    if (!Object.hasOwn(labels, k)) return false;
    if (at >= 0 && labels[k] !== v.slice(at + 1)) return false;
  }
  return true;
}

/**
 * filters.Args.GetBoolOrDefault (`dangling`): "true"/"1" or "false"/"0";
 * anything else, or both at once, is `invalid filter 'dangling=[x]'`
 * (Go prints the values as a slice).
 */
export function boolFilter(f: Filters, key: string): boolean | undefined {
  const values = f.get(key);
  if (!values) return undefined;
  const isFalse = values.has('0') || values.has('false');
  const isTrue = values.has('1') || values.has('true');
  if (isFalse === isTrue) throw daemonError(`invalid filter '${key}=[${[...values].sort().join(' ')}]'`);
  return isTrue;
}

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern'); // Go's path.ErrBadPattern
  }
}

// #region path-match
/**
 * Go's path.Match: `*` any run of characters but "/", `?` one character but
 * "/", `[a-z]` and `[^a-z]` a class, `\` quotes the next character. A
 * malformed pattern (an unclosed class, an empty one, a trailing `\`) is
 * Go's ErrBadPattern, whether or not the name would have matched.
 */
export function pathMatch(pattern: string, name: string): boolean {
  return globRegExp(pattern).test(name);
}

function globRegExp(pattern: string): RegExp {
  const p = [...pattern];
  const quote = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const inClass = (c: string) => c.replace(/[\\\]^[-]/g, '\\$&');
  let re = '';
  let i = 0;
  // One character of a class: a plain one or a quoted one; "-" and "]" must be quoted.
  const classChar = (): string => {
    if (i >= p.length) throw new BadPatternError();
    let c = p[i++];
    if (c === '-' || c === ']') throw new BadPatternError();
    if (c === '\\') {
      if (i >= p.length) throw new BadPatternError();
      c = p[i++];
    }
    return c;
  };
  while (i < p.length) {
    const c = p[i++];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i >= p.length) throw new BadPatternError();
      re += quote(p[i++]);
    } else if (c === '[') {
      let negated = false;
      if (p[i] === '^') {
        negated = true;
        i++;
      }
      const ranges: string[] = [];
      for (;;) {
        if (i < p.length && p[i] === ']' && ranges.length > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (p[i] === '-') {
          i++;
          hi = classChar();
        }
        // A range backwards (z-a) matches nothing in Go; so it is here.
        ranges.push(lo.codePointAt(0)! <= hi.codePointAt(0)! ? `${inClass(lo)}-${inClass(hi)}` : '');
      }
      const body = ranges.join('');
      // (A class, unlike ? and *, may match "/": Go's does.)
      if (negated) re += body ? `(?![${body}]).` : '.';
      else re += body ? `[${body}]` : '(?!)';
    } else re += quote(c);
  }
  return new RegExp(`^${re}$`, 'su');
}
// #endregion path-match
