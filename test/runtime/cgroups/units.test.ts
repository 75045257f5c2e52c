// Docker's units for the resource flags: sizes (-m, --memory-swap), CPUs
// (--cpus → CFS quota), cpuset lists, cpu.shares → cpu.weight, and the human
// sizes of `stats`. Examples pin the values from Docker's documentation;
// properties check the rules for every input fast-check can think of.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  UnitError, bytesSize, decimalSize, formatCpuset, parseCpuset, parseNanoCpus, parseSize, quotaFor, sharesToWeight,
} from '../../../runtime/cgroups/units.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const UNIT: Record<string, number> = { '': 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB, p: 1024 * 1024 * GiB };

/** A string in random letter case, e.g. "ib" → "iB". */
const anyCase = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));

describe('parseSize (Docker\'s RAMInBytes)', () => {
  test('the values of Docker\'s documentation', () => {
    const cases: [string, number][] = [
      ['0', 0], ['1', 1], ['1b', 1], ['512', 512], ['1k', 1024], ['1K', 1024], ['1kb', 1024], ['1KiB', 1024], ['1kib', 1024],
      ['512m', 536870912], ['512M', 536870912], ['512MB', 536870912], ['512MiB', 536870912], ['64m', 67108864],
      ['6m', 6 * MiB], ['2g', 2 * GiB], ['1G', GiB], ['1t', 1024 * GiB], ['1p', 1024 * 1024 * GiB],
      ['1.5k', 1536], ['1.5m', 1572864], ['0.5g', 512 * MiB], ['1.7b', 1], ['1.9', 1], ['10 m', 10 * MiB],
    ];
    for (const [s, n] of cases) assert.equal(parseSize(s), n, `parseSize(${JSON.stringify(s)})`);
  });

  test('whole numbers with a binary unit and an optional i/b suffix in any case', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('', 'k', 'm', 'g', 't', 'p'),
        fc.nat({ max: 1 << 20 }),
        fc.boolean(),
        fc.constantFrom('', 'b', 'ib'),
        (unit, n, upper, suffix) => {
          fc.pre(n * UNIT[unit] <= Number.MAX_SAFE_INTEGER);
          // "i" alone after a number without a unit is not a size anyone writes
          fc.pre(!(unit === '' && suffix === 'ib'));
          const u = upper ? unit.toUpperCase() : unit;
          return [suffix, suffix.toUpperCase(), suffix.slice(0, 1) + suffix.slice(1).toUpperCase()].every(
            (sfx) => parseSize(`${n}${u}${sfx}`) === n * UNIT[unit],
          );
        },
      ),
    );
  });

  test('a decimal part is allowed and the result is truncated toward zero', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100_000 }),
        fc.stringMatching(/^\d{1,4}$/),
        fc.constantFrom('k', 'm', 'g'),
        fc.constantFrom('', 'b', 'ib'),
        (whole, frac, unit, sfx) => {
          // exact arithmetic: (whole.frac × unit), rounded down. Docker
          // (go-units' RAMInBytes) multiplies in float64 and truncates, as
          // parseSize does, so a product that float64 rounds up lands one
          // byte above the exact one ('65536.6864g'): within 1, never below
          // by more.
          const scale = 10n ** BigInt(frac.length);
          const exact = ((BigInt(whole) * scale + BigInt(frac)) * BigInt(UNIT[unit])) / scale;
          const got = BigInt(parseSize(`${whole}.${frac}${unit}${sfx}`));
          assert.ok(got - exact <= 1n && exact - got <= 1n, `${whole}.${frac}${unit}: ${got} vs exact ${exact}`);
        },
      ),
    );
  });

  test('bad strings are rejected with "invalid size"', () => {
    for (const s of ['', 'm', 'k', 'b', '1.2.3', '-1', '-1m', '12x', '12mx', '1kk', '1mbb', '1bi', 'm1', ' 1', '1..2', '1.', 'x1', 'NaN', 'Infinity', '0x10', '1e3']) {
      assert.throws(() => parseSize(s), (e: unknown) => e instanceof UnitError && e.message === `invalid size: '${s}'`, `parseSize(${JSON.stringify(s)})`);
    }
  });

  test('any string with a character outside digits, ".", " " and the unit letters is rejected', () => {
    const allowed = new Set('0123456789. kKmMgGtTpPiIbB');
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        fc.pre([...s].some((c) => !allowed.has(c)));
        assert.throws(() => parseSize(s), UnitError);
      }),
    );
  });

  test('a size that does not fit in a safe integer is rejected, not rounded', () => {
    assert.throws(() => parseSize('9999999999p'), UnitError);
    assert.throws(() => parseSize('99999999999999999999'), UnitError);
  });
});

