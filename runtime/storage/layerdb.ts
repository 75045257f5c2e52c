// The layer store: Docker's layerdb, beside the driver that holds the files.
//
//   image/overlay2/layerdb/sha256/<chainID>/  one read-only layer:
//       diff               its diffID (sha256 of its uncompressed tar)
//       parent             the chainID below it (absent for a base layer)
//       size               bytes of file content it adds
//       cache-id           the driver's directory for it (overlay2/<cache-id>)
//       tar-split.json.gz  how to re-create its exact tar from those files
//   image/overlay2/layerdb/mounts/<container ID>/  one container's layers:
//       mount-id  init-id  parent
//
// Read-only layers are named by content (chainID), the driver's directories
// by random cache-ids: the same tar applied twice is found by its chainID
// and stored once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { chainID as chainOf } from '../core/digest.js';
import type { StorageDriver, TarSource } from './driver.js';
import { removeTree } from './remove.js';
import { chownToRemappedRoot } from './idmap.js';

const CH = 3;

export interface LayerInfo {
  chainID: string;
  diffID: string;
  parent: string | null;
  size: number;
  cacheID: string;
}

export interface MountInfo {
  containerID: string;
  mountID: string;
  initID: string;
  /** the chainID of the image's top layer (null for an image with no layers) */
  parent: string | null;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');
const newCacheId = () => crypto.randomBytes(32).toString('hex');

export class LayerStore {
  readonly db: string;

  constructor(stateRoot: string, readonly driver: StorageDriver) {
    this.db = path.join(stateRoot, 'image', driver.name, 'layerdb');
  }

  private layerDir = (chainID: string) => path.join(this.db, 'sha256', hex(chainID));
  private mountDir = (containerID: string) => path.join(this.db, 'mounts', containerID);

  get(chainID: string): LayerInfo | null {
    const dir = this.layerDir(chainID);
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
    try {
      return {
        chainID,
        diffID: read('diff'),
        parent: fs.existsSync(path.join(dir, 'parent')) ? read('parent') : null,
        size: Number(read('size')),
        cacheID: read('cache-id'),
      };
    } catch {
      return null; // no record, or a half-written one: not a layer (yet)
    }
  }

  /** every read-only layer's chainID */
  list(): string[] {
    try {
      return fs.readdirSync(path.join(this.db, 'sha256')).filter((h) => /^[0-9a-f]{64}$/.test(h)).map((h) => 'sha256:' + h);
    } catch {
      return []; // no layerdb yet: no layer stored
    }
  }

