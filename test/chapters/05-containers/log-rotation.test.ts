// Chapter 5, section 2: "What the monitor does", its "Logs of any size: from
// the end, rotated, with backpressure".
//
// Chapter 5, for real, as root: Docker's json-file rotation. With
// --log-opt max-size and max-file the monitor moves <id>-json.log to .1
// (and .1 to .2 …) before an entry would take it past max-size, keeps
// max-file files at most, and `logs` reads them oldest first. Without
// options a log is still capped (5 files of 20 MB, log-config.ts), and
// `inspect` shows the config as Docker does.
//
// test/run.ts runs this file with layers 1..4 too, where every test must
// fail: there is no `run -d`, no --log-opt, no `logs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5, lines, runAsync } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-logrot');

/** The log's files in the container's directory, by name, and their sizes. */
function logFilesOf(id: string): Map<string, number> {
  const dir = path.join(c.root(), 'containers', id);
  return new Map(fs.readdirSync(dir).filter((n) => n.startsWith(`${id}-json.log`)).map((n) => [n.slice(id.length), fs.statSync(path.join(dir, n)).size]));
}
const numbers = (text: string) => lines(text).map(Number);
const consecutive = (ns: number[]) => ns.every((n, i) => i === 0 || n === ns[i - 1] + 1);

test('run --log-opt max-size=10k --log-opt max-file=3: rotates at the size, keeps 3 files, logs reads them oldest first', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'rot', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=3', 'busybox', 'seq', '1', '5000']);
    assert.equal(c.ok(['wait', 'rot']), '0\n');
    assert.equal(c.inspect('rot', '{{json .HostConfig.LogConfig}}'), '{"Type":"json-file","Config":{"max-file":"3","max-size":"10k"}}');
    const files = logFilesOf(id);
    assert.deepEqual([...files.keys()].sort(), ['-json.log', '-json.log.1', '-json.log.2'], 'max-file=3: the live file and two rotated ones');
    for (const [name, size] of files) assert.ok(size <= 10_000, `${name} is ${size} bytes, over max-size=10k (10000 bytes)`);
    // The rotated files are full: the next entry would not have fitted.
    for (const name of ['-json.log.1', '-json.log.2']) assert.ok(files.get(name)! > 10_000 - 100, `${name} rotated early at ${files.get(name)} bytes`);
    // logs: the newest lines, in order, none missing, from the first line of the oldest file to 5000.
    const out = numbers(c.logsOf('rot').stdout);
    const oldest = JSON.parse(fs.readFileSync(path.join(c.root(), 'containers', id, `${id}-json.log.2`), 'utf8').split('\n')[0]).log;
    assert.equal(out[0], Number(oldest));
    assert.equal(out.at(-1), 5000);
    assert.ok(consecutive(out), 'logs across the files: every line once, in order');
    assert.ok(out.length < 5000, 'the oldest lines were rotated away');
    // --tail across the files' boundary.
    const live = lines(fs.readFileSync(path.join(c.root(), 'containers', id, `${id}-json.log`), 'utf8')).length;
    assert.deepEqual(numbers(c.logsOf('rot', ['--tail', String(live + 2)]).stdout), Array.from({ length: live + 2 }, (_, i) => 5000 - live - 1 + i));
  } finally {
    await c.cleanup();
  }
});

test('max-file=1: the one file is started again when full, logs shows what it holds', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'one', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=1', 'busybox', 'seq', '1', '5000']);
    assert.equal(c.ok(['wait', 'one']), '0\n');
    const files = logFilesOf(id);
    assert.deepEqual([...files.keys()], ['-json.log']);
    assert.ok(files.get('-json.log')! <= 10_000);
    const out = numbers(c.logsOf('one').stdout);
    assert.equal(out.at(-1), 5000);
    assert.ok(consecutive(out) && out.length < 5000 && out.length > 50, `logs: ${out.length} lines from ${out[0]}`);
  } finally {
    await c.cleanup();
  }
});

test('logs -f follows the log across rotations, every line once, in order', { skip }, async () => {
  try {
    // Batches with a pause between them: the follower sees rotations happen while it reads.
    const script = 'i=0; while [ $i -lt 40 ]; do seq $((i*100+1)) $((i*100+100)); i=$((i+1)); sleep 0.05; done';
    c.runD(['--name', 'rotf', '--log-opt', 'max-size=4k', '--log-opt', 'max-file=50', 'busybox', 'sh', '-c', script]);
    const f = runAsync(c.root(), ['logs', '-f', 'rotf']);
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(numbers(r.stdout), Array.from({ length: 4000 }, (_, i) => i + 1));
  } finally {
    await c.cleanup();
  }
});

test('without --log-opt the log is capped all the same (5 x 20m), as inspect shows; --log-driver none keeps none', { skip }, async () => {
  try {
    c.runD(['--name', 'dflt', 'busybox', 'true']);
    assert.equal(c.inspect('dflt', '{{json .HostConfig.LogConfig}}'), '{"Type":"json-file","Config":{"max-file":"5","max-size":"20m"}}');
    // One option given, the other keeps its default.
    c.runD(['--name', 'one', '--log-opt', 'max-file=2', 'busybox', 'true']);
    assert.equal(c.inspect('one', '{{json .HostConfig.LogConfig}}'), '{"Type":"json-file","Config":{"max-file":"2","max-size":"20m"}}');
    const id = c.runD(['--name', 'none', '--log-driver', 'none', 'busybox', 'echo', 'hi']);
    assert.equal(c.ok(['wait', 'none']), '0\n');
    assert.equal(c.inspect('none', '{{json .HostConfig.LogConfig}}'), '{"Type":"none","Config":{}}');
    assert.deepEqual([...logFilesOf(id).keys()], [], 'no log file with --log-driver none');
    const r = expectCode(c.dk(['logs', 'none']), 1);
    assert.equal(r.stderr, 'dockling: configured logging driver does not support reading\n');
  } finally {
    await c.cleanup();
  }
});

test("bad --log-opt and --log-driver values are refused with Docker's messages, and nothing is made", { skip }, async () => {
  try {
    const cases: [string[], string][] = [
      [['--log-opt', 'max-size=0'], 'max-size must be a positive number'],
      [['--log-opt', 'max-size=ten'], "invalid size: 'ten'"],
      [['--log-opt', 'max-file=0'], 'max-file cannot be less than 1'],
      [['--log-opt', 'max-file=x'], 'strconv.Atoi: parsing "x": invalid syntax'],
      [['--log-opt', 'foo=1'], "unknown log opt 'foo' for json-file log driver"],
      [['--log-opt', 'nonsense'], 'invalid key value pair format in logging opts: nonsense'],
      [['--log-driver', 'none', '--log-opt', 'max-size=1m'], "unknown log opt 'max-size' for none log driver"],
      [['--log-driver', 'nosuch'], "logger: no log driver named 'nosuch' is registered"],
    ];
    for (const [flags, message] of cases) {
      const r = expectCode(c.dk(['run', '-d', ...flags, 'busybox', 'true']), 125);
      // refused while the container is made: the docker CLI's help line follows
      assert.equal(r.stderr, `dockling: ${message}\nSee 'dockling run --help'.\n`, flags.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.equal(c.ok(['ps', '-a', '-q']), '', 'no container was made');
  } finally {
    await c.cleanup();
  }
});
