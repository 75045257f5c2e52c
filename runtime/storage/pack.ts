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
// `DIR/.wh..wh..opq` files, so they are translated on the way out. With
// 'aufs' the marks are those files already. Either way they come out as
// Docker's overlay2 writes them: `.wh.NAME` an empty regular file, mode
// 0600, where NAME would be in the order; `.wh..wh..opq` right after its
// directory, with the directory's permission bits. So both drivers pack the
// same changes into the same bytes (the union property test compares the
// digests).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { lgetxattr, llistxattr, majorMinor, readlinkFd, SyscallError } from '../sys/libc.js';
import { trace } from '../trace/trace.js';
import { TarWriter, type TarEntry } from './tar.js';
import { walkLayer } from './walk.js';
import { containerOwner } from './idmap.js';

export interface PackOptions {
  /** 'overlay': 0/0 char devices and opaque dirs become OCI whiteouts; 'aufs' and 'none': packed as they are */
  whiteouts: 'overlay' | 'aufs' | 'none';
  /** leave out this path (relative, no leading "./" or trailing "/") and all below it */
  exclude?: (rel: string) => boolean;
  /**
   * The directory is the host's own, not a layer or container of the store
   * (the busybox image's rootfs): its owners are packed as they are, never
   * shifted back from a --userns-remap range (idmap.ts).
   */
  hostFiles?: boolean;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const WH_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** An aufs whiteout .wh.NAME sorts where NAME does: where overlayfs's 0/0 device NAME sorts. */
const aufsOrder = (a: string, b: string) => byteOrder(hides(a), hides(b)) || byteOrder(a, b);
const hides = (name: string) => (name.startsWith(WH_PREFIX) && !name.startsWith(WH_PREFIX + WH_PREFIX) ? name.slice(WH_PREFIX.length) : name);

/** Whole seconds, rounded down also before 1970. */
function seconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(s * 1_000_000_000n > ns ? s - 1n : s);
}

/** The xattrs a layer carries: all but overlayfs's own (those are the driver's bookkeeping, or whiteouts). */
function xattrsOf(full: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of orGone(() => llistxattr(full), []).sort(byteOrder)) {
    if (name.startsWith('trusted.overlay.')) continue;
    const v = orGone(() => lgetxattr(full, name), null);
    if (v !== null) out[name] = v;
  }
  return out;
}

/** f(), or `gone` if the name was deleted or replaced meanwhile (a running container changes its files). */
function orGone<T>(f: () => T, gone: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return gone;
    throw e;
  }
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

  /** Pack one entry from its O_PATH descriptor; true when it is a directory to walk into (the caller keeps `fd`). */
  const packEntry = async (fd: number, parentFd: number, name: string, rel: string, r: string): Promise<boolean> => {
    const st = fs.fstatSync(fd, { bigint: true });
    const [major, minor] = majorMinor(st.rdev);
    // A remapped store's files are owned by shifted ids: the tar says the
    // container's own (100000 on disk is uid 0 in the tar), as Docker's does.
    const owner = opts.hostFiles ? { uid: Number(st.uid), gid: Number(st.gid) } : containerOwner(Number(st.uid), Number(st.gid));
    const meta = { mode: Number(st.mode & 0o7777n), ...owner, mtime: seconds(st.mtimeNs) };
    if (opts.whiteouts === 'overlay' && st.isCharacterDevice() && major === 0 && minor === 0) {
      // overlayfs's whiteout → OCI's: an empty file `.wh.NAME`, mode 0600 (Docker's).
      await emit({ ...meta, name: path.posix.join(rel, WH_PREFIX + name), type: 'file', mode: 0o600 });
      return false;
    }
    if (opts.whiteouts === 'aufs' && name.startsWith(WH_PREFIX)) {
      // .wh..wh..opq went out with its directory; .wh..wh.aufs, .plnk, .orph
      // are aufs's own bookkeeping, never content (Docker's aufs left them out).
      if (name.startsWith(WH_PREFIX + WH_PREFIX)) return false;
      await emit({ ...meta, name: r, type: 'file', mode: 0o600 });
      return false;
    }
    if (st.isSocket()) return false; // a socket is a live endpoint, not content (Docker skips them too)
    // xattrs by the name inside the directory we hold (/proc/self/fd/PARENT
    // is that very directory, whatever its path now): a swapped name can
    // only show another entry of this layer, never a host file.
    const inParent = `/proc/self/fd/${parentFd}/${name}`;
    const xattrs = xattrsOf(inParent);
    if (st.isDirectory()) {
      await emit({ ...meta, name: r + '/', type: 'dir', xattrs });
      // Right after the directory, before its children: "hide what the lower layers have here".
      const opaque =
        opts.whiteouts === 'overlay' ? orGone(() => lgetxattr(inParent, 'trusted.overlay.opaque'), null)?.toString() === 'y'
        : opts.whiteouts === 'aufs' ? fs.lstatSync(`/proc/self/fd/${fd}/${OPAQUE}`, { throwIfNoEntry: false }) !== undefined
        : false;
      if (opaque) await emit({ ...meta, name: `${r}/${OPAQUE}`, type: 'file', mode: meta.mode & 0o777 });
      return true;
    }
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        await emit({ ...meta, name: r, type: 'hardlink', linkname: first });
        return false;
      }
      links.set(key, r);
    }
    if (st.isSymbolicLink()) {
      const linkname = readlinkFd(fd);
      await emit({ ...meta, name: r, type: 'symlink', linkname, xattrs });
      size += Buffer.byteLength(linkname); // dockerd's layer size counts a symlink's target length (extract.ts)
    }
    else if (st.isCharacterDevice() || st.isBlockDevice())
      await emit({ ...meta, name: r, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor, xattrs });
    else if (st.isFIFO()) await emit({ ...meta, name: r, type: 'fifo', xattrs });
    else await packFile(fd, r, Number(st.size), { ...meta, xattrs });
    return false;
  };

  const packFile = async (pathFd: number, r: string, fileSize: number, meta: Partial<TarEntry>) => {
    // Reopen the inode we hold for reading (the magic link /proc/self/fd/N
    // is the file itself, not a path that could be swapped).
    const fd = fs.openSync(`/proc/self/fd/${pathFd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      await emit({ ...meta, name: r, type: 'file', size: fileSize });
      let left = fileSize;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20)); // fresh: `out` may still hold the last one
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        left -= n;
        writer.data(buf.subarray(0, n));
        await flush();
      }
      // Truncated while we read it (a running container's export): the
      // header already promised fileSize bytes, so pad with zeros to keep
      // the tar well-formed, as the size we stat'ed is the one recorded.
      if (left > 0) writer.data(Buffer.alloc(left)), await flush();
      size += fileSize;
    } finally {
      fs.closeSync(fd);
    }
  };

  // #region pack-walk
  // One entry at a time, from its descriptor (walk.ts): a container that
  // swaps a directory for a symlink to /etc between two steps can make us
  // pack the symlink or the directory, never the host's /etc.
  for (const e of walkLayer(dir, opts.whiteouts === 'aufs' ? aufsOrder : byteOrder, opts.exclude)) {
    if (await packEntry(e.fd, e.parentFd, e.name, path.posix.dirname(e.rel), e.rel)) e.descend();
  }
  // #endregion pack-walk

  writer.finish();
  await flush();
  const diffID = 'sha256:' + hash.digest('hex');
  trace.emit(4, { op: 'pack', path: dir, digest: diffID, entries });
  return { diffID, size, entries };
}
