// Copy-up: a new, empty volume mounted over a directory the image has is
// first filled with that directory's files, owners, modes and times, so
// that `-v data:/var/lib/mysql` starts from what the image put there
// instead of hiding it (Docker's copyExistingContents). Only while the
// volume is empty: once anything is in it, it is the volume's, not the
// image's; and never with nocopy.
//
// The image is the adversary here: its /data may be a symlink to /etc, or
// hold symlinks, device nodes and hard links. So the image's side is read
// as chapter 5's `cp` reads a container (cp-archive.ts): found with
// openat2(RESOLVE_IN_ROOT) from a descriptor of the container's root, and
// walked by descriptors; and the volume's side is written as `cp` writes,
// every entry made by its last name in a directory held open, nothing
// followed. The two meet as a tar stream in memory, one entry at a time.
import fs from 'node:fs';
import path from 'node:path';
import { O_PATH } from '../sys/libc.js';
import { withLockAsync } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { errnoOf, openInRoot, rootMountRefusal } from '../process/in-root.js';
import { RunError } from '../core/pipeline.js';
import { packTree, unpacker } from '../container/cp-archive.js';
import { TarWriter } from '../storage/tar.js';

const CH = 7;
const O_CLOEXEC = 0o2000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } = fs.constants;

// #region copy-up
/**
 * Fill `data` (a volume's _data) from `destination` in the container's
 * root `rootfs`, if the volume is empty and the image has a directory
 * there. Returns how many entries were copied (null: nothing to copy).
 */
export async function copyUp(rootfs: string, destination: string, data: string): Promise<number | null> {
  const rootFd = fs.openSync(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  let srcFd: number;
  try {
    // Followed inside the root: an image whose /data is a symlink to /etc
    // is copied from its own /etc, as the mount will land on its own /etc.
    srcFd = openInRoot(rootFd, destination, true, O_DIRECTORY);
  } catch (e) {
    fs.closeSync(rootFd);
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(errnoOf(e) ?? '')) return null; // nothing there to copy: the volume stays empty
    throw e;
  }
  try {
    const [src, root] = [fs.fstatSync(srcFd), fs.fstatSync(rootFd)];
    if (src.dev === root.dev && src.ino === root.ino) {
      fs.closeSync(srcFd);
      throw new RunError(125, rootMountRefusal(destination)); // the init would refuse the mount (init.ts)
    }
  } finally {
    fs.closeSync(rootFd);
  }
  try {
    // Two containers starting on one new volume: one fills it, the other
    // finds it filled. The lock is the volume's own, held for the copy.
    return await withLockAsync(path.join(path.dirname(data), 'copy-up.lock'), () => fill(srcFd, data), 10 * 60_000);
  } finally {
    fs.closeSync(srcFd);
  }
}

async function fill(srcFd: number, data: string): Promise<number | null> {
  if (fs.readdirSync(data).length > 0) return null; // not empty: the volume's own files, never overwritten
  const dataFd = fs.openSync(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  try {
    const u = unpacker({
      rootFd: dataFd, dir: '/', hostSide: false, anySymlink: true,
      owner: (h) => ({ uid: h.uid, gid: h.gid }), // the image's owners, as they are on disk
      show: (p) => path.join(data, p),
      warn: (msg) => process.stderr.write(`dockling: copy-up into ${data}: ${msg}\n`),
    });
    const writer = new TarWriter((b) => u.write(b));
    await packTree(srcFd, '.', writer, async () => {}, { owners: 'host' });
    writer.finish();
    u.reader.end();
    const r = u.finish();
    // The directory itself takes the image directory's owner and mode too
    // (Docker's copyOwnership): a volume on /var/lib/mysql stays mysql's.
    const st = fs.fstatSync(srcFd);
    fs.fchownSync(dataFd, st.uid, st.gid);
    fs.fchmodSync(dataFd, st.mode & 0o7777);
    trace.emit(CH, { op: 'extract', digest: r.digest, path: data, entries: r.entries });
    return r.entries;
  } finally {
    fs.closeSync(dataFd);
  }
}
// #endregion copy-up
