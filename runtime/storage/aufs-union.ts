// aufs's rules, over plain directories: the union that chapter 3's FUSE
// server shows as one tree.
//
// A union is a list of branches, topmost first. Branch 0 is the writable
// one (the container's layer, aufs/diff/<id>); the others are the image's
// layers, read-only. The rules, as aufs (and the OCI image spec, which
// took its whiteouts from aufs) has them:
//   - lookup goes top-down, one path component at a time: the first branch
//     that has the name wins;
//   - a file ".wh.NAME" in a branch hides NAME in every branch below it
//     (a whiteout), and a file ".wh..wh..opq" in a directory hides the
//     whole directory below it (an opaque directory);
//   - a directory that several branches have is merged: readdir lists each
//     name once, without the whiteouts or the names they hide;
//   - lower branches are never written. The first change to a file that
//     only a lower branch has copies it up into branch 0 (its data, mode,
//     owner, times and xattrs, and its parent directories first); deleting
//     a lower name leaves a whiteout in branch 0.
//
// Every path is walked with lstat, one component at a time, and only
// through components that are directories in that very branch: a symlink
// the container made is a file to us, never a way out of the branch. The
// server runs one request at a time, so nothing changes a branch between
// our check and our use of it (lower branches never change; branch 0 only
// through us).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lgetxattr, llistxattr, lremovexattr, lsetxattr, majorMinor, mknod, SyscallError } from '../sys/libc.js';

export const WH_PREFIX = '.wh.';
export const OPAQUE = '.wh..wh..opq';

/** An error the server answers with: an errno name (ENOENT, EXDEV…). */
export class UnionError extends Error {
  constructor(public code: string, message: string) {
    super(`${code}: ${message}`);
  }
}
const fail = (code: string, rel: string): never => {
  throw new UnionError(code, `/${rel}`);
};

/** What a path resolves to: the topmost branch that has it, and for a directory every branch it merges. */
export interface Found {
  branch: number;
  /** the file in that branch */
  path: string;
  st: fs.BigIntStats;
  /** for a directory: the branches whose directory of this name is merged, topmost first */
  dirs: number[];
}

function lstat(p: string): fs.BigIntStats | null {
  return fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }) ?? null;
}

const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;
const isDir = (st: fs.BigIntStats) => (st.mode & S_IFMT) === S_IFDIR;

export interface CopyUpEvent {
  rel: string;
  from: string;
  to: string;
}

export class Union {
  private cache = new Map<string, Found | null>();
  /** called after each copy-up (the server re-points open read-only files, and traces it) */
  onCopyUp: (e: CopyUpEvent) => void = () => {};
  onWhiteout: (rel: string) => void = () => {};

  /** branches: directories, topmost (the writable one) first */
  constructor(readonly branches: string[]) {}

  get rw(): string {
    return this.branches[0];
  }

  /** Something in branch 0 changed: what we remembered may be wrong now. */
  private changed(): void {
    this.cache.clear();
  }

  // #region lookup
  /** Resolve `rel` ("" is the root, "etc/passwd" a file) through the branches; null when the union has no such path. */
  resolve(rel: string): Found | null {
    // Where a path is found is remembered until branch 0 changes; its
    // attributes never are (a write changes the size, a touch the times).
    const hit = this.cache.get(rel);
    if (hit === null) return null;
    if (hit !== undefined) {
      const st = lstat(hit.path);
      if (st) return { ...hit, st };
      this.changed();
    }
    let found: Found | null;
    if (rel === '') {
      const dirs: number[] = [];
      for (let b = 0; b < this.branches.length; b++) {
        dirs.push(b);
        if (lstat(path.join(this.branches[b], OPAQUE))) break;
      }
      found = { branch: 0, path: this.branches[0], st: lstat(this.branches[0])!, dirs };
    } else {
      const slash = rel.lastIndexOf('/');
      const parent = this.resolve(slash < 0 ? '' : rel.slice(0, slash));
      found = parent && parent.dirs.length ? this.child(parent, rel, rel.slice(slash + 1)) : null;
    }
    this.cache.set(rel, found);
    return found;
  }

