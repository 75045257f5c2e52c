// The cgroup-v2 test guest's costs (test/vm/): boot to the command, and
// `dockling run --rm busybox true` inside it, with the guest's memory.
// Separate from `npm run bench` (each boot takes seconds of both cores):
//
//   npx tsx bench/vm.ts [--boots N] [--runs N]
import { parseArgs } from 'node:util';
import { missing, runInGuest } from '../test/vm/guest.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { boots: { type: 'string' }, runs: { type: 'string' } } });
const boots = Number(values.boots ?? 3);
const runs = Number(values.runs ?? 5);
if (!(boots >= 1 && runs >= 1)) {
  console.error('usage: npx tsx bench/vm.ts [--boots N] [--runs N] (N ≥ 1)');
  process.exit(2);
}
const why = missing();
if (why) {
  console.error(`bench/vm: cannot boot the guest: ${why}`);
  process.exit(1);
}

// In the guest: one untimed run (the image import, node's first reads over
// 9p), then RUNS timed ones, each printed in ms.
const script = `
set -e
r=$(mktemp -d)
node bin/dockling.js --root $r run --rm busybox true
for i in $(seq ${runs}); do
  t0=$(date +%s%N); node bin/dockling.js --root $r run --rm busybox true; t1=$(date +%s%N)
  echo "run-ms $(( (t1 - t0) / 1000000 ))"
done
t0=$(date +%s%N); node -e 0; t1=$(date +%s%N); echo "node-ms $(( (t1 - t0) / 1000000 ))"
rm -rf $r
`;
const boot: number[] = [];
const run: number[] = [];
const node: number[] = [];
let used = 0;
let qemu = 0;
for (let b = 0; b < boots; b++) {
  const r = await runInGuest(script, { timeoutS: 300 });
  if (r.status !== 0) {
    console.error(`bench/vm: the guest's command failed (${r.status}):\n${r.output}\n${r.console}`);
    process.exit(1);
  }
  boot.push(r.bootMs);
  for (const m of r.output.matchAll(/^run-ms (\d+)$/gm)) run.push(Number(m[1]));
  for (const m of r.output.matchAll(/^node-ms (\d+)$/gm)) node.push(Number(m[1]));
  used = Math.max(used, r.memory.usedKiB ?? 0);
  qemu = Math.max(qemu, r.memory.qemuPeakKiB ?? 0);
}
const s = (ms: number[]) => `${(median(ms) / 1000).toFixed(2)} s (${ms.length} samples, ${(Math.min(...ms) / 1000).toFixed(2)}–${(Math.max(...ms) / 1000).toFixed(2)})`;
console.log('cgroup-v2 guest (QEMU TCG, -smp 2 -m 4096)');
console.log(`  boot to the command             ${s(boot)}`);
console.log(`  dockling run --rm busybox true  ${s(run)}`);
console.log(`  node -e 0 (warm)                ${s(node)}`);
console.log(`  guest memory used (max)         ${Math.round(used / 1024)} MiB; QEMU peak RSS ${Math.round(qemu / 1024)} MiB`);
