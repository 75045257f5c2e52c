// The first image: busybox, made on this machine from the host's
// busybox-static (chapter 8 brings pulling from a registry). It is made the
// way any image is: a root filesystem packed into a layer tar, the tar
// registered in the layer store, a config written and tagged. After that it
// is not special in any way: `rmi busybox` removes it like any other.
//
// Every file gets the busybox binary's own mtime, so that the same busybox
// gives the same layer tar, the same diffID and the same image ID on every
// machine and every time: content addressing, seen from the outside.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { findBusybox, makeBusyboxRootfs } from '../process/rootfs.js';
import { DEFAULT_PATH } from '../process/defaults.js';
import { goArch, type ImageConfig } from './config.js';
import { parseReference } from './reference.js';
import { openStores, type Stores } from './open-stores.js';
import { ownedTempDir, reapLeftovers } from './leftovers.js';

export const BUSYBOX = 'busybox:latest';

/** Make busybox:latest unless it is there (the caller holds the store lock). */
export async function ensureBusyboxImage(s: Stores): Promise<string> {
  const ref = parseReference(BUSYBOX);
  const have = s.images.lookupName(ref);
  if (have && s.images.exists(have)) return have;

  const busybox = findBusybox();
  const when = Math.floor(fs.statSync(busybox).mtimeMs / 1000);
  const tmp = ownedTempDir(s.root, 'busybox');
  try {
    const rootfs = path.join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
    setTimes(rootfs, when);
    const tarFile = path.join(tmp, 'layer.tar');
    const { packLayer } = await import('../storage/pack.js');
    await writeTo(tarFile, (out) => packLayer(rootfs, out, { whiteouts: 'none', hostFiles: true }));
    const layer = await s.layers.register(tarFile, null);

    const created = new Date(when * 1000).toISOString();
    const config: ImageConfig = {
      architecture: goArch(),
      os: 'linux',
      created,
      config: { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [layer.diffID] },
      history: [
        { created, created_by: `dockling: ADD the host's ${busyboxVersion(busybox)} (${busybox}) in /` },
        { created, created_by: 'dockling: CMD ["sh"]', empty_layer: true },
      ],
    };
    const id = s.images.put(config);
    s.images.tag(id, ref);
    return id;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The stores, with busybox made if this is their first use: `dockling
 * images` on a fresh machine shows busybox, as the chapter promises.
 */
export async function storesWithBusybox(stateRoot: string): Promise<Stores> {
  const s = openStores(stateRoot);
  // repositories.json is written when busybox is tagged: its absence means
  // the stores were never used. Looked at again under the lock, so that of
  // two first uses at once, one makes busybox and the other sees it.
  const firstUse = () => !fs.existsSync(path.join(s.images.home, 'repositories.json'));
  if (firstUse()) {
    await s.images.lockedAsync(async () => {
      if (firstUse()) await ensureBusyboxImage(s);
    });
  }
  reapLeftovers(s); // what a killed command left (leftovers.ts)
  return s;
}

/** Write a tar to a file through `fill`, and wait until it is all on disk. */
export async function writeTo<T>(file: string, fill: (out: NodeJS.WritableStream) => Promise<T>): Promise<T> {
  const out = fs.createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  closed.catch(() => {}); // awaited below; an early open error must not be an unhandled rejection
  try {
    const result = await fill(out);
    out.end();
    await closed;
    return result;
  } catch (e) {
    out.destroy();
    throw e;
  }
}

/**
 * `-o FILE` or standard output, for `save` and `export`. A file is written
 * beside its target and renamed into place: a failed save leaves no half
 * archive, and never a truncated old one.
 */
export async function writeOutput(file: string | undefined, fill: (out: NodeJS.WritableStream) => Promise<unknown>): Promise<void> {
  if (!file) {
    await fill(process.stdout);
    return;
  }
  const tmp = `${path.resolve(file)}.tmp-${process.pid}`;
  try {
    await writeTo(tmp, fill);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function setTimes(dir: string, seconds: number): void {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.lstatSync(p).isDirectory()) setTimes(p, seconds);
    fs.lutimesSync(p, seconds, seconds);
  }
  fs.lutimesSync(dir, seconds, seconds);
}

function busyboxVersion(busybox: string): string {
  const r = spawnSync(busybox, ['--help'], { encoding: 'utf8' });
  return /BusyBox v[\w.-]+/.exec(r.stdout ?? '')?.[0] ?? 'busybox';
}
