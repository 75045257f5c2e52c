// Chapter 4's rows: what layers cost, each measured against the plain way
// of doing the same job, in the same run:
//   - unpacking a ~50 MB layer tar (dockling's safe extraction) against GNU
//     `tar -x` of the same tar;
//   - giving a container its root: the overlay2 layers and mount against a
//     plain `cp -a` of the same busybox root filesystem;
// (`run --rm busybox true` on overlay2 against chapter 1's directory rootfs
// is a pair of rows of the main table.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openStores } from '../runtime/image/open-stores.js';
import { topChainID } from '../runtime/image/layer.js';
import { extractBench } from './extract.js';
import { median } from './stats.js';

export interface StorageRow {
  label: string;
  medianMs: number;
  peer: string;
  peerMs: number;
}

/** Time fn `runs` times (after one untimed warm-up), with `between` untimed after each. */
function timeEach(runs: number, fn: () => void, between: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    between();
    if (i > 0) out.push(ms);
  }
  return out;
}

export async function storageRows(stateRoot: string, rootfs: string, scratch: string, runs: number): Promise<StorageRow[]> {
  const rows: StorageRow[] = [];
  for (const r of await extractBench(runs)) rows.push({ label: r.label, medianMs: r.medianMs, peer: 'tar -x of the same tar', peerMs: r.floorMs });

  // The container's root from the busybox image: init layer + writable
  // layer + the overlay mount (what `run`'s prepare stage does), torn down
  // untimed after each run.
  const s = openStores(stateRoot);
  const id = s.images.resolve('busybox');
  const top = topChainID(s.images.get(id).rootfs.diff_ids);
  let n = 0;
  let current = '';
  const overlay = timeEach(
    runs,
    () => {
      current = `bench${String(++n).padStart(59, '0')}`;
      const m = s.layers.createMount(current, top);
      s.driver.get(m.mountID);
    },
    () => s.layers.removeMount(current),
  );
  const copyTo = path.join(scratch, 'rootfs-copy');
  const copy = timeEach(
    runs,
    () => {
      const r = spawnSync('cp', ['-a', rootfs, copyTo]);
      if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
    },
    () => fs.rmSync(copyTo, { recursive: true, force: true }),
  );
  rows.push({ label: 'container root: overlay2 layers + mount (in-process)', medianMs: median(overlay), peer: 'cp -a of the busybox rootfs', peerMs: median(copy) });
  return rows;
}
