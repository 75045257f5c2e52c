// Docker's units for resource flags, parsed the way Docker parses them, so a
// value from Docker's documentation means the same here.
//
//   sizes  "512m" = 512 × 1024 × 1024 bytes: the units are binary (b, k, m,
//          g, t, p, any case, with an optional "i" and "b": 512MiB, 512mb),
//          a decimal part is allowed and the result is truncated: 1.5k = 1536
//   cpus   "0.5" = half a CPU = a quota of 50 000 µs in each 100 000 µs period
//   cpuset "0-2,5" = CPUs 0, 1, 2 and 5

export class UnitError extends Error {}

const SIZE = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const MULTIPLIER: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

// #region units
/** Docker's RAMInBytes. */
export function parseSize(s: string): number {
  const m = SIZE.exec(s);
  if (!m) throw new UnitError(`invalid size: '${s}'`);
  const n = Math.trunc(parseFloat(m[1]) * MULTIPLIER[(m[2] ?? '').toLowerCase()]);
  if (!Number.isSafeInteger(n)) throw new UnitError(`invalid size: '${s}'`);
  return n;
}
// #endregion units

/** --cpus as nano-CPUs (1e9 = one CPU), as Docker stores it. */
export function parseNanoCpus(s: string): number {
  if (!/^\d*\.?\d+$|^\d+\.$/.test(s)) throw new UnitError(`failed to parse ${s} as a rational number`);
  // Work in decimal digits, not floats: "0.3" must give exactly 300000000.
  const [int, frac = ''] = s.split('.');
  const nano = Number(int || '0') * 1e9 + Number((frac + '000000000').slice(0, 9));
  if (frac.length > 9 && /[1-9]/.test(frac.slice(9))) throw new UnitError(`value is too precise`);
  return nano;
}

/** The CFS quota for nano-CPUs in a period (µs): cpus × period. */
export function quotaFor(nanoCpus: number, periodUs: number): number {
  // Integer division, as Docker does it: 1.23456789 CPUs → 123456 µs.
  return Math.floor((nanoCpus * periodUs) / 1e9);
}

/**
 * Parse a cpuset list ("0-2,5") into sorted CPU numbers. Past `upTo`, a
 * range only contributes its last number: enough to say it is too large.
 */
export function parseCpuset(s: string, upTo = Infinity): number[] {
  const out = new Set<number>();
  if (s.trim() === '') return [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UnitError(`Invalid value ${s} for cpuset cpus`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UnitError(`Invalid value ${s} for cpuset cpus`);
    for (let i = a; i <= Math.min(b, upTo); i++) out.add(i);
    if (b > upTo) out.add(b);
  }
  return [...out].sort((x, y) => x - y);
}

/** Format CPU numbers back as the kernel writes them ("0-2,5"). */
export function formatCpuset(cpus: number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

// #region shares-to-weight
/** cgroup v1 cpu.shares → cgroup v2 cpu.weight (the kernel's and runc's mapping). */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  // v1 takes shares in 2..262144 (and clamps others itself); cpu.weight only
  // takes 1..10000, so clamp first.
  const s = Math.min(262144, Math.max(2, shares));
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}
// #endregion shares-to-weight

// Human sizes for tables: binary for memory (docker stats "64MiB"), decimal
// for I/O ("1.2kB"), with four significant digits like Go's %.4g.
function humanSize(n: number, base: number, units: string[]): string {
  let i = 0;
  while (n >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}
export const bytesSize = (n: number) => humanSize(n, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']);
export const decimalSize = (n: number) => humanSize(n, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB']);
