// The functions a template can call: Go's predefined ones (and, or, not,
// len, index, slice, print, printf, println, html, js, urlquery, call, and
// the comparisons eq ne lt le gt ge) and the ones docker/cli adds to every
// --format template (json, join, split, title, upper, lower, pad, truncate).
//
// Each function says the Go types of its parameters: the executor checks
// arguments as Go does ("expected integer; found \"3\"", "wrong number of
// args for len: want 1 got 2"). A function signals a failure by throwing;
// the executor reports it as Go does: "error calling index: …".
import { formatValue, goType, sprint, sprintf, sprintln } from './fmt.js';

/** A Go parameter type: `any` is interface{} (or reflect.Value for the builtins). */
export type ParamType = 'any' | 'string' | 'int' | 'bool' | '[]string';

export interface TemplateFunction {
  params: ParamType[];
  /** The type of the trailing ...args, for variadic functions. */
  variadic?: ParamType;
  fn: (...args: any[]) => unknown;
}

/** Go's truth: false, 0, "", nil, and empty arrays and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Comparison: Go compares basic kinds only (bool, numbers, strings), and
// only within a kind. A nil or missing value equals only nil.
type Kind = 'bool' | 'number' | 'string' | 'invalid' | 'other';
const kindOf = (v: unknown): Kind =>
  v === undefined || v === null ? 'invalid' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : 'other';

function eq(a: unknown, ...others: unknown[]): boolean {
  if (others.length === 0) throw new Error('missing argument for comparison');
  const k1 = kindOf(a);
  for (const b of others) {
    const k2 = kindOf(b);
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new Error('incompatible types for comparison');
      continue;
    }
    if (k1 === 'other') throw new Error(`non-comparable type ${formatValue(b)}: ${goType(b)}`);
    if (a === b || k1 === 'invalid') return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = kindOf(a);
  const k2 = kindOf(b);
  if (k1 === 'invalid' || k1 === 'other' || k2 === 'invalid' || k2 === 'other') throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === 'bool') throw new Error('invalid type for comparison');
  // Go compares strings byte by byte (UTF-8), which is code point order.
  if (k1 === 'string') return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  return (a as number) < (b as number);
}

const utf8 = (s: string) => Buffer.from(s);

/** An index argument: Go wants an integer within the bounds. */
function indexArg(i: unknown, bound: number, what = 'index'): number {
  if (i === null || i === undefined) throw new Error(`cannot index slice/array with nil`);
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new Error(`cannot index slice/array with type ${goType(i)}`);
  if (i < 0 || i > bound) throw new Error(`${what} out of range: ${i}`);
  return i;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  let v = item;
  for (const i of indexes) {
    if (v === null || v === undefined) throw new Error('index of untyped nil');
    if (typeof v === 'string' || Array.isArray(v)) {
      const len = typeof v === 'string' ? utf8(v).length : v.length;
      const x = indexArg(i, len);
      if (x === len) throw new Error(`index out of range: ${x}`);
      // A string's elements are bytes, which Go prints as numbers.
      v = typeof v === 'string' ? utf8(v)[x] : v[x];
    } else if (isMap(v)) {
      if (typeof i !== 'string') throw new Error(`value has type ${goType(i)}; should be string`);
      // A missing key gives the zero value; an interface{} map's is nil.
      v = Object.hasOwn(v, i) ? v[i] : undefined;
    } else throw new Error(`can't index item of type ${goType(v)}`);
  }
  if (indexes.length === 0 && (item === null || item === undefined)) throw new Error('index of untyped nil');
  return v;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === null || item === undefined) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new Error('cannot 3-index slice a string');
    const bytes = utf8(item);
    const [from, to] = sliceBounds(indexes, bytes.length);
    return bytes.subarray(from, to).toString();
  }
  if (!Array.isArray(item)) throw new Error(`can't slice item of type ${goType(item)}`);
  const [from, to] = sliceBounds(indexes, item.length);
  return item.slice(from, to);
}

function sliceBounds(indexes: unknown[], cap: number): [number, number] {
  const idx = [0, cap];
  indexes.forEach((i, n) => {
    idx[n] = indexArg(i, cap);
  });
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  return [idx[0], idx[1]];
}

function len(item: unknown): number {
  if (item === null || item === undefined) throw new Error('len of untyped nil');
  if (typeof item === 'string') return utf8(item).length;
  if (Array.isArray(item)) return item.length;
  if (isMap(item)) return Object.keys(item).length;
  throw new Error(`len of type ${goType(item)}`);
}

// html, js and urlquery print their arguments as fmt.Sprint does first.
const argsText = (args: unknown[]) => (args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args));

function htmlEscape(s: string): string {
  const map: Record<string, string> = { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;', '\0': '\uFFFD' };
  return s.replace(/["'&<>\0]/g, (c) => map[c]);
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (c === '\\') out += '\\\\';
    else if (c === "'") out += "\\'";
    else if (c === '"') out += '\\"';
    else if ('<>&='.includes(c)) out += '\\u' + code.toString(16).toUpperCase().padStart(4, '0');
    else if (code < 0x20 || /^[\p{C}]$/u.test(c)) out += '\\u' + code.toString(16).toUpperCase().padStart(4, '0');
    else out += c;
  }
  return out;
}

// Go's url.QueryEscape: letters, digits and -_.~ stay, a space is +.
const queryEscape = (s: string) =>
  [...utf8(s)].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : b === 0x20 ? '+' : '%' + b.toString(16).toUpperCase().padStart(2, '0'))).join('');

