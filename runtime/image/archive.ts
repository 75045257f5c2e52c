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
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { RunError } from '../core/pipeline.js';
import { TarWriter } from '../storage/tar.js';
import { extractLayer } from '../storage/extract.js';
import { chainID, chainIDs, decodeConfig, sha256 } from './config.js';
import { parseReference, familiarString, referenceString, withDefaultTag } from './reference.js';
import { tmpDir, type Stores } from './stores.js';
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
  fs.mkdirSync(tmpDir(s.root), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(tmpDir(s.root), 'save-'));
  let needDrain = false;
  const tar = new TarWriter((b) => {
    if (!out.write(b)) needDrain = true;
  });
  const flush = async () => {
    if (needDrain) await once(out, 'drain');
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
      const isId = /^(sha256:)?[0-9a-f]+$/.test(ref) && !s.images.namesOf(id).some((n) => n === ref || n === `${ref}:latest`);
      const tags = isId ? s.images.namesOf(id) : [familiarString(withDefaultTag(parseReference(ref)))];
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
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
// #endregion save

interface ManifestEntry {
  config: string;
  layers: string[];
  tags: string[];
}

/** The images in an unpacked archive: Docker's manifest.json, or else the OCI index. */
function readManifests(dir: string): ManifestEntry[] {
  const read = (f: string) => {
    const p = inside(dir, f);
    if (!fs.existsSync(p)) throw new RunError(1, `invalid archive: ${f} is missing`);
    return fs.readFileSync(p, 'utf8');
  };
  if (fs.existsSync(path.join(dir, 'manifest.json'))) {
    const list = JSON.parse(read('manifest.json')) as { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
    return list.map((m) => ({ config: m.Config, layers: m.Layers, tags: m.RepoTags ?? [] }));
  }
  if (!fs.existsSync(path.join(dir, 'index.json'))) throw new RunError(1, 'invalid archive: neither manifest.json (docker save) nor index.json (OCI layout) found');
  const index = JSON.parse(read('index.json')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  return index.manifests.map((d) => {
    const m = JSON.parse(read(`blobs/sha256/${hex(d.digest)}`)) as { config: { digest: string }; layers: { digest: string }[] };
    const name = d.annotations?.['io.containerd.image.name'];
    return { config: `blobs/sha256/${hex(m.config.digest)}`, layers: m.layers.map((l) => `blobs/sha256/${hex(l.digest)}`), tags: name ? [familiarString(parseReference(name))] : [] };
  });
}

/** A path named by the archive, kept inside the unpacked archive. */
function inside(dir: string, rel: string): string {
  const p = path.resolve(dir, rel);
  if (!p.startsWith(dir + path.sep)) throw new RunError(1, `invalid archive: ${JSON.stringify(rel)} points outside it`);
  return p;
}

// #region load
export async function loadArchive(s: Stores, file: string): Promise<string[]> {
  fs.mkdirSync(tmpDir(s.root), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(tmpDir(s.root), 'load-'));
  const dir = path.join(scratch, 'archive');
  const lines: string[] = [];
  const before = new Set(s.layers.list());
  try {
    // The archive is unpacked with the same safe extraction as a layer.
    await extractLayer(file, dir, { whiteouts: 'aufs' });
    for (const m of readManifests(dir)) {
      const bytes = fs.readFileSync(inside(dir, m.config));
      const id = sha256(bytes);
      const named = /[0-9a-f]{64}/.exec(m.config)?.[0];
      if (named && named !== hex(id)) throw new RunError(1, `invalid archive: config ${m.config} has digest ${id}`);
      const config = decodeConfig(bytes, m.config);
      if (config.rootfs.diff_ids.length !== m.layers.length) throw new RunError(1, `invalid archive: ${m.config} lists ${config.rootfs.diff_ids.length} layers, the manifest ${m.layers.length}`);
      let chain: string | null = null;
      for (const [i, layerFile] of m.layers.entries()) {
        const want = config.rootfs.diff_ids[i];
        const next = chainID(chain, want);
        if (!s.layers.get(next)) {
          const got = await s.layers.register(inside(dir, layerFile), chain);
          if (got.diffID !== want) {
            throw new RunError(1, `invalid archive: layer ${i + 1} (${layerFile}) has diffID ${got.diffID}, its config says ${want}`);
          }
        }
        chain = next;
      }
      s.images.put(bytes);
      for (const t of m.tags) {
        const ref = withDefaultTag(parseReference(t));
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
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
// #endregion load

function depth(s: Stores, chain: string): number {
  let n = 0;
  for (let c: string | null = chain; c; c = s.layers.get(c)?.parent ?? null) n++;
  return n;
}