  /** One step of a lookup: `name` in the directory `parent`, looked for in the branches that merge it. */
  private child(parent: Found, rel: string, name: string): Found | null {
    if (name.startsWith(WH_PREFIX)) return null; // whiteouts are aufs's bookkeeping, never shown
    let top: Found | null = null;
    for (const b of parent.dirs) {
      const p = path.join(this.branches[b], rel);
      const st = lstat(p);
      if (st) {
        if (!top) top = { branch: b, path: p, st, dirs: [] };
        // A directory merges with the directories below it of the same
        // name; a non-directory (on top, or below a directory) ends it.
        if (!isDir(top.st) || !isDir(st)) break;
        top.dirs.push(b);
        if (lstat(path.join(p, OPAQUE))) break; // opaque: nothing below shows through
        continue;
      }
      // A whiteout in this branch hides the name in every branch below.
      if (lstat(path.join(this.branches[b], path.dirname(rel), WH_PREFIX + name))) break;
    }
    return top;
  }
  // #endregion lookup

  // #region readdir
  /** The merged listing of a directory: each visible name once, from the topmost branch that has it. */
  readdir(rel: string): { name: string; ino: bigint; type: number }[] {
    const dir = this.resolve(rel);
    if (!dir) return fail('ENOENT', rel);
    if (!isDir(dir.st)) return fail('ENOTDIR', rel);
    const seen = new Set<string>();
    const hidden = new Set<string>();
    const out: { name: string; ino: bigint; type: number }[] = [];
    for (const b of dir.dirs) {
      const here = path.join(this.branches[b], rel);
      const whiteouts: string[] = [];
      for (const name of fs.readdirSync(here)) {
        if (name.startsWith(WH_PREFIX)) {
          // .wh.NAME hides NAME below this branch; .wh..wh.* are aufs's own files
          if (!name.startsWith(WH_PREFIX + WH_PREFIX)) whiteouts.push(name.slice(WH_PREFIX.length));
          continue;
        }
        if (seen.has(name) || hidden.has(name)) continue;
        seen.add(name);
        const st = lstat(path.join(here, name));
        if (st) out.push({ name, ino: st.ino, type: Number((st.mode & S_IFMT) >> 12n) });
      }
      whiteouts.forEach((n) => hidden.add(n));
    }
    return out;
  }
  // #endregion readdir

  /** Does the union show `rel`? */
  exists = (rel: string) => this.resolve(rel) !== null;

  private must(rel: string): Found {
    return this.resolve(rel) ?? fail('ENOENT', rel);
  }

  /** The writable branch's path for `rel`. */
  rwPath = (rel: string) => path.join(this.rw, rel);

  // #region copy-up
  /**
   * Make sure the writable branch has the directory `rel` and its parents,
   * each with the metadata of the directory the union shows there.
   */
  ensureDir(rel: string): void {
    if (rel === '') return;
    const parts = rel.split('/');
    for (let k = 1; k <= parts.length; k++) {
      const sub = parts.slice(0, k).join('/');
      const st = lstat(this.rwPath(sub));
      if (st && isDir(st)) continue;
      const found = this.must(sub);
      if (!isDir(found.st)) fail('ENOTDIR', sub);
      this.copyEntry(found, this.rwPath(sub), sub);
    }
  }

  /**
   * Copy `rel` up into the writable branch, if it is not there already:
   * aufs's answer to "a lower branch is never written". Returns its path
   * in the writable branch.
   */
  copyUp(rel: string): string {
    const found = this.must(rel);
    if (found.branch === 0) return found.path;
    this.ensureDir(path.dirname(rel) === '.' ? '' : path.dirname(rel));
    const to = this.rwPath(rel);
    this.copyEntry(found, to, rel);
    return to;
  }

