// Chapter 2, section 5: "The view from inside: the cgroup namespace".
//
// Inside, /sys/fs/cgroup shows the container's own cgroup as the root, with
// its limits, and read-only. (The release_agent probe of the same section,
// "Why every hierarchy", is in escape.test.ts, part of the escape suite.)
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import { V2, chapter2 } from './helpers.ts';

const { labTest } = chapter2('ch2-inside');

labTest('inside, /sys/fs/cgroup shows the container\'s own cgroup as the root, with its limits, read-only', (lab) => {
  const script = V2
    ? [
        'cat /proc/self/cgroup',
        'echo "memory=$(cat /sys/fs/cgroup/memory.max)"',
        'echo "pids=$(cat /sys/fs/cgroup/pids.max)"',
        'if mkdir /sys/fs/cgroup/escape 2>/dev/null; then echo mkdir=made; else echo mkdir=refused; fi',
        'if echo max > /sys/fs/cgroup/pids.max; then echo write=done; else echo write=refused; fi',
      ]
    : [
        'cat /proc/self/cgroup',
        'echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
        'echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"',
        'if mkdir /sys/fs/cgroup/memory/escape 2>/dev/null; then echo mkdir=made; else echo mkdir=refused; fi',
        'if echo max > /sys/fs/cgroup/pids/pids.max; then echo write=done; else echo write=refused; fi',
      ];
  const r = lab.run(['run', '--rm', '-m', '64m', '--pids-limit', '20', 'busybox', 'sh', '-c', script.join('; ')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const cgLines = lines.filter((l) => /^\d+:[^:]*:/.test(l));
  for (const c of V2 ? [''] : ['memory', 'cpu', 'pids']) {
    const line = cgLines.find((l) => (c === '' ? l.split(':')[1] === '' : l.split(':')[1].split(',').includes(c)));
    assert.ok(line, `no ${c || 'unified'} line in /proc/self/cgroup:\n${cgLines.join('\n')}`);
    assert.equal(line.split(':').slice(2).join(':'), '/', `the ${c || 'unified'} cgroup inside is not "/": ${line}`);
  }
  assert.ok(lines.includes('memory=67108864'), `the memory limit inside:\n${r.stdout}`);
  assert.ok(lines.includes('pids=20'), `the pids limit inside:\n${r.stdout}`);
  assert.ok(lines.includes('mkdir=refused'), `a cgroup could be made inside:\n${r.stdout}`);
  assert.ok(lines.includes('write=refused'), `the container could change its own limit:\n${r.stdout}`);
  return lab.assertNoLeaks();
});
