// `push`: an image from the store to a registry, blobs first, name last.
//
//   for each layer, bottom up:
//     known to be in this repository (distribution/)?  HEAD it: "Layer already exists"
//     known in another repository of this registry?    POST ?mount=…&from=…: "Mounted from lab/other"
//     otherwise: its tar (chapter 4's tar-split) ──gzip──> a blob, hashed as it is made;
//                HEAD (someone may have pushed it), else POST an upload, PATCH the bytes
//                in chunks, PUT ?digest= to commit it: "Pushed"
//   then the config blob (monolithic: POST, then one PUT with the bytes)
//   then PUT the manifest under the tag: the registry checks that every blob it names is there
//
// The manifest goes last so that a tag never names an image whose blobs
// are not all in the registry.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { RunError } from '../core/pipeline.js';
import { chainIDs, sha256 } from '../core/digest.js';
import type { Stores } from '../image/open-stores.js';
import { ownedTempDir } from '../image/leftovers.js';
import { removeTree } from '../storage/remove.js';
import { familiarName, familiarString, type Reference } from '../image/reference.js';
import { repositoryScope } from './auth.js';
import { endpointsFor, RegistryClient, type RegistryError } from './client.js';
import { credentialsFor } from './credentials.js';
import { registrySettings } from './daemon-config.js';
import { recordLayer, v2Metadata } from './distribution.js';
import { discard } from './http.js';
import { MEDIA } from './manifest.js';
import { Progress, shortDigest } from './progress.js';

/** The size of each PATCH of a chunked upload: $DOCKLING_PUSH_CHUNK bytes, 16 MiB by default. */
const chunkSize = () => Number(process.env.DOCKLING_PUSH_CHUNK) || 16 << 20;

interface Blob {
  digest: string;
  size: number;
}

