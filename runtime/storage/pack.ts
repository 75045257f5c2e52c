// Packing a directory into a layer tar (chapter 4: commit, diff, save,
// export). The tar is named by its sha256, so the same tree must give the
// same bytes every time, on any machine: entries go in one fixed order
// (byte-wise by name within each directory, a directory before its
// children, as Docker's walk does), and the writer leaves out everything
// that changes by itself (atime, ctime, user and group names).
//
// With whiteouts 'overlay' the tree is an overlayfs upper directory, whose
// "deleted here" marks are 0/0 character devices and trusted.overlay.opaque
// xattrs; the OCI layer format spells them as `.wh.NAME` and
// `DIR/.wh..wh..opq` files, so they are translated on the way out.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { lgetxattr, llistxattr } from '../process/libc.js';
import { trace } from '../trace/trace.js';
import { TarWriter, type TarEntry } from './tar.js';

export interface PackOptions {
  /** 'overlay': 0/0 char devices and opaque dirs become OCI whiteouts; 'aufs' and 'none': packed as they are */
  whiteouts: 'overlay' | 'aufs' | 'none';
  /** leave out this path (relative, no leading "./" or trailing "/") and all below it */
  exclude?: (rel: string) => boolean;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Linux's dev_t → major, minor (the inverse of glibc's makedev). */
function majorMinor(rdev: bigint): [number, number] {
  return [Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)), Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))];
}

/** Whole seconds, rounded down also before 1970. */
function seconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(s * 1_000_000_000n > ns ? s - 1n : s);
}

/** The xattrs a layer carries: all but overlayfs's own (those are the driver's bookkeeping, or whiteouts). */
function xattrsOf(full: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of llistxattr(full).sort(byteOrder)) {
    if (name.startsWith('trusted.overlay.')) continue;
    const v = lgetxattr(full, name);
    if (v !== null) out[name] = v;
  }
  return out;
}

/**
 * Write `dir` as a layer tar to `out` (left open: the caller ends it).
 * Returns the tar's sha256 (the diffID), the bytes of regular files, and
 * the number of entries.
 */
export async function packLayer(dir: string, out: NodeJS.WritableStream, opts: PackOptions): Promise<{ diffID: string; size: number; entries: number }> {
  const hash = createHash('sha256');
  let drain = false;
  let entries = 0;
  let size = 0;
  const writer = new TarWriter((b) => {
    hash.update(b);
    if (!out.write(b)) drain = true;
  });
  // Wait for `out` whenever it asked us to (backpressure): a big layer never piles up in memory.
  const flush = async () => {
    if (drain) (drain = false), await once(out, 'drain');
  };
  const emit = async (e: TarEntry) => {
    writer.entry(e);
    entries++;
    await flush();
  };
  /** First name seen for each inode with more than one link: later names become hardlink entries. */
  const links = new Map<string, string>();

  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of fs.readdirSync(abs).sort(byteOrder)) {
      const full = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      if (opts.exclude?.(r)) continue;
      const st = fs.lstatSync(full, { bigint: true });
      const [major, minor] = majorMinor(st.rdev);
      const meta = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: seconds(st.mtimeNs) };
      if (opts.whiteouts === 'overlay' && st.isCharacterDevice() && major === 0 && minor === 0) {
        // overlayfs's whiteout → OCI's: an empty file `.wh.NAME`, mode 0.
        await emit({ ...meta, name: path.posix.join(rel, '.wh.' + name), type: 'file', mode: 0 });
        continue;
      }
      if (st.isSocket()) continue; // a socket is a live endpoint, not content (Docker skips them too)
      const xattrs = xattrsOf(full);
      if (st.isDirectory()) {
        await emit({ ...meta, name: r + '/', type: 'dir', xattrs });
        // Right after the directory, before its children: "hide what the lower layers have here".
        if (opts.whiteouts === 'overlay' && lgetxattr(full, 'trusted.overlay.opaque')?.toString() === 'y')
          await emit({ ...meta, name: r + '/.wh..wh..opq', type: 'file', mode: meta.mode & 0o777 });
        await walk(full, r);
        continue;
      }
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) {
          await emit({ ...meta, name: r, type: 'hardlink', linkname: first });
          continue;
        }
        links.set(key, r);
      }
      if (st.isSymbolicLink()) await emit({ ...meta, name: r, type: 'symlink', linkname: fs.readlinkSync(full), xattrs });
      else if (st.isCharacterDevice() || st.isBlockDevice())
        await emit({ ...meta, name: r, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor, xattrs });
      else if (st.isFIFO()) await emit({ ...meta, name: r, type: 'fifo', xattrs });
      else await packFile(full, r, Number(st.size), { ...meta, xattrs });
    }
  };

  const packFile = async (full: string, r: string, fileSize: number, meta: Partial<TarEntry>) => {
    const fd = fs.openSync(full, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      await emit({ ...meta, name: r, type: 'file', size: fileSize });
      for (let left = fileSize; left > 0; ) {
        const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20)); // fresh: `out` may still hold the last one
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) throw new Error(`pack: ${full} shrank while it was being packed`);
        left -= n;
        writer.data(buf.subarray(0, n));
        await flush();
      }
      size += fileSize;
    } finally {
      fs.closeSync(fd);
    }
  };

  await walk(dir, '');
  writer.finish();
  await flush();
  const diffID = 'sha256:' + hash.digest('hex');
  trace.emit(4, { op: 'pack', path: dir, digest: diffID, entries });
  return { diffID, size, entries };
}