describe('parseNanoCpus (--cpus as Docker stores it)', () => {
  test('examples', () => {
    const cases: [string, number][] = [
      ['0.5', 5e8], ['1', 1e9], ['1.5', 1.5e9], ['2', 2e9], ['0.3', 3e8], ['0.1', 1e8], ['0.01', 1e7], ['.5', 5e8], ['2.', 2e9],
      ['0.000000001', 1], ['0.123456789', 123456789], ['1.1000000000', 1.1e9], ['0', 0],
    ];
    for (const [s, n] of cases) assert.equal(parseNanoCpus(s), n, `parseNanoCpus(${JSON.stringify(s)})`);
  });

  test('exact for up to 9 decimals (no floating-point error)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 4096 }), fc.stringMatching(/^\d{0,9}$/), (whole, frac) => {
        const s = frac ? `${whole}.${frac}` : `${whole}`;
        assert.equal(parseNanoCpus(s), whole * 1e9 + Number(frac.padEnd(9, '0')));
      }),
    );
  });

  test('more than 9 decimals: trailing zeros are fine, anything else is "too precise"', () => {
    fc.assert(
      fc.property(fc.nat({ max: 64 }), fc.stringMatching(/^\d{9}$/), fc.stringMatching(/^\d{1,4}$/), (whole, nine, more) => {
        const s = `${whole}.${nine}${more}`;
        if (/^0+$/.test(more)) assert.equal(parseNanoCpus(s), whole * 1e9 + Number(nine));
        else assert.throws(() => parseNanoCpus(s), /too precise/);
      }),
    );
  });

  test('not a number: Docker\'s "failed to parse … as a rational number"', () => {
    for (const s of ['', 'abc', '-1', '-0.5', '1.2.3', '1,5', ' 1', '1 ', '.', '0x1']) {
      assert.throws(() => parseNanoCpus(s), (e: unknown) => e instanceof UnitError && e.message === `failed to parse ${s} as a rational number`, JSON.stringify(s));
    }
  });
});

describe('quotaFor (--cpus → CFS quota)', () => {
  test('--cpus 0.5 is 50000 µs in each 100000 µs period', () => {
    assert.equal(quotaFor(parseNanoCpus('0.5'), 100_000), 50_000);
    assert.equal(quotaFor(parseNanoCpus('1.5'), 100_000), 150_000);
    assert.equal(quotaFor(parseNanoCpus('0.01'), 100_000), 1_000);
  });

  test('round trip: quotaFor(parseNanoCpus(c), 100000) = c × 100000, and back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 * 100_000 }), (q) => {
        // c has up to 5 decimals, so c × 100000 is the whole number q
        const c = `${Math.floor(q / 100_000)}.${String(q % 100_000).padStart(5, '0')}`;
        const nano = parseNanoCpus(c);
        assert.equal(quotaFor(nano, 100_000), q);
        assert.equal(nano, q * 10_000); // q/100000 CPUs in nano-CPUs, exactly
      }),
    );
  });

  test('the quota is nanoCPUs × period / 1e9 in integer arithmetic, as Docker computes it (truncated)', () => {
    // moby: quota := NanoCPUs * int64(period) / 1e9 (Go integer division).
    fc.assert(
      // e.g. --cpus 1.23456789: Docker writes 123456, not 123457
      fc.property(fc.integer({ min: 1e7, max: 64e9 }), (nano) => {
        assert.equal(quotaFor(nano, 100_000), Number((BigInt(nano) * 100_000n) / 1_000_000_000n), `quotaFor(${nano}, 100000)`);
      }),
    );
  });
});

