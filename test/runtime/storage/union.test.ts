// Union semantics, as a property: for a random stack of layer tars and a
// random run of file operations in the merged view of a writable layer on
// top, an in-memory model of "layers applied with the OCI whiteout rules"
// predicts
//   (a) the merged tree the kernel shows,
//   (b) what the driver's diff tar, applied to the stack below, gives, and
//   (c) the A/C/D lines changes() lists.
// Written against the StorageDriver interface: both drivers, aufs (chapter 3,
// through its FUSE server) and overlay2 (chapter 4, the kernel's overlayfs),
// run the same operations and must agree with the model, and with each
// other: the same changes, the same tar entries, the same layer digest.
//
// A digest covers every entry's mtime, which is the clock's: two runs never
// share one. So each run ends by giving every entry of the writable layer one
// fixed mtime, on the layer directory itself, after unmounting (through the
// mount, a utimes would copy up what it touches).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import type { StorageDriver } from '../../../runtime/storage/driver.ts';
import { Overlay2Driver } from '../../../runtime/storage/overlay2.ts';
import { AufsDriver } from '../../../runtime/storage/aufs.ts';
import { TarReader, TarWriter, type TarEntry } from '../../../runtime/storage/tar.ts';
import { makeTemp, mountsInside, removeTree } from './ovl-temp.ts';
import { applyLayer, expectedChanges, Model, type LayerItem, type Node, type Op, opArb, layerArb, layerEntries, run } from './union-model.ts';

const DRIVERS: { name: string; make: (home: string) => StorageDriver }[] = [
  { name: 'overlay2', make: (home) => new Overlay2Driver(home) },
  { name: 'aufs', make: (home) => new AufsDriver(home) },
];

/** The tree under `dir` as the model holds one (lstat only: never through a symlink). */
function readTree(dir: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) out.set(r, { type: 'dir', mode }), walk(r);
      else if (st.isSymbolicLink()) out.set(r, { type: 'symlink', target: fs.readlinkSync(p) });
      else if (st.isFile()) out.set(r, { type: 'file', mode, content: fs.readFileSync(p, 'utf8') });
      else throw new Error(`unexpected ${r} in the merged view (mode ${st.mode.toString(8)})`);
    }
  };
  walk('');
  return out;
}

const sorted = (m: Map<string, Node>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Drain a tar the driver writes into memory. */
async function collect(write: (out: NodeJS.WritableStream) => Promise<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await write(out);
  return Buffer.concat(chunks);
}

/** The entries of a tar (bodies as text). */
function readTar(buf: Buffer): { entry: TarEntry; body: string }[] {
  const out: { entry: TarEntry; body: string }[] = [];
  let body: Buffer[] = [];
  const r = new TarReader({
    entry: (h) => {
      body = [];
      out.push({ entry: h, body: '' });
    },
    data: (c) => body.push(Buffer.from(c)),
    entryEnd: () => {
      out[out.length - 1].body = Buffer.concat(body).toString('utf8');
    },
  });
  r.write(buf);
  r.end();
  return out;
}

function layerTar(entries: { entry: TarEntry; body: string }[]): Buffer {
  const chunks: Buffer[] = [];
  const w = new TarWriter((b) => chunks.push(b));
  for (const { entry, body } of entries) w.add(entry, Buffer.from(body));
  w.finish();
  return Buffer.concat(chunks);
}

/** A fixed time for every entry of the writable layer (2020-01-01). */
const FIXED_MTIME = 1577836800;

/** Every entry under `dir` (and `dir`) gets FIXED_MTIME, without following a symlink. */
function fixMtimes(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.lstatSync(p).isDirectory()) fixMtimes(p);
    fs.lutimesSync(p, FIXED_MTIME, FIXED_MTIME);
  }
  fs.lutimesSync(dir, FIXED_MTIME, FIXED_MTIME);
}

/** One driver, one case: build the stack, run the operations in the merged view, check (a) (b) (c); what it packed. */
async function onDriver(make: (home: string) => StorageDriver, home: string, layers: LayerItem[][], ops: Op[]) {
  const driver = make(home);
  const ids: string[] = [];
  try {
    // The stack: each layer a tar, applied by the driver and by the model.
    let lower = new Map<string, Node>();
    for (const [i, items] of layers.entries()) {
      const id = `layer${i}`;
      driver.create(id, ids.at(-1) ?? null);
      const entries = layerEntries(items, lower);
      await driver.applyDiff(id, ids.at(-1) ?? null, Readable.from([layerTar(entries)]));
      lower = applyLayer(lower, entries);
      ids.push(id);
    }
    const rw = 'container';
    driver.createReadWrite(rw, ids.at(-1)!);
    ids.push(rw);
    const merged = driver.get(rw);
    assert.deepEqual(sorted(readTree(merged)), sorted(lower), 'the merged view of the stack');

    // The operations, on the mount and on the model.
    const model = new Model(lower);
    for (const op of ops) run(op, model, merged);
    // (a) what the kernel shows is what the model predicts
    assert.deepEqual(sorted(readTree(merged)), sorted(model.tree), '(a) the merged view after the operations');
    driver.put(rw);
    fixMtimes(driver.layerDir(rw));

    // (b) the diff tar, applied to the stack below, re-makes the merged tree
    let diffID = '';
    const tar = await collect(async (out) => ({ diffID } = await driver.diff(rw, ids.at(-2)!, out)));
    const entries = readTar(tar);
    const overlayXattrs = entries.filter(({ entry }) => Object.keys(entry.xattrs ?? {}).some((k) => k.startsWith('trusted.overlay.')));
    assert.deepEqual(overlayXattrs.map(({ entry }) => entry.name), [], "overlayfs's own xattrs stay out of the tar");
    const applied = applyLayer(lower, entries);
    assert.deepEqual(sorted(applied), sorted(model.tree), '(b) the diff tar applied to the stack below');

    // (c) changes() lists what the model added, changed and deleted
    const changes = driver.changes(rw, ids.at(-2)!);
    assert.deepEqual(changes, expectedChanges(lower, model), '(c) changes()');
    return { entries, diffID, changes };
  } finally {
    for (const id of [...ids].reverse()) driver.remove(id);
  }
}

describe('union semantics: overlay2 and aufs', () => {
  test('merged view, diff tar and changes() agree with the model; both drivers pack the same layer', async () => {
    const base = makeTemp();
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(layerArb, { minLength: 1, maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 25 }), async (layers, ops) => {
          const dir = path.join(base, `run${++runs}`);
          try {
            const packed: Awaited<ReturnType<typeof onDriver>>[] = [];
            for (const { name, make } of DRIVERS) packed.push(await onDriver(make, path.join(dir, name), layers, ops as Op[]));
            const [o, a] = packed;
            assert.deepEqual(a.changes, o.changes, 'aufs and overlay2 list the same changes');
            const header = ({ entry, body }: { entry: TarEntry; body: string }) => ({ ...entry, body });
            assert.deepEqual(a.entries.map(header), o.entries.map(header), 'aufs and overlay2 pack the same tar entries, in the same order');
            assert.equal(a.diffID, o.diffID, 'aufs and overlay2 pack the same bytes: the same layer digest');
          } finally {
            removeTree(dir);
          }
        }),
        { numRuns: 100, includeErrorInReport: true },
      );
    } finally {
      removeTree(base);
    }
    assert.deepEqual(mountsInside(path.dirname(base)).filter((m) => m.startsWith(base)), []);
  });
});
