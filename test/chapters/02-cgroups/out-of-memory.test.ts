// Chapter 2, section 7: "Out of memory".
//
// A memory hog under -m is OOM-killed: exit 137, and dockling says so,
// naming the limit.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import { chapter2 } from './helpers.ts';

const { labTest } = chapter2('ch2-oom');

labTest('a memory hog under -m 32m is OOM-killed: exit 137, and dockling says it was OOM-killed', (lab) => {
  // dd fills one 64 MiB buffer, twice the limit, as PID 1: killed, 128 + SIGKILL.
  // (Bounded, so that a limit that does not hold cannot take the host's
  // memory: at --chapter 1, where -m is ignored, it copies 64 MiB and ends.)
  const r = lab.run(['run', '--rm', '-m', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
  assert.equal(r.code, 137, `exit code\n--- stderr\n${r.stderr}`);
  assert.match(r.stderr, /OOM-killed/, 'dockling must say the container was OOM-killed');
  assert.match(r.stderr, /32MiB/, 'and name the limit');
  return lab.assertNoLeaks();
});
