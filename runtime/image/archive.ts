// `save` and `load`: images as one tar archive, in the layout Docker has
// written since version 25, which is an OCI image layout with Docker's
// manifest.json beside it, so both kinds of tool can read it:
//
//   oci-layout                {"imageLayoutVersion": "1.0.0"}
//   index.json                the OCI index: one manifest per name
//   blobs/sha256/<hex>        configs, manifests and layer tars, by digest
//   manifest.json             Docker's: [{Config, RepoTags, Layers}]
//
// Every blob is named by its digest, and load checks every digest: a
// config whose sha256 is not its name, or a layer whose sha256 is not the
// diffID its config lists, is refused.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { RunError } from '../core/pipeline.js';
import { TarWriter } from '../storage/tar.js';
import { extractLayer } from '../storage/extract.js';
import { decodeConfig } from './config.js';
import { chainID, chainIDs, sha256 } from '../core/digest.js';
import { parseReference, familiarString, referenceString, withDefaultTag } from './reference.js';
import type { Stores } from './open-stores.js';
import { ownedTempDir } from './leftovers.js';
import { removeTree } from '../storage/remove.js';
import { writeTo } from './busybox.js';

const hex = (d: string) => d.replace(/^sha256:/, '');
const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
};

// #region save
export async function saveArchive(s: Stores, wanted: { ref: string; id: string }[], out: NodeJS.WritableStream): Promise<void> {
  const scratch = ownedTempDir(s.root, 'save');
  let needDrain = false;
  // A write error (EPIPE when `save | head` stops reading, ENOSPC) comes as
  // an 'error' event: kept and thrown at the next flush, never unhandled.
  let failed: Error | null = null;
  const onError = (e: Error) => void (failed ??= e);
  out.on('error', onError);
  const tar = new TarWriter((b) => {
    if (!failed && !out.write(b)) needDrain = true;
  });
  const flush = async () => {
    if (failed) throw failed;
    if (needDrain) await once(out, 'drain'); // rejects on an 'error' while waiting
    needDrain = false;
  };
  const written = new Set<string>();
  const addBlob = async (bytes: Buffer) => {
    const digest = sha256(bytes);
    if (!written.has(digest)) {
      written.add(digest);
      tar.add({ name: `blobs/sha256/${hex(digest)}`, type: 'file', mode: 0o644 }, bytes);
      await flush();
    }
    return { digest, size: bytes.length };
  };
  try {
    tar.add({ name: 'blobs/', type: 'dir', mode: 0o755 });
    tar.add({ name: 'blobs/sha256/', type: 'dir', mode: 0o755 });
    const dockerManifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const index: object[] = [];
    for (const { ref, id } of wanted) {
      const config = s.images.get(id);
      const layers: { digest: string; size: number }[] = [];
      let chain: string | null = null;
      for (const diffID of config.rootfs.diff_ids) {
        chain = chainID(chain, diffID);
        // The layer's exact tar, re-made from tar-split; its name is its diffID.
        if (!written.has(diffID)) {
          const file = path.join(scratch, hex(diffID));
          await writeTo(file, (o) => s.layers.writeTar(chain!, o));
          const size = fs.statSync(file).size;
          tar.entry({ name: `blobs/sha256/${hex(diffID)}`, type: 'file', mode: 0o644, size });
          for await (const chunk of fs.createReadStream(file)) {
            tar.data(chunk as Buffer);
            await flush();
          }
          fs.rmSync(file);
          written.add(diffID);
          layers.push({ digest: diffID, size });
        } else {
          layers.push({ digest: diffID, size: Number(s.layers.get(chain)?.size ?? 0) });
        }
      }
      const cfg = await addBlob(s.images.bytes(id));
      // A name given on the command line is saved with the image; an ID
      // saves the image with every name it has.
      const isId = /^(sha256:)?[0-9a-f]+$/.test(ref) && !s.images.tagsOf(id).some((n) => n === ref || n === `${ref}:latest`);
      const tags = isId ? s.images.tagsOf(id) : [familiarString(withDefaultTag(parseReference(ref)))];
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size },
        layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
      }));
      const m = await addBlob(manifest);
      for (const t of tags.length ? tags : [null]) {
        const annotations = t ? { 'io.containerd.image.name': referenceString(parseReference(t)), 'org.opencontainers.image.ref.name': parseReference(t).tag ?? 'latest' } : undefined;
        index.push({ mediaType: MEDIA.manifest, digest: m.digest, size: m.size, ...(annotations ? { annotations } : {}) });
      }
      dockerManifest.push({ Config: `blobs/sha256/${hex(cfg.digest)}`, RepoTags: tags, Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`) });
    }
    tar.add({ name: 'index.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: index })));
    tar.add({ name: 'manifest.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(dockerManifest)));
    tar.add({ name: 'oci-layout', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    tar.finish();
    await flush();
  } finally {
    out.off('error', onError);
    removeTree(scratch);
  }
}
// #endregion save

interface ManifestEntry {
  config: string;
  layers: string[];
  tags: string[];
}

// #region archive-files
// The archive is someone else's file, unpacked by us: every name in its
// JSON (manifest.json's Config and Layers, the digests of index.json) is a
// path we resolve inside the unpacked archive ourselves, one component at
// a time, never following a symlink and never climbing with "..". The file
// at the end must be a regular file: a Config that is a symlink to a host
// JSON, or a Layers entry that is a symlink to a host tar, would load the
// host's file as the image; one that is (or points to) /dev/zero would be
// read forever. JSON files are read only up to a cap.

/** The most bytes of JSON load reads from one file of the archive. */
export const JSON_MAX = 8 << 20;

/** The archive at fault; `cause`, when given, is the error that found it out. */
const bad = (what: string, cause?: unknown) => new RunError(1, `invalid archive: ${what}`, cause === undefined ? undefined : { cause });

/** Open a file the archive names, inside the unpacked archive; returns its descriptor. */
function openInArchive(dir: string, rel: string): number {
  const parts = rel.split('/').filter((c) => c !== '' && c !== '.');
  if (rel.startsWith('/') || parts.includes('..') || !parts.length) throw bad(`${JSON.stringify(rel)} is not a path inside the archive`);
  let p = dir;
  for (const [i, c] of parts.entries()) {
    p = path.join(p, c);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    const shown = JSON.stringify(parts.slice(0, i + 1).join('/'));
    if (!st) throw bad(`${shown} is missing`);
    if (st.isSymbolicLink()) throw bad(`${shown} is a symlink (load never follows a symlink in an archive)`);
    if (i < parts.length - 1 && !st.isDirectory()) throw bad(`${shown} is not a directory`);
    if (i === parts.length - 1 && !st.isFile()) throw bad(`${shown} is not a regular file`);
  }
  // O_NOFOLLOW and fstat again: what was checked is what is read.
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw bad(`${JSON.stringify(rel)} is not a regular file`);
  }
  return fd;
}

/** A JSON file of the archive: its bytes (at most JSON_MAX) and its value. */
function readJSON(dir: string, rel: string): { bytes: Buffer; value: unknown } {
  const fd = openInArchive(dir, rel);
  try {
    const size = fs.fstatSync(fd).size;
    if (size > JSON_MAX) throw bad(`${rel} is ${size} bytes, more than the ${JSON_MAX} bytes load reads of a JSON file`);
    const bytes = fs.readFileSync(fd);
    try {
      return { bytes, value: JSON.parse(bytes.toString('utf8')) };
    } catch (e) {
      throw bad(`${rel} is not valid JSON (${(e as Error).message})`, e);
    }
  } finally {
    fs.closeSync(fd);
  }
}
// #endregion archive-files

// #region archive-shapes
// Each JSON file is checked against its shape before it is used, so that a
// wrong one is named in a clear error rather than a TypeError.
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function dockerManifest(v: unknown): { Config: string; RepoTags: string[]; Layers: string[] }[] {
  const shape = 'manifest.json must be a list of {"Config": file, "RepoTags": [names], "Layers": [files]}, as docker save writes it';
  if (!Array.isArray(v)) throw bad(`${shape}; it is ${v === null ? "null" : typeof v === "object" ? "an object" : `a ${typeof v}`}`);
  if (!v.length) throw bad('manifest.json lists no image');
  return v.map((m, i) => {
    const at = `manifest.json entry ${i + 1}`;
    if (!isObject(m)) throw bad(`${shape}; ${at} is not an object`);
    if (typeof m.Config !== 'string') throw bad(`${at}: "Config" must be a file name`);
    if (!isStrings(m.Layers)) throw bad(`${at}: "Layers" must be a list of file names`);
    if (m.RepoTags != null && !isStrings(m.RepoTags)) throw bad(`${at}: "RepoTags" must be a list of names`);
    return { Config: m.Config, Layers: m.Layers, RepoTags: (m.RepoTags as string[] | null) ?? [] };
  });
}

function ociIndex(v: unknown): { digest: string; name?: string }[] {
  if (!isObject(v) || !Array.isArray(v.manifests)) throw bad('index.json must be an OCI image index: {"manifests": [descriptors]}');
  return v.manifests.map((d, i) => {
    if (!isObject(d) || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw bad(`index.json manifest ${i + 1} has no "digest" of the form sha256:<64 hex digits>`);
    const a = d.annotations;
    if (a !== undefined && !isObject(a)) throw bad(`index.json manifest ${i + 1}: "annotations" must be an object`);
    const name = a?.['io.containerd.image.name'];
    if (name !== undefined && typeof name !== 'string') throw bad(`index.json manifest ${i + 1}: its image name must be a string`);
    return { digest: d.digest, name };
  });
}

function ociManifest(v: unknown, where: string): { config: string; layers: string[] } {
  const shape = `${where} must be an OCI image manifest: {"config": descriptor, "layers": [descriptors]}`;
  if (!isObject(v) || !isObject(v.config) || !Array.isArray(v.layers)) throw bad(shape);
  const digestOf = (d: unknown) => {
    if (!isObject(d) || typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw bad(`${shape}; a descriptor has no digest of the form sha256:<64 hex digits>`);
    return `blobs/sha256/${hex(d.digest)}`;
  };
  return { config: digestOf(v.config), layers: v.layers.map(digestOf) };
}

/** The parts of an image config that dockling reads, checked (decodeConfig checks rootfs). */
function imageConfig(bytes: Buffer, where: string) {
  let config;
  try {
    config = decodeConfig(bytes, where);
  } catch (e) {
    throw bad((e as Error).message, e);
  }
  if (!isObject(config) || !isObject(config.config) || !Array.isArray(config.history) || !config.history.every(isObject)) {
    throw bad(`${where}: the image config's "config" must be an object and its "history" a list of objects`);
  }
  return config;
}
// #endregion archive-shapes

