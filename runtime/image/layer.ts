// Chapter 3's layer: images, on aufs. It puts an image store in front of
// chapter 1's rootfs: `run busybox` now finds the image busybox:latest, gives
// the container an init layer and a writable layer on the image's layers,
// and mounts their union as the container's root. The union is chapter 3's
// aufs (storage/aufs.ts); chapter 4 adds overlay2, which then becomes the
// default (storage/choose.ts). The container is kept
// after it exits (unless --rm), writable layer and all, for `diff`,
// `commit` and `export`; `rm` removes it.
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { origin, type Origin } from '../process/slots.js';
import type { RunConfig } from './config.js';
import type { ContainerConfig } from '../core/containers.js';
import { updateConfig } from '../core/containers.js';
import { RunError } from '../core/pipeline.js';
import { ensureBusyboxImage, BUSYBOX } from './busybox.js';
import { NoSuchImageError } from './image-store.js';
import { familiarString, parseReference } from './reference.js';
import { freeUnusedLayers, openStores, type Stores } from './open-stores.js';
import { chainIDs } from '../core/digest.js';
import { imageCommands } from './commands.js';
import { containerCommands } from './container-commands.js';
import { pruneCommands } from './prune.js';
import { reapLeftovers } from './leftovers.js';

const CH = 3;

/** The image a container is made from, once validate has found it. */
export const imageOf = new Slot<{ id: string }>('image');

// #region find-image
/**
 * Find the image named after `run` (validate: like `docker run`'s look-up
 * before it creates anything). busybox is made on first use, as a pull
 * would fetch it; any other missing image is pulled by the layer that can
 * (chapter 8's registries), or is an error before that chapter. What the
 * image says to run fills chapter 1's origin.
 */
async function validate(ctx: RunContext): Promise<void> {
  if (ctx.flags.has('rootfs')) return; // a plain directory: chapter 1's way
  const s = openStores(ctx.stateRoot);
  reapLeftovers(s); // what a killed image command left (leftovers.ts)
  if (imageOf.get(ctx)) return; // chosen already (a container started again, chapter 5)
  let wanted: string;
  try {
    wanted = familiarString(parseReference(ctx.image));
  } catch {
    wanted = ctx.image; // not a name: maybe an image ID, which resolve() takes
  }
  // --pull (chapter 8's flag): missing (the default), always, or never.
  const policy = (ctx.flags.get('pull') as string | undefined) ?? 'missing';
  if (!['always', 'missing', 'never'].includes(policy)) {
    throw new RunError(125, `invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  }
  const puller = ctx.layers?.find((l) => l.pullImage);
  let id: string | null = null;
  if (policy !== 'always' || !puller) {
    try {
      id = s.images.resolve(ctx.image);
    } catch (e) {
      if (!(e instanceof NoSuchImageError)) throw e;
      if (policy === 'never') throw new RunError(125, `Error response from daemon: No such image: ${wanted}.`);
    }
  }
  if (id === null) {
    // busybox:latest is made from this machine's busybox (busybox.ts), so
    // that every chapter works offline; `pull busybox` or `--pull always`
    // fetches Docker Hub's instead (chapter 8).
    if (wanted === BUSYBOX && policy !== 'always') {
      id = await s.images.lockedAsync(() => ensureBusyboxImage(s));
    } else if (puller) {
      // As docker run says it, then the pull's own lines, on stderr.
      if (policy !== 'always') process.stderr.write(`Unable to find image '${wanted}' locally\n`);
      id = await puller.pullImage!(ctx.stateRoot, ctx.image, process.stderr).catch((e) => {
        // A failed pull is run's own failure: 125, as docker run exits.
        throw e instanceof RunError ? new RunError(125, e.message, { cause: e }) : e;
      });
    } else {
      throw new RunError(125, `Unable to find image '${wanted}' locally (pulling from a registry comes with chapter 8; \`dockling images\` lists the images here)`);
    }
  }
  imageOf.set(ctx, { id });
  origin.set(ctx, imageOrigin(ctx.image, s.images.get(id).config));
}

