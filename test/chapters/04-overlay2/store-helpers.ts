// What the chapter 4 tests share: reading the on-disk stores the way a
// learner (or Docker) would, independently of runtime/image and
// runtime/storage — only the tar reader and writer are borrowed, to build
// hostile or many-layer archives and to read the ones dockling writes.
//
// Not a test file (no .test.ts): test/run.ts does not run it.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, type Result } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { TarReader, TarWriter, type TarEntry, type TarHeader } from '../../../runtime/storage/tar.ts';
import { decodeRecord, type TraceRecord } from '../../../runtime/trace/events.ts';

export const sha256hex = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
export const sha256 = (b: Buffer | string) => 'sha256:' + sha256hex(b);
export const hex = (d: string) => d.replace(/^sha256:/, '');

/** The OCI chainID formula, written out here (not imported), so the test checks the runtime against the spec. */
export function chainIDsOf(diffIDs: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIDs) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** `dockling ARGS` in `root`, insisting on exit 0; returns stdout. */
export function ok(root: string, args: string[], opts: Parameters<typeof dockling>[2] = {}): string {
  return expectCode(dockling(root, args, opts), 0).stdout;
}

/**
 * The storage driver the tests run on: chapter 3's tests (the image store's
 * own, moved there with it) run on aufs, chapter 4's on overlay2.
 */
export const DRIVER = process.env.DOCKLING_CHAPTER === '3' ? 'aufs' : 'overlay2';

/** Paths of Docker's layout under a state root. */
export function layout(root: string) {
  const img = path.join(root, `image/${DRIVER}`);
  return {
    img,
    content: (id: string) => path.join(img, 'imagedb/content/sha256', hex(id)),
    metadata: (id: string) => path.join(img, 'imagedb/metadata/sha256', hex(id)),
    layer: (chain: string) => path.join(img, 'layerdb/sha256', hex(chain)),
    mounts: path.join(img, 'layerdb/mounts'),
    repositories: path.join(img, 'repositories.json'),
    /** where the driver keeps one directory per layer (overlay2/, or aufs/diff/) */
    overlay: DRIVER === 'aufs' ? path.join(root, 'aufs/diff') : path.join(root, 'overlay2'),
    lock: path.join(img, '.lock'),
    tmp: path.join(root, 'tmp'),
  };
}

/** Entries of a directory, [] when it does not exist. */
export const ls = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

/** The image config as stored (the file whose sha256 is the ID). */
export function configOf(root: string, id: string): { config: { Cmd?: string[] | null; Env?: string[] }; rootfs: { diff_ids: string[] }; history: object[] } {
  return JSON.parse(fs.readFileSync(layout(root).content(id), 'utf8'));
}

/** The image ID behind a name, read from repositories.json. */
export function idOf(root: string, name: string): string {
  return ok(root, ['image', 'inspect', '-f', '{{.Id}}', name]).trim();
}

