// Go's fmt as templates print with it: {{.}} is fmt.Print's %v, and
// `printf` is fmt.Sprintf. The values are JSON's (what dockling's inspect
// documents and table rows hold): a string, a number, a boolean, null
// (Go's nil), an array (a Go slice) and an object (a Go map, printed as
// map[k:v] with its keys sorted, as fmt prints maps).
//
// Numbers: JavaScript has one number type where Go has int and float64.
// A whole number is printed as Go prints an int (42, not 42.0 or 4.2e+01);
// any other as Go prints a float64 (%v is %g: 0.5, 1.5e-07).
import { GoStruct } from './struct.js';

/** Go's type name for a value, as errors and %T print it. */
export function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return v.length > 0 && v.every((x) => typeof x === 'string') ? '[]string' : '[]interface {}';
  if (typeof v === 'function') return 'func';
  if (v instanceof GoStruct) return v.type;
  return 'map[string]interface {}';
}

/** %v: how fmt.Print writes a value. */
export function formatValue(v: unknown): string {
  return formatVerb(v, 'v', NO_FLAGS);
}

interface Flags { minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean; width?: number; precision?: number }
const NO_FLAGS: Flags = { minus: false, plus: false, sharp: false, space: false, zero: false };

/** fmt.Sprint: a space between two operands when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: spaces between all operands, and a newline. */
export const sprintln = (args: unknown[]) => args.map(formatValue).join(' ') + '\n';

/** fmt.Sprintf with Go's verbs, flags, widths and precisions, and its %!verb(type=value) complaints. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let next = 0;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { ...NO_FLAGS };
    for (; i < format.length && '-+# 0'.includes(format[i]); i++) {
      const c = format[i];
      if (c === '-') f.minus = true;
      else if (c === '+') f.plus = true;
      else if (c === '#') f.sharp = true;
      else if (c === ' ') f.space = true;
      else f.zero = true;
    }
    const number = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[next++];
        return typeof a === 'number' && Number.isInteger(a) ? a : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    f.width = number();
    if (f.width !== undefined && f.width < 0) {
      f.minus = true;
      f.width = -f.width;
    }
    if (format[i] === '.') {
      i++;
      f.precision = number() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatVerb(args[next++], verb, f);
  }
  if (next < args.length) {
    out += '%!(EXTRA ' + args.slice(next).map((a) => (a === null || a === undefined ? '<nil>' : `${goType(a)}=${formatValue(a)}`)).join(', ') + ')';
  }
  return out;
}

function pad(s: string, f: Flags, zeroOK = true): string {
  const n = [...s].length;
  if (f.width === undefined || n >= f.width) return s;
  const fill = f.width - n;
  if (f.minus) return s + ' '.repeat(fill);
  if (f.zero && zeroOK) {
    // Zeros go after the sign.
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

const badVerb = (v: unknown, verb: string) => (v === null || v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goType(v)}=${formatValue(v)})`);

function formatVerb(v: unknown, verb: string, f: Flags): string {
  if (verb === 'T') return pad(goType(v), f, false);
  if (v === null || v === undefined) return verb === 'v' ? pad('<nil>', f, false) : badVerb(v, verb);
  if (Array.isArray(v)) {
    return '[' + v.map((x) => formatVerb(x, verb, f)).join(' ') + ']';
  }
  // A Go value with methods (struct.ts) prints as the map of its fields'
  // values (Go would print the struct's private insides).
  if (v instanceof GoStruct) return formatVerb(v.toJSON(), verb, f);
  if (typeof v === 'function') return pad('func', f, false);
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return 'map[' + keys.map((k) => `${formatVerb(k, verb, f)}:${formatVerb((v as Record<string, unknown>)[k], verb, f)}`).join(' ') + ']';
  }
  if (typeof v === 'string') return formatString(v, verb, f);
  if (typeof v === 'boolean') return verb === 'v' || verb === 't' ? pad(String(v), f, false) : badVerb(v, verb);
  if (typeof v === 'number') return Number.isInteger(v) && !'eEfFgG'.includes(verb) ? formatInt(v, verb, f) : formatFloat(v, verb, f);
  return badVerb(v, verb);
}

function formatString(s: string, verb: string, f: Flags): string {
  switch (verb) {
    case 'v':
    case 's': {
      const cut = f.precision !== undefined ? [...s].slice(0, f.precision).join('') : s;
      return pad(cut, f);
    }
    case 'q':
      if (f.sharp && !s.includes('`') && !/[\x00-\x08\x0a-\x1f\x7f]/.test(s)) return pad('`' + s + '`', f);
      return pad(goQuoteString(s, f.plus), f);
    case 'x':
    case 'X': {
      let hex = [...Buffer.from(s)].map((b) => b.toString(16).padStart(2, '0')).join(f.space ? ' ' : '');
      if (verb === 'X') hex = hex.toUpperCase();
      return pad(hex, f);
    }
    default:
      return badVerb(s, verb);
  }
}

/** strconv.Quote (and QuoteToASCII for %+q). */
export function goQuoteString(s: string, ascii = false): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
    if (named[c]) out += named[c];
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else if ((ascii && code > 0x7e) || /^[\p{C}\p{Zl}\p{Zp}]$/u.test(c)) out += code > 0xffff ? '\\U' + code.toString(16).padStart(8, '0') : '\\u' + code.toString(16).padStart(4, '0');
    else out += c;
  }
  return out + '"';
}

