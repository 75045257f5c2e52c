// Chapter 5, `cp`: the file system half. Reading a tree into a tar stream,
// and unpacking a tar stream into a directory, where the directory may be
// a container's: the container is the adversary, and this code runs as root
// on the host.
//
// #region cp-rules
// What keeps a container's files from reaching the host's:
// - every path inside the container is resolved by the kernel with
//   openat2(RESOLVE_IN_ROOT) from a descriptor of the container's root:
//   "/", ".." and absolute or relative symlinks stop at that root, in one
//   system call, so there is no moment between checking a component and
//   using it for the container to swap a symlink in;
// - once found, an entry is held by a descriptor and used through it (fstat,
//   readlinkat, /proc/self/fd/N), never through its path again: a swap after
//   the lookup can only show us the container's own files;
// - an entry is created by its last name in a directory we hold open, with
//   calls that do not follow a symlink in that name (mkdir, symlink, mknod,
//   link, open with O_CREAT|O_EXCL|O_NOFOLLOW), and its owner, mode and
//   times are set through the new entry's own descriptor;
// - a name in the tar that climbs out of the extraction directory ("../x"),
//   a symlink that points above it and a hard link to a name outside it are
//   refused, as Docker refuses them.
// The same rules unpack into a directory of the host (`cp CONTAINER:SRC
// DEST`): a tar made from the container's tree must not reach outside DEST.
// #endregion cp-rules
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openat, readlinkFd, mknod, O_PATH, SyscallError } from '../sys/libc.js';
import { InRootError, openDirCreating as openDirCreatingInRoot, openInRoot } from '../process/in-root.js';
import { TarReader, TarWriter, type TarEntry, type TarHeader } from '../storage/tar.js';
import { walkLayer } from '../storage/walk.js';
import { clean } from '../storage/extract.js';
import { containerOwner, hostOwner } from '../storage/idmap.js';

const O_CLOEXEC = 0o2000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NONBLOCK, O_NOCTTY } = fs.constants;

/** A failure of the copy, worded for the user (the command adds nothing to it). */
export class CopyError extends Error {}

