// The overlay2 driver (chapter 4): the kernel's overlayfs does the union.
//
// An overlay mount stacks directories: read-only "lowerdir"s (topmost
// first) under one writable "upperdir"; the "merged" mount point shows them
// as one tree. The kernel's rules, which shape everything below:
//   - a write to a file that only a lower dir has first copies it up, whole,
//     into upperdir ("copy-up"); lower dirs are never changed;
//   - a deletion of a lower file leaves a whiteout in upperdir: a character
//     device with device number 0/0 of the same name;
//   - a directory that replaces a lower one (rm -rf d; mkdir d) is marked
//     opaque with the xattr trusted.overlay.opaque=y: nothing below shows
//     through it;
//   - "workdir" is the kernel's scratch space for atomic copy-ups and
//     whiteouts: an empty directory on the same filesystem as upperdir.
// So a layer's upperdir is exactly its changeset (Docker's "native diff"),
// with whiteouts in the kernel's form: overlay2 keeps a layer's files in
// <home>/<id>/diff and, for a layer with parents, mounts
//   lowerdir=<parents' diffs>,upperdir=<id>/diff,workdir=<id>/work on <id>/merged.
//
// Layout (Docker's): <home>/<id>/{diff/, link, lower, work/, merged/} and
// <home>/l/<SHORT> -> ../<id>/diff, where SHORT is 26 random characters.
// The mount options must fit in one page (4096 bytes) of mount(2) data; 60
// lower dirs of 100-character paths do not, but "l/SHORT" names relative to
// <home> do: "lower" lists those short names, topmost parent first.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ApplyResult, Change, StorageDriver, TarSource } from './driver.js';
import { mount, SyscallError } from '../sys/libc.js';
import { applyTar, unmountPatiently } from './layer-dirs.js';
import { trace } from '../trace/trace.js';
import { overlayChanges } from './overlay2-changes.js';
import { backingFs, mountPoints } from './overlay2-mounts.js';
import { removeTree } from './remove.js';
import { chownToRemappedRoot, shareWithRemappedRoot } from './idmap.js';

const CH = 4;
/** mount(2) copies at most one page of option data (the smallest page size Linux has) */
const PAGE_SIZE = 4096;
/** Docker's limit on the depth of a layer stack (the kernel's own is 500) */
const MAX_DEPTH = 128;
/**
 * Options beyond the dirs. redirect_dir=on would turn a renamed directory
 * into an xattr pointing at its lower path, and metacopy=on would copy up only
 * the metadata of a chmod-ed file: either way the upper dir would no longer
 * hold a plain changeset, and a commit would lose data. With redirect_dir=off
 * rename(2) of a lower directory fails with EXDEV, and programs copy instead
 * (as `mv` does across filesystems). index=off: no hard-link index in workdir.
 */
const OPTIONS = 'index=off,redirect_dir=off,metacopy=off';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SHORT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';


export class Overlay2Driver implements StorageDriver {
  readonly name = 'overlay2';

  constructor(readonly home: string) {}

  private dir = (id: string) => {
    if (!ID_RE.test(id)) throw new Error(`overlay2: bad layer id ${JSON.stringify(id)}`);
    return path.join(this.home, id);
  };
  layerDir = (id: string) => path.join(this.dir(id), 'diff');
  exists = (id: string) => fs.existsSync(this.dir(id));

  private mkdir(p: string, mode: number): void {
    trace.emit(CH, { op: 'mkdir', path: p, mode });
    fs.mkdirSync(p, { mode });
    fs.chmodSync(p, mode); // mkdir's mode passes through the umask
  }

  private writeFile(file: string, value: string): void {
    trace.emit(CH, { op: 'write', path: file, value });
    fs.writeFileSync(file, value);
  }

