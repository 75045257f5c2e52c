// Unit tests: the log options' parsing (log-config.ts) as Docker reads them,
// and where `logs --tail N` starts (logs.ts tailStart), across files and
// chunk boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLogConfig, parseSize, monitorLogArgs } from '../../../runtime/container/log-config.js';
import { logFiles, tailStart } from '../../../runtime/container/logs.js';

test('parseSize reads sizes as go-units FromHumanSize: powers of 1000, optional i and b', () => {
  assert.equal(parseSize('100'), 100);
  assert.equal(parseSize('10k'), 10_000);
  assert.equal(parseSize('10m'), 10_000_000);
  assert.equal(parseSize('1.5g'), 1_500_000_000);
  assert.equal(parseSize('2MB'), 2_000_000);
  assert.equal(parseSize('2 MiB'), 2_000_000);
  for (const bad of ['', 'ten', '10x', '-1m', '1m2']) assert.throws(() => parseSize(bad), { message: `invalid size: '${bad}'` });
});

test('parseLogConfig: defaults, one option over its default, none, and the monitor options', () => {
  assert.deepEqual(parseLogConfig(undefined, []), { Type: 'json-file', Config: { 'max-file': '5', 'max-size': '20m' } });
  assert.deepEqual(parseLogConfig('json-file', ['max-size=1k']), { Type: 'json-file', Config: { 'max-file': '5', 'max-size': '1k' } });
  assert.deepEqual(parseLogConfig('none', []), { Type: 'none', Config: {} });
  assert.deepEqual(monitorLogArgs(parseLogConfig(undefined, ['max-size=1k', 'max-file=2'])), ['--log-driver', 'json-file', '--log-max-size', '1000', '--log-max-file', '2']);
  assert.deepEqual(monitorLogArgs({ Type: 'none', Config: {} }), ['--log-driver', 'none']);
  assert.throws(() => parseLogConfig('syslog', []), { message: /^logger: no log driver named 'syslog' is registered/ });
});

test('tailStart finds the start of the last N lines across files and 64 KiB chunks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-unit-tail-'));
  try {
    const id = 'c0ffee';
    const line = (i: number) => `${String(i).padStart(9, '0')}${'.'.repeat(90)}\n`; // 100 bytes
    // oldest .2: lines 0..999, .1: 1000..1999, live: 2000..2999 and an unfinished line
    for (const [suffix, from] of [['.2', 0], ['.1', 1000], ['', 2000]] as const) {
      fs.writeFileSync(path.join(dir, `${id}-json.log${suffix}`), Array.from({ length: 1000 }, (_, k) => line(from + k)).join('') + (suffix ? '' : 'unfinished'));
    }
    fs.writeFileSync(path.join(dir, `${id}-json.log.x`), 'not a rotated file');
    const files = logFiles(dir, id);
    assert.deepEqual(files.map((f) => path.basename(f)), [`${id}-json.log.2`, `${id}-json.log.1`, `${id}-json.log`]);
    const fds = files.map((f) => fs.openSync(f, 'r'));
    try {
      assert.deepEqual(tailStart(fds, 1), { index: 2, offset: 999 * 100 });
      // all of the live file: it starts right after the older file's last newline
      assert.deepEqual(tailStart(fds, 1000), { index: 1, offset: 1000 * 100 });
      assert.deepEqual(tailStart(fds, 1001), { index: 1, offset: 999 * 100 });
      assert.deepEqual(tailStart(fds, 2500), { index: 0, offset: 500 * 100 });
      assert.deepEqual(tailStart(fds, 5000), { index: 0, offset: 0 });
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
