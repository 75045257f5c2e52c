// The aufs driver (chapter 3): Docker's first storage driver, on a union
// filesystem that dockling serves itself over FUSE (aufs was never merged
// into Linux; no kernel these machines run has it).
//
// Layout (Docker's aufs driver's), under <root>/aufs:
//   diff/<id>/     the layer's own files: what its tar unpacked to, or what a
//                  container changed; whiteouts are files named .wh.NAME, and
//                  an opaque directory holds a file .wh..wh..opq (the OCI
//                  layer format took both from aufs, so a layer tar unpacks
//                  here as it is, and packs back as it is)
//   layers/<id>    the layers under it, one id a line, topmost first
//   mnt/<id>/      where the union of diff/<id> and its layers' diffs is mounted
// A container's layer has a union mounted; an image's layers never need one.
import fs from 'node:fs';
import path from 'node:path';
import type { ApplyResult, Change, StorageDriver, TarSource } from './driver.js';
import { applyTar, unmountPatiently } from './layer-dirs.js';
import { trace } from '../trace/trace.js';
import { backingFs, mountPoints } from './overlay2-mounts.js';
import { removeTree } from './remove.js';
import { chownToRemappedRoot, shareWithRemappedRoot } from './idmap.js';
import { mountUnion } from './aufs-client.js';
import { OPAQUE, Union, WH_PREFIX } from './aufs-union.js';
import { listDir, walkLayer } from './walk.js';

const CH = 3;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** aufs's own limit on branches: 127 */
const MAX_DEPTH = 127;

export class AufsDriver implements StorageDriver {
  readonly name = 'aufs';

  constructor(readonly home: string) {}

  private id(id: string): string {
    if (!ID_RE.test(id)) throw new Error(`aufs: bad layer id ${JSON.stringify(id)}`);
    return id;
  }
  layerDir = (id: string) => path.join(this.home, 'diff', this.id(id));
  private mnt = (id: string) => path.join(this.home, 'mnt', this.id(id));
  mountPoint = (id: string) => this.mnt(id);
  private layersFile = (id: string) => path.join(this.home, 'layers', this.id(id));
  exists = (id: string) => fs.existsSync(this.layerDir(id));

  private mkdir(p: string, mode: number): void {
    trace.emit(CH, { op: 'mkdir', path: p, mode });
    fs.mkdirSync(p, { mode });
    fs.chmodSync(p, mode);
  }