  // #region register
  /**
   * Add a layer tar on top of `parent`: unpack it into a new driver
   * directory, then file it under its chainID. If that chainID is already
   * stored (the same changes on the same stack), the new copy is dropped.
   * The caller holds the image store's lock.
   */
  async register(tar: TarSource, parent: string | null): Promise<LayerInfo> {
    const parentInfo = parent === null ? null : this.get(parent);
    if (parent !== null && !parentInfo) throw new Error(`layer ${parent} is not in the layer store`);
    const cacheID = newCacheId();
    this.driver.create(cacheID, parentInfo?.cacheID ?? null);
    let applied;
    try {
      applied = await this.driver.applyDiff(cacheID, parentInfo?.cacheID ?? null, tar);
    } catch (e) {
      this.driver.remove(cacheID);
      throw e;
    }
    const chainID = chainOf(parent, applied.diffID);
    const existing = this.get(chainID);
    if (existing) {
      this.driver.remove(cacheID);
      return existing;
    }
    // Written in a temporary directory and renamed into place: a layer is
    // in the store whole, or not at all.
    const dir = this.layerDir(chainID);
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'diff'), applied.diffID);
    if (parent) fs.writeFileSync(path.join(tmp, 'parent'), parent);
    fs.writeFileSync(path.join(tmp, 'size'), String(applied.size));
    fs.writeFileSync(path.join(tmp, 'cache-id'), cacheID);
    fs.writeFileSync(path.join(tmp, 'tar-split.json.gz'), applied.tarSplit);
    trace.emit(CH, { op: 'rename', from: tmp, to: dir });
    fs.renameSync(tmp, dir);
    return { chainID, diffID: applied.diffID, parent, size: applied.size, cacheID };
  }
  // #endregion register

  /** The layer's tar, byte for byte as it was registered (its sha256 is the diffID). */
  async writeTar(chainID: string, out: NodeJS.WritableStream): Promise<void> {
    const info = this.get(chainID);
    if (!info) throw new Error(`layer ${chainID} is not in the layer store`);
    const tarSplit = fs.readFileSync(path.join(this.layerDir(chainID), 'tar-split.json.gz'));
    const { assembleLayer } = await import('./tar-split.js');
    const { diffID } = await assembleLayer(tarSplit, this.driver.layerDir(info.cacheID), out);
    if (diffID !== info.diffID) throw new Error(`layer ${chainID}: its files no longer make the tar ${info.diffID} (got ${diffID}); the layer store is damaged`);
  }

  /** Delete a read-only layer (the caller checked nothing uses it). */
  remove(chainID: string): void {
    const info = this.get(chainID);
    if (!info) return;
    this.driver.remove(info.cacheID);
    trace.emit(CH, { op: 'remove', path: this.layerDir(chainID) });
    removeTree(this.layerDir(chainID));
  }

  // #region rw-layer
  /**
   * A container's layers, as Docker makes them: an init layer on the image
   * (the mount points and files every container gets: /proc, /dev,
   * /etc/hosts…, so that they never show up as the container's own
   * changes), and the container's writable layer on the init layer.
   */
  createMount(containerID: string, parent: string | null): MountInfo {
    const parentInfo = parent === null ? null : this.get(parent);
    if (parent !== null && !parentInfo) throw new Error(`layer ${parent} is not in the layer store`);
    const mountID = newCacheId();
    const initID = `${mountID}-init`;
    // The record first, the directories after: a CLI killed in between
    // leaves a record that names what to remove, never nameless layers.
    const dir = this.mountDir(containerID);
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, 'init-id'), initID);
    if (parent) writeFileAtomic(path.join(dir, 'parent'), parent);
    writeFileAtomic(path.join(dir, 'mount-id'), mountID);
    this.driver.create(initID, parentInfo?.cacheID ?? null);
    fillInitLayer(this.driver.layerDir(initID));
    this.driver.createReadWrite(mountID, initID);
    return { containerID, mountID, initID, parent };
  }
  // #endregion rw-layer

  getMount(containerID: string): MountInfo | null {
    const dir = this.mountDir(containerID);
    try {
      const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
      return { containerID, mountID: read('mount-id'), initID: read('init-id'), parent: fs.existsSync(path.join(dir, 'parent')) ? read('parent') : null };
    } catch {
      return null;
    }
  }

  listMounts(): MountInfo[] {
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(path.join(this.db, 'mounts'));
    } catch {
      /* none yet */
    }
    return ids.map((id) => this.getMount(id)).filter((m): m is MountInfo => m !== null);
  }

  /** The layers a container's record names, even a half-made record: its writable layer, then its init layer. */
  private mountLayers(containerID: string): string[] {
    const ids: string[] = [];
    for (const f of ['mount-id', 'init-id']) {
      try {
        const id = fs.readFileSync(path.join(this.mountDir(containerID), f), 'utf8').trim();
        if (/^[0-9a-f]{64}(-init)?$/.test(id)) ids.push(id);
      } catch {
        /* not written yet: that layer was never made */
      }
    }
    return ids;
  }

  /** Unmount and delete a container's writable and init layers. */
  removeMount(containerID: string): void {
    for (const id of this.mountLayers(containerID)) this.driver.remove(id);
    trace.emit(CH, { op: 'remove', path: this.mountDir(containerID) });
    fs.rmSync(this.mountDir(containerID), { recursive: true, force: true });
  }

  /** What removeMount deletes, in order (once the root is unmounted). */
  mountRemovalPaths(containerID: string): string[] {
    return [...this.mountLayers(containerID).flatMap((id) => this.driver.removalPaths(id)), this.mountDir(containerID)];
  }
}

// #region init-layer
/** What Docker's init layer holds: mount points and the files bind-mounted over. */
const INIT_DIRS = ['proc', 'sys', 'dev', 'dev/pts', 'dev/shm', 'etc'];
const INIT_FILES = ['.dockerenv', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'dev/console'];

function fillInitLayer(dir: string): void {
  for (const d of INIT_DIRS) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
  for (const f of INIT_FILES) fs.writeFileSync(path.join(dir, f), '', { mode: 0o755 });
  // /etc/mtab is the kernel's mount table, as on any Linux system.
  fs.symlinkSync('/proc/mounts', path.join(dir, 'etc/mtab'));
  // With --userns-remap, root's files are the remapped root's (idmap.ts).
  for (const p of [...INIT_DIRS, ...INIT_FILES, 'etc/mtab']) chownToRemappedRoot(path.join(dir, p));
}
// #endregion init-layer