/** What an image's config says to run, as chapter 1's origin. */
export function imageOrigin(name: string, config: RunConfig): Origin {
  // An ENTRYPOINT of [""] is how an image says "none" (Docker's rule).
  const ep = config.Entrypoint;
  const entrypoint = ep && ep.length === 1 && ep[0] === '' ? null : (ep ?? null);
  // The root is not known yet: this layer mounts it in prepare.
  return { rootfs: null, image: name, env: config.Env ?? [], cmd: config.Cmd ?? [], entrypoint, workingDir: config.WorkingDir ?? '' };
}
// #endregion find-image

// #region mount-rootfs
/**
 * The container exists now (chapter 1's prepare made it): give it its
 * layers and mount them. The spec's root becomes the merged directory.
 */
function prepare(ctx: RunContext): void {
  const image = imageOf.get(ctx);
  if (!image) return;
  const s = openStores(ctx.stateRoot);
  // The driver is recorded before any layer is made: a CLI killed while
  // making them leaves a container whose layers the next run can reap.
  updateConfig(ctx.container, (c) => (c.Driver = s.driver.name));
  // A container that has its layers already (one started again) keeps its
  // writable layer, even if its image has since been removed.
  const mount = s.layers.getMount(ctx.container.id) ??
    s.images.locked(() => s.layers.createMount(ctx.container.id, topChainID(s.images.get(image.id).rootfs.diff_ids)));
  mountOf.set(ctx, mount);
  const merged = s.driver.get(mount.mountID);
  ctx.spec.root.path = merged;
  updateConfig(ctx.container, (c) => {
    c.Rootfs = merged;
    c.Image = image.id;
    c.Driver = s.driver.name;
  });
}
// #endregion mount-rootfs

const mountOf = new Slot<{ mountID: string; parent: string | null }>('mount');

// #region keep-writable-layer
/**
 * The command has started: from now on the container has a writable layer
 * worth keeping (`diff`, `commit`, `export`), so it is kept when it exits,
 * stopped, unless --rm was given.
 */
function start(ctx: RunContext): void {
  if (!ctx.flags.get('rm') && ctx.outcome === 'remove') ctx.outcome = 'keep';
}
// #endregion keep-writable-layer

/** Unmount the root; remove the layers too unless the container is kept. */
function cleanup(ctx: RunContext): void {
  const mount = mountOf.get(ctx);
  if (!mount) return;
  if (ctx.outcome === 'leave') return; // it runs on: whoever holds it unmounts at its end
  const s = openStores(ctx.stateRoot);
  if (s.driver.mounted(mount.mountID)) s.driver.put(mount.mountID);
  if (ctx.outcome === 'remove') removeLayers(s, ctx.container.id);
}

/** A removed container's layers go, and with them image layers nothing uses any more. */
function removeLayers(s: Stores, containerID: string): void {
  s.images.locked(() => {
    const m = s.layers.getMount(containerID);
    s.layers.removeMount(containerID);
    if (m) freeUnusedLayers(s, m.parent);
  });
}

/** A container whose CLI was killed: its root is unmounted and its layers go. */
function reap(c: ContainerConfig, stateRoot: string): void {
  if (!c.Driver) return;
  removeLayers(openStores(stateRoot, c.Driver), c.ID);
}

/** A kept container that ended with nobody to clean up (chapter 5): unmount its root, keep its layer. */
function release(c: ContainerConfig, stateRoot: string): void {
  if (!c.Driver) return;
  const s = openStores(stateRoot, c.Driver);
  const m = s.layers.getMount(c.ID);
  if (m && s.driver.mounted(m.mountID)) s.driver.put(m.mountID);
}

/** The chainID of an image's top layer: the whole stack, named by content. */
export const topChainID = (diffIDs: string[]): string | null => chainIDs(diffIDs).at(-1) ?? null;

export const imagesLayer: Layer = {
  chapter: CH,
  name: 'aufs',
  storageDrivers: ['aufs'],
  runFlags: [],
  commands: [...imageCommands, ...containerCommands, ...pruneCommands],
  stages: { validate, prepare, start, cleanup },
  reap,
  release,
  // for version's Server block: the storage driver this chapter brings
  version: () => ({ StorageDriver: 'aufs' }),
};
