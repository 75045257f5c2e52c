// Chapter 4's layer: images on overlay2. It puts an image store in front of
// chapter 1's rootfs: `run busybox` now finds the image busybox:latest, gives
// the container an init layer and a writable layer on the image's layers,
// and mounts their union as the container's root. The container is kept
// after it exits (unless --rm), writable layer and all, for `diff`,
// `commit` and `export`; `rm` removes it.
import type { Layer, RunContext } from '../core/layer.js';
import type { ContainerConfig } from '../core/containers.js';
import { updateConfig } from '../core/containers.js';
import { RunError } from '../core/pipeline.js';
import { ensureBusyboxImage, BUSYBOX } from './busybox.js';
import { NoSuchImageError } from './image-store.js';
import { familiarString, parseReference } from './reference.js';
import { freeUnusedLayers, openStores } from './open-stores.js';
import { chainIDs } from '../core/digest.js';
import { imageCommands } from './commands.js';
import { containerCommands } from './container-commands.js';
import { reapLeftovers } from './leftovers.js';

const CH = 4;

// #region find-image
/**
 * Find the image named after `run` (validate: like `docker run`'s look-up
 * before it creates anything). busybox is made on first use, as a pull
 * would fetch it; any other missing image is an error until chapter 8
 * brings registries.
 */
async function validate(ctx: RunContext): Promise<void> {
  ctx.keep = !ctx.flags.get('rm');
  if (ctx.flags.has('rootfs')) return; // a plain directory: chapter 1's way
  const s = openStores(ctx.stateRoot);
  reapLeftovers(s); // what a killed image command left (leftovers.ts)
  if (ctx.existing?.Image) {
    // `start` (chapter 5): the container's own config says what to run,
    // and its layers are kept even if its image has since been removed.
    const c = ctx.existing.Config;
    ctx.fromImage = { id: ctx.existing.Image, name: c.Image, config: { Env: c.Env, Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir } };
    return;
  }
  let wanted: string;
  try {
    wanted = familiarString(parseReference(ctx.image));
  } catch {
    wanted = ctx.image; // maybe an image ID
  }
  let id: string;
  try {
    id = s.images.resolve(ctx.image);
  } catch (e) {
    if (!(e instanceof NoSuchImageError)) throw e;
    if (wanted !== BUSYBOX) {
      throw new RunError(125, `Unable to find image '${wanted}' locally (pulling from a registry comes with chapter 8; \`dockling images\` lists the images here)`);
    }
    id = await s.images.lockedAsync(() => ensureBusyboxImage(s));
  }
  const config = s.images.get(id);
  // An ENTRYPOINT of [""] is how an image says "none" (Docker's rule).
  const ep = config.config.Entrypoint;
  const entrypoint = ep && ep.length === 1 && ep[0] === '' ? null : ep;
  ctx.fromImage = { id, name: ctx.image, config: { ...config.config, Entrypoint: entrypoint } };
}
// #endregion find-image

// #region mount-rootfs
/**
 * The container exists now (chapter 1's prepare made it): give it its
 * layers and mount them. The spec's root becomes the merged directory.
 */
function prepare(ctx: RunContext): void {
  if (!ctx.fromImage) return;
  const s = openStores(ctx.stateRoot);
  const top = ctx.existing ? null : topChainID(s.images.get(ctx.fromImage.id).rootfs.diff_ids);
  // The driver is recorded before any layer is made: a CLI killed while
  // making them leaves a container whose layers the next run can reap.
  updateConfig(ctx.container, (c) => (c.Driver = s.driver.name));
  // A container started again (chapter 5) keeps its writable layer.
  const mount = s.layers.getMount(ctx.container.id) ?? s.images.locked(() => s.layers.createMount(ctx.container.id, top));
  ctx.layerState.set('mount', mount);
  const merged = s.driver.get(mount.mountID);
  ctx.spec.root.path = merged;
  updateConfig(ctx.container, (c) => {
    c.Rootfs = merged;
    c.Image = ctx.fromImage!.id;
    c.Driver = s.driver.name;
  });
}
// #endregion mount-rootfs

/** Unmount the root; remove the layers too unless the container is kept. */
function cleanup(ctx: RunContext): void {
  const mount = ctx.layerState.get("mount") as { mountID: string; parent: string | null } | undefined;
  if (!mount) return;
  if (ctx.detached && ctx.started) return; // the monitor unmounts when the container exits (chapter 5)
  const s = openStores(ctx.stateRoot);
  if (s.driver.mounted(mount.mountID)) s.driver.put(mount.mountID);
  if (!(ctx.keep && ctx.started) && !ctx.existing) {
    s.images.locked(() => {
      s.layers.removeMount(ctx.container.id);
      freeUnusedLayers(s, mount.parent);
    });
  }
}

/** A container whose CLI was killed: its root is unmounted and its layers go. */
function reap(c: ContainerConfig, stateRoot: string): void {
  if (!c.Driver) return;
  const s = openStores(stateRoot);
  s.images.locked(() => {
    const m = s.layers.getMount(c.ID);
    s.layers.removeMount(c.ID);
    if (m) freeUnusedLayers(s, m.parent);
  });
}

/** A kept container that ended with nobody to clean up (chapter 5): unmount its root, keep its layer. */
function release(c: ContainerConfig, stateRoot: string): void {
  if (!c.Driver) return;
  const s = openStores(stateRoot);
  const m = s.layers.getMount(c.ID);
  if (m && s.driver.mounted(m.mountID)) s.driver.put(m.mountID);
}

/** The chainID of an image's top layer: the whole stack, named by content. */
export const topChainID = (diffIDs: string[]): string | null => chainIDs(diffIDs).at(-1) ?? null;

export const imagesLayer: Layer = {
  chapter: CH,
  name: 'overlay2',
  runFlags: [],
  commands: [...imageCommands, ...containerCommands],
  stages: { validate, prepare, cleanup },
  reap,
  release,
};
