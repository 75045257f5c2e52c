// `push`: an image from the store to a registry, blobs first, name last.
//
//   for each layer, bottom up:
//     known to be in this repository (distribution/)?  HEAD it: "Layer already exists"
//     known in another repository of this registry?    POST ?mount=…&from=…: "Mounted from lab/other"
//     otherwise: its tar (chapter 4's tar-split) ──gzip──> a blob, hashed as it is made
//                and sent as it is made: POST an upload, PATCH the bytes in chunks,
//                PUT ?digest= to commit it: "Pushed"
//   then the config blob (monolithic: POST, then one PUT with the bytes)
//   then PUT the manifest under the tag: the registry checks that every blob it names is there
//
// The manifest goes last so that a tag never names an image whose blobs
// are not all in the registry.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { RunError } from '../core/pipeline.js';
import { chainIDs, sha256 } from '../core/digest.js';
import type { Stores } from '../image/open-stores.js';
import { familiarName, familiarString, type Reference } from '../image/reference.js';
import { repositoryScope } from './auth.js';
import { endpointsFor, RegistryClient, type RegistryError } from './client.js';
import { credentialsFor } from './credentials.js';
import { registrySettings } from './daemon-config.js';
import { recordLayer, v2Metadata } from './distribution.js';
import { discard } from './http.js';
import { MEDIA } from './manifest.js';
import { Progress, shortDigest } from './progress.js';

/** Layers sent at once (dockerd's max-concurrent-uploads is 5; 3 keeps two cores busy). */
const CONCURRENT_UPLOADS = 3;

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
  try {
    await client.ping();
    // Docker lists the layers top first.
    const ids = chains.map((_, i) => shortDigest(config.rootfs.diff_ids[i]));
    for (const i of [...chains.keys()].reverse()) progress.status(ids[i], 'Preparing');
    // Three layers at a time (each one's gzip runs on a thread of its own),
    // as dockerd pushes several at once; the manifest keeps their order.
    const layers: Blob[] = new Array(chains.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < chains.length; i = next++) {
        const blob = await pushLayer(s, client, ref, scopes, chains[i], config.rootfs.diff_ids[i], (text) => progress.status(ids[i], text), (n) => progress.bar(ids[i], 'Pushing', n, 0));
        recordLayer(s, blob.digest, config.rootfs.diff_ids[i], repository);
        layers[i] = blob;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_UPLOADS, chains.length) }, worker));
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
  }
}
// #endregion push

// #region push-layer
async function pushLayer(s: Stores, client: RegistryClient, ref: Reference, scopes: string[], chain: string, diffID: string, status: (t: string) => void, bar: (n: number) => void): Promise<Blob> {
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
  // Unknown here: the layer's tar, gzipped once, sent as it is made.
  const blob = await uploadLayer(client, ref.path, scopes, (out) => s.layers.writeTar(chain, out), bar);
  status('Pushed');
  return blob;
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
 * A layer in chunks, compressed as it goes: the tar (chapter 4) runs
 * through gzip; every 16 MiB of gzip is PATCHed with its Content-Range,
 * following the Location each answer gives; the digest, known only at the
 * end, goes with the closing PUT (no body), and the registry checks it
 * against everything it received. One pass: no compressed copy on disk.
 */
async function uploadLayer(client: RegistryClient, repo: string, scopes: string[], writeTar: (out: NodeJS.WritableStream) => Promise<void>, bar: (n: number) => void): Promise<Blob> {
  let at = await startUpload(client, repo, scopes);
  const gzip = zlib.createGzip();
  const made = writeTar(gzip).then(() => void gzip.end(), (e) => void gzip.destroy(e));
  const hash = crypto.createHash('sha256');
  let size = 0;
  let pending: Buffer[] = [];
  const send = async () => {
    const body = Buffer.concat(pending);
    pending = [];
    const start = size - body.length;
    const res = await client.request(at, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length), 'Content-Range': `${start}-${Math.max(start, size - 1)}` },
      body,
      scopes,
    });
    if (res.status !== 202) await client.fail(res, `upload to ${repo}`);
    discard(res);
    if (res.headers.location) at = new URL(res.headers.location, at);
    bar(size);
  };
  let buffered = 0;
  for await (const chunk of gzip) {
    const b = chunk as Buffer;
    hash.update(b);
    size += b.length;
    pending.push(b);
    buffered += b.length;
    if (buffered >= chunkSize()) {
      buffered = 0;
      await send();
    }
  }
  await made;
  if (pending.length) await send();
  const digest = 'sha256:' + hash.digest('hex');
  at.searchParams.set('digest', digest);
  const res = await client.request(at, { method: 'PUT', headers: { 'Content-Length': '0' }, scopes });
  if (res.status !== 201) await client.fail(res, `blob ${digest}`);
  discard(res);
  return { digest, size };
}
// #endregion uploads

/** The name a push is told, resolved to an image; Docker's message when it is not here. */
export function pushTarget(s: Stores, ref: Reference): string {
  const id = s.images.lookupName(ref);
  if (!id) throw new RunError(1, `An image does not exist locally with the tag: ${familiarName(ref)}`);
  return id;
}

