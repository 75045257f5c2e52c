// What a killed command leaves behind, and how the next command clears it.
//
// #region leftovers
// A dockling process can die at any instruction (SIGKILL, OOM, power cut)
// and no `finally` runs then. What it was making stays: a scratch
// directory under <root>/tmp (save-, load-, stdin-, commit-, busybox-), a
// layer directory under overlay2/ whose layerdb record was never written,
// a layerdb/sha256/<chainID>.tmp-<pid> record never renamed into place, or
// whole layers of a `load` or `commit` whose image was never written.
// Docker's daemon clears these when it starts; dockling has no daemon, so
// every image command (and `run`) clears them as it starts:
//
// - A scratch directory carries its owner in its name: PID and the
//   process's start time (field 22 of /proc/PID/stat, in clock ticks since
//   boot). It is removed only when no process with that PID and start time
//   is alive: a concurrent dockling's scratch is never touched, and a
//   recycled PID does not keep a dead owner's directory alive.
// - A state file half written (".<name>.<pid>.tmp", see writeFileAtomic)
//   is removed when its PID is not alive.
// - Layers are only ever made and removed under the image store's lock,
//   and a container's layers are recorded (layerdb/mounts) before they are
//   made. So, holding the lock, an overlay2/ directory that no layerdb
//   record names, or a read-only layer that no image and no container
//   uses, or an overlay2/l/ short name whose directory is gone, can only
//   be the rest of a killed command.
import fs from 'node:fs';
import path from 'node:path';
import { trace } from '../trace/trace.js';
import { removeTree } from '../storage/remove.js';
import { chainIDs } from '../core/digest.js';
import { tmpDir, type Stores } from './open-stores.js';
import { startTime } from '../core/files.js';

const CH = 3;

/** A new scratch directory <root>/tmp/<kind>-<pid>.<start>-XXXXXX, owned by this process. */
export function ownedTempDir(stateRoot: string, kind: string): string {
  fs.mkdirSync(tmpDir(stateRoot), { recursive: true });
  return fs.mkdtempSync(path.join(tmpDir(stateRoot), `${kind}-${process.pid}.${startTime('self')}-`));
}

const OWNED = /^[a-z]+-(\d+)\.(\d+)-/;

