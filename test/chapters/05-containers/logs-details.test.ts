// Chapter 5, the monitor's log: `logs --details`. Docker's json-file keeps,
// with each line, the container's labels and environment variables that
// --log-opt labels=/env= (and their -regex forms) name; --details prints
// them before the line, sorted, as key=value pairs joined by commas and
// escaped as a URL query, then a space. With none, the space alone: every
// line starts with one. The time stamp of -t comes first.
//
// test/run.ts runs this file with layers 1..4 too, where every test must
// fail: there is no `run -d` and no `logs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-logdetails');

test('logs --details: the attributes --log-opt env= and env-regex= name, sorted and escaped, then a space; none: a space', { skip }, async () => {
  try {
    const id = c.runD(['--log-opt', 'env=FOO,NOT_SET', '--log-opt', 'env-regex=^B', '-e', 'FOO=a b', '-e', 'BAR=x,y', '-e', 'OTHER=z', 'busybox', 'sh', '-c', 'echo one; echo two >&2']);
    await c.untilLogs(id, /one/);
    const d = c.logsOf(id, ['--details']);
    assert.equal(d.stdout, 'BAR=x%2Cy,FOO=a+b one\n');
    assert.equal(d.stderr, 'BAR=x%2Cy,FOO=a+b two\n');
    // without --details: the lines as they were written
    assert.equal(c.logsOf(id).stdout, 'one\n');
    // -t: the time stamp, then the details, then the line
    assert.match(c.logsOf(id, ['--details', '-t']).stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z BAR=x%2Cy,FOO=a\+b one\n$/);

    const plain = c.runD(['busybox', 'echo', 'hi']);
    await c.untilLogs(plain, /hi/);
    assert.equal(c.logsOf(plain, ['--details']).stdout, ' hi\n');
    assert.match(c.logsOf(plain, ['--details', '--timestamps']).stdout, /^\S+Z {2}hi\n$/);
  } finally {
    await c.cleanup();
  }
});
