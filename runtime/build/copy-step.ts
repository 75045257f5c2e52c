// COPY, ADD and WORKDIR: steps that write files into the image without
// running anything. Docker's classic builder gives them a writable layer on
// the image of the step before (a container's layers, with no process in
// them), writes into its merged view, and commits the layer's changes: the
// same diff as a RUN's. Here too: the union is mounted, the files are
// written through descriptors resolved inside it (openat2 RESOLVE_IN_ROOT:
// an image whose /app is a symlink to /srv gets the files in /srv, and one
// whose /app points at ../../../etc still writes inside itself), and the
// writable layer becomes the step's layer.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { chainIDs } from '../core/digest.js';
import { selfStamp } from '../core/files.js';
import { RunError } from '../core/pipeline.js';
import type { Stores } from '../image/open-stores.js';
import { ownedTempDir } from '../image/leftovers.js';
import { writeTo } from '../image/busybox.js';
import { openDirCreating, openInRoot, errnoOf } from '../process/in-root.js';
import { O_PATH } from '../sys/libc.js';
import { packTree, unpacker, toContainerOwner, describe } from '../container/cp-archive.js';
import { TarWriter, type TarEntry } from '../storage/tar.js';
import { trace } from '../trace/trace.js';
import { commitStep, EMPTY_LAYER_DIFF_ID, type BuildConfig, type StageState } from './state.js';
import type { Source } from './sources.js';

const { O_DIRECTORY } = fs.constants;
const CH = 9;

/** What a step made: the image's ID. */
type Step = { config: BuildConfig; containerConfig: BuildConfig; createdBy: string };

// #region scratch-layer
/**
 * A writable layer on the stage's image, mounted, for `fill` to write in;
 * then its changes become the step's layer and the layer goes. It is
 * recorded as a container's layers are (layerdb/mounts), under a name that
 * carries this process's PID and start time: if the build is killed, the
 * next dockling command finds its owner dead and removes it (leftovers.ts).
 */
