// How the classic builder writes a step into the image's history. Its
// history lines are Go's fmt output: `CMD ["httpd" "-f"]` is Go's %q of a
// string slice, and a HEALTHCHECK is %q of a struct. `docker history`
// shows these strings, so dockling writes the same ones.
import { RunError } from '../core/pipeline.js';
import type { Instruction } from './ast.js';
import type { BuildConfig } from './state.js';
import { goQuote as goQuoteString } from './words.js';

/** Go's %q of a []string: ["a" "b"]. */
export const goQuote = (list: string[] | null | undefined) => `[${(list ?? []).map(goQuoteString).join(' ')}]`;

// #region durations
const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s", "500ms") in nanoseconds, as Docker keeps HEALTHCHECK's times. */
export function goDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new RunError(1, `time: invalid duration "${text}" (HEALTHCHECK --${flag}): write it as Go does, e.g. 30s, 1m30s or 500ms`);
  return parts.reduce((n, p) => n + Number(p[1]) * UNITS[p[2]], 0);
}

/** A duration back in Go's form, as %q of a time.Duration prints it. */
function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}
// #endregion durations

/** HEALTHCHECK's config (Docker's HealthConfig; durations in nanoseconds, 0 for "not set"). */
export function healthcheckOf(ins: Instruction & { keyword: 'HEALTHCHECK' }): NonNullable<BuildConfig['Healthcheck']> {
  if (ins.test === null) return { Test: ['NONE'] };
  const hc: NonNullable<BuildConfig['Healthcheck']> = { Test: ins.test };
  if (ins.interval !== null) hc.Interval = goDuration(ins.interval, 'interval');
  if (ins.timeout !== null) hc.Timeout = goDuration(ins.timeout, 'timeout');
  if (ins.startPeriod !== null) hc.StartPeriod = goDuration(ins.startPeriod, 'start-period');
  if (ins.startInterval !== null) hc.StartInterval = goDuration(ins.startInterval, 'start-interval');
  if (ins.retries !== null) hc.Retries = ins.retries;
  return hc;
}

/** `HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/"] "30s" "3s" "0s" "0s" '\x03'}`: Go's %q of the struct. */
export function healthcheckComment(hc: NonNullable<BuildConfig['Healthcheck']>): string {
  const d = (n?: number) => `"${goDurationString(n ?? 0)}"`;
  const retries = `'\\x${(hc.Retries ?? 0).toString(16).padStart(2, '0')}'`;
  return `&{${goQuote(hc.Test)} ${d(hc.Interval)} ${d(hc.Timeout)} ${d(hc.StartPeriod)} ${d(hc.StartInterval)} ${retries}}`;
}
