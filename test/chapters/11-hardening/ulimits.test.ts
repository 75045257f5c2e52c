// Chapter 11, section 5: "The filesystem and the limits", its "Limits the
// command starts with: --ulimit".
//
// Chapter 11, for real, as root: --ulimit NAME=SOFT[:HARD], Docker's syntax
// (docker/go-units), set by the init with setrlimit(2) just before execve,
// so the command starts with them: `ulimit -n` and /proc/self/limits show
// them. Without --ulimit the container keeps its caller's limits, as any
// process does (Docker's containers keep dockerd's). Docker's errors for
// bad values, with nothing made.
//
// test/run.ts runs this file with layers 1..11 (every test must pass) and
// with layers 1..10 (every test must fail: there --ulimit is ignored with a
// warning, so the limits stay the caller's and bad values are not refused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch11-ulimit');
const { run, ok } = runners(root);

/** A line of /proc/PID/limits as [soft, hard], e.g. "Max open files  1024  4096  files". */
function limitLine(limits: string, name: string): [string, string] {
  const line = limits.split('\n').find((l) => l.startsWith(name));
  assert.ok(line, `${name} in:\n${limits}`);
  const [soft, hard] = line.slice(26).trim().split(/\s+/);
  return [soft, hard];
}

test('--ulimit nofile=100:200: the command starts with those limits (ulimit -n, /proc/self/limits); without it, the caller’s', { skip }, () => {
  const out = ok(['--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn; cat /proc/self/limits']);
  const [soft, hard, ...rest] = out.split('\n');
  assert.equal(soft, '100');
  assert.equal(hard, '200');
  assert.deepEqual(limitLine(rest.join('\n'), 'Max open files'), ['100', '200']);
  // No --ulimit: inherited. (The CLI, a Node process like this test, starts
  // with its soft open-files limit raised to the hard one: Node does that.)
  const inherited = ok(['busybox', 'cat', '/proc/self/limits']);
  assert.deepEqual(limitLine(inherited, 'Max open files'), limitLine(fs.readFileSync('/proc/self/limits', 'utf8'), 'Max open files'));
});

test('--ulimit: several names, -1 and "infinity" are unlimited, a soft limit alone sets both, the last one for a name wins', { skip }, () => {
  const out = ok([
    '--ulimit', 'core=1000:-1', '--ulimit', 'fsize=infinity', '--ulimit', 'nproc=500:1000', '--ulimit', 'stack=8192000',
    '--ulimit', 'nofile=50', '--ulimit', 'nofile=60:70', 'busybox', 'cat', '/proc/self/limits',
  ]);
  // (Only lowered or kept: raising a hard limit needs CAP_SYS_RESOURCE, which
  // the caller may not have, e.g. inside another container.)
  assert.deepEqual(limitLine(out, 'Max core file size'), ['1000', 'unlimited']);
  assert.deepEqual(limitLine(out, 'Max file size'), ['unlimited', 'unlimited']);
  assert.deepEqual(limitLine(out, 'Max processes'), ['500', '1000']);
  assert.deepEqual(limitLine(out, 'Max stack size'), ['8192000', '8192000']);
  assert.deepEqual(limitLine(out, 'Max open files'), ['60', '70']);
});

test('--ulimit is set by the init with setrlimit, in the trace', { skip }, () => {
  const r = expectCode(dockling(root(), ['--trace', 'run', '--rm', '--ulimit', 'nofile=100:200', 'busybox', 'true']), 0);
  assert.match(r.stderr, /setrlimit\(RLIMIT_NOFILE, \{soft: 100, hard: 200\}\)/);
});

test('bad --ulimit values: 125 with Docker’s messages, and nothing made', { skip }, () => {
  const cases: [string, string][] = [
    ['foo=1', 'invalid ulimit type: foo'],
    ['as=1', 'invalid ulimit type: as'],
    ['nofile', 'invalid ulimit argument: nofile'],
    ['nofile=x', 'strconv.ParseInt: parsing "x": invalid syntax'],
    ['nofile=10:5', 'ulimit soft limit must be less than or equal to hard limit: 10 > 5'],
    ['nofile=-1:5', 'ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 5'],
    ['nofile=1:2:3', 'too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`'],
  ];
  for (const [value, message] of cases) {
    const r = expectCode(run(['--ulimit', value, 'busybox', 'true']), 125);
    assert.ok(r.stderr.includes(`invalid argument "${value}" for "--ulimit" flag: ${message}`), r.stderr);
  }
  assert.deepEqual(fs.readdirSync(path.join(root(), 'containers')), [], 'no container made');
});
