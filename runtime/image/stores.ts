// The three stores an image-based container needs, opened together: the
// storage driver (files), the layer store (layerdb) and the image store
// (imagedb, repositories.json). Chapter 4's driver is overlay2.
import path from 'node:path';
import { Overlay2Driver } from '../storage/overlay2.js';
import { LayerStore } from '../storage/layerdb.js';
import type { StorageDriver } from '../storage/driver.js';
import { ImageStore } from './store.js';

export interface Stores {
  root: string;
  driver: StorageDriver;
  layers: LayerStore;
  images: ImageStore;
}

export function openStores(stateRoot: string): Stores {
  const driver = new Overlay2Driver(path.join(stateRoot, 'overlay2'));
  return { root: stateRoot, driver, layers: new LayerStore(stateRoot, driver), images: new ImageStore(stateRoot, driver.name) };
}

/** Docker's scratch space for half-made things: <root>/tmp, on the same filesystem as the stores. */
export const tmpDir = (stateRoot: string) => path.join(stateRoot, 'tmp');
