// Chapter 4's export row: `dockling export` of a stopped container whose
// writable layer holds ~50 MB (50 files of 1 MiB, written by the container
// itself), against its floor, GNU `tar -cf - -C UPPER .` of that same upper
// dir, in the same run. Both write to a file in the scratch directory. The
// export walks with descriptors (openat/fstat per entry, pack.ts), so this
// row is where that costs, if it does. A second row copies the same
// files out with `cp` (chapter 5), against tar of the same directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { median } from './stats.js';
import type { StorageRow } from './storage.js';

export async function exportRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, scratch: string, runs: number): Promise<StorageRow[]> {
  const dockling = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--', bin, '--root', stateRoot, ...args], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`dockling ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const name = 'bench-export';
  dockling(['run', '--name', name, 'busybox', 'sh', '-c', 'mkdir /data && for i in $(seq 50); do head -c 1048576 /dev/urandom > /data/f$i; done']);
  const out = path.join(scratch, 'export.tar');
  try {
    const upper = dockling(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', name]).trim();
    const ours: number[] = [];
    const floor: number[] = [];
    // One untimed round first; then alternate, so drift hits both alike.
    for (let i = 0; i <= runs; i++) {
      let t0 = performance.now();
      dockling(['export', '-o', out, name]);
      const a = performance.now() - t0;
      fs.rmSync(out);
      t0 = performance.now();
      const fd = fs.openSync(out, 'w');
      const r = spawnSync('tar', ['-cf', '-', '-C', upper, '.'], { stdio: ['ignore', fd, 'pipe'] });
      fs.closeSync(fd);
      const b = performance.now() - t0;
      if (r.status !== 0) throw new Error(`tar -c failed: ${r.stderr}`);
      fs.rmSync(out);
      if (i > 0) ours.push(a), floor.push(b);
    }
    // cp out of the same stopped container (issue 13): its root is mounted
    // for the copy, and each entry is opened through openat2(RESOLVE_IN_ROOT)
    // from the container's root; against tar of the same directory.
    const cp: number[] = [];
    const cpFloor: number[] = [];
    for (let i = 0; i <= runs; i++) {
      let t0 = performance.now();
      let fd = fs.openSync(out, 'w');
      const r = spawnSync(process.execPath, ['--', bin, '--root', stateRoot, 'cp', `${name}:/data`, '-'], { stdio: ['ignore', fd, 'pipe'], env });
      fs.closeSync(fd);
      const a = performance.now() - t0;
      if (r.status !== 0) throw new Error(`dockling cp failed (${r.status}): ${r.stderr}`);
      fs.rmSync(out);
      t0 = performance.now();
      fd = fs.openSync(out, 'w');
      const t = spawnSync('tar', ['-cf', '-', '-C', upper, 'data'], { stdio: ['ignore', fd, 'pipe'] });
      fs.closeSync(fd);
      const b = performance.now() - t0;
      if (t.status !== 0) throw new Error(`tar -c failed: ${t.stderr}`);
      fs.rmSync(out);
      if (i > 0) cp.push(a), cpFloor.push(b);
    }
    return [
      { label: 'export of a container with a ~50 MB upper layer', medianMs: median(ours), peer: 'tar -cf - -C UPPER .', peerMs: median(floor) },
      { label: 'cp C:/data - (50 files of 1 MiB, stopped container)', medianMs: median(cp), peer: 'tar -cf - -C UPPER data', peerMs: median(cpFloor) },
    ];
  } finally {
    fs.rmSync(out, { force: true });
    dockling(['rm', name]);
  }
}
