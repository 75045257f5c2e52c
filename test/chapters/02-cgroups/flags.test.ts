// Chapter 2, section 6: "The flags, in Docker's units".
//
// Docker's rules and Docker's messages: each bad value is refused with
// exit 125 and Docker's words, in the validate stage, before any cgroup is
// touched.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import { NCPU, chapter2 } from './helpers.ts';

const { labTest } = chapter2('ch2-flags');

const ERRORS: [string[], string][] = [
  [['-m', '4m'], 'Minimum memory limit allowed is 6MB'],
  [['-m', 'foo'], `invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'`],
  [['-m', '64m', '--memory-swap', '32m'], 'Minimum memoryswap limit should be larger than memory limit, see usage'],
  [['--cpus', '0.001'], `Range of CPUs is from 0.01 to ${NCPU}.00, as there are only ${NCPU} CPUs available`],
  [['--cpus', String(NCPU + 1)], `Range of CPUs is from 0.01 to ${NCPU}.00, as there are only ${NCPU} CPUs available`],
  [['--cpus', '0.5', '--cpu-period', '100000'], 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
  [['--cpuset-cpus', '0-99'], `Requested CPUs are not available - requested 0-99, available: ${NCPU === 1 ? '0' : `0-${NCPU - 1}`}`],
  [['--cpu-period', '10'], 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)'],
  // Values the kernel refuses (EINVAL): once a write failure, then a hang forever (issue 9).
  [['--pids-limit', '5000000'], 'invalid --pids-limit 5000000: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit'],
  [['--pids-limit', '9223372036854775807'], 'invalid --pids-limit: the kernel allows at most 4194304 (PID_MAX_LIMIT); use -1 for no limit'],
  [['--cpu-quota', '17592186044416'], "CPU cfs quota can not be larger than 17592186044415 (the kernel's limit, about 203 days)"],
  [['--cpuset-cpus', '0-4000000000'], `Requested CPUs are not available - requested 0-4000000000, available: ${NCPU === 1 ? '0' : `0-${NCPU - 1}`}`],
];

for (const [flags, message] of ERRORS) {
  labTest(`run ${flags.join(' ')}: exit 125, "${message}", and nothing is made`, (lab) => {
    const r = lab.run(['run', '--rm', ...flags, 'busybox', 'echo', 'the command ran']);
    assert.equal(r.code, 125, r.stderr);
    assert.ok(r.stderr.includes(`dockling: ${message}\n`), `stderr:\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /the command ran/);
    assert.deepEqual(r.trace.filter((e) => e.chapter === 2), [], 'cgroups were touched for a refused run');
    return lab.assertNoLeaks();
  });
}
