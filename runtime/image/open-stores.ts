// The three stores an image-based container needs, opened together: the
// storage driver (files), the layer store (layerdb) and the image store
// (imagedb, repositories.json, image-store.ts). The driver is chapter 3's
// aufs or chapter 4's overlay2, as storage/choose.ts decides. What needs all three at once lives here too: freeing the layers
// that no image and no container stands on.
import path from 'node:path';
import { chooseDriver } from '../storage/choose.js';
import { LayerStore } from '../storage/layerdb.js';
import type { StorageDriver } from '../storage/driver.js';
import { ImageStore } from './image-store.js';
import { chainIDs } from '../core/digest.js';

export interface Stores {
  root: string;
  driver: StorageDriver;
  layers: LayerStore;
  images: ImageStore;
}

/** The stores of `stateRoot`; `driverName`: the driver a container's record names (it keeps the one it was made on). */
export function openStores(stateRoot: string, driverName?: string): Stores {
  const driver = chooseDriver(stateRoot, driverName);
  return { root: stateRoot, driver, layers: new LayerStore(stateRoot, driver), images: new ImageStore(stateRoot, driver.name) };
}

// #region free-layers
/**
 * Free the layers of a stack, from `top` down, as long as nothing stands on
 * them: no image's stack and no container's writable layer. Returns the
 * chainIDs freed. (The caller holds the image store's lock.)
 */
export function freeUnusedLayers(s: Stores, top: string | null): string[] {
  const inUse = new Set<string>();
  for (const id of s.images.list()) chainIDs(s.images.get(id).rootfs.diff_ids).forEach((c) => inUse.add(c));
  for (const m of s.layers.listMounts()) for (let c = m.parent; c; c = s.layers.get(c)?.parent ?? null) inUse.add(c);
  const freed: string[] = [];
  for (let c = top; c && !inUse.has(c); ) {
    const parent = s.layers.get(c)?.parent ?? null;
    s.layers.remove(c);
    freed.push(c);
    c = parent;
  }
  return freed;
}
// #endregion free-layers

/** Docker's scratch space for half-made things: <root>/tmp, on the same filesystem as the stores. */
export const tmpDir = (stateRoot: string) => path.join(stateRoot, 'tmp');
