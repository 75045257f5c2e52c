// Command-line flags, parsed the way Docker's CLI (spf13/pflag) parses them,
// so that a command copied from Docker's documentation means the same here:
//
//   --env K=V   --env=K=V   -e K=V   -eK=V   -e=K=V
//   -it         (combined boolean shorthands)      -ite K=V
//   --rm        --rm=true   --rm=false
//   --          (ends the flags)
//
// For `run`, flags stop at the first argument that is not a flag (the image):
// everything after it is the container's command, even if it starts with "-".

export type FlagKind = 'bool' | 'string' | 'stringArray' | 'int';
export type FlagValue = boolean | string | string[] | number;

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  usage: string;
  /** shown in help as the value's name, e.g. "list", "string" */
  valueName?: string;
  /** the chapter whose layer adds this flag (set by the layer registry) */
  chapter?: number;
  /**
   * pflag's NoOptDefVal: the value of the flag given alone (`--trace` is
   * `--trace=true`). Another value must then be joined with "=": the next
   * argument is never taken as the flag's (`--trace=verbose`).
   */
  noOptDefault?: string;
}

export interface Parsed {
  flags: Map<string, FlagValue>;
  args: string[];
}

/** A bad command line. Docker prints the message and exits with 125 for run. */
export class FlagError extends Error {}

// strconv.ParseBool's accepted spellings, which pflag uses for bool flags.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function parseBool(flag: string, v: string): boolean {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new FlagError(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function parseInt10(flag: string, v: string): number {
  if (!/^[+-]?\d+$/.test(v)) {
    throw new FlagError(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  // Go's ParseInt(v, 10, 64): Docker refuses what does not fit in int64.
  const big = BigInt(v);
  if (big > 2n ** 63n - 1n || big < -(2n ** 63n)) {
    throw new FlagError(`invalid argument ${JSON.stringify(v)} for "${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  }
  return Number(v);
}

function set(out: Map<string, FlagValue>, spec: FlagSpec, shown: string, raw: string): void {
  switch (spec.kind) {
    case 'bool':
      out.set(spec.name, parseBool(shown, raw));
      break;
    case 'int':
      out.set(spec.name, parseInt10(shown, raw));
      break;
    case 'string':
      out.set(spec.name, raw);
      break;
    case 'stringArray': {
      const prev = out.get(spec.name);
      out.set(spec.name, [...(Array.isArray(prev) ? prev : []), raw]);
      break;
    }
  }
}

/**
 * Parse argv against the flag specs. With `interspersed: false` (Docker's run,
 * exec) parsing stops at the first non-flag argument.
 */
export function parseFlags(argv: string[], specs: FlagSpec[], interspersed: boolean): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags = new Map<string, FlagValue>();
  const args: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      const shown = `--${name}`;
      if (eq >= 0) set(flags, spec, shown, a.slice(eq + 1));
      else if (spec.kind === 'bool') flags.set(spec.name, true);
      else if (spec.noOptDefault !== undefined) set(flags, spec, shown, spec.noOptDefault);
      else if (i < argv.length) set(flags, spec, shown, argv[i++]);
      else throw new FlagError(`flag needs an argument: ${shown}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A run of shorthands: -it, -e K=V, -eK=V, -e=K=V, -i=false
      let j = 1;
      while (j < a.length) {
        const c = a[j];
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in ${a}`);
        const shown = `-${c}, --${spec.name}`;
        const rest = a.slice(j + 1);
        if (rest.startsWith('=')) {
          set(flags, spec, shown, rest.slice(1));
          break;
        }
        if (spec.kind === 'bool') {
          flags.set(spec.name, true);
          j++;
          continue;
        }
        if (rest.length > 0) set(flags, spec, shown, rest);
        else if (i < argv.length) set(flags, spec, shown, argv[i++]);
        else throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        break;
      }
      continue;
    }
    args.push(a);
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
  }
  return { flags, args };
}

/** The canonical command line for parsed flags (used by the property tests). */
export function formatFlags(flags: Map<string, FlagValue>): string[] {
  const out: string[] = [];
  for (const [name, v] of flags) {
    if (typeof v === 'boolean') out.push(`--${name}=${v}`);
    else if (Array.isArray(v)) for (const x of v) out.push(`--${name}`, x);
    else out.push(`--${name}`, String(v));
  }
  return out;
}

/** Help text lines for a set of flags, in Docker's two-column style. */
export function flagHelp(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const value = s.valueName ?? (s.kind === 'stringArray' ? 'list' : s.kind);
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.kind === 'bool' ? '' : s.noOptDefault !== undefined ? `[=${value}]` : ' ' + value}`;
    const ch = s.chapter ? ` (chapter ${s.chapter})` : '';
    return [left, s.usage + ch] as const;
  });
  const w = Math.max(0, ...rows.map(([l]) => l.length));
  // A help screen fits an 80-column terminal: the text of a flag wraps at
  // word boundaries, its next lines start under its first.
  const room = Math.max(20, HELP_WIDTH - (2 + w + 3));
  const indent = ' '.repeat(2 + w + 3);
  return rows.map(([l, r]) => `  ${l.padEnd(w)}   ${wrapWords(r, room).join('\n' + indent)}`).join('\n');
}

const HELP_WIDTH = 80;

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}
