// `pull`: from a name to an image in the store, by content addressing.
//
//   busybox ──normalise──> docker.io/library/busybox:latest
//           ──GET manifest──> (a list? choose linux/amd64) ──> image manifest
//           ──GET config blob──> the image's JSON; its digest is the image ID
//                                and its rootfs.diff_ids the layers' diffIDs
//           ──chainIDs──> which layers the store has already ("Already exists")
//           ──GET layer blobs, 3 at a time, each verified──> register in order (chapter 4)
//           ──> the image stored, tagged, and its digest recorded (RepoDigests)
//
// Every name along the way is a digest, and every digest is checked, so a
// pull from a mirror is as trustworthy as one from the registry itself.
import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../core/pipeline.js';
import { chainID, chainIDs, sha256 } from '../core/digest.js';
import { decodeConfig } from '../image/config.js';
import type { Stores } from '../image/open-stores.js';
import { ownedTempDir } from '../image/leftovers.js';
import { removeTree } from '../storage/remove.js';
import { familiarName, familiarString, formatReference, parseName, type Reference, InvalidReferenceError } from '../image/reference.js';
import { repositoryScope } from './auth.js';
import { downloadBlob } from './blobs.js';
import { endpointsFor, RegistryClient, RegistryError, type Endpoint } from './client.js';
import { credentialsFor } from './credentials.js';
import { registrySettings } from './daemon-config.js';
import { recordLayer } from './distribution.js';
import { readBody } from './http.js';
import { ACCEPT, checkLayerType, choosePlatform, hostPlatform, parseManifest, type Descriptor, type Platform } from './manifest.js';
import { Progress, shortDigest } from './progress.js';

/** Docker's default: three layers downloading at once (dockerd's max-concurrent-downloads). */
export const CONCURRENT_DOWNLOADS = 3;

export interface PullOptions {
  platform?: Platform;
  quiet?: boolean;
  tty?: boolean;
}

export interface Pulled {
  id: string;
  /** the digest the name resolved to (a list's digest for a multi-platform image) */
  digest: string;
  ref: Reference;
}

/** A reference as typed, checked, with Docker's message for a bad one. */
export function parsePullName(name: string): Reference {
  try {
    return parseName(name);
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw new RunError(1, `invalid reference format: ${e.message.replace(/^invalid reference format: /, '')}`, { cause: e });
    throw e;
  }
}

// #region pull
export async function pullImage(s: Stores, name: string, out: NodeJS.WritableStream, o: PullOptions = {}): Promise<Pulled> {
  let ref = parsePullName(name);
  const progress = new Progress(out, o.tty ?? false, o.quiet);
  if (!ref.tag && !ref.digest) {
    progress.line('Using default tag: latest');
    ref = { ...ref, tag: 'latest' };
  }
  const settings = registrySettings();
  const endpoints = endpointsFor(ref.domain, settings);
  let lastError: unknown;
  // A mirror that fails is skipped for the next endpoint, as Docker
  // falls back; the registry itself is the last word.
  for (const [i, ep] of endpoints.entries()) {
    try {
      return await pullFrom(s, ep, ref, progress, o);
    } catch (e) {
      lastError = e;
      if (!ep.mirror || i === endpoints.length - 1) throw e;
    }
  }
  throw lastError;
}
// #endregion pull

async function pullFrom(s: Stores, ep: Endpoint, ref: Reference, progress: Progress, o: PullOptions): Promise<Pulled> {
  const client = new RegistryClient(ep, credentialsFor(ref.domain));
  const scopes = [repositoryScope(ref.path, ['pull'])];
  const shown = familiarString(ref);
  const denied = (e: unknown) =>
    // A Basic registry and no saved login: Docker's words for it.
    e instanceof RegistryError && e.status === 401 && client.auth.scheme === 'basic' && !client.auth.creds
      ? new RunError(1, `Get "${client.url(`/v2/${ref.path}/manifests/${ref.digest ?? ref.tag}`).href}": no basic auth credentials`, { cause: e })
      : e instanceof RegistryError && (e.status === 401 || e.status === 403)
      ? new RunError(1, `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'dockling login': ${e.detail || e.message}`, { cause: e })
      : e;

  // #region resolve-manifest
  const want = ref.digest ?? ref.tag!;
  let top: { bytes: Buffer; type: string | undefined };
  try {
    await client.ping();
    top = await getManifest(client, ref.path, want, scopes, shown);
  } catch (e) {
    throw denied(e);
  }
  const digest = sha256(top.bytes);
  // A pull by digest gets exactly those bytes, or nothing.
  if (ref.digest && digest !== ref.digest) throw new RunError(1, `manifest verification failed for digest ${ref.digest}`);
  progress.line(`${want}: Pulling from ${ref.path}`);
  let manifest = parseManifest(top.bytes, top.type, shown);
  if (manifest.kind === 'index') {
    const chosen = choosePlatform(manifest.manifests, o.platform ?? hostPlatform());
    const child = await getManifest(client, ref.path, chosen.digest, scopes, shown);
    if (sha256(child.bytes) !== chosen.digest) throw new RunError(1, `manifest verification failed for digest ${chosen.digest}`);
    manifest = parseManifest(child.bytes, child.type, shown);
    if (manifest.kind !== 'image') throw new RunError(1, `${shown}: a manifest list names another list (${chosen.digest}), not an image`);
  }
  const image = manifest;
  image.layers.forEach((l) => checkLayerType(l, shown));
  // #endregion resolve-manifest

  const scratch = ownedTempDir(s.root, 'pull');
  const registered: string[] = [];
  try {
    // The config: small, and it names the layers' diffIDs.
    const configFile = path.join(scratch, 'config');
    await downloadBlob(client, ref.path, scopes, image.config, configFile, () => {});
    const configBytes = fs.readFileSync(configFile);
    const config = decodeConfig(configBytes, `${shown}'s config`);
    const diffIDs = config.rootfs.diff_ids;
    if (diffIDs.length !== image.layers.length) {
      throw new RunError(1, `${shown}: the manifest has ${image.layers.length} layers, the config lists ${diffIDs.length} diffIDs`);
    }
    const id = configBytes.length ? sha256(configBytes) : '';
    // Docker's "up to date": the name pointed at this very image already.
    const upToDate = s.images.lookupName(ref.digest ? ref : { ...ref, digest: undefined }) === id;
    if (!(s.images.exists(id) && chainIDs(diffIDs).every((c) => s.layers.get(c)))) await fetchLayers(s, client, ref, scopes, image.layers, diffIDs, scratch, progress, registered);
    await s.images.lockedAsync(async () => {
      s.images.put(configBytes);
      if (ref.tag && !ref.digest) s.images.tag(id, ref);
      s.images.tag(id, { domain: ref.domain, path: ref.path, digest });
      image.layers.forEach((l, i) => recordLayer(s, l.digest, diffIDs[i], `${ref.domain}/${ref.path}`));
    });
    progress.line(`Digest: ${digest}`);
    progress.line(`Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${shown}`);
    // Last, the full name (all `pull -q` prints).
    progress.result(formatReference(ref));
    return { id, digest, ref };
  } catch (e) {
    // A pull is whole or nothing: the layers it registered go again,
    // newest first, unless an image stands on them by now.
    await s.images.lockedAsync(async () => {
      const used = new Set(s.images.list().flatMap((i) => chainIDs(s.images.get(i).rootfs.diff_ids)));
      for (const c of registered.reverse()) if (!used.has(c)) s.layers.remove(c);
    });
    throw denied(e);
  } finally {
    removeTree(scratch);
  }
}