/** Scratch directories whose owner is gone. */
function deadTempDirs(stateRoot: string): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(tmpDir(stateRoot));
  } catch {
    return []; // no tmp/ yet: no command has left anything in it
  }
  return names.filter((n) => {
    const m = OWNED.exec(n);
    return m !== null && startTime(Number(m[1])) !== m[2];
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

/**
 * writeFileAtomic's ".<name>.<pid>.tmp" files in the image store, left by a
 * writer killed before its rename; removed when that PID is not alive (a
 * live one, even a recycled PID, is left alone: never a live writer's file).
 */
function deadTempFiles(s: Stores): string[] {
  const ls = (d: string) => {
    try {
      return fs.readdirSync(d).map((n) => path.join(d, n));
    } catch {
      return []; // not made yet: nothing in it to clear
    }
  };
  const meta = path.join(s.images.home, 'imagedb/metadata/sha256');
  const mounts = path.join(s.layers.db, 'mounts');
  const dirs = [s.images.home, path.join(s.images.home, 'imagedb/content/sha256'), ...ls(meta), ...ls(mounts)];
  return dirs.flatMap(ls).filter((f) => {
    const m = /^\..+\.(\d+)\.tmp$/.exec(path.basename(f));
    return m !== null && !alive(Number(m[1]));
  });
}

/** overlay2/ directories and layerdb records that no finished command made, and layers nothing uses. */
function strayLayers(s: Stores, unlocked = false): { dirs: string[]; records: string[]; unused: string[]; links: string[] } {
  const db = path.join(s.layers.db, 'sha256');
  const ls = (d: string) => {
    try {
      return fs.readdirSync(d);
    } catch {
      return []; // not made yet: nothing in it to clear
    }
  };
  // Listed before the records are read: a container's record is written
  // before its directories, so a directory seen here has its record below.
  const dirs = ls(path.join(s.root, s.driver.name)).filter((d) => /^[0-9a-f]{64}(-init)?$/.test(d));
  const named = new Set<string>();
  const chains = s.layers.list();
  for (const c of chains) {
    const info = s.layers.get(c);
    if (info) named.add(info.cacheID);
  }
  const mounts = s.layers.listMounts();
  for (const m of mounts) named.add(m.mountID).add(m.initID);
  const used = new Set<string>();
  for (const id of s.images.list()) {
    let diffIDs: string[];
    try {
      diffIDs = s.images.get(id).rootfs.diff_ids;
    } catch (e) {
      // Without the lock, another dockling may remove an image between our
      // listing and our reading it: only a hint, looked at again under the
      // lock. Under the lock, an image we cannot read stops the reaping: its
      // layers must not be taken for unused.
      if (unlocked) continue;
      throw e;
    }
    chainIDs(diffIDs).forEach((c) => used.add(c));
  }
  for (const m of mounts) for (let c = m.parent; c; c = s.layers.get(c)?.parent ?? null) used.add(c);
  // overlay2's short names (l/<26 chars> -> ../<id>/diff): one made just before a kill can outlive its directory.
  const l = path.join(s.root, s.driver.name, 'l');
  const links = ls(l).filter((n) => /^[A-Z0-9]{26}$/.test(n) && !fs.existsSync(path.join(l, n)));
  return {
    links: links.map((n) => path.join(l, n)),
    dirs: dirs.filter((d) => !named.has(d)),
    records: ls(db).filter((n) => /\.tmp-\d+$/.test(n) || (/^[0-9a-f]{64}$/.test(n) && !s.layers.get('sha256:' + n))),
    unused: chains.filter((c) => !used.has(c)),
  };
}

/**
 * A build's scratch layers (chapter 9: the writable layer a COPY writes
 * in) are recorded as a container's are, under layerdb/mounts/, with the
 * build's PID and start time in their name: build-<pid>.<start>-<random>.
 */
function deadScratchMounts(s: Stores): string[] {
  return s.layers.listMounts().map((m) => m.containerID).filter((id) => {
    const m = /^[a-z]+-(\d+)\.(\d+)-/.exec(id);
    return m !== null && startTime(Number(m[1])) !== m[2];
  });
}

/** Clear what killed commands left; cheap when there is nothing (no lock is taken then). */
export function reapLeftovers(s: Stores): void {
  for (const id of deadScratchMounts(s)) s.images.locked(() => s.layers.removeMount(id));
  for (const n of deadTempDirs(s.root)) {
    const p = path.join(tmpDir(s.root), n);
    trace.emit(CH, { op: 'remove', path: p });
    removeTree(p);
  }
  for (const f of deadTempFiles(s)) {
    trace.emit(CH, { op: 'remove', path: f });
    fs.rmSync(f, { force: true });
  }
  const first = strayLayers(s, true);
  if (!first.dirs.length && !first.records.length && !first.unused.length && !first.links.length) return;
  try {
    reapStrayLayers(s);
  } catch (e) {
    // Best effort: the command the user asked for goes on, and a later one
    // tries again. (An image whose config cannot be read stops it: see strayLayers.)
    process.stderr.write(`dockling: warning: could not clear what a killed command left in the store: ${(e as Error).message}\n`);
  }
}

function reapStrayLayers(s: Stores): void {
  s.images.locked(() => {
    // Again under the lock: a command that held it may have finished its layer since.
    const { dirs, records, unused } = strayLayers(s);
    for (const r of records) {
      trace.emit(CH, { op: 'remove', path: path.join(s.layers.db, 'sha256', r) });
      removeTree(path.join(s.layers.db, 'sha256', r));
    }
    // Unused layers from the top of their stacks down: a parent goes after its children.
    const depth = (c: string) => {
      let n = 0;
      for (let x: string | null = c; x; x = s.layers.get(x)?.parent ?? null) n++;
      return n;
    };
    for (const c of unused.sort((a, b) => depth(b) - depth(a))) s.layers.remove(c);
    for (const d of dirs) s.driver.remove(d);
    for (const link of strayLayers(s).links) {
      trace.emit(CH, { op: 'remove', path: link });
      fs.rmSync(link, { force: true });
    }
  });
}
// #endregion leftovers
