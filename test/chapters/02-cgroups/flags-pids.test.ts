// Chapter 2, section 6: "The flags, in Docker's units", its **Pids.** paragraph.
//
// A fork bomb under --pids-limit never has more tasks than the limit (the
// kernel counts the refused forks), and the container still stops cleanly
// on SIGTERM.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { until } from '../../helpers/dockling.ts';
import { cgFile, chapter2, read, sleep } from './helpers.ts';

const { labTest } = chapter2('ch2-pids');

labTest('a fork bomb under --pids-limit 16 never has more than 16 tasks, and the container still stops cleanly on SIGTERM', async (lab) => {
  // Every bomb process blocks on a FIFO after forking two more, so the
  // cgroup fills up to its limit and stays there. Depth-bounded (at most
  // 511 processes), so that a limit that does not hold cannot take the host.
  // On SIGTERM, PID 1's trap kills every other process and exits 0.
  const script = [
    'trap "kill -9 -1; exit 0" TERM',
    'mkfifo /dev/shm/hold',
    'exec 3<>/dev/shm/hold',
    'bomb() { [ $1 -lt 8 ] && { bomb $(($1+1)) | bomb $(($1+1)) & }; read x <&3; }',
    'bomb 0 &',
    'while :; do read x <&3; done',
  ].join('\n');
  const bg = lab.start(['run', '--rm', '--pids-limit', '16', 'busybox', 'sh', '-c', script]);
  const cfg = await lab.running(bg);
  const current = cgFile(cfg, 'pids', 'pids.current', 'pids.current');
  const events = cgFile(cfg, 'pids', 'pids.events', 'pids.events');
  assert.equal(read(cgFile(cfg, 'pids', 'pids.max', 'pids.max')), '16');
  // The bomb reaches the limit: the kernel counts refused forks in pids.events.
  const refused = () => Number(/^max (\d+)$/m.exec(read(events))?.[1] ?? 0);
  let max = 0;
  await until(() => {
    max = Math.max(max, Number(read(current)));
    return refused() > 0;
  }, 20_000, 'the fork bomb to hit --pids-limit');
  // Watch it push against the limit for two seconds.
  const end = Date.now() + 2000;
  while (Date.now() < end) {
    max = Math.max(max, Number(read(current)));
    await sleep(2);
  }
  const peakFile = cgFile(cfg, 'pids', 'pids.peak', 'pids.peak');
  const peak = fs.existsSync(peakFile) ? Number(read(peakFile)) : max;
  assert.ok(max <= 16, `pids.current reached ${max}`);
  assert.ok(peak <= 16, `pids.peak is ${peak}`);
  assert.ok(max >= 12, `the bomb only got to ${max} tasks: it did not push against the limit`);
  assert.ok(refused() > 0, 'no fork was refused');

  const r = await lab.stop(bg);
  assert.equal(r.code, 0, `the container did not exit cleanly on SIGTERM:\n${r.stderr.split('\n').filter((l) => !/can't fork/.test(l)).join('\n')}`);
  await lab.assertNoLeaks();
});