  /** the layers under `id`, topmost first, read from layers/<id> */
  parents(id: string): string[] {
    try {
      return fs.readFileSync(this.layersFile(id), 'utf8').split('\n').filter(Boolean).map((p) => this.id(p));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  // #region create
  create(id: string, parent: string | null): void {
    if (this.exists(id)) throw new Error(`aufs: layer ${id} already exists`);
    if (parent !== null && !this.exists(parent)) throw new Error(`aufs: parent layer ${parent} of ${id} does not exist`);
    const parents = parent === null ? [] : [parent, ...this.parents(parent)];
    if (parents.length + 1 > MAX_DEPTH) throw new Error(`aufs: layer ${id} would be ${parents.length + 1} layers deep (aufs allows ${MAX_DEPTH} branches)`);
    for (const d of ['diff', 'layers', 'mnt']) fs.mkdirSync(path.join(this.home, d), { recursive: true, mode: 0o700 });
    shareWithRemappedRoot(this.home);
    try {
      this.mkdir(this.layerDir(id), 0o755);
      chownToRemappedRoot(this.layerDir(id));
      this.mkdir(this.mnt(id), 0o755);
      const list = parents.map((p) => p + '\n').join('');
      trace.emit(CH, { op: 'write', path: this.layersFile(id), value: list });
      fs.writeFileSync(this.layersFile(id), list);
    } catch (e) {
      this.remove(id);
      throw e;
    }
  }
  // #endregion create

  createReadWrite(id: string, parent: string | null): void {
    this.create(id, parent);
  }

  async applyDiff(id: string, parent: string | null, tar: TarSource): Promise<ApplyResult> {
    this.checkParent(id, parent);
    // Whiteouts stay the files they are in the tar: aufs reads them so.
    return applyTar(CH, 'aufs', id, this.layerDir(id), tar, 'aufs');
  }

  private checkParent(id: string, parent: string | null): void {
    const actual = this.parents(id)[0] ?? null;
    if (actual !== parent) throw new Error(`aufs: layer ${id} sits on ${actual ?? 'nothing'}, not on ${parent ?? 'nothing'}`);
  }

  /** the branches of `id`'s union: its own diff (the writable one), then its layers', topmost first */
  branches(id: string): string[] {
    return [id, ...this.parents(id)].map((l) => this.layerDir(l));
  }

  // #region mount
  get(id: string): string {
    if (!this.exists(id)) throw new Error(`aufs: layer ${id} does not exist`);
    if (this.parents(id).length === 0) return this.layerDir(id); // one layer: nothing to unite
    const target = this.mnt(id);
    if (this.mounted(id)) return target;
    mountUnion(this.home, target, this.branches(id));
    return target;
  }
  // #endregion mount

  /**
   * Unmount (layer-dirs.ts: patiently, then lazily). Then the server reads
   * ENODEV for this mount and lets it go. A mount whose server died
   * unmounts the same way; its files answer ENOTCONN until then.
   */
  put(id: string): void {
    if (!this.mounted(id)) return;
    unmountPatiently(CH, this.mnt(id));
  }

  mounted(id: string): boolean {
    // mountinfo names the mount point by its real path. The parent's, not
    // the mount point's own: on a mount whose server died, stat(2) of the
    // mount point fails (ENOTCONN), and that mount must still be found.
    let target: string;
    try {
      target = path.join(fs.realpathSync(path.join(this.home, 'mnt')), this.id(id));
    } catch {
      return false;
    }
    return mountPoints().some((m) => m.target === target);
  }

  removalPaths(id: string): string[] {
    return [this.mnt(id), this.layersFile(id), this.layerDir(id)];
  }

  remove(id: string): void {
    this.put(id);
    if (this.mounted(id)) throw new Error(`aufs: layer ${id} is still mounted on ${this.mnt(id)}`);
    for (const p of this.removalPaths(id)) {
      if (!fs.existsSync(p)) continue;
      trace.emit(CH, { op: 'remove', path: p });
      removeTree(p);
    }
  }

  // #region changes
  /**
   * `docker diff` on aufs: the layer's diff directory is its changeset.
   * .wh.NAME is a deletion (D); any other entry is C if the layers below
   * show that path, else A; an opaque directory also deletes each name the
   * layers below show in it and it lacks. Walked with descriptors
   * (walk.ts): the container may be changing the directory as we read.
   */
  changes(id: string, parent: string | null): Change[] {
    this.checkParent(id, parent);
    const below = new Union(this.branches(id).slice(1));
    const out = new Map<string, Change['kind']>();
    // The walk's own data for a directory: is it, or one above it, opaque?
    for (const e of walkLayer<{ opaque: boolean }>(this.layerDir(id))) {
      const dir = path.posix.dirname(e.rel) === '.' ? '' : path.posix.dirname(e.rel);
      if (e.name.startsWith(WH_PREFIX)) {
        if (!e.name.startsWith(WH_PREFIX + WH_PREFIX)) out.set('/' + path.posix.join(dir, e.name.slice(WH_PREFIX.length)), 'D');
        continue;
      }
      const lower = below.branches.length ? below.resolve(e.rel) : null;
      out.set('/' + e.rel, lower ? 'C' : 'A');
      if (!fs.fstatSync(e.fd).isDirectory()) continue;
      const names = listDir(e.fd);
      // Inside an opaque directory the branch is all there is: what the
      // layers below have there and the branch lacks is deleted.
      const opaque = (e.parent?.opaque ?? false) || names.includes(OPAQUE);
      if (opaque && lower?.st.isDirectory()) {
        const here = new Set(names);
        for (const { name } of below.readdir(e.rel)) if (!here.has(name)) out.set('/' + path.posix.join(e.rel, name), 'D');
      }
      e.descend({ opaque }, names);
    }
    return [...out].map(([p, kind]) => ({ kind, path: p })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  // #endregion changes

  /** The diff directory is the changeset, whiteouts and all: pack it as it is. */
  async diff(id: string, parent: string | null, out: NodeJS.WritableStream): Promise<{ diffID: string; size: number }> {
    this.checkParent(id, parent);
    const { packLayer } = await import('./pack.js');
    const r = await packLayer(this.layerDir(id), out, { whiteouts: 'aufs' });
    return { diffID: r.diffID, size: r.size };
  }

  /** Docker shows no GraphDriver.Data for aufs. */
  metadata(): Record<string, string> {
    return {};
  }

  status(): [string, string][] {
    let dirs = 0;
    try {
      dirs = fs.readdirSync(path.join(this.home, 'diff')).length;
    } catch {
      // no layer yet
    }
    return [
      ['Root Dir', this.home],
      ['Backing Filesystem', backingFs(this.home)],
      ['Dirs', String(dirs)],
      // Dirperm1: aufs checks a directory's permission bits on the topmost
      // branch only (not on every branch that has it); always true here.
      ['Dirperm1 Supported', 'true'],
    ];
  }
}