// #region push
/** Push one tag of an image; returns the manifest's digest. */
export async function pushImage(s: Stores, ref: Reference, id: string, progress: Progress): Promise<string> {
  const client = new RegistryClient(endpointsFor(ref.domain, registrySettings(), true)[0], credentialsFor(ref.domain));
  const repository = `${ref.domain}/${ref.path}`;
  const scopes = [repositoryScope(ref.path, ['pull', 'push'])];
  const config = s.images.get(id);
  const chains = chainIDs(config.rootfs.diff_ids);
  const scratch = ownedTempDir(s.root, 'push');
  try {
    await client.ping();
    // Docker lists the layers top first.
    const ids = chains.map((_, i) => shortDigest(config.rootfs.diff_ids[i]));
    for (const i of [...chains.keys()].reverse()) progress.status(ids[i], 'Preparing');
    const layers: Blob[] = [];
    for (const [i, chain] of chains.entries()) {
      const blob = await pushLayer(s, client, ref, scopes, chain, config.rootfs.diff_ids[i], scratch, (text) => progress.status(ids[i], text), (n, total) => progress.bar(ids[i], 'Pushing', n, total));
      recordLayer(s, blob.digest, config.rootfs.diff_ids[i], repository);
      layers.push(blob);
    }
    const configBytes = s.images.bytes(id);
    const configBlob = { digest: sha256(configBytes), size: configBytes.length };
    if (!(await blobExists(client, ref.path, configBlob.digest, scopes))) await uploadMonolithic(client, ref.path, scopes, configBytes, configBlob.digest);
    // The manifest: Docker's schema 2, gzip layers.
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, size: configBlob.size, digest: configBlob.digest },
      layers: layers.map((l) => ({ mediaType: MEDIA.dockerLayer, size: l.size, digest: l.digest })),
    }, null, 3));
    const tag = ref.tag ?? 'latest';
    const res = await client.request(`/v2/${ref.path}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': MEDIA.dockerManifest }, body: manifest, scopes });
    if (res.status !== 201 && res.status !== 200) await client.fail(res, `manifest for ${familiarString(ref)}`);
    discard(res);
    const digest = sha256(manifest);
    // The image now has a digest in this repository: RepoDigests (as Docker records after a push).
    await s.images.lockedAsync(async () => s.images.tag(id, { domain: ref.domain, path: ref.path, digest }));
    progress.line(`${tag}: digest: ${digest} size: ${manifest.length}`);
    return digest;
  } catch (e) {
    const re = e as RegistryError;
    // Docker's push refusal is the registry's words alone ("denied: requested access to the resource is denied").
    if (re.status === 401 || re.status === 403) throw new RunError(1, re.detail || re.message, { cause: e });
    throw e;
  } finally {
    removeTree(scratch);
  }
}
// #endregion push

// #region push-layer
async function pushLayer(s: Stores, client: RegistryClient, ref: Reference, scopes: string[], chain: string, diffID: string, scratch: string, status: (t: string) => void, bar: (n: number, total: number) => void): Promise<Blob> {
  const known = v2Metadata(s, diffID).filter((m) => m.SourceRepository.startsWith(ref.domain + '/'));
  // Already in this repository, as far as we know: one HEAD says for sure.
  for (const m of known.filter((m) => m.SourceRepository === `${ref.domain}/${ref.path}`)) {
    const size = await blobSize(client, ref.path, m.Digest, scopes);
    if (size !== null) {
      status('Layer already exists');
      return { digest: m.Digest, size };
    }
  }
  // In another repository of this registry: ask it to mount the blob here, no bytes sent.
  for (const m of known.filter((m) => m.SourceRepository !== `${ref.domain}/${ref.path}`)) {
    const from = m.SourceRepository.slice(ref.domain.length + 1);
    const mountScopes = [...scopes, repositoryScope(from, ['pull'])];
    const res = await client.request(`/v2/${ref.path}/blobs/uploads/?mount=${encodeURIComponent(m.Digest)}&from=${encodeURIComponent(from)}`, { method: 'POST', scopes: mountScopes });
    discard(res);
    if (res.status === 201) {
      const size = await blobSize(client, ref.path, m.Digest, scopes);
      status(`Mounted from ${from}`);
      return { digest: m.Digest, size: size ?? 0 };
    }
    // 202: the registry started an ordinary upload instead; it is left to expire.
  }
  // Compress the layer's tar once, hashing as it goes.
  const file = path.join(scratch, shortDigest(diffID));
  const blob = await compressLayer(s, chain, file);
  if ((await blobSize(client, ref.path, blob.digest, scopes)) !== null) {
    status('Layer already exists');
    return blob;
  }
  await uploadChunked(client, ref.path, scopes, file, blob, bar);
  status('Pushed');
  return blob;
}

/** The layer's exact tar (chapter 4), gzipped into `file`; its digest and size. */
async function compressLayer(s: Stores, chain: string, file: string): Promise<Blob> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  const gzip = zlib.createGzip();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const written = pipeline(gzip, counter, fs.createWriteStream(file));
  await s.layers.writeTar(chain, gzip);
  gzip.end();
  await written;
  return { digest: 'sha256:' + hash.digest('hex'), size };
}
// #endregion push-layer

/** HEAD a blob: its size if the repository has it, null if not. */
async function blobSize(client: RegistryClient, repo: string, digest: string, scopes: string[]): Promise<number | null> {
  const res = await client.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes });
  discard(res);
  if (res.status === 200) return Number(res.headers['content-length'] ?? 0);
  if (res.status === 404) return null;
  return client.fail(res, `blob ${digest}`);
}

const blobExists = async (client: RegistryClient, repo: string, digest: string, scopes: string[]) => (await blobSize(client, repo, digest, scopes)) !== null;

// #region uploads
/** POST /blobs/uploads/: where to send the bytes (the Location). */
async function startUpload(client: RegistryClient, repo: string, scopes: string[]): Promise<URL> {
  const res = await client.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scopes, headers: { 'Content-Length': '0' } });
  discard(res);
  if (res.status !== 202 || !res.headers.location) return client.fail(res, `upload to ${repo}`);
  return new URL(res.headers.location, client.url('/'));
}

/** A small blob in one request: POST, then PUT ?digest= with the bytes. */
async function uploadMonolithic(client: RegistryClient, repo: string, scopes: string[], bytes: Buffer, digest: string): Promise<void> {
  const at = await startUpload(client, repo, scopes);
  at.searchParams.set('digest', digest);
  const res = await client.request(at, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) }, body: bytes, scopes });
  if (res.status !== 201) await client.fail(res, `blob ${digest}`);
  discard(res);
}

/**
 * A layer in chunks: PATCH each piece with its Content-Range, following the
 * Location each answer gives, then PUT ?digest= with no body to commit.
 * The registry checks the digest of everything it received.
 */
async function uploadChunked(client: RegistryClient, repo: string, scopes: string[], file: string, blob: Blob, bar: (n: number, total: number) => void): Promise<void> {
  let at = await startUpload(client, repo, scopes);
  const size = blob.size;
  for (let start = 0; start < size || (size === 0 && start === 0); ) {
    const end = Math.min(size, start + chunkSize());
    const res = await client.request(at, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(end - start), 'Content-Range': `${start}-${Math.max(start, end - 1)}` },
      body: () => fs.createReadStream(file, { start, end: Math.max(start, end - 1) }),
      scopes,
    });
    if (res.status !== 202) await client.fail(res, `blob ${blob.digest}`);
    discard(res);
    if (res.headers.location) at = new URL(res.headers.location, at);
    bar(end, size);
    if (size === 0) break;
    start = end;
  }
  at.searchParams.set('digest', blob.digest);
  const res = await client.request(at, { method: 'PUT', headers: { 'Content-Length': '0' }, scopes });
  if (res.status !== 201) await client.fail(res, `blob ${blob.digest}`);
  discard(res);
}
// #endregion uploads

/** The name a push is told, resolved to an image; Docker's message when it is not here. */
export function pushTarget(s: Stores, ref: Reference): string {
  const id = s.images.lookupName(ref);
  if (!id) throw new RunError(1, `An image does not exist locally with the tag: ${familiarName(ref)}`);
  return id;
}

