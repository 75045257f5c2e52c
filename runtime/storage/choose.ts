// Which storage driver a state root uses. Docker's rules (graphdriver.New):
//   1. the one the daemon was told to use (`dockerd -s aufs`, or
//      "storage-driver" in daemon.json), if this dockling has it;
//   2. else the one the root already holds layers of (a "prior" driver:
//      switching silently would hide every image and container made
//      before); two of them at once is an error that says how to choose;
//   3. else the first this dockling has, in Docker's order of preference:
//      overlay2 before aufs (Docker made overlay2 the default in 18.09 and
//      dropped aufs in 24.0).
// Which drivers "this dockling has" depends on its chapters: chapter 3
// brings aufs, chapter 4 overlay2 (the layers say so, `storageDrivers`).
import fs from 'node:fs';
import path from 'node:path';
import type { StorageDriver } from './driver.js';
import { AufsDriver } from './aufs.js';
import { Overlay2Driver } from './overlay2.js';
import { RunError } from '../core/pipeline.js';

/** Docker's order of preference, of the drivers dockling has. */
export const PRIORITY = ['overlay2', 'aufs'];
const MAKERS: Record<string, (home: string) => StorageDriver> = {
  overlay2: (home) => new Overlay2Driver(home),
  aufs: (home) => new AufsDriver(home),
};

let available: string[] = [...PRIORITY];
let configured: string | null = null;

/**
 * The CLI, once it knows its layers: the drivers they bring, and the one
 * asked for (--storage-driver, else daemon.json's "storage-driver").
 */
export function useStorageDrivers(names: string[], asked: string | null): void {
  available = PRIORITY.filter((n) => names.includes(n));
  configured = asked;
}

/** daemon.json's "storage-driver" ($DOCKLING_DAEMON_CONFIG or /etc/dockling/daemon.json), null when unset. */
export function configuredDriver(): string | null {
  const file = process.env.DOCKLING_DAEMON_CONFIG || '/etc/dockling/daemon.json';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null; // no daemon.json: nothing configured
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RunError(125, `unable to configure the Docker daemon with file ${file}: ${(e as Error).message}`);
  }
  const d = (v as Record<string, unknown>)?.['storage-driver'];
  if (d === undefined || d === '') return null;
  if (typeof d !== 'string') throw new RunError(125, `unable to configure the Docker daemon with file ${file}: "storage-driver" must be a string, such as "aufs" or "overlay2"`);
  return d;
}

/** A directory with something in it. */
function holdsLayers(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

// #region choose-driver
/** The driver for `stateRoot`: the one named (a container's record says which), or chosen by Docker's rules. */
export function chooseDriver(stateRoot: string, named?: string): StorageDriver {
  const make = (n: string) => MAKERS[n](path.join(stateRoot, n));
  if (named && MAKERS[named]) return make(named);
  if (configured) {
    if (!available.includes(configured)) {
      const why = MAKERS[configured] ? ` (${configured} comes with chapter ${configured === 'aufs' ? 3 : 4}; this run has ${available.join(', ') || 'no storage driver'})` : ` (dockling has ${PRIORITY.join(' and ')})`;
      throw new RunError(125, `error initializing graphdriver: driver not supported: ${configured}${why}`);
    }
    return make(configured);
  }
  const prior = available.filter((n) => holdsLayers(path.join(stateRoot, n)));
  if (prior.length > 1) {
    throw new RunError(125, `${stateRoot} contains several valid graphdrivers: ${prior.join(', ')}; Please cleanup or explicitly choose storage driver (--storage-driver <DRIVER>)`);
  }
  if (prior.length === 1) return make(prior[0]);
  if (available.length === 0) throw new RunError(125, 'no storage driver: images come with chapter 3 (aufs)');
  return make(available[0]);
}
// #endregion choose-driver
