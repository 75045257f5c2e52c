// `run`'s resource flags → Limits, with Docker's validation rules and
// messages (exit code 125), before anything is created on the host.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import fc from 'fast-check';
import { limitsFromFlags, hasLimits, MIN_MEMORY, type Limits } from '../../../runtime/cgroups/limits.ts';
import { RunError } from '../../../runtime/core/pipeline.ts';
import type { FlagValue } from '../../../runtime/core/flags.ts';

const MiB = 1024 * 1024;
const NCPU = os.cpus().length;

const flags = (o: Record<string, FlagValue>) => new Map(Object.entries(o));
const limits = (o: Record<string, FlagValue>): Limits => limitsFromFlags(flags(o));

/** Assert the flags are refused with Docker's message and exit code 125. */
function refused(o: Record<string, FlagValue>, message: string | RegExp): void {
  assert.throws(
    () => limits(o),
    (e: unknown) => {
      assert.ok(e instanceof RunError, `not a RunError: ${e}`);
      assert.equal(e.code, 125);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
    JSON.stringify(o),
  );
}

describe('limitsFromFlags: what is asked for', () => {
  test('no flags, no limits', () => {
    assert.deepEqual(limits({}), {});
    assert.equal(hasLimits(limits({})), false);
  });

  test('-m 64m: memory, and swap defaults to 2 × memory (Docker)', () => {
    assert.deepEqual(limits({ memory: '64m' }), { memory: 64 * MiB, memorySwap: 128 * MiB });
    assert.equal(hasLimits(limits({ memory: '64m' })), true);
  });

  test('--memory-swap: a size, or -1 for unlimited swap', () => {
    assert.deepEqual(limits({ memory: '64m', 'memory-swap': '128m' }), { memory: 64 * MiB, memorySwap: 128 * MiB });
    assert.deepEqual(limits({ memory: '64m', 'memory-swap': '64m' }), { memory: 64 * MiB, memorySwap: 64 * MiB });
    assert.deepEqual(limits({ memory: '64m', 'memory-swap': '-1' }), { memory: 64 * MiB, memorySwap: -1 });
  });

  test('--memory-reservation', () => {
    assert.deepEqual(limits({ memory: '64m', 'memory-reservation': '32m' }), { memory: 64 * MiB, memorySwap: 128 * MiB, memoryReservation: 32 * MiB });
  });

  test('--cpus 0.5 is a quota of 50000 µs per 100000 µs period; --cpus 0 means no limit', () => {
    assert.deepEqual(limits({ cpus: '0.5' }), { cpuPeriod: 100_000, cpuQuota: 50_000 });
    assert.deepEqual(limits({ cpus: '1.5' }), { cpuPeriod: 100_000, cpuQuota: 150_000 });
    assert.deepEqual(limits({ cpus: '0' }), {});
  });

  test('--cpu-period and --cpu-quota as given', () => {
    assert.deepEqual(limits({ 'cpu-period': 50_000, 'cpu-quota': 25_000 }), { cpuPeriod: 50_000, cpuQuota: 25_000 });
    assert.deepEqual(limits({ 'cpu-quota': 25_000 }), { cpuQuota: 25_000 });
    assert.deepEqual(limits({ 'cpu-quota': -1 }), { cpuQuota: -1 });
  });

  test('--cpu-shares, --pids-limit', () => {
    assert.deepEqual(limits({ 'cpu-shares': 512 }), { cpuShares: 512 });
    assert.deepEqual(limits({ 'pids-limit': 16 }), { pidsLimit: 16 });
    assert.deepEqual(limits({ 'pids-limit': -1 }), { pidsLimit: -1 });
  });

  test('--cpuset-cpus is stored in the kernel\'s canonical form', () => {
    assert.deepEqual(limits({ 'cpuset-cpus': '0' }), { cpusetCpus: '0' });
    if (NCPU >= 2) assert.deepEqual(limits({ 'cpuset-cpus': '1,0' }), { cpusetCpus: '0-1' });
  });

  test('property: any -m of at least 6 MiB gets swap = 2 × memory unless --memory-swap is given', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_MEMORY, max: 2 ** 40 }), fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }), (m, extra) => {
        const o: Record<string, FlagValue> = { memory: String(m) };
        if (extra !== undefined) o['memory-swap'] = String(m + extra);
        const l = limits(o);
        assert.equal(l.memory, m);
        assert.equal(l.memorySwap, extra === undefined ? 2 * m : m + extra);
      }),
    );
  });

  test('property: --cpus with two decimals in [0.01, NCPU] gives quota = cpus × 100000', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: NCPU * 100 }), (hundredths) => {
        const cpus = `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
        assert.deepEqual(limits({ cpus }), { cpuPeriod: 100_000, cpuQuota: hundredths * 1000 });
      }),
    );
  });
});

describe('limitsFromFlags: Docker\'s errors (exit 125)', () => {
  test('-m below 6 MiB', () => {
    refused({ memory: '4m' }, 'Minimum memory limit allowed is 6MB');
    refused({ memory: '6291455' }, 'Minimum memory limit allowed is 6MB');
    assert.equal(limits({ memory: '6m' }).memory, MIN_MEMORY);
  });

  test('-m that is not a size names the flag and the value', () => {
    refused({ memory: 'foo' }, `invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'`);
    refused({ memory: '-1' }, `invalid argument "-1" for "-m, --memory" flag: invalid size: '-1'`);
    refused({ 'memory-reservation': '12x' }, `invalid argument "12x" for "--memory-reservation" flag: invalid size: '12x'`);
    refused({ memory: '64m', 'memory-swap': 'lots' }, `invalid argument "lots" for "--memory-swap" flag: invalid size: 'lots'`);
  });

  test('--memory-swap smaller than -m, or without -m', () => {
    refused({ memory: '64m', 'memory-swap': '32m' }, 'Minimum memoryswap limit should be larger than memory limit, see usage');
    refused({ 'memory-swap': '64m' }, 'You should always set the Memory limit when using Memoryswap limit, see usage');
  });

  test('property: --memory-swap below -m is always refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_MEMORY + 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 }), (m, less) => {
        fc.pre(m - less > 0);
        refused({ memory: String(m), 'memory-swap': String(m - less) }, 'Minimum memoryswap limit should be larger than memory limit, see usage');
      }),
    );
  });

  test('--memory-reservation below 6 MiB or above -m', () => {
    refused({ 'memory-reservation': '1m' }, 'Minimum memory reservation allowed is 6MB');
    refused({ memory: '64m', 'memory-reservation': '128m' }, 'Minimum memory limit can not be less than memory reservation limit, see usage');
  });

  test('--cpus out of range: "Range of CPUs is from 0.01 to N.00"', () => {
    const msg = `Range of CPUs is from 0.01 to ${NCPU}.00, as there are only ${NCPU} CPUs available`;
    refused({ cpus: String(NCPU + 1) }, msg);
    refused({ cpus: '99' }, msg);
    refused({ cpus: `${NCPU}.000000001` }, msg);
    refused({ cpus: '0.001' }, msg);
    refused({ cpus: '0.009' }, msg);
    assert.deepEqual(limits({ cpus: String(NCPU) }), { cpuPeriod: 100_000, cpuQuota: NCPU * 100_000 });
  });

  test('--cpus that is not a number', () => {
    refused({ cpus: 'half' }, 'invalid argument "half" for "--cpus" flag: failed to parse half as a rational number');
    refused({ cpus: '-1' }, 'invalid argument "-1" for "--cpus" flag: failed to parse -1 as a rational number');
    refused({ cpus: '0.0000000001' }, 'invalid argument "0.0000000001" for "--cpus" flag: value is too precise');
  });

  test('--cpus with --cpu-period or --cpu-quota: Conflicting options', () => {
    refused({ cpus: '0.5', 'cpu-period': 100_000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
    refused({ cpus: '0.5', 'cpu-quota': 50_000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  });

  test('--cpu-period outside [1ms, 1s], --cpu-quota below 1ms', () => {
    const msg = 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)';
    refused({ 'cpu-period': 10 }, msg);
    refused({ 'cpu-period': 999 }, msg);
    refused({ 'cpu-period': 1_000_001 }, msg);
    assert.deepEqual(limits({ 'cpu-period': 1000 }), { cpuPeriod: 1000 });
    assert.deepEqual(limits({ 'cpu-period': 1_000_000 }), { cpuPeriod: 1_000_000 });
    refused({ 'cpu-quota': 999 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  });

  test('--cpuset-cpus naming CPUs the host does not have', () => {
    const available = NCPU === 1 ? '0' : `0-${NCPU - 1}`;
    refused({ 'cpuset-cpus': '0-99' }, `Requested CPUs are not available - requested 0-99, available: ${available}`);
    refused({ 'cpuset-cpus': String(NCPU) }, `Requested CPUs are not available - requested ${NCPU}, available: ${available}`);
    refused({ 'cpuset-cpus': 'a-b' }, 'Invalid value a-b for cpuset cpus');
  });

  test('--cpu-shares below 0', () => {
    refused({ 'cpu-shares': -1 }, /invalid CPU shares/);
  });

  test('--pids-limit above the kernel\'s PID_MAX_LIMIT (4194304), up to int64\'s largest, is refused before anything is made', () => {
    assert.deepEqual(limits({ 'pids-limit': 4194304 }), { pidsLimit: 4194304 });
    refused({ 'pids-limit': 4194305 }, 'invalid --pids-limit 4194305: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit');
    refused({ 'pids-limit': 5000000 }, /^invalid --pids-limit 5000000: the kernel allows at most 4194304/);
    // 2^63 - 1 as the flag parser gives it (a JS number, not exact): no misleading digits
    refused({ 'pids-limit': Number('9223372036854775807') }, 'invalid --pids-limit: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit');
  });

  test('--cpu-quota above the kernel\'s largest CFS quota (2^44 - 1 µs) is refused', () => {
    assert.deepEqual(limits({ 'cpu-quota': 2 ** 44 - 1 }), { cpuQuota: 2 ** 44 - 1 });
    refused({ 'cpu-quota': 2 ** 44 }, /^CPU cfs quota can not be larger than 17592186044415/);
  });

  test('--cpuset-cpus with a huge range is refused at once, naming what is available', () => {
    refused({ 'cpuset-cpus': '0-4000000000' }, `Requested CPUs are not available - requested 0-4000000000, available: ${NCPU === 1 ? '0' : `0-${NCPU - 1}`}`);
  });

  test('--cpu-shares is brought into the kernel\'s range [2, 262144], as Docker does', () => {
    assert.deepEqual(limits({ 'cpu-shares': 1 }), { cpuShares: 2 });
    assert.deepEqual(limits({ 'cpu-shares': 10_000_000 }), { cpuShares: 262144 });
  });
});