/** The errno code of a failed system call, or undefined. */
export function codeOf(e: unknown): string | undefined {
  const code = e instanceof SyscallError ? e.code : (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined; // a RunError's code is an exit status, not an errno
}

export { openInRoot };

/** A descriptor of a directory, made when missing (process/in-root.ts), its failure worded for `cp`. */
function openDirCreating(rootFd: number, dir: string): number {
  try {
    return openDirCreatingInRoot(rootFd, dir);
  } catch (e) {
    if (e instanceof InRootError) throw new CopyError(e.message, { cause: e });
    throw e;
  }
}

// --- reading: a tree (a file, a symlink, a directory) into tar entries ---

export interface PackOptions {
  /** owners as the container knows them (a --userns-remap store's files are shifted on disk) or as they are */
  owners: 'container' | 'host';
  /** stop early (the reader went away: a closed pipe) */
  stopped?: () => boolean;
}

/** Whole seconds of an mtime, in a bigint stat. */
const seconds = (ns: bigint) => Number(ns / 1_000_000_000n);

/**
 * Write the entry `fd` (an O_PATH descriptor from openInRoot or open) and,
 * for a directory, everything under it, as tar entries named `top`,
 * `top/child`…, through `writer`. `flush` is awaited after each piece, so
 * a slow reader slows the walk instead of filling memory.
 */
export async function packTree(fd: number, top: string, writer: TarWriter, flush: () => Promise<void>, opts: PackOptions): Promise<void> {
  const links = new Map<string, string>();
  const packOne = async (entryFd: number, name: string): Promise<boolean> => {
    const st = fs.fstatSync(entryFd, { bigint: true });
    const owner = opts.owners === 'container' ? containerOwner(Number(st.uid), Number(st.gid)) : { uid: Number(st.uid), gid: Number(st.gid) };
    const meta = { mode: Number(st.mode & 0o7777n), ...owner, mtime: seconds(st.mtimeNs) };
    if (st.isDirectory()) {
      writer.entry({ ...meta, name: name.endsWith('/') ? name : name + '/', type: 'dir' });
      await flush();
      return true;
    }
    if (st.isSocket()) return false; // a live endpoint, not content (Docker's archiver skips them too)
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        writer.entry({ ...meta, name, type: 'hardlink', linkname: first });
        await flush();
        return false;
      }
      links.set(key, name);
    }
    let e: TarEntry;
    if (st.isSymbolicLink()) e = { ...meta, name, type: 'symlink', linkname: readlinkFd(entryFd) };
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = st.rdev;
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      e = { ...meta, name, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor };
    } else if (st.isFIFO()) e = { ...meta, name, type: 'fifo' };
    else {
      await packFile(entryFd, name, Number(st.size), meta);
      return false;
    }
    writer.entry(e);
    await flush();
    return false;
  };
  const packFile = async (pathFd: number, name: string, size: number, meta: Partial<TarEntry>) => {
    // Reopen the inode we hold (the magic link is the file itself, not a
    // path the container could swap); O_NONBLOCK: never wait on it.
    const rfd = fs.openSync(`/proc/self/fd/${pathFd}`, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    try {
      writer.entry({ ...meta, name, type: 'file', size });
      let left = size;
      while (left > 0 && !opts.stopped?.()) {
        const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
        const n = fs.readSync(rfd, buf, 0, buf.length, null);
        if (n === 0) break;
        left -= n;
        writer.data(buf.subarray(0, n));
        await flush();
      }
      // Shrunk while we read it (a running container): the header promised
      // `size` bytes, so zeros keep the tar well-formed.
      if (left > 0) writer.data(Buffer.alloc(left)), await flush();
    } finally {
      fs.closeSync(rfd);
    }
  };
  // #region pack-tree
  if (!(await packOne(fd, top))) return;
  const prefix = top.replace(/\/+$/, '');
  const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  for (const e of walkLayer(fd, byteOrder)) {
    if (opts.stopped?.()) return;
    if (await packOne(e.fd, `${prefix}/${e.rel}`)) e.descend();
  }
  // #endregion pack-tree
}

// --- writing: tar entries into a directory ---

export interface UnpackOptions {
  /** the descriptor every name is resolved in: the container's root, or the host directory DEST */
  rootFd: number;
  /** the extraction directory, as a path inside rootFd ("/" for the host's DEST) */
  dir: string;
  /** the owner of what is made, from its tar header; null: leave it the creator's (the host side, as Docker's NoLchown) */
  owner: ((h: TarHeader) => { uid: number; gid: number }) | null;
  /** Docker's RebaseArchiveEntries: the first name component `from` becomes `to` */
  rebase?: { from: string; to: string };
  /** the host side: no device nodes, no setuid/setgid bits from the container (see the README) */
  hostSide: boolean;
  /**
   * keep a relative symlink that climbs above `dir` (chapter 7's copy-up:
   * /var/lib/x/conf -> ../../../etc/x is the image's own, and a symlink is
   * only data here, never followed); `cp` refuses one, as Docker does
   */
  anySymlink?: boolean;
  /** how a path inside rootFd is shown in messages */
  show: (p: string) => string;
  /** a line for the user (a skipped entry) */
  warn: (msg: string) => void;
}


function rebased(name: string, r: UnpackOptions['rebase']): string {
  if (!r) return name;
  if (r.from === '/') return r.to + name; // Docker's rule for the root: "/foo" → "newBase/foo"
  if (name === r.from || name.startsWith(r.from + '/')) return r.to + name.slice(r.from.length);
  return name;
}

/**
 * Unpack a tar into `opts.dir`, Docker's Untar with NoOverwriteDirNonDir:
 * an existing directory takes a directory's metadata, anything else in
 * the way is replaced, a directory never replaces a file nor a file a
 * directory. Returns a TarReader to write the stream to; `finish()` after
 * its end() sets the directories' times (last: adding a child changes
 * them) and says how many entries were made and the stream's sha256.
 */