function formatInt(n: number, verb: string, f: Flags): string {
  const neg = n < 0;
  const abs = Math.abs(n);
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd': digits = String(abs); break;
    case 'b': digits = abs.toString(2); if (f.sharp) prefix = '0b'; break;
    case 'o': digits = abs.toString(8); if (f.sharp) prefix = '0'; break;
    case 'O': digits = abs.toString(8); prefix = '0o'; break;
    case 'x': digits = abs.toString(16); if (f.sharp) prefix = '0x'; break;
    case 'X': digits = abs.toString(16).toUpperCase(); if (f.sharp) prefix = '0X'; break;
    case 'c': return pad(String.fromCodePoint(n >= 0 && n <= 0x10ffff ? n : 0xfffd), f, false);
    case 'q': return pad(quoteRune(n >= 0 && n <= 0x10ffff ? n : 0xfffd), f, false);
    case 'U': return pad('U+' + abs.toString(16).toUpperCase().padStart(4, '0'), f, false);
    default: return badVerb(n, verb);
  }
  if (f.precision !== undefined) {
    digits = digits.padStart(f.precision, '0');
    if (f.precision === 0 && n === 0) digits = '';
    return pad(sign + prefix + digits, f, false); // Go ignores 0 with a precision
  }
  return pad(sign + prefix + digits, f);
}

function quoteRune(code: number): string {
  const c = String.fromCodePoint(code);
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return `'${goQuoteString(c).slice(1, -1)}'`;
}

/** Go's float verbs: %e %f %g (and %v, which is %g with the fewest digits). */
function formatFloat(x: number, verb: string, f: Flags): string {
  if (!'vbeEfFgGxX'.includes(verb) || verb === 'b' || verb === 'x' || verb === 'X') return badVerb(x, verb);
  let s: string;
  if (Number.isNaN(x)) s = 'NaN';
  else if (!Number.isFinite(x)) s = x > 0 ? '+Inf' : '-Inf';
  else {
    const abs = Math.abs(x);
    switch (verb) {
      case 'e': case 'E': s = expForm(abs.toExponential(f.precision ?? 6)); break;
      case 'f': case 'F': s = abs.toFixed(f.precision ?? 6); break;
      default: s = formatG(abs, verb === 'v' ? undefined : f.precision, f.sharp);
    }
    if (verb === 'E' || verb === 'G') s = s.toUpperCase();
    if (x < 0 || Object.is(x, -0)) s = '-' + s;
    else if (f.plus) s = '+' + s;
    else if (f.space) s = ' ' + s;
    return pad(s, f);
  }
  if (s === 'NaN' && f.plus) s = '+NaN';
  if (s === '+Inf' && !f.plus) s = f.space ? ' Inf' : '+Inf';
  return pad(s, f, false);
}

// JavaScript writes 1.5e+0 where Go writes 1.5e+00: at least two exponent digits.
const expForm = (s: string) => s.replace(/e([+-])(\d)$/, 'e$10$2');

/** %g: %e for large and small exponents, %f otherwise, no trailing zeros. */
function formatG(abs: number, precision: number | undefined, sharp: boolean): string {
  if (abs === 0) return '0';
  const shortest = precision === undefined;
  const p = precision === 0 ? 1 : precision;
  const e = shortest ? abs.toExponential() : abs.toExponential(p! - 1);
  let [mant, expText] = e.split('e');
  const exp = Number(expText);
  if (!sharp && mant.includes('.')) mant = mant.replace(/\.?0+$/, '');
  const digits = mant.replace('.', '').length;
  let eprec = shortest ? 6 : p!;
  if (!shortest && eprec > digits && digits >= exp + 1) eprec = digits;
  if (shortest) eprec = 6; // Go decides with precision 6 when printing the fewest digits
  if (exp < -4 || exp >= eprec) return expForm(`${mant}e${exp < 0 ? '-' : '+'}${Math.abs(exp)}`);
  // Fixed notation with the same significant digits.
  const decimals = Math.max(0, digits - exp - 1);
  return abs.toFixed(decimals);
}
