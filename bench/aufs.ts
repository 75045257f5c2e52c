// Chapter 3's rows: the aufs union over FUSE, in one run beside the
// kernel's overlayfs (chapter 4's driver) and a plain directory, on the same
// filesystem, each row timed as medians of interleaved runs:
//   - sequential read of a 100 MB file from the image's layer (a fresh
//     mount each run, so the FUSE inode's page cache starts empty; the
//     backing file is in the page cache for all three);
//   - the same read again, on the same mount: from the page cache for all
//     three (aufs keeps a read-only branch's pages across opens);
//   - sequential write of a 100 MB file into the writable layer (dd, 1 MiB
//     blocks, no fsync: into the page cache for the kernel's filesystems,
//     through our server for aufs);
//   - metadata: 2000 × (create, stat, unlink) in one directory, as ops/s;
//   - the aufs server's resident memory (its status answer), one mount;
//   - `run --rm busybox true` with --storage-driver aufs against overlay2
//     (the aufs server starts and ends within each run: it lives as long as
//     the mounts it serves).
// The drivers are used as the union property test uses them, in-process.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AufsDriver } from '../runtime/storage/aufs.js';
import { Overlay2Driver } from '../runtime/storage/overlay2.js';
import { serverStatus } from '../runtime/storage/aufs-client.js';
import type { StorageDriver } from '../runtime/storage/driver.js';
import { median } from './stats.js';

export interface AufsRow {
  label: string;
  unit: 'ms' | 'ops/s' | 'MiB';
  aufs: number;
  overlay: number;
  plain: number;
}

const MB100 = 100 * 2 ** 20;
const METADATA_FILES = 2000;

/** A child that times its own work and prints milliseconds (so Node's start-up is not in the number). */
function timed(script: string, dir: string): number {
  const r = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench child failed in ${dir}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const READ = `const fs=require('fs');const b=Buffer.alloc(1<<20);const t=performance.now();const fd=fs.openSync(process.argv[1]+'/big','r');while(fs.readSync(fd,b)>0);fs.closeSync(fd);console.log(performance.now()-t)`;
const WRITE = `const fs=require('fs');const b=Buffer.alloc(1<<20,7);const t=performance.now();const fd=fs.openSync(process.argv[1]+'/w','w');for(let i=0;i<100;i++)fs.writeSync(fd,b);fs.closeSync(fd);console.log(performance.now()-t);fs.rmSync(process.argv[1]+'/w')`;
const META = `const fs=require('fs');const d=process.argv[1]+'/meta';fs.mkdirSync(d);const t=performance.now();for(let i=0;i<${METADATA_FILES};i++){const p=d+'/f'+i;fs.writeFileSync(p,'');fs.statSync(p);fs.unlinkSync(p)}console.log(performance.now()-t);fs.rmdirSync(d)`;

export async function aufsRows(bin: string, scratch: string, env: NodeJS.ProcessEnv, runs: number): Promise<AufsRow[]> {
  const home = path.join(scratch, 'aufs-bench');
  const drivers: [string, StorageDriver][] = [
    ['aufs', new AufsDriver(path.join(home, 'aufs'))],
    ['overlay', new Overlay2Driver(path.join(home, 'overlay2'))],
  ];
  const plain = path.join(home, 'plain');
  const big = crypto.randomBytes(MB100);
  const made: [StorageDriver, string][] = [];
  const samples: Record<string, Record<string, number[]>> = { read: {}, again: {}, write: {}, meta: {}, run: {} };
  const add = (row: string, who: string, v: number) => (samples[row][who] ??= []).push(v);
  let rss = NaN;
  try {
    fs.mkdirSync(plain, { recursive: true });
    fs.writeFileSync(path.join(plain, 'big'), big);
    for (const [, d] of drivers) {
      d.create('base', null);
      made.push([d, 'base']);
      fs.writeFileSync(path.join(d.layerDir('base'), 'big'), big);
      d.createReadWrite('top', 'base');
      made.push([d, 'top']);
    }
    for (let i = 0; i <= runs; i++) {
      for (const [who, d] of drivers) {
        const merged = d.get('top');
        const r = timed(READ, merged);
        const r2 = timed(READ, merged);
        const w = timed(WRITE, merged);
        const m = timed(META, merged);
        if (who === 'aufs' && i === runs) rss = ((await serverStatus(path.join(home, 'aufs')))?.rss ?? NaN) / 2 ** 20;
        d.put('top');
        if (i > 0) add('read', who, r), add('again', who, r2), add('write', who, w), add('meta', who, m);
      }
      const r = timed(READ, plain);
      const r2 = timed(READ, plain);
      const w = timed(WRITE, plain);
      const m = timed(META, plain);
      if (i > 0) add('read', 'plain', r), add('again', 'plain', r2), add('write', 'plain', w), add('meta', 'plain', m);
    }
    // run --rm busybox true, one state root per driver
    for (const driver of ['aufs', 'overlay2']) {
      const root = path.join(home, `root-${driver}`);
      const run = () => {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, ['--', bin, '--root', root, '--storage-driver', driver, 'run', '--rm', 'busybox', 'true'], { env, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`run on ${driver} failed: ${r.stderr}`);
        return performance.now() - t0;
      };
      run();
      for (let i = 0; i < runs; i++) add('run', driver === 'aufs' ? 'aufs' : 'overlay', run());
      spawnSync(process.execPath, ['--', bin, '--root', root, '--storage-driver', driver, 'rmi', 'busybox'], { env });
    }
  } finally {
    for (const [d, id] of made.reverse()) d.remove(id);
    fs.rmSync(home, { recursive: true, force: true });
  }
  const med = (row: string, who: string) => (samples[row][who] ? median(samples[row][who]) : NaN);
  const ops = (ms: number) => (METADATA_FILES * 3) / (ms / 1000);
  return [
    { label: 'read a 100 MB file (first read after mounting)', unit: 'ms', aufs: med('read', 'aufs'), overlay: med('read', 'overlay'), plain: med('read', 'plain') },
    { label: 'read it again, same mount (page cache)', unit: 'ms', aufs: med('again', 'aufs'), overlay: med('again', 'overlay'), plain: med('again', 'plain') },
    { label: 'write a 100 MB file (1 MiB writes, no fsync)', unit: 'ms', aufs: med('write', 'aufs'), overlay: med('write', 'overlay'), plain: med('write', 'plain') },
    { label: `metadata: ${METADATA_FILES} × create, stat, unlink`, unit: 'ops/s', aufs: ops(med('meta', 'aufs')), overlay: ops(med('meta', 'overlay')), plain: ops(med('meta', 'plain')) },
    { label: 'run --rm busybox true (plain: -)', unit: 'ms', aufs: med('run', 'aufs'), overlay: med('run', 'overlay'), plain: NaN },
    { label: "the aufs server's resident memory, one mount, after the rows above", unit: 'MiB', aufs: rss, overlay: NaN, plain: NaN },
  ];
}