/** docker/cli's json: encoding/json without HTML escaping, no trailing newline. */
export function toJSON(v: unknown): string {
  const text = JSON.stringify(v === undefined ? null : v, (_, x) => (typeof x === 'function' ? undefined : x)) ?? 'null';
  // Go writes \u0008 and \u000c where JavaScript writes \b and \f, and
  // escapes U+2028 and U+2029 (line separators in JavaScript source).
  return text
    .replace(/\\(.)/g, (m, c) => (c === 'b' ? '\\u0008' : c === 'f' ? '\\u000c' : m))
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** strings.Title: the first letter of each word in upper case. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    out += isSeparator(prev) ? c.toUpperCase() : c;
    prev = c;
  }
  return out;
}

// Go's word boundaries for Title: ASCII letters, digits and _ are word
// characters, other ASCII is a separator; beyond ASCII, letters and digits
// are word characters and spaces separate.
function isSeparator(c: string): boolean {
  if (c.charCodeAt(0) <= 0x7f) return !/[A-Za-z0-9_]/.test(c);
  if (/^[\p{L}\p{Nd}]$/u.test(c)) return false;
  return /^\s$/u.test(c);
}

function repeat(n: number): string {
  if (n < 0) throw new Error('strings: negative Repeat count');
  return ' '.repeat(n);
}

export const FUNCTIONS: Record<string, TemplateFunction> = {
  // Go's predefined functions. `and` and `or` are evaluated lazily by the executor.
  and: { params: ['any'], variadic: 'any', fn: () => undefined },
  or: { params: ['any'], variadic: 'any', fn: () => undefined },
  not: { params: ['any'], fn: (a) => !isTrue(a) },
  len: { params: ['any'], fn: len },
  index: { params: ['any'], variadic: 'any', fn: index },
  slice: { params: ['any'], variadic: 'any', fn: slice },
  print: { params: [], variadic: 'any', fn: (...a) => sprint(a) },
  printf: { params: ['string'], variadic: 'any', fn: (f, ...a) => sprintf(f, a) },
  println: { params: [], variadic: 'any', fn: (...a) => sprintln(a) },
  html: { params: [], variadic: 'any', fn: (...a) => htmlEscape(argsText(a)) },
  js: { params: [], variadic: 'any', fn: (...a) => jsEscape(argsText(a)) },
  urlquery: { params: [], variadic: 'any', fn: (...a) => queryEscape(argsText(a)) },
  call: {
    params: ['any'],
    variadic: 'any',
    fn: (f, ...a) => {
      if (f === null || f === undefined) throw new Error('call of nil');
      if (typeof f !== 'function') throw new Error(`non-function of type ${goType(f)}`);
      return f(...a);
    },
  },
  eq: { params: ['any'], variadic: 'any', fn: eq },
  ne: { params: ['any', 'any'], fn: (a, b) => !eq(a, b) },
  lt: { params: ['any', 'any'], fn: lt },
  le: { params: ['any', 'any'], fn: (a, b) => lt(a, b) || eq(a, b) },
  gt: { params: ['any', 'any'], fn: (a, b) => !(lt(a, b) || eq(a, b)) },
  ge: { params: ['any', 'any'], fn: (a, b) => !lt(a, b) },

  // docker/cli's templates package adds these to every template.
  json: { params: ['any'], fn: toJSON },
  split: { params: ['string', 'string'], fn: (s: string, sep: string) => (sep === '' ? [...s] : s.split(sep)) },
  join: { params: ['[]string', 'string'], fn: (a: string[] | null, sep: string) => (a ?? []).join(sep) },
  title: { params: ['string'], fn: title },
  lower: { params: ['string'], fn: (s: string) => s.toLowerCase() },
  upper: { params: ['string'], fn: (s: string) => s.toUpperCase() },
  // pad: spaces before and after, but an empty string stays empty.
  pad: { params: ['string', 'int', 'int'], fn: (s: string, before: number, after: number) => (s === '' ? s : repeat(before) + s + repeat(after)) },
  // truncate: the first n bytes, as Go slices a string.
  truncate: {
    params: ['string', 'int'],
    fn: (s: string, n: number) => {
      const bytes = utf8(s);
      if (bytes.length < n) return s;
      if (n < 0) throw new Error(`runtime error: slice bounds out of range [:${n}]`);
      return bytes.subarray(0, n).toString();
    },
  },
};

// #region header-functions
/**
 * docker/cli's HeaderFunctions: a `table` format's header row is the same
 * template run on the column names, with these in place of docker's own
 * functions so that a name comes out as it is (`{{json .ID}}` heads its
 * column "IMAGE", not "\"IMAGE\""). pad is not replaced: the header keeps
 * the column's alignment.
 */
export const HEADER_FUNCTIONS: Record<string, TemplateFunction> = {
  ...FUNCTIONS,
  json: { params: ['string'], fn: (v: string) => v },
  split: { params: ['string', 'string'], fn: (v: string) => v },
  join: { params: ['string', 'string'], fn: (v: string) => v },
  title: { params: ['string'], fn: (v: string) => v },
  lower: { params: ['string'], fn: (v: string) => v },
  upper: { params: ['string'], fn: (v: string) => v },
  truncate: { params: ['string', 'int'], fn: (v: string) => v },
};
// #endregion header-functions