describe('parseCpuset / formatCpuset', () => {
  test('examples', () => {
    assert.deepEqual(parseCpuset('0-2,5'), [0, 1, 2, 5]);
    assert.deepEqual(parseCpuset('3'), [3]);
    assert.deepEqual(parseCpuset(''), []);
    assert.deepEqual(parseCpuset('5,0-1,1'), [0, 1, 5]);
    assert.deepEqual(parseCpuset('0-0'), [0]);
    assert.equal(formatCpuset([0, 1, 2, 5]), '0-2,5');
    assert.equal(formatCpuset([5, 1, 0, 2, 2]), '0-2,5');
    assert.equal(formatCpuset([]), '');
    assert.equal(formatCpuset([7]), '7');
    assert.equal(formatCpuset([1, 3, 4]), '1,3-4');
  });

  test('bad lists are rejected, naming the value', () => {
    for (const s of ['a', '2-1', '1-', '-1', '1,,2', '1-2-3', '0x1', '1;2', ',']) {
      assert.throws(() => parseCpuset(s), (e: unknown) => e instanceof UnitError && e.message === `Invalid value ${s} for cpuset cpus`, JSON.stringify(s));
    }
  });

  const cpuSet = fc.uniqueArray(fc.nat({ max: 127 }), { maxLength: 40 });

  test('round trip on random sets: parse(format(s)) = s sorted', () => {
    fc.assert(
      fc.property(cpuSet, (cpus) => {
        assert.deepEqual(parseCpuset(formatCpuset(cpus)), [...cpus].sort((a, b) => a - b));
      }),
    );
  });

  test('format writes the kernel\'s canonical form: sorted, maximal ranges, no "3-3"', () => {
    fc.assert(
      fc.property(cpuSet, (cpus) => {
        const s = formatCpuset(cpus);
        if (cpus.length === 0) return s === '';
        const parts = s.split(',').map((p) => p.split('-').map(Number));
        for (const p of parts) if (p.length === 2) assert.ok(p[0] < p[1], `range ${p.join('-')} in ${s}`);
        for (let i = 1; i < parts.length; i++) {
          const prevEnd = parts[i - 1][parts[i - 1].length - 1];
          assert.ok(parts[i][0] > prevEnd + 1, `${s}: parts ${i - 1} and ${i} should be one range`);
        }
        return true;
      }),
    );
  });

  test('any list of ranges, unsorted and overlapping, parses to the union', () => {
    const range = fc.tuple(fc.nat({ max: 63 }), fc.nat({ max: 8 })).map(([a, len]) => [a, a + len] as const);
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 8 }), (ranges) => {
        const text = ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
        const want = new Set<number>();
        for (const [a, b] of ranges) for (let i = a; i <= b; i++) want.add(i);
        assert.deepEqual(parseCpuset(text), [...want].sort((x, y) => x - y));
      }),
    );
  });
});

describe('sharesToWeight (cgroup v1 cpu.shares → v2 cpu.weight)', () => {
  test('the fixed points of the kernel\'s and runc\'s mapping', () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(262144), 10000);
    assert.equal(sharesToWeight(0), 0); // 0 = not set
  });

  test('monotonic, and inside [1, 10000] over the v1 range [2, 262144]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 262144 }), fc.integer({ min: 2, max: 262144 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const [wl, wh] = [sharesToWeight(lo), sharesToWeight(hi)];
        assert.ok(wl <= wh, `weight(${lo})=${wl} > weight(${hi})=${wh}`);
        assert.ok(wl >= 1 && wh <= 10000);
        assert.ok(Number.isInteger(wl) && Number.isInteger(wh));
      }),
    );
  });
});

describe('human sizes for stats', () => {
  test('memory in binary units, like docker stats', () => {
    assert.equal(bytesSize(67108864), '64MiB');
    assert.equal(bytesSize(0), '0B');
    assert.equal(bytesSize(1023), '1023B');
    assert.equal(bytesSize(1536), '1.5KiB');
    assert.equal(bytesSize(610304), '596KiB');
    assert.equal(bytesSize(GiB), '1GiB');
  });

  test('I/O in decimal units, four significant digits', () => {
    assert.equal(decimalSize(0), '0B');
    assert.equal(decimalSize(1234), '1.234kB');
    assert.equal(decimalSize(1_000_000), '1MB');
    assert.equal(decimalSize(999), '999B');
  });

  test('n MiB is shown as "nMiB" for every n < 1024', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1023 }), (n) => bytesSize(n * MiB) === `${n}MiB`));
  });
});