/** A name the archive gives an image, checked: parseReference's error would be a stack trace. */
function tagOf(name: string, where: string): string {
  try {
    return familiarString(withDefaultTag(parseReference(name)));
  } catch (e) {
    throw bad(`${where} names the image ${JSON.stringify(name)}, which is not a valid image name`, e);
  }
}

/** The images in an unpacked archive: Docker's manifest.json, or else the OCI index. */
function readManifests(dir: string): ManifestEntry[] {
  const exists = (f: string) => fs.lstatSync(path.join(dir, f), { throwIfNoEntry: false }) !== undefined;
  if (exists('manifest.json')) {
    return dockerManifest(readJSON(dir, 'manifest.json').value).map((m) => ({
      config: m.Config, layers: m.Layers, tags: m.RepoTags.map((t) => tagOf(t, 'manifest.json')),
    }));
  }
  if (!exists('index.json')) throw bad('neither manifest.json (docker save) nor index.json (OCI layout) found');
  return ociIndex(readJSON(dir, 'index.json').value).map((d) => {
    const where = `blobs/sha256/${hex(d.digest)}`;
    const { bytes, value } = readJSON(dir, where);
    // A blob is named by its digest: a manifest that is not its name is refused.
    if (sha256(bytes) !== d.digest) throw bad(`${where} has digest ${sha256(bytes)}, not the one its name and index.json give`);
    return { ...ociManifest(value, where), tags: d.name ? [tagOf(d.name, 'index.json')] : [] };
  });
}

