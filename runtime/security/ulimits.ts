// --ulimit NAME=SOFT[:HARD]: the resource limits (setrlimit(2)) the command
// starts with, in Docker's syntax and with its messages (docker/go-units'
// ParseUlimit). The init sets them just before execve (init/rlimits.ts).
//
// Without --ulimit a container keeps the limits of whoever ran `dockling
// run`, as any process inherits its parent's. Docker does the same, from
// its daemon: a container gets dockerd's limits (set by its systemd unit,
// LimitNOFILE=infinity on many distributions, so `ulimit -n` there shows
// 1048576) unless dockerd has --default-ulimit. dockling has no daemon, so
// the caller's shell is the parent, and `ulimit -n` in the container shows
// the same as outside.
import { Slot, type RunContext } from '../core/layer.js';
import type { ProcessSpec } from '../core/spec.js';
import { RunError } from '../core/pipeline.js';
import type { HardeningPart } from './part.js';
import { recordHostConfig } from './part.js';

/** A limit as Docker keeps it in HostConfig.Ulimits (-1: unlimited). */
export interface Ulimit {
  Name: string;
  Hard: number;
  Soft: number;
}
const KEY = new Slot<Ulimit[]>('ulimits');

// #region ulimit-names
// The names Docker accepts ("as" is left out by Docker too: the address
// space limit would also bind the runtime setting up the container).
const NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
  'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
];
// #endregion ulimit-names

class UlimitError extends Error {}

/** Go's strconv.ParseInt(s, 10, 64), with Docker's "infinity" for -1. */
function limitValue(s: string): number {
  if (s === 'infinity') return -1;
  if (!/^[+-]?\d+$/.test(s)) throw new UlimitError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const big = BigInt(s);
  if (big > 2n ** 63n - 1n || big < -(2n ** 63n)) throw new UlimitError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  if (big < -1n) throw new UlimitError(`a limit is a number of units, or -1 (or "infinity") for unlimited, not ${s}`);
  return Number(big);
}

// #region parse-ulimit
export function parseUlimit(val: string): Ulimit {
  const eq = val.indexOf('=');
  if (eq < 0) throw new UlimitError(`invalid ulimit argument: ${val}`);
  const [name, limits] = [val.slice(0, eq), val.slice(eq + 1)];
  if (!NAMES.includes(name)) throw new UlimitError(`invalid ulimit type: ${name}`);
  const parts = limits.split(':');
  if (parts.length > 2) throw new UlimitError(`too many limit value arguments - ${limits}, can only have up to two, \`soft[:hard]\``);
  // Without a hard limit, the hard limit is the soft one.
  const hard = parts.length === 2 ? limitValue(parts[1]) : undefined;
  const soft = limitValue(parts[0]);
  const h = hard ?? soft;
  if (h !== -1) {
    if (soft === -1) throw new UlimitError(`ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${h}`);
    if (soft > h) throw new UlimitError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${h}`);
  }
  return { Name: name, Hard: h, Soft: soft };
}

/** HostConfig.Ulimits → the spec's rlimits, by OCI name ("nofile" → "RLIMIT_NOFILE"). */
export function rlimitsOf(ulimits: Ulimit[]): NonNullable<ProcessSpec['rlimits']> {
  return ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}
// #endregion parse-ulimit

function validate(ctx: RunContext): void {
  // One limit per name: a later --ulimit for the same name replaces an
  // earlier one, and the list is kept sorted by name (the docker CLI's).
  const byName = new Map<string, Ulimit>();
  for (const v of (ctx.flags.get('ulimit') as string[] | undefined) ?? []) {
    try {
      const u = parseUlimit(v);
      byName.set(u.Name, u);
    } catch (e) {
      if (e instanceof UlimitError) throw new RunError(125, `invalid argument "${v}" for "--ulimit" flag: ${e.message}`, { cause: e });
      throw e;
    }
  }
  KEY.set(ctx, [...byName.values()].sort((a, b) => a.Name.localeCompare(b.Name)));
}

function prepare(ctx: RunContext): void {
  const ulimits = KEY.get(ctx)!;
  if (ulimits.length) ctx.spec.process.rlimits = rlimitsOf(ulimits);
  recordHostConfig(ctx, { Ulimits: ulimits });
}

export const ulimits: HardeningPart = {
  name: 'ulimits',
  flags: [{ name: 'ulimit', kind: 'stringArray', valueName: 'ulimit', usage: 'Ulimit options' }],
  validate,
  prepare,
  // A process started by `exec` gets the container's limits, as in Docker
  // (runc exec starts from the container's own process settings).
  exec(c, _flags, settings) {
    const ulimits = (c.HostConfig?.Ulimits as Ulimit[] | undefined) ?? [];
    if (ulimits.length) settings.rlimits = rlimitsOf(ulimits);
  },
};
