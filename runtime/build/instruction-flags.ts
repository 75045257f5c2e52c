// An instruction's --flags, checked against the flags it takes, with
// Docker's messages (buildkit's BFlags); and the Go durations HEALTHCHECK's
// flags are written in.
import type { RawInstruction } from './ast.ts';
import { distance } from './words-split.ts';

export type FlagKind = 'string' | 'bool' | 'strings';

// #region flag-check
/**
 * The flags as a map name → value (a bool flag: "true"/"false"; a repeatable
 * one: its values joined by "\n"). Throws Docker's message for a flag the
 * instruction does not take, one given twice, or one missing its value.
 */
export function checkFlags(raw: RawInstruction, spec: Record<string, FlagKind>): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name, value } of raw.flags) {
    const kind = spec[name];
    if (!kind) {
      // Docker suggests a flag of this instruction fewer than 3 edits away
      const close = Object.keys(spec).find((f) => distance(f, name) < 3 && f !== name);
      throw new Error(`unknown flag: --${name}${close ? ` (did you mean ${close}?)` : ''}`);
    }
    if (out.has(name) && kind !== 'strings') throw new Error(`duplicate flag specified: --${name}`);
    if (kind === 'bool') {
      if (value === '') throw new Error(`missing a value on flag: --${name}`);
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new Error(`expecting boolean value for flag --${name}, not: ${value}`);
      out.set(name, v);
    } else {
      if (value === null) throw new Error(`missing a value on flag: --${name}`);
      out.set(name, kind === 'strings' && out.has(name) ? `${out.get(name)}\n${value}` : value);
    }
  }
  return out;
}
// #endregion flag-check

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("1m30s", "500ms") in milliseconds; throws Go's time.ParseDuration message. */
export function parseGoDuration(s: string): number {
  const quoted = JSON.stringify(s);
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (num[0] === '' || num[0] === '.') throw new Error(`time: invalid duration ${quoted}`);
    rest = rest.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    if (!(unit in UNITS)) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(num[0].startsWith('.') ? `0${num[0]}` : num[0]) * UNITS[unit];
  }
  return sign * total;
}