/** GET a manifest by tag or digest; 404 is Docker's "manifest for X not found". */
async function getManifest(client: RegistryClient, repo: string, want: string, scopes: string[], shown: string): Promise<{ bytes: Buffer; type: string | undefined }> {
  const res = await client.request(`/v2/${repo}/manifests/${want}`, { headers: { Accept: ACCEPT }, scopes });
  if (res.status === 404) await client.fail(res, `manifest for ${shown} not found`);
  if (res.status !== 200) await client.fail(res, `${shown}`);
  return { bytes: await readBody(res, 4 << 20), type: res.headers['content-type'] };
}

// #region fetch-layers
/**
 * Download the layers the store lacks, three at a time, and register each
 * as soon as it and every layer below it are in (a layer is unpacked on top
 * of its parent, so registration goes in order while downloads overlap).
 */
async function fetchLayers(s: Stores, client: RegistryClient, ref: Reference, scopes: string[], layers: Descriptor[], diffIDs: string[], scratch: string, progress: Progress, registered: string[]): Promise<void> {
  const chains = chainIDs(diffIDs);
  const needed = layers.map((_, i) => !s.layers.get(chains[i]));
  const before = new Set(s.layers.list());
  layers.forEach((l, i) => progress.status(shortDigest(l.digest), needed[i] ? 'Pulling fs layer' : 'Already exists'));
  // A small pool: each download waits for a free slot.
  let free = CONCURRENT_DOWNLOADS;
  const queue: (() => void)[] = [];
  const slot = () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((r) => queue.push(r)));
  const release = () => (queue.length ? queue.shift()!() : free++);
  let queued = 0;
  const downloads = layers.map((l, i) => {
    if (!needed[i]) return Promise.resolve('');
    const id = shortDigest(l.digest);
    // The fourth needed layer and those after it wait for a slot.
    if (queued++ >= CONCURRENT_DOWNLOADS) progress.status(id, 'Waiting');
    const file = path.join(scratch, `layer-${i}`);
    return slot().then(async () => {
      try {
        await downloadBlob(client, ref.path, scopes, l, file, (n) => progress.bar(id, 'Downloading', n, l.size), (n, why) => progress.status(id, `Retrying (attempt ${n + 1}): ${why}`));
        progress.status(id, 'Verifying Checksum');
        progress.status(id, 'Download complete');
        return file;
      } finally {
        release();
      }
    });
  });
  // If one download fails, the others are still awaited (below), so that
  // no file is being written while the scratch directory is removed.
  downloads.forEach((d) => d.catch(() => {}));
  let parent: string | null = null;
  try {
    for (const [i, l] of layers.entries()) {
      const file = await downloads[i];
      if (!needed[i]) {
        parent = chains[i];
        continue;
      }
      const id = shortDigest(l.digest);
      progress.bar(id, 'Extracting', 0, l.size);
      const info = await s.images.lockedAsync(() => s.layers.register(file, parent)).catch((e) => {
        // A layer tar chapter 4 refuses to unpack (a name that climbs out, a
        // hostile header): said with the layer's digest, not as a crash.
        if (e instanceof Error && ['LayerTarError', 'TarFormatError'].includes(e.constructor.name)) throw new RunError(1, `${familiarString(ref)}: layer ${l.digest}: ${e.message.replace(/^layer tar: /, '')}`, { cause: e });
        throw e;
      });
      if (!before.has(info.chainID)) registered.push(info.chainID);
      fs.rmSync(file, { force: true });
      if (info.diffID !== diffIDs[i]) {
        throw new RunError(1, `${familiarString(ref)}: layer ${id} unpacks to ${info.diffID}, but the image's config says ${diffIDs[i]}`);
      }
      progress.status(id, 'Pull complete');
      parent = chainID(parent, info.diffID);
    }
  } finally {
    await Promise.allSettled(downloads);
  }
}
// #endregion fetch-layers