  /** the lower file's entries, "l/SHORT", topmost first ([] for a base layer) */
  private lowers(id: string): string[] {
    try {
      return fs.readFileSync(path.join(this.dir(id), 'lower'), 'utf8').trim().split(':').filter(Boolean);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** l/SHORT -> ../<id>/diff, as an absolute path */
  private resolveLink(rel: string): string {
    return path.resolve(this.home, path.dirname(rel), fs.readlinkSync(path.join(this.home, rel)));
  }

  /** the diff dirs of the layers under `id`, topmost first */
  lowerDirs(id: string): string[] {
    return this.lowers(id).map((l) => this.resolveLink(l));
  }

  /** the layer `id` sits on, read back from its lower file (null: a base layer) */
  parentOf(id: string): string | null {
    const [top] = this.lowers(id);
    return top === undefined ? null : path.basename(path.dirname(this.resolveLink(top)));
  }

  create(id: string, parent: string | null): void {
    const dir = this.dir(id);
    if (fs.existsSync(dir)) throw new Error(`overlay2: layer ${id} already exists`);
    if (parent !== null && !this.exists(parent)) throw new Error(`overlay2: parent layer ${parent} of ${id} does not exist`);
    let lower = '';
    if (parent !== null) {
      const parentLink = fs.readFileSync(path.join(this.dir(parent), 'link'), 'utf8').trim();
      const chain = [`l/${parentLink}`, ...this.lowers(parent)];
      if (chain.length > MAX_DEPTH) throw new Error(`overlay2: layer ${id} would be ${chain.length + 1} layers deep (at most ${MAX_DEPTH} are allowed)`);
      lower = chain.join(':');
    }
    fs.mkdirSync(path.join(this.home, 'l'), { recursive: true, mode: 0o700 });
    shareWithRemappedRoot(this.home); // the remapped root reaches its rootfs through here (--userns-remap)
    this.mkdir(dir, 0o701);
    try {
      this.mkdir(path.join(dir, 'diff'), 0o755);
      // With --userns-remap, the root of every layer (and so of the
      // container's writable one) is the remapped root's (storage/idmap.ts).
      chownToRemappedRoot(path.join(dir, 'diff'));
      // The short name: "l/SHORT" costs 9 bytes of mount data per layer
      // where "<home>/<64-hex id>/diff" costs over 90.
      let short = '';
      for (let i = 0; i < 26; i++) short += SHORT_CHARS[crypto.randomInt(SHORT_CHARS.length)];
      const link = path.join(this.home, 'l', short);
      trace.emit(CH, { op: 'symlink', target: `../${id}/diff`, path: link });
      fs.symlinkSync(`../${id}/diff`, link);
      this.writeFile(path.join(dir, 'link'), short);
      if (parent !== null) {
        this.writeFile(path.join(dir, 'lower'), lower);
        this.mkdir(path.join(dir, 'work'), 0o700);
        this.mkdir(path.join(dir, 'merged'), 0o700);
      }
    } catch (e) {
      this.remove(id);
      throw e;
    }
  }

  /** A container's writable layer is made the same way: its diff dir is the upper dir. */
  createReadWrite(id: string, parent: string | null): void {
    this.create(id, parent);
  }

  async applyDiff(id: string, parent: string | null, tar: TarSource): Promise<ApplyResult> {
    this.checkParent(id, parent);
    // The l/SHORT link names the diff path, so it stays valid while the
    // directory is made again by the extraction.
    return applyTar(CH, 'overlay2', id, this.layerDir(id), tar, 'overlay');
  }

  private checkParent(id: string, parent: string | null): void {
    const actual = this.parentOf(id);
    if (actual !== parent) throw new Error(`overlay2: layer ${id} sits on ${actual ?? 'nothing'}, not on ${parent ?? 'nothing'}`);
  }

  // #region mount
  get(id: string): string {
    // #lab 04-overlay2-get-changes TODO 1: return the directory where layer `id` is seen whole.
    // #todo A base layer (no lowers) is its own diff dir (this.layerDir(id)).
    // #todo Otherwise mount overlayfs on <dir>/merged, unless already mounted (this.mounted(id)):
    // #todo lowerdir=this.lowerDirs(id) joined with ':', upperdir=<dir>/diff,
    // #todo workdir=<dir>/work, then OPTIONS. When the options do not fit in one
    // #todo page (PAGE_SIZE), chdir to this.home and use the short names
    // #todo (this.lowers(id), `${id}/diff`, `${id}/work`), as Docker does. Trace the
    // #todo mount (trace.emit(CH, { op: 'mount', … })) and turn a failure into an
    // #todo error naming the layer and the errno (SyscallError's code).
    const dir = this.dir(id);
    if (!fs.existsSync(dir)) throw new Error(`overlay2: layer ${id} does not exist`);
    const lowers = this.lowers(id);
    // A base layer is a plain directory: nothing to stack.
    if (lowers.length === 0) return this.layerDir(id);
    const merged = path.join(dir, 'merged');
    if (this.mounted(id)) return merged;
    // Absolute paths read best in `mount` output; when they do not fit in a
    // page (or contain ',' or ':', which separate options and lower dirs),
    // mount from inside <home> with the short relative names, as Docker does.
    const abs = `lowerdir=${this.lowerDirs(id).join(':')},upperdir=${path.join(dir, 'diff')},workdir=${path.join(dir, 'work')},${OPTIONS}`;
    const fits = Buffer.byteLength(abs) < PAGE_SIZE && !/[,:\\]/.test(this.home);
    const data = fits ? abs : `lowerdir=${lowers.join(':')},upperdir=${id}/diff,workdir=${id}/work,${OPTIONS}`;
    if (Buffer.byteLength(data) >= PAGE_SIZE) throw new Error(`overlay2: layer ${id}: its ${lowers.length} lower dirs do not fit in one page of mount options`);
    const cwd = process.cwd();
    try {
      if (!fits) {
        trace.emit(CH, { op: 'chdir', path: this.home });
        // chdir is process-wide; mount(2) is synchronous, so no other code
        // runs before we change back. (Not possible in a worker thread.)
        process.chdir(this.home);
      }
      trace.emit(CH, { op: 'mount', source: 'overlay', target: merged, fstype: 'overlay', flags: [], data });
      mount('overlay', merged, 'overlay', 0, data);
    } catch (e) {
      const code = e instanceof SyscallError ? e.code : (e as Error).message;
      const hint = code === 'EINVAL' ? ` (overlayfs refuses an upper dir on overlayfs, or without d_type or trusted xattrs; is ${this.home} on such a filesystem?)` : '';
      throw new Error(`overlay2: cannot mount layer ${id} on ${merged}: ${code}${hint}`, { cause: e });
    } finally {
      if (!fits) process.chdir(cwd);
    }
    return merged;
    // #endlab
  }
  // #endregion mount

  mountPoint = (id: string) => path.join(this.dir(id), 'merged');

  put(id: string): void {
    if (!this.mounted(id)) return;
    unmountPatiently(CH, this.mountPoint(id));
  }

  mounted(id: string): boolean {
    // mountinfo names the mount point by its real path (no symlinks)
    let merged: string;
    try {
      merged = fs.realpathSync(path.join(this.dir(id), 'merged'));
    } catch {
      return false; // a base layer has no merged dir
    }
    return mountPoints().some((m) => m.target === merged);
  }

  // #region remove-layer
  /**
   * What removing layer `id` deletes, in order: its short link l/SHORT,
   * then its directory. `remove` deletes these; chapter 5's monitor is
   * handed the same list as its release steps for a --rm container (the
   * CLI may be gone by then), so the rule is written here only.
   */
  removalPaths(id: string): string[] {
    const dir = this.dir(id);
    const paths: string[] = [];
    try {
      // Only a name the driver made: the link file is read back, never trusted to point anywhere else.
      const short = fs.readFileSync(path.join(dir, 'link'), 'utf8').trim();
      if (/^[A-Z0-9]{26}$/.test(short)) paths.push(path.join(this.home, 'l', short));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    paths.push(dir);
    return paths;
  }

  remove(id: string): void {
    const dir = this.dir(id);
    if (!fs.existsSync(dir)) return;
    this.put(id);
    // Never delete through a mount: rm -r on merged/ would delete the lower
    // layers' files (and with them other images).
    if (this.mounted(id)) throw new Error(`overlay2: layer ${id} is still mounted on ${path.join(dir, 'merged')}`);
    for (const p of this.removalPaths(id)) {
      trace.emit(CH, { op: 'remove', path: p });
      removeTree(p); // no recursion: a container may have made its layer thousands of levels deep
    }
  }
  // #endregion remove-layer

  changes(id: string, parent: string | null): Change[] {
    // #lab 04-overlay2-get-changes TODO 2: what the layer adds (A), changes (C) and deletes (D) over its lowers.
    // #todo Check first that `id` sits on `parent` (this.checkParent). overlayChanges(upper, lowers)
    // #todo does the walk: which directories are the upper and the lowers?
    this.checkParent(id, parent);
    return overlayChanges(this.layerDir(id), this.lowerDirs(id));
    // #endlab
  }

  /** The diff dir is the changeset: pack it, turning 0/0 devices and opaque xattrs into OCI whiteouts. */
  async diff(id: string, parent: string | null, out: NodeJS.WritableStream): Promise<{ diffID: string; size: number }> {
    this.checkParent(id, parent);
    const { packLayer } = await import('./pack.js');
    const r = await packLayer(this.layerDir(id), out, { whiteouts: 'overlay' });
    return { diffID: r.diffID, size: r.size };
  }

  /** What `docker inspect` shows under GraphDriver.Data for an overlay2 layer. */
  metadata(id: string): Record<string, string> {
    const dir = this.dir(id);
    const lowers = this.lowerDirs(id);
    const data: Record<string, string> = {};
    if (lowers.length) data.LowerDir = lowers.join(':');
    data.MergedDir = path.join(dir, 'merged');
    data.UpperDir = path.join(dir, 'diff');
    data.WorkDir = path.join(dir, 'work');
    return data;
  }

  status(): [string, string][] {
    return [
      ['Backing Filesystem', backingFs(this.home)],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
    ];
  }
}