/** The diffIDs of an image, from `image inspect`. */
export function diffIDsOf(root: string, name: string): string[] {
  return JSON.parse(ok(root, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', name]));
}

/** The full ID of a container (from its directory under containers/). */
export function containerID(root: string, name: string): string {
  return ok(root, ['inspect', '--type', 'container', '-f', '{{.Id}}', name]).trim();
}

/** layerdb/mounts/<id>/mount-id, or null. */
export function mountIdOf(root: string, containerId: string): string | null {
  const f = path.join(layout(root).mounts, containerId, 'mount-id');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : null;
}

/**
 * Remove containers by name, quietly (a test's `finally`): `rm -f` of each,
 * ignoring "No such container".
 */
export function rmQuietly(root: string, ...names: string[]): void {
  for (const n of names) dockling(root, ['rm', '-f', n]);
}

/** Nothing of any container left in the store: no mount, no rw/init layer, no layerdb/mounts entry. */
export function assertNoContainerLayers(root: string): void {
  const L = layout(root);
  assert.deepEqual(mountsUnder(root), [], 'mounts remain under the state root');
  assert.deepEqual(ls(L.mounts), [], 'layerdb/mounts entries remain');
  // Every overlay2/<dir> must be the cache-id of a read-only layer.
  const cacheIds = new Set(ls(path.join(L.img, 'layerdb/sha256')).map((c) => fs.readFileSync(path.join(L.img, 'layerdb/sha256', c, 'cache-id'), 'utf8').trim()));
  const stray = ls(L.overlay).filter((d) => d !== 'l' && !cacheIds.has(d));
  assert.deepEqual(stray, [], 'overlay2/ holds directories no layer owns (container or half-made layers)');
}

// --- tars ---

/** A tar made by dockling's own deterministic writer, from entries and bodies. */
export function makeTar(entries: (TarEntry & { body?: Buffer | string })[]): Buffer {
  const chunks: Buffer[] = [];
  const w = new TarWriter((b) => chunks.push(Buffer.from(b)));
  for (const { body, ...e } of entries) w.add({ mode: e.type === 'dir' ? 0o755 : 0o644, mtime: 1_600_000_000, ...e }, body === undefined ? undefined : Buffer.from(body));
  w.finish();
  return Buffer.concat(chunks);
}

export interface ListedEntry extends TarHeader {
  /** sha256 of the body (files) */
  digest: string;
  body: Buffer;
}

/** Every entry of a tar, with its body. */
export function readTar(bytes: Buffer): ListedEntry[] {
  const out: ListedEntry[] = [];
  let cur: Buffer[] = [];
  let h: TarHeader | null = null;
  const r = new TarReader({
    entry: (x) => {
      h = x;
      cur = [];
    },
    data: (c) => cur.push(Buffer.from(c)),
    entryEnd: () => {
      const body = Buffer.concat(cur);
      out.push({ ...h!, body, digest: sha256hex(body) });
    },
  });
  r.write(bytes);
  r.end();
  return out;
}

/**
 * A docker-archive (`docker save`'s manifest.json form) of one image made
 * of the given layer tars, each listed by its sha256 in the config, as a
 * well-formed archive must.
 */
export function dockerArchive(layers: Buffer[], tag: string, cmd: string[] = ['sh']): { tar: Buffer; id: string; diffIDs: string[] } {
  const diffIDs = layers.map((l) => sha256(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2020-09-13T12:26:40Z',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd },
      rootfs: { type: 'layers', diff_ids: diffIDs },
      history: layers.map(() => ({ created: '2020-09-13T12:26:40Z', created_by: 'test' })),
    }),
  );
  const manifest = [{ Config: `${sha256hex(config)}.json`, RepoTags: [tag], Layers: diffIDs.map((d) => `${hex(d)}/layer.tar`) }];
  const tar = makeTar([
    { name: `${sha256hex(config)}.json`, type: 'file', body: config },
    ...layers.flatMap((l, i) => [
      { name: `${hex(diffIDs[i])}/`, type: 'dir' as const },
      { name: `${hex(diffIDs[i])}/layer.tar`, type: 'file' as const, body: l },
    ]),
    { name: 'manifest.json', type: 'file', body: JSON.stringify(manifest) },
  ]);
  return { tar, id: sha256(config), diffIDs };
}

/** Run dockling with --trace-file and return its result and trace records. */
export function traced(root: string, args: string[], traceFile: string): Result & { trace: TraceRecord[] } {
  fs.writeFileSync(traceFile, '');
  try {
    const r = dockling(root, ['--trace-file', traceFile, ...args]);
    const trace = fs
      .readFileSync(traceFile, 'utf8')
      .split('\n')
      .map(decodeRecord)
      .filter((x): x is TraceRecord => x !== null);
    return { ...r, trace };
  } finally {
    fs.rmSync(traceFile, { force: true });
  }
}

/** Table rows of `images` etc.: columns split on runs of 2+ spaces. */
export const tableRows = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(/\s{2,}/));
