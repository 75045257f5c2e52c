// What both storage drivers (aufs, chapter 3; overlay2, chapter 4) do the
// same way with a layer's directory: unpack a layer tar into it, and take
// a union off its mount point.
import fs from 'node:fs';
import type { ApplyResult, TarSource } from './driver.js';
import { MNT_DETACH, SyscallError, umount2 } from '../sys/libc.js';
import { trace } from '../trace/trace.js';
import { chownToRemappedRoot } from './idmap.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Unpack a layer tar into `dir`, a layer's directory just made (empty).
 * extractLayer makes the directory itself, and removes it if the tar is
 * refused; the directory is then made again, empty, so the layer stays
 * whole. Whiteouts: 'overlay' turns them into the kernel's 0/0 devices,
 * 'aufs' keeps them as the .wh. files they are.
 */
export async function applyTar(chapter: number, driver: string, id: string, dir: string, tar: TarSource, whiteouts: 'overlay' | 'aufs'): Promise<ApplyResult> {
  if (fs.readdirSync(dir).length > 0) throw new Error(`${driver}: layer ${id} already has files; a layer tar is applied to a new layer`);
  trace.emit(chapter, { op: 'rmdir', path: dir });
  fs.rmdirSync(dir);
  try {
    const { extractLayer } = await import('./extract.js'); // the tar code loads only when a layer is unpacked
    const r = await extractLayer(tar, dir, { whiteouts });
    return { diffID: r.diffID, size: r.size, tarSplit: r.tarSplit };
  } catch (e) {
    if (!fs.existsSync(dir)) {
      trace.emit(chapter, { op: 'mkdir', path: dir, mode: 0o755 });
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      chownToRemappedRoot(dir);
    }
    throw e;
  }
}

// #region unmount
/**
 * Take a union off `target`. EBUSY: a process still has a file open or its
 * working directory in it. Give it a moment (five tries), then detach
 * lazily (MNT_DETACH): the mount leaves the tree at once, and the kernel
 * ends it when its last user is gone. A FUSE mount whose server died
 * unmounts the same way.
 */
export function unmountPatiently(chapter: number, target: string): void {
  for (let attempt = 0; ; attempt++) {
    const detach = attempt >= 5;
    trace.emit(chapter, { op: 'umount', target, flags: detach ? ['MNT_DETACH'] : [] });
    try {
      umount2(target, detach ? MNT_DETACH : 0);
      return;
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === 'EBUSY') || detach) throw e;
      Atomics.wait(sleeper, 0, 0, 20 * (attempt + 1));
    }
  }
}
// #endregion unmount
