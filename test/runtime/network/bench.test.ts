// Chapter 6's bench rows (bench/network.ts, bench/report.ts): how the run
// ratios are paired, and how the table shows a skipped docker peer. No timing
// is asserted: the bench measures, tests only check the bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerMissing, runRatioRows } from '../../../bench/network.ts';
import { formatText, type Results } from '../../../bench/report.ts';

const medians: Record<string, number> = { dockling: 600, 'dockling-none': 500, 'docker-bridge': 480, 'docker-none': 400 };
const med = (k: string) => medians[k] ?? NaN;

test('the run ratios: bridge against --network none, and docker\'s pair when docker ran', () => {
  const without = runRatioRows(med, false);
  assert.equal(without.length, 1);
  assert.deepEqual([without[0].value, without[0].peerValue], [600, 500]);
  assert.match(without[0].peer, /--network none/);
  const withDocker = runRatioRows(med, true);
  assert.deepEqual(
    withDocker.map((r) => [r.value, r.peerValue]),
    [
      [600, 500],
      [600, 480],
      [480, 400],
    ],
  );
});

test('dockerMissing: null, or the package that fixes it', () => {
  const why = dockerMissing();
  if (why !== null) assert.match(why, /apt-get install docker\.io/);
});

function results(network: Results['network']): Results {
  return {
    meta: { node: 'v20', kernel: 'k', cpus: 2, runs: 1, warmup: 0, traceRuns: 0, loadavg: [0, 0, 0], notes: [] },
    rows: [],
    phases: { runs: 0, median: {}, p90: {}, nodeBootBeforeTimeOrigin: 0, slowestSteps: [] },
    references: [],
    storage: [],
    containers: [],
    network,
    volumes: [],
    leftBehind: [],
  };
}

test('the chapter 6 table: ratios of the same run, sub-millisecond values kept apart, a skipped peer shown as "-"', () => {
  const text = formatText(
    results([
      { label: 'TCP latency', value: 0.575, unit: 'ms', peer: 'direct', peerValue: 0.5 },
      { label: 'TCP throughput', value: 400, unit: 'MiB/s', peer: 'direct', peerValue: 500 },
      { label: 'monitor', value: 2.7, unit: 'MiB', peer: 'docker skipped', peerValue: NaN },
    ]),
  );
  const line = (label: string) => text.split('\n').find((l) => l.startsWith(label)) ?? '';
  assert.match(line('TCP latency'), /0\.575 ms\s+direct\s+0\.500 ms\s+1\.15×$/);
  assert.match(line('TCP throughput'), /400\.0 MiB\/s\s+direct\s+500\.0 MiB\/s\s+0\.80×$/);
  assert.match(line('monitor'), /2\.70 MiB\s+docker skipped\s+-\s+-$/);
  assert.doesNotMatch(formatText(results([])), /chapter 6/);
});