export async function layerStep(s: Stores, st: StageState, fill: (rootFd: number) => Promise<void> | void, step: Step): Promise<string> {
  const id = `build-${selfStamp()}-${randomBytes(6).toString('hex')}`;
  const parent = chainIDs(st.image.rootfs.diff_ids).at(-1) ?? null;
  const m = s.images.locked(() => s.layers.createMount(id, parent));
  const dir = ownedTempDir(s.root, 'build');
  try {
    const merged = s.driver.get(m.mountID);
    const rootFd = fs.openSync(merged, O_PATH | O_DIRECTORY);
    try {
      await fill(rootFd);
    } finally {
      fs.closeSync(rootFd);
    }
    const tar = path.join(dir, 'layer.tar');
    const { diffID } = await writeTo(tar, (out) => s.driver.diff(m.mountID, m.initID, out));
    return await s.images.lockedAsync(async () => {
      if (diffID !== EMPTY_LAYER_DIFF_ID) await s.layers.register(tar, parent);
      return commitStep(s, st, { ...step, diffID });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    s.driver.put(m.mountID);
    s.images.locked(() => s.layers.removeMount(id));
  }
}
// #endregion scratch-layer

export interface CopyPlan {
  instruction: 'COPY' | 'ADD';
  sources: Source[];
  /** inline files (COPY <<EOF /file): name and content */
  inline: { name: string; content: string }[];
  /** the destination, absolute (made so against WORKDIR already) */
  dest: string;
  /** the destination was written with a trailing "/" */
  destIsDir: boolean;
  owner: { uid: number; gid: number } | null;
  chmod: number | null;
  /** ADD: a local tar source is unpacked, not copied */
  extract: boolean;
}

/** Is the path a directory in the image (a symlink to one counts, resolved inside the root)? */
function isDirInImage(rootFd: number, p: string): boolean {
  try {
    const fd = openInRoot(rootFd, p, true, O_DIRECTORY);
    fs.closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

// #region copy-rules
/**
 * Docker's rules for where each source lands:
 * - a directory source: what it holds is copied into DEST (not the directory itself);
 * - a file: into DEST/ when DEST ends with "/" or is a directory in the image, else as DEST;
 * - several sources need DEST to end with "/" (checked before, by the caller);
 * - everything copied is owned by root (or --chown's user), keeps its mode
 *   (or takes --chmod's) and its modification time.
 */
export async function copyInto(rootFd: number, plan: CopyPlan): Promise<void> {
  const intoDir = plan.destIsDir || plan.sources.length + plan.inline.length > 1 || plan.sources.some((x) => x.isDir) || isDirInImage(rootFd, plan.dest);
  const targetDir = intoDir ? plan.dest : path.posix.dirname(plan.dest);
  let dirFd: number;
  try {
    dirFd = openDirCreating(rootFd, targetDir);
  } catch (e) {
    throw new RunError(1, `${plan.instruction} failed: cannot make ${targetDir} in the image: ${describe(e)}`, { cause: e });
  }
  fs.closeSync(dirFd);
  // An unpacker writes one tar stream into the image, refusing any name
  // that would climb out of the target directory (cp-archive.ts).
  const newUnpacker = (owner: { uid: number; gid: number } | null) =>
    unpacker({
      rootFd, dir: targetDir, owner: toContainerOwner(owner), hostSide: false,
      show: (p) => p, warn: (msg) => process.stderr.write(`dockling: ${msg}\n`),
    });
  const u = newUnpacker(plan.owner ?? { uid: 0, gid: 0 });
  // Each entry as it goes into the image: root's (or --chown's), --chmod's mode.
  const writer = new TarWriter((b) => u.write(b));
  const retouch = {
    entry: (e: TarEntry) => writer.entry({ ...e, ...(plan.chmod !== null && e.type !== 'symlink' ? { mode: plan.chmod } : {}) }),
    data: (b: Buffer) => writer.data(b),
  } as unknown as TarWriter;
  try {
    for (const src of plan.sources) {
      // ADD's archive keeps its own owners, unless --chown says otherwise.
      if (plan.extract && !src.isDir && (await extractArchive(src, () => newUnpacker(plan.owner)))) continue;
      const name = src.isDir ? '.' : intoDir ? path.posix.basename(src.rel) : path.posix.basename(plan.dest);
      await packTree(src.fd, name, retouch, async () => {}, { owners: 'host' });
    }
    for (const f of plan.inline) {
      const body = Buffer.from(f.content);
      retouch.entry({ name: intoDir ? f.name : path.posix.basename(plan.dest), type: 'file', size: body.length, mode: 0o644, mtime: Math.floor(Date.now() / 1000) });
      retouch.data(body);
    }
    writer.finish();
    u.reader.end();
    const r = u.finish();
    trace.emit(CH, { op: 'extract', digest: r.digest, path: `<image>${targetDir}`, entries: r.entries });
  } catch (e) {
    if (e instanceof RunError) throw e;
    throw new RunError(1, `${plan.instruction} failed: ${describe(e)}`, { cause: e });
  }
}
// #endregion copy-rules

// #region add-archive
/**
 * ADD's one trick: a local tar (plain or gzip) is unpacked into DEST
 * rather than copied, through the same unpacker `cp` uses, with its
 * refusals (no name may climb out of DEST, no link may point out). Anything
 * else (not a tar) is copied as a file. Returns whether it was an archive.
 */
async function extractArchive(src: Source, into: () => ReturnType<typeof unpacker>): Promise<boolean> {
  const fd = fs.openSync(`/proc/self/fd/${src.fd}`, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = fs.readSync(fd, head, 0, 512, 0);
    const gzip = n >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    const tar = n === 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
    if (!gzip && !tar) return false;
    const { createGunzip } = await import('node:zlib');
    const input = fs.createReadStream('', { fd, autoClose: false, start: 0 });
    const stream = gzip ? input.pipe(createGunzip()) : input;
    const u = into();
    for await (const chunk of stream) u.write(chunk as Buffer);
    u.reader.end();
    const r = u.finish();
    trace.emit(CH, { op: 'extract', digest: r.digest, path: `<image>: ${src.rel} unpacked`, entries: r.entries });
    return true;
  } catch (e) {
    if (errnoOf(e)) throw e;
    throw new RunError(1, `ADD failed: ${src.rel} is not a tar archive dockling can unpack: ${(e as Error).message}`, { cause: e });
  } finally {
    fs.closeSync(fd);
  }
}
// #endregion add-archive

/** WORKDIR: the directory is made in the image if it is not there (Docker makes it, owned by root, 0755). */
export function makeWorkdir(rootFd: number, dir: string): void {
  trace.emit(CH, { op: 'mkdir', path: `<image>${dir}`, mode: 0o755 });
  try {
    fs.closeSync(openDirCreating(rootFd, dir));
  } catch (e) {
    throw new RunError(1, `failed to make WORKDIR ${dir}: ${describe(e)}`, { cause: e });
  }
}