  /** One entry, without its children: data (a regular file's, or a symlink's target), then owner, mode, xattrs and times. */
  private copyEntry(found: Found, to: string, rel: string): void {
    const st = found.st;
    const type = st.mode & S_IFMT;
    const mode = Number(st.mode & 0o7777n);
    if (type === S_IFDIR) fs.mkdirSync(to, { mode: 0o700 });
    else if (type === 0o100000n) fs.copyFileSync(found.path, to, fs.constants.COPYFILE_EXCL); // copy_file_range: the kernel copies
    else if (type === 0o120000n) fs.symlinkSync(fs.readlinkSync(found.path, { encoding: 'buffer' }) as unknown as string, to);
    else if (type === 0o010000n) mknod(to, 'p', 0o600);
    else if (type === 0o020000n || type === 0o060000n) {
      mknod(to, type === 0o020000n ? 'c' : 'b', 0o600, ...majorMinor(st.rdev));
    } else fail('EINVAL', rel); // a socket: nothing to copy
    this.changed();
    fs.lchownSync(to, Number(st.uid), Number(st.gid)); // before chmod: chown clears set-user-ID
    if (type !== 0o120000n) fs.chmodSync(to, mode);
    for (const name of llistxattr(found.path)) {
      const value = lgetxattr(found.path, name);
      if (value) lsetxattr(to, name, value);
    }
    fs.lutimesSync(to, Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
    this.onCopyUp({ rel, from: found.path, to });
  }
  // #endregion copy-up

  // #region whiteout
  /** Hide `rel`'s lower copies: a file .wh.NAME next to where it was, in the writable branch. */
  private whiteout(rel: string): void {
    const dir = path.dirname(rel) === '.' ? '' : path.dirname(rel);
    this.ensureDir(dir);
    const wh = path.join(this.rwPath(dir), WH_PREFIX + path.basename(rel));
    fs.writeFileSync(wh, '', { mode: 0o444 });
    this.changed();
    this.onWhiteout(rel);
  }

  /** After a name left the writable branch: if a lower branch still shows it, hide it. */
  private hideLower(rel: string): void {
    this.changed();
    if (this.resolve(rel)) this.whiteout(rel);
  }
  // #endregion whiteout

  /**
   * Before a new name is made: its parent must be a directory of the
   * union and the name free. The parent is copied up, and a whiteout of
   * the name removed (the new file shows instead). Returns the path to
   * make and whether a whiteout was there.
   */
  private prepareCreate(rel: string): { to: string; wasWhiteout: boolean; parentGid: number | null } {
    const name = path.basename(rel);
    if (name.startsWith(WH_PREFIX)) fail('EPERM', rel); // aufs refuses names it would read as whiteouts
    if (Buffer.byteLength(name) > 242) fail('ENAMETOOLONG', rel); // room for ".wh." in the branch
    const dir = path.dirname(rel) === '.' ? '' : path.dirname(rel);
    const parent = this.must(dir);
    if (!isDir(parent.st)) fail('ENOTDIR', dir);
    if (this.resolve(rel)) fail('EEXIST', rel);
    this.ensureDir(dir);
    const wh = path.join(this.rwPath(dir), WH_PREFIX + name);
    const wasWhiteout = lstat(wh) !== null;
    if (wasWhiteout) fs.unlinkSync(wh);
    this.changed();
    // A directory with the set-group-ID bit hands its group to new files (inode(7)).
    const parentGid = parent.st.mode & 0o2000n ? Number(parent.st.gid) : null;
    return { to: this.rwPath(rel), wasWhiteout, parentGid };
  }

  private own(p: string, uid: number, gid: number, parentGid: number | null): void {
    fs.lchownSync(p, uid, parentGid ?? gid);
  }

  /** creat(2): a new, empty regular file (the caller then opens it). */
  createFile(rel: string, mode: number, uid: number, gid: number): string {
    const { to, parentGid } = this.prepareCreate(rel);
    fs.writeFileSync(to, '', { mode: mode & 0o7777, flag: 'wx' });
    fs.chmodSync(to, mode & 0o7777);
    this.own(to, uid, gid, parentGid);
    this.changed();
    return to;
  }

  // #region opaque-mkdir
  mkdir(rel: string, mode: number, uid: number, gid: number): void {
    const { to, wasWhiteout, parentGid } = this.prepareCreate(rel);
    fs.mkdirSync(to, { mode: 0o700 });
    fs.chmodSync(to, (mode & 0o7777) | (parentGid !== null ? 0o2000 : 0));
    this.own(to, uid, gid, parentGid);
    // A directory made where a whiteout was: a lower directory of this name
    // may still be there, under the whiteout. Its files must not show
    // through the new, empty directory: make it opaque (aufs's "diropq").
    if (wasWhiteout) fs.writeFileSync(path.join(to, OPAQUE), '', { mode: 0o444 });
    this.changed();
  }
  // #endregion opaque-mkdir

  mknod(rel: string, mode: number, rdev: number, uid: number, gid: number): void {
    const { to, parentGid } = this.prepareCreate(rel);
    const type = mode & 0o170000;
    if (type === 0o100000 || type === 0) fs.writeFileSync(to, '', { mode: mode & 0o7777, flag: 'wx' });
    else if (type === 0o010000) mknod(to, 'p', mode & 0o7777);
    else if (type === 0o020000 || type === 0o060000) mknod(to, type === 0o020000 ? 'c' : 'b', mode & 0o7777, ...majorMinor(rdev));
    else fail('EPERM', rel);
    fs.chmodSync(to, mode & 0o7777);
    this.own(to, uid, gid, parentGid);
    this.changed();
  }

  symlink(rel: string, target: string, uid: number, gid: number): void {
    const { to, parentGid } = this.prepareCreate(rel);
    fs.symlinkSync(target, to);
    this.own(to, uid, gid, parentGid);
    this.changed();
  }

  /** link(2): a new name for a file; a lower file is copied up first (a hard link cannot cross branches). */
  link(rel: string, newRel: string): void {
    const found = this.must(rel);
    if (isDir(found.st)) fail('EPERM', rel);
    const { to } = this.prepareCreate(newRel);
    const from = this.copyUp(rel);
    fs.linkSync(from, to);
    this.changed();
  }

  // #region unlink
  unlink(rel: string): void {
    const found = this.must(rel);
    if (isDir(found.st)) fail('EISDIR', rel);
    if (found.branch === 0) fs.unlinkSync(found.path);
    this.hideLower(rel);
  }

  rmdir(rel: string): void {
    const found = this.must(rel);
    if (!isDir(found.st)) fail('ENOTDIR', rel);
    if (this.readdir(rel).length) fail('ENOTEMPTY', rel);
    // The writable branch's directory holds nothing the union shows, only
    // whiteouts: it goes with them.
    if (found.branch === 0) fs.rmSync(found.path, { recursive: true });
    this.hideLower(rel);
  }
  // #endregion unlink

  // #region rename
  /**
   * rename(2). A file is copied up and renamed in the writable branch, and
   * its old name whited out if a lower branch still has it. A directory
   * that a lower branch has is refused with EXDEV, as aufs does by default
   * (and as overlay2 does without redirect_dir): renaming it would mean
   * copying up the whole tree. `mv` then copies and deletes instead.
   */
  rename(rel: string, newRel: string, noReplace = false): void {
    if (rel === newRel) return;
    const from = this.must(rel);
    const fromIsDir = isDir(from.st);
    if (fromIsDir && from.dirs.some((b) => b !== 0)) fail('EXDEV', rel);
    const newName = path.basename(newRel);
    if (newName.startsWith(WH_PREFIX)) fail('EPERM', newRel);
    const newDir = path.dirname(newRel) === '.' ? '' : path.dirname(newRel);
    const parent = this.must(newDir);
    if (!isDir(parent.st)) fail('ENOTDIR', newDir);
    const target = this.resolve(newRel);
    if (target && noReplace) fail('EEXIST', newRel);
    let opaque = false;
    if (target) {
      if (fromIsDir && !isDir(target.st)) fail('ENOTDIR', newRel);
      if (!fromIsDir && isDir(target.st)) fail('EISDIR', newRel);
      if (isDir(target.st)) {
        if (this.readdir(newRel).length) fail('ENOTEMPTY', newRel);
        if (target.branch === 0) fs.rmSync(target.path, { recursive: true }), this.changed();
        opaque = target.dirs.some((b) => b !== 0);
      }
    }
    const src = this.copyUp(rel);
    this.ensureDir(newDir);
    const wh = path.join(this.rwPath(newDir), WH_PREFIX + newName);
    if (lstat(wh)) {
      fs.unlinkSync(wh);
      opaque ||= fromIsDir; // a lower directory may wait under that whiteout
    }
    // A directory of our own moved into a directory the lower branches also
    // have: overlayfs marks it opaque (a lower directory of that name could
    // show through), and so do we, so that both pack the same layer.
    opaque ||= fromIsDir && parent.dirs.some((b) => b !== 0);
    fs.renameSync(src, this.rwPath(newRel));
    if (opaque && !lstat(path.join(this.rwPath(newRel), OPAQUE))) fs.writeFileSync(path.join(this.rwPath(newRel), OPAQUE), '', { mode: 0o444 });
    this.hideLower(rel);
  }
  // #endregion rename

  /** chmod, chown, truncate, utimes: on the writable branch's copy. */
  setattr(rel: string, a: { mode?: number; uid?: number; gid?: number; size?: number; atime?: number; mtime?: number }): void {
    const found = this.must(rel);
    const to = this.copyUp(rel);
    const symlink = (found.st.mode & S_IFMT) === 0o120000n;
    if (a.uid !== undefined || a.gid !== undefined) fs.lchownSync(to, a.uid ?? -1, a.gid ?? -1);
    if (a.mode !== undefined && !symlink) fs.chmodSync(to, a.mode & 0o7777);
    if (a.size !== undefined) fs.truncateSync(to, a.size);
    if (a.atime !== undefined || a.mtime !== undefined) {
      const st = fs.lstatSync(to);
      fs.lutimesSync(to, a.atime ?? st.atimeMs / 1000, a.mtime ?? st.mtimeMs / 1000);
    }
    this.changed();
  }

  /** open(2) of a file: for writing (or O_TRUNC) on the writable branch's copy; for reading where it is. */
  open(rel: string, flags: number): { fd: number; path: string; writable: boolean; branch: number } {
    const found = this.must(rel);
    if (isDir(found.st)) fail('EISDIR', rel);
    const { O_WRONLY, O_RDWR, O_TRUNC, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NOCTTY } = fs.constants;
    const writable = (flags & (O_WRONLY | O_RDWR)) !== 0 || (flags & O_TRUNC) !== 0;
    const at = writable ? this.copyUp(rel) : found.path;
    // The kernel gives us offsets for every read and write: O_APPEND is its
    // business. O_NOFOLLOW: the name is a file in a branch, never followed.
    const ours = (flags & ~(O_CREAT | O_EXCL | O_APPEND | O_NOCTTY | 0o40000 /* O_DIRECT */)) | O_NOFOLLOW;
    const fd = fs.openSync(at, ours);
    if (flags & O_TRUNC) this.changed();
    return { fd, path: at, writable, branch: writable ? 0 : found.branch };
  }

  getxattr(rel: string, name: string): Buffer | null {
    return lgetxattr(this.must(rel).path, name);
  }

  listxattr(rel: string): string[] {
    return llistxattr(this.must(rel).path);
  }

  setxattr(rel: string, name: string, value: Buffer, flags: number): void {
    const to = this.copyUp(rel);
    const had = lgetxattr(to, name) !== null;
    if (flags & 1 && had) fail('EEXIST', rel); // XATTR_CREATE
    if (flags & 2 && !had) fail('ENODATA', rel); // XATTR_REPLACE
    lsetxattr(to, name, value);
  }

  removexattr(rel: string, name: string): void {
    if (this.getxattr(rel, name) === null) fail('ENODATA', rel);
    const to = this.copyUp(rel);
    try {
      lremovexattr(to, name);
    } catch (e) {
      if (e instanceof SyscallError) fail(e.code, rel);
      throw e;
    }
  }

  /** statfs(2): the writable branch's filesystem, as aufs reports it. */
  statfs(): { blocks: number; bfree: number; bavail: number; files: number; ffree: number; bsize: number } {
    const s = fs.statfsSync(this.rw);
    return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize };
  }
}

/** errno number for a thrown error: ours, the kernel's (via Node or libc), or EIO. */
export function errnoOf(e: unknown): number {
  const code = e instanceof UnionError || e instanceof SyscallError ? e.code : (e as NodeJS.ErrnoException)?.code;
  const n = code ? (os.constants.errno as Record<string, number>)[code] : undefined;
  return n ?? os.constants.errno.EIO;
}