export function unpacker(opts: UnpackOptions): { reader: TarReader; write(chunk: Buffer): void; finish(): { entries: number; digest: string } } {
  const hash = createHash('sha256');
  const base = opts.dir.replace(/\/+$/, '') || '/';
  const inDir = (rel: string) => (rel === '' ? base : base === '/' ? '/' + rel : `${base}/${rel}`);
  const dirTimes: [string, number][] = [];
  let entries = 0;
  let file: { fd: number; h: TarHeader } | null = null;

  const setMeta = (fd: number, h: TarHeader) => {
    if (opts.owner) {
      const o = opts.owner(h);
      fs.fchownSync(fd, o.uid, o.gid);
    }
    fs.fchmodSync(fd, opts.hostSide ? h.mode & 0o1777 : h.mode);
  };

  const entry = (h: TarHeader) => {
    const name = rebased(h.name, opts.rebase);
    const rel = clean(name);
    if (rel === null) throw new CopyError(`${JSON.stringify(name)} is outside of ${JSON.stringify(opts.show(base))}`);
    if (rel === '') {
      // The extraction directory itself ("./"): Docker keeps it as it is.
      if (h.type === 'dir') return;
      throw new CopyError(`cannot overwrite directory ${JSON.stringify(opts.show(base))} with non-directory ${JSON.stringify(name)}`);
    }
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const last = rel.slice(slash + 1);
    const target = inDir(rel);
    // Links are checked by name before anything is made for them.
    if (h.type === 'symlink' && !opts.anySymlink && clean(path.posix.join(parent, h.linkname).replace(/^\/+/, '')) === null && !h.linkname.startsWith('/'))
      throw new CopyError(`invalid symlink ${JSON.stringify(opts.show(target))} -> ${JSON.stringify(h.linkname)}`);
    let linkRel: string | null = null;
    if (h.type === 'hardlink') {
      linkRel = clean(rebased(h.linkname, opts.rebase));
      if (linkRel === null || linkRel === '') throw new CopyError(`invalid hardlink ${JSON.stringify(opts.show(target))} -> ${JSON.stringify(h.linkname)}`);
    }
    if (opts.hostSide && (h.type === 'char' || h.type === 'block')) {
      opts.warn(`skipped device node ${target}: cp does not make the container's devices on the host`);
      return;
    }
    let parentFd = -1;
    try {
      parentFd = openDirCreating(opts.rootFd, inDir(parent));
      const at = `/proc/self/fd/${parentFd}/${last}`; // the last name, in the directory we hold
      let existing: fs.Stats | null = null;
      try {
        existing = fs.lstatSync(at);
      } catch (e) {
        if (codeOf(e) !== 'ENOENT') throw e;
      }
      if (existing) {
        if (existing.isDirectory() && h.type !== 'dir')
          throw new CopyError(`cannot overwrite directory ${JSON.stringify(opts.show(target))} with non-directory ${JSON.stringify(opts.show(base))}`);
        if (!existing.isDirectory() && h.type === 'dir')
          throw new CopyError(`cannot overwrite non-directory ${JSON.stringify(opts.show(target))} with directory ${JSON.stringify(opts.show(base))}`);
        if (!existing.isDirectory()) fs.unlinkSync(at); // unlink(2) removes a symlink itself, never its target
      }
      entries++;
      switch (h.type) {
        case 'dir': {
          if (!existing) fs.mkdirSync(at, { mode: 0o700 });
          const fd = openat(parentFd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          try {
            setMeta(fd, h);
          } finally {
            fs.closeSync(fd);
          }
          dirTimes.push([target, h.mtime]);
          break;
        }
        case 'file': {
          const fd = fs.openSync(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600);
          file = { fd, h };
          break;
        }
        case 'symlink':
          fs.symlinkSync(h.linkname, at);
          if (opts.owner) {
            const o = opts.owner(h);
            fs.lchownSync(at, o.uid, o.gid); // lchown: the link itself
          }
          fs.lutimesSync(at, h.mtime, h.mtime);
          break;
        case 'hardlink': {
          // The name linked to: its directory found inside the root like any
          // other, the name itself not followed (link(2) never does).
          const i = linkRel!.lastIndexOf('/');
          const tdir = openInRoot(opts.rootFd, inDir(i < 0 ? '' : linkRel!.slice(0, i)), true, O_DIRECTORY);
          try {
            fs.linkSync(`/proc/self/fd/${tdir}/${linkRel!.slice(i + 1)}`, at);
          } finally {
            fs.closeSync(tdir);
          }
          break;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          mknod(at, h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p', 0o600, h.devmajor, h.devminor);
          const fd = openat(parentFd, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
          try {
            if (!fs.fstatSync(fd).isSymbolicLink()) {
              if (opts.owner) {
                const o = opts.owner(h);
                fs.chownSync(`/proc/self/fd/${fd}`, o.uid, o.gid);
              }
              fs.chmodSync(`/proc/self/fd/${fd}`, opts.hostSide ? h.mode & 0o1777 : h.mode);
              fs.utimesSync(`/proc/self/fd/${fd}`, h.mtime, h.mtime);
            }
          } finally {
            fs.closeSync(fd);
          }
          break;
        }
      }
    } catch (e) {
      if (e instanceof CopyError) throw e;
      throw new CopyError(`${opts.show(target)}: ${describe(e)}`, { cause: e });
    } finally {
      if (parentFd >= 0) fs.closeSync(parentFd);
    }
  };

  const reader = new TarReader({
    entry,
    data(chunk) {
      if (!file) return;
      try {
        for (let off = 0; off < chunk.length; ) off += fs.writeSync(file.fd, chunk, off);
      } catch (e) {
        throw new CopyError(`${opts.show(inDir(clean(rebased(file.h.name, opts.rebase)) ?? ''))}: ${describe(e)}`, { cause: e });
      }
    },
    entryEnd() {
      if (!file) return;
      const { fd, h } = file;
      file = null;
      try {
        setMeta(fd, h); // chown before chmod: chown clears setuid bits
        fs.futimesSync(fd, h.mtime, h.mtime);
      } catch (e) {
        throw new CopyError(`${opts.show(inDir(clean(rebased(h.name, opts.rebase)) ?? ''))}: ${describe(e)}`, { cause: e });
      } finally {
        fs.closeSync(fd);
      }
    },
  });
  return {
    reader,
    write(chunk: Buffer) {
      hash.update(chunk);
      reader.write(chunk);
    },
    finish() {
      for (const [p, mtime] of dirTimes.reverse()) {
        let fd: number;
        try {
          fd = openInRoot(opts.rootFd, p, false, O_DIRECTORY);
        } catch {
          continue; // gone or replaced since: the container's to change, nothing of ours
        }
        try {
          fs.utimesSync(`/proc/self/fd/${fd}`, mtime, mtime);
        } finally {
          fs.closeSync(fd);
        }
      }
      return { entries, digest: 'sha256:' + hash.digest('hex') };
    },
  };
}

/** "not a directory" for ENOTDIR…: Go's wording of an errno, as Docker's messages end. */
export function describe(e: unknown): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EISDIR: 'is a directory', EEXIST: 'file exists',
    ELOOP: 'too many levels of symbolic links', EACCES: 'permission denied', EPERM: 'operation not permitted',
    EROFS: 'read-only file system', ENOSPC: 'no space left on device', EXDEV: 'invalid cross-device link',
  };
  const code = codeOf(e);
  return (code && words[code]) ?? (e as Error).message;
}

/** Host ids for what is made in the container: the tar's (or -a's user), shifted into a --userns-remap range. */
export const toContainerOwner = (fixed: { uid: number; gid: number } | null) => (h: TarHeader) => (fixed ? hostOwner(fixed.uid, fixed.gid) : hostOwner(h.uid, h.gid));
