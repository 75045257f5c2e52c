// Chapter 4's hot path: unpacking a layer tar. extractLayer (our tar reader,
// every path checked, a tar-split recorded, the sha256 taken) side by side
// with its floor, GNU tar -xf of the same tar into a fresh directory.
//
// The layer: 500 files of 100 KiB (about 50 MB) in 10 directories, made by
// packLayer from a generated tree. Runs alternate between the two so that
// drift (page cache, CPU frequency) hits both alike.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractLayer } from '../runtime/storage/extract.js';
import { packLayer } from '../runtime/storage/pack.js';
import { median } from './stats.js';

const DIRS = 10;
const FILES = 50;
const SIZE = 100 << 10;

/** Make the layer tar under base; returns its path and size. */
async function makeLayer(base: string): Promise<{ tar: string; bytes: number }> {
  const src = path.join(base, 'src');
  // Random-ish content: slices of 1 MiB of random bytes at different
  // offsets, so no two files are alike and nothing compresses away.
  const pool = randomBytes(1 << 20);
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(path.join(src, `dir${d}`), { recursive: true });
    for (let f = 0; f < FILES; f++) {
      const off = ((d * FILES + f) * 7919) % (pool.length - SIZE);
      fs.writeFileSync(path.join(src, `dir${d}`, `file${f}`), pool.subarray(off, off + SIZE));
    }
  }
  const tar = path.join(base, 'layer.tar');
  const out = fs.createWriteStream(tar);
  await packLayer(src, out, { whiteouts: 'none' });
  await new Promise<void>((resolve, reject) => out.on('error', reject).end(resolve));
  fs.rmSync(src, { recursive: true });
  return { tar, bytes: fs.statSync(tar).size };
}

export async function extractBench(runs: number): Promise<{ label: string; medianMs: number; floorMs: number }[]> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-bench-extract-'));
  try {
    const { tar, bytes } = await makeLayer(base);
    let n = 0;
    const ours = async () => {
      const dir = path.join(base, `x${n++}`);
      const t = performance.now();
      await extractLayer(tar, dir, { whiteouts: 'overlay' });
      const ms = performance.now() - t;
      fs.rmSync(dir, { recursive: true });
      return ms;
    };
    const gnu = () => {
      const dir = path.join(base, `x${n++}`);
      fs.mkdirSync(dir);
      const t = performance.now();
      const r = spawnSync('tar', ['-xf', tar, '-C', dir]);
      const ms = performance.now() - t;
      if (r.status !== 0) throw new Error(`tar -xf ${tar}: ${r.stderr.toString().trim() || `exit ${r.status}`}`);
      fs.rmSync(dir, { recursive: true });
      return ms;
    };
    await ours(); // warm-up: module loading, JIT, the tar in the page cache
    gnu();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      a.push(await ours());
      b.push(gnu());
    }
    const mb = Math.round(bytes / 1e6);
    return [{ label: `extract a ${mb} MB layer tar (${DIRS * FILES} files) vs tar -xf`, medianMs: median(a), floorMs: median(b) }];
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}
