// The container's environment: -e and --env-file, with Docker's rules.
//
//   -e K=V      sets K to V (V may be empty, and may contain "=")
//   -e K        copies K from the caller's environment, or leaves it out
//   --env-file  one K=V (or K) per line; lines starting with # and blank
//               lines are skipped; nothing is unquoted or expanded
//
// Env files are read first and -e flags after them, so a flag wins over a
// file; within each, a later value for the same name replaces an earlier one.

import { DEFAULT_PATH } from './defaults.js';

export class EnvError extends Error {}

const WHITESPACE = /\s/;

/** One -e value (or env-file line) → "K=V", or null when K is unset. */
export function parseEnvEntry(entry: string, callerEnv: NodeJS.ProcessEnv, where = ''): string | null {
  const eq = entry.indexOf('=');
  const name = eq < 0 ? entry : entry.slice(0, eq);
  if (name === '') throw new EnvError(`no variable name${where} in '${entry}'`);
  if (WHITESPACE.test(name)) throw new EnvError(`variable '${name}' contains whitespaces${where}`);
  if (eq >= 0) return entry;
  const v = callerEnv[name];
  return v === undefined ? null : `${name}=${v}`;
}

/** The entries of an env file's text, in order (a BOM and CRLF are tolerated). */
export function parseEnvFile(text: string, fileName: string, callerEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^[ \t\v\f]+/, '');
    if (line === '' || line.startsWith('#')) return;
    const e = parseEnvEntry(line, callerEnv, ` on line ${i + 1} of ${fileName}`);
    if (e !== null) out.push(e);
  });
  return out;
}

/**
 * Merge KEY=VALUE lists: a later entry for the same name replaces the earlier
 * one in place, as Docker does when it lays user env over image env.
 */
export function mergeEnv(...lists: string[][]): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const name = entry.slice(0, entry.indexOf('=') < 0 ? entry.length : entry.indexOf('='));
      if (!values.has(name)) order.push(name);
      values.set(name, entry);
    }
  }
  return order.map((n) => values.get(n)!);
}

/** Look a name up in a KEY=VALUE list. */
export function envValue(env: string[], name: string): string | undefined {
  const e = env.find((x) => x.startsWith(name + '='));
  return e?.slice(name.length + 1);
}

const nameOf = (entry: string) => entry.slice(0, entry.indexOf('=') < 0 ? entry.length : entry.indexOf('='));

// #region recorded-env
/**
 * The environment as Docker records it in the container's Config.Env (what
 * `inspect` shows and `commit` keeps): the user's entries, then the image's
 * that the user did not set (moby's merge of the two configs). What each
 * start adds anew (HOSTNAME, TERM, HOME) is not part of it.
 */
export function recordedEnv(image: string[], user: string[]): string[] {
  const names = new Set(user.map(nameOf));
  return [...user, ...image.filter((e) => !names.has(nameOf(e)))];
}

/**
 * The environment the process gets from that record, as Docker's daemon
 * makes it at each start (or exec): its defaults PATH, HOSTNAME and, with
 * a terminal, TERM, each replaced in its place by the record's value or
 * followed by the record's other entries; then HOME, only if nobody set it
 * (runc's rule).
 */
export function processEnv(recorded: string[], hostname: string, tty: boolean): string[] {
  const env = mergeEnv([`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`, ...(tty ? ['TERM=xterm'] : [])], recorded);
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, 'HOME=/root'];
}
// #endregion recorded-env
