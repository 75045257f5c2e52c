// Chapter 5, section 2: "What the monitor does", its "Logs of any size: from
// the end, rotated, with backpressure".
//
// Chapter 5, for real, as root: `logs` on a log bigger than memory should
// hold. A log of over 600 MiB (the container runs, then its json-file log is
// made that big: a `yes` flood makes the same in seconds), and `logs`
// answers with the right lines while the CLI's peak RSS (VmHWM, measured by
// /usr/bin/time -f %M) stays under 100 MiB: a bound on memory, not on time.
//
// test/run.ts runs this file with layers 1..4 too, where every test must
// fail: there is no `run -d` and no `logs`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BIN, rootOrSkip } from '../../helpers/dockling.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip() || (!fs.existsSync('/usr/bin/time') && 'needs /usr/bin/time');
const c = chapter5('ch5-logsize');
const MiB = 1024 * 1024;

const entry = (log: string, stream = 'stdout', time = '2026-12-04T06:00:00.000000000Z') => JSON.stringify({ log, stream, time }) + '\n';

/** Fill `file` with `mib` MiB of 16 KiB entries (dockerd's longest), then the given last entries; how many 16 KiB entries. */
function bigLog(file: string, mib: number, last: string[]): number {
  const one = entry('y'.repeat(16 * 1024 - 1) + '\n');
  const perBlock = Math.ceil(MiB / one.length);
  const block = Buffer.from(one.repeat(perBlock));
  const fd = fs.openSync(file, 'w');
  let entries = 0;
  try {
    for (let n = 0; n < mib * MiB; n += block.length) fs.writeSync(fd, block), (entries += perBlock);
    fs.writeSync(fd, last.join(''));
  } finally {
    fs.closeSync(fd);
  }
  return entries;
}

/** `dockling logs ARGS` through a shell pipeline; its exit status, stdout (or what `then` made of it) and peak RSS in KiB. */
function logsRss(args: string[], then = ''): { code: number; out: string; err: string; rssKiB: number } {
  const cli = ['/usr/bin/time', '-f', 'RSS=%M', process.execPath, '--', BIN, '--root', c.root(), 'logs', ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('sh', ['-c', `${cli}${then}`], { encoding: 'utf8', timeout: 300_000 });
  const rss = /RSS=(\d+)/.exec(r.stderr);
  assert.ok(rss, `no RSS from /usr/bin/time in ${JSON.stringify(r.stderr)}`);
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr.replace(/RSS=\d+\n/, ''), rssKiB: Number(rss[1]) };
}

test('logs --tail 2 and logs -f --tail 2 on a 600 MiB log: the last two lines, in under 100 MiB', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'big', 'busybox', 'echo', 'first']);
    assert.equal(c.ok(['wait', 'big']), '0\n');
    const file = c.inspect('big', '{{.LogPath}}');
    bigLog(file, 600, [entry('third last\n'), entry('second last\n', 'stderr'), entry('last\n')]);
    assert.ok(fs.statSync(file).size > 600 * MiB);
    for (const args of [['--tail', '2'], ['-f', '--tail', '2'], ['-n', '2', '-t']]) {
      const r = logsRss([...args, id]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, args.includes('-t') ? '2026-12-04T06:00:00.000000000Z last\n' : 'last\n', `logs ${args.join(' ')}`);
      assert.equal(r.err, args.includes('-t') ? '2026-12-04T06:00:00.000000000Z second last\n' : 'second last\n');
      assert.ok(r.rssKiB < 100 * 1024, `logs ${args.join(' ')} peaked at ${r.rssKiB} KiB RSS`);
    }
  } finally {
    await c.cleanup();
  }
});

test('logs of all of a 600 MiB log streams it: every byte out, memory flat', { skip }, async () => {
  try {
    const id = c.runD(['--name', 'all', 'busybox', 'echo', 'first']);
    assert.equal(c.ok(['wait', 'all']), '0\n');
    const file = c.inspect('all', '{{.LogPath}}');
    const entries = bigLog(file, 600, [entry('the end\n')]);
    const r = logsRss([id], ' | wc -c');
    assert.equal(r.code, 0, r.err);
    assert.equal(Number(r.out.trim()), entries * 16 * 1024 + 'the end\n'.length);
    assert.ok(r.rssKiB < 100 * 1024, `logs peaked at ${r.rssKiB} KiB RSS`);
  } finally {
    await c.cleanup();
  }
});