// #region load
export async function loadArchive(s: Stores, file: string): Promise<string[]> {
  const scratch = ownedTempDir(s.root, 'load');
  const dir = path.join(scratch, 'archive');
  const lines: string[] = [];
  const before = new Set(s.layers.list());
  try {
    // The archive is unpacked with the same safe extraction as a layer.
    await extractLayer(file, dir, { whiteouts: 'aufs' });
    for (const m of readManifests(dir)) {
      const { bytes } = readJSON(dir, m.config);
      const id = sha256(bytes);
      // The config is named by its digest (blobs/sha256/<hex>, or <hex>.json in older archives).
      const named = /[0-9a-f]{64}/.exec(m.config)?.[0];
      if (named && named !== hex(id)) throw new RunError(1, `invalid archive: config ${m.config} has digest ${id}`);
      const config = imageConfig(bytes, m.config);
      if (config.rootfs.diff_ids.length !== m.layers.length) throw new RunError(1, `invalid archive: ${m.config} lists ${config.rootfs.diff_ids.length} layers, the manifest ${m.layers.length}`);
      let chain: string | null = null;
      for (const [i, layerFile] of m.layers.entries()) {
        const want = config.rootfs.diff_ids[i];
        const next = chainID(chain, want);
        if (!s.layers.get(next)) {
          // The layer is read through a descriptor opened inside the archive.
          const fd = openInArchive(dir, layerFile);
          let got;
          try {
            try {
              got = await s.layers.register(`/proc/self/fd/${fd}`, chain);
            } catch (e) {
              // Name the layer as the archive does, not by our descriptor.
              if (!(e instanceof Error) || !['LayerTarError', 'TarFormatError'].includes(e.constructor.name)) throw e;
              throw bad(`${layerFile}: ${e.message.replace(/^layer tar: /, '').replace(/\/proc\/self\/fd\/\d+: /, '')}`, e);
            }
            // A blob named by a digest must have it: for a plain tar that is
            // its diffID; a compressed one is hashed as it is stored.
            const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path.posix.normalize(layerFile))?.[1];
            if (named && hex(got.diffID) !== named && (await fileDigest(fd)) !== `sha256:${named}`) {
              throw new RunError(1, `invalid archive: ${layerFile} does not have the digest its name gives`);
            }
          } finally {
            fs.closeSync(fd);
          }
          if (got.diffID !== want) {
            throw new RunError(1, `invalid archive: layer ${i + 1} (${layerFile}) has diffID ${got.diffID}, its config says ${want}`);
          }
        }
        chain = next;
      }
      s.images.put(bytes);
      for (const t of m.tags) {
        const ref = withDefaultTag(parseReference(t)); // checked by tagOf
        s.images.tag(id, ref);
        lines.push(`Loaded image: ${familiarString(ref)}`);
      }
      if (!m.tags.length) lines.push(`Loaded image ID: ${id}`);
    }
    return lines;
  } catch (e) {
    // A load is whole or nothing: the layers it added go again, newest
    // first (a layer's parent is older), unless an image uses them by now.
    const added = s.layers.list().filter((c) => !before.has(c));
    const used = new Set(s.images.list().flatMap((id) => chainIDs(s.images.get(id).rootfs.diff_ids)));
    for (const c of added.sort((a, b) => depth(s, b) - depth(s, a))) if (!used.has(c)) s.layers.remove(c);
    throw e;
  } finally {
    removeTree(scratch);
  }
}
// #endregion load

/** sha256 of an open file's bytes, read from the start. */
async function fileDigest(fd: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream('', { fd, start: 0, autoClose: false })) hash.update(chunk as Buffer);
  return 'sha256:' + hash.digest('hex');
}

function depth(s: Stores, chain: string): number {
  let n = 0;
  for (let c: string | null = chain; c; c = s.layers.get(c)?.parent ?? null) n++;
  return n;
}
