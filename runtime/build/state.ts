// What a build carries from one step to the next, and how a step becomes
// an image. Docker's classic builder commits an image after every
// instruction: the image of step N is the parent of step N+1, and the
// image store's "parent" links make the chain. That chain is also the
// cache: a step whose parent and whose instruction are the same as last
// time finds last time's image among the parent's children.
import { sha256 } from '../core/digest.js';
import { nowRFC3339Nano } from '../core/time.js';
import type { Stores } from '../image/open-stores.js';
import { goArch, type HistoryEntry, type ImageConfig, type RunConfig } from '../image/config.js';

/** The config as a build step sees it: the image's, plus what only a Dockerfile sets. */
export interface BuildConfig extends RunConfig {
  Shell?: string[];
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
}

/** One stage's state: its image so far, and the ARGs it declared. */
export interface StageState {
  /** the current image's ID; '' while a `FROM scratch` stage has made nothing */
  imageID: string;
  /** the current image's config (rootfs, history…); for scratch, an empty one */
  image: ImageConfig;
  /** ARGs declared in this stage, with the values the build gives them (null: declared, no value) */
  args: Map<string, string | null>;
  /** the stage's name or index, for COPY --from */
  name: string;
  /** a CMD was set in this stage (then an ENTRYPOINT after it keeps it) */
  cmdSet: boolean;
}

// #region empty-layer
/**
 * The diffID of an empty layer: a tar of nothing but its end (two zero
 * blocks, 1024 bytes). A step that changes no file (ENV, or a RUN that
 * writes nothing) makes this, and Docker then adds no layer at all: the
 * history says `empty_layer: true` and rootfs.diff_ids stays as it was.
 */
export const EMPTY_LAYER_DIFF_ID = sha256(Buffer.alloc(1024));
// #endregion empty-layer

/** An image for `FROM scratch`: no layers, no config. */
export function scratchImage(): ImageConfig {
  return { architecture: goArch(), os: 'linux', created: nowRFC3339Nano(), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

/** The state a stage starts from: its base image's. */
export function stageFrom(s: Stores, imageID: string, name: string): StageState {
  return { imageID, image: imageID ? s.images.get(imageID) : scratchImage(), args: new Map(), name, cmdSet: false };
}

/** The build-time environment: the image's Env, then the stage's ARGs that have a value and no ENV of the same name. */
export function argEnv(st: StageState): string[] {
  const env = st.image.config.Env ?? [];
  const set = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
  const out: string[] = [];
  for (const [k, v] of st.args) if (v !== null && !set.has(k)) out.push(`${k}=${v}`);
  return out;
}

/** The values words are expanded with: ENV wins over ARG (Docker's rule). */
export function expansionEnv(st: StageState): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of st.args) if (v !== null) m.set(k, v);
  for (const e of st.image.config.Env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

// #region cache-key
/**
 * What a step is, for the cache: Docker compares the config the step was
 * made with (its "ContainerConfig": the new config with the step itself as
 * the Cmd, `#(nop)  EXPOSE 80` or the RUN's command) against each child
 * of the parent image. The same parent and the same ContainerConfig mean
 * the same step: its image is reused, ID and all.
 */
export function cacheKey(containerConfig: BuildConfig): string {
  return JSON.stringify(containerConfig, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** An image made before from `parent` by the same step, or null. */
export function probeCache(s: Stores, parent: string, containerConfig: BuildConfig): string | null {
  const key = cacheKey(containerConfig);
  for (const id of s.images.list()) {
    if (s.images.parent(id) !== parent) continue;
    let c: ImageConfig;
    try {
      c = s.images.get(id);
    } catch {
      continue; // removed while we looked: not a hit
    }
    // (A `commit` keeps its container's config here too; from the same parent
    // with the same config it is the same step, to Docker as to us.)
    if (c.container_config && cacheKey(c.container_config as BuildConfig) === key) return id;
  }
  return null;
}
// #endregion cache-key

// #region commit-step
/**
 * Make the image of one step: the parent's layers (plus `diffID` when the
 * step changed files), the new config, and one more history line. Its ID
 * is the sha256 of these bytes; the parent link makes it findable by the
 * cache next time. The caller holds the image store's lock.
 */
export function commitStep(
  s: Stores,
  st: StageState,
  step: { config: BuildConfig; containerConfig: BuildConfig; createdBy: string; diffID: string | null; container?: string; author?: string },
): string {
  const created = nowRFC3339Nano();
  const empty = step.diffID === null || step.diffID === EMPTY_LAYER_DIFF_ID;
  const entry: HistoryEntry = { created, created_by: step.createdBy };
  if (empty) entry.empty_layer = true;
  const author = step.author ?? st.image.author;
  const config: ImageConfig = {
    architecture: st.image.architecture,
    os: st.image.os,
    ...(st.image.variant ? { variant: st.image.variant } : {}),
    created,
    ...(author ? { author } : {}),
    config: step.config,
    container: step.container ?? '',
    container_config: step.containerConfig as RunConfig & Record<string, unknown>,
    rootfs: { type: 'layers', diff_ids: empty ? [...st.image.rootfs.diff_ids] : [...st.image.rootfs.diff_ids, step.diffID!] },
    history: [...st.image.history, entry],
  };
  return s.images.put(config, st.imageID || undefined);
}
// #endregion commit-step
