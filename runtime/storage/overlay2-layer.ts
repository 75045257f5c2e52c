// Chapter 4's layer: overlay2. It brings no command of its own: the image
// store, `commit`, `diff` and `export` came with chapter 3 and work on any
// driver. What it brings is the kernel's own union filesystem (overlay2.ts)
// as a second storage driver, and the default, as Docker made overlay2 its
// default in 18.09: a state root with no layers yet, and no driver asked
// for, is set up on overlay2 (storage/choose.ts).
import type { Layer } from '../core/layer.js';

export const overlay2Layer: Layer = {
  chapter: 4,
  name: 'overlay2',
  storageDrivers: ['overlay2'],
  runFlags: [],
  commands: [],
  stages: {},
  version: () => ({ StorageDriver: 'overlay2' }),
};
