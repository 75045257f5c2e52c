// Chapter 5 and chapter 1's section 10, "The trace": what --trace shows of a
// container under its monitor.
//
// Chapter 5, for real, as root. A foreground run is spawned under its
// monitor, and a clean exit ends with cleanup's removals: no kill of a PID 1
// that is already gone (its number may be another process's by then). The
// signals of `stop` are printed by name, however they were asked for.
//
// test/run.ts runs this file with layers 1..4 too, where every test must
// fail: there is no monitor and no `run -d` (chapter5's first check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-trace');

const headingOf = (lines: string[], i: number) => lines.slice(0, i).filter((l) => l.startsWith('── ')).at(-1)?.split(' ')[1];

test('run --rm under the monitor: spawn monitor … nsexec, then after a clean exit only removals, no kill', { skip }, async () => {
  try {
    const r = expectCode(dockling(c.root(), ['--trace', 'run', '--rm', 'busybox', 'true']), 0);
    const lines = r.stderr.trimEnd().split('\n');
    const spawn = lines.findIndex((l) => /host ch1 +spawn monitor .* \$ROOT\/containers\/[0-9a-f]{12} -- nsexec [a-zA-Z]+ node init\.js$/.test(l));
    assert.ok(spawn >= 0, `no spawn of the monitor:\n${r.stderr}`);
    assert.equal(headingOf(lines, spawn), 'create');
    const exit = lines.findIndex((l) => /host ch1 +exited: status 0$/.test(l));
    assert.equal(headingOf(lines, exit), 'wait', r.stderr);
    assert.equal(lines.filter((l) => l.startsWith('── ')).at(-1)?.split(' ')[1], 'cleanup');
    assert.doesNotMatch(r.stderr, /kill\(/, 'a clean exit needs no kill');
    assert.match(lines.at(-1)!, /host ch1 +rm -rf "\$ROOT\/containers\/[0-9a-f]{12}"$/, r.stderr);
  } finally {
    await c.cleanup();
  }
});

test('stop: the stop signal, then SIGKILL, by name (the stop signal was passed on as a number)', { skip }, async () => {
  try {
    const id = c.runD(['busybox', 'sleep', '30']); // PID 1 without a handler ignores SIGTERM
    const r = expectCode(dockling(c.root(), ['--trace', 'stop', '-t', '1', id]), 0);
    const kills = [...r.stderr.matchAll(/kill\(\d+, (\S+)\)/g)].map((m) => m[1]);
    assert.deepEqual(kills, ['SIGTERM', 'SIGKILL'], r.stderr);
  } finally {
    await c.cleanup();
  }
});
