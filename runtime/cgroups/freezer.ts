// Freezing a container's cgroup (chapter 2's room, used by chapter 4's
// `commit --pause`, as `docker commit` pauses by default): every process of
// the cgroup is stopped by the kernel where it stands, cannot be woken by a
// signal, and cannot change a file until it is thawed. A frozen container
// is a still tree: what commit packs is one moment of it.
//
//   v1: the freezer hierarchy; write FROZEN to freezer.state, which reads
//       FREEZING until every task has stopped, then FROZEN; THAWED to undo.
//   v2: write 1 to cgroup.freeze in the container's directory; cgroup.events
//       shows "frozen 1" once all are stopped; 0 to undo.
//
// A commit killed while the container is frozen cannot thaw it (Docker
// leaves that to its daemon, which outlives the client). Here the freeze is
// recorded in a file next to the container's config naming the PID of the
// command that froze it; the next commit of that container finds the file,
// sees that PID is gone, and thaws the container before anything else.
import fs from 'node:fs';
import path from 'node:path';
import { readCgroupFile, writeCgroupFile } from './driver.js';
import { trace } from '../trace/trace.js';
import { selfStamp, stampAlive } from '../core/files.js';

interface Freezer {
  /** the file to write, and what to write to freeze / thaw */
  file: string;
  freeze: string;
  thaw: string;
  /** true once every process of the cgroup is stopped */
  frozen: () => boolean;
  /** true from the moment a freeze was asked for until the thaw (FREEZING counts) */
  asked: () => boolean;
}

/** The freezer of a container's cgroup, from its saved paths; null if it has none. */
function freezerOf(paths: Record<string, string> | undefined): Freezer | null {
  if (paths?.freezer) {
    const file = path.join(paths.freezer, 'freezer.state');
    const state = () => readCgroupFile(file);
    return { file, freeze: 'FROZEN', thaw: 'THAWED', frozen: () => state() === 'FROZEN', asked: () => state() === 'FROZEN' || state() === 'FREEZING' };
  }
  if (paths?.unified && fs.existsSync(path.join(paths.unified, 'cgroup.freeze'))) {
    const events = path.join(paths.unified, 'cgroup.events');
    const file = path.join(paths.unified, 'cgroup.freeze');
    return { file, freeze: '1', thaw: '0', frozen: () => /^frozen 1$/m.test(readCgroupFile(events) ?? ''), asked: () => readCgroupFile(file) === '1' };
  }
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The file that records "the command with this PID froze the container". */
const recordOf = (containerDir: string) => path.join(containerDir, 'frozen-by');

// #region pause
/** Can this container's cgroup be frozen at all? */
export const hasFreezer = (paths: Record<string, string> | undefined): boolean => freezerOf(paths) !== null;

/**
 * Is the cgroup frozen, or being frozen? The kernel's freezer state is the
 * record of a pause: it cannot outlive the cgroup, so a container that
 * exited, or was started again in a new cgroup, is never "paused" by
 * mistake.
 */
export function isFrozen(paths: Record<string, string> | undefined): boolean {
  return freezerOf(paths)?.asked() ?? false;
}

/** Freeze the cgroup and wait until every process of it is stopped (`pause`). */
export async function freeze(paths: Record<string, string> | undefined): Promise<void> {
  const fz = freezerOf(paths);
  if (!fz) throw new Error('its cgroup has no freezer');
  writeCgroupFile(fz.file, fz.freeze);
  // The kernel stops the tasks one by one: wait until all are (a task in
  // an uninterruptible sleep stops only when it wakes up).
  for (let waited = 0; !fz.frozen(); waited += 10) {
    if (waited > 30_000) {
      writeCgroupFile(fz.file, fz.thaw); // not left half frozen
      throw new Error(`its cgroup is not frozen after 30 s (${fz.file})`);
    }
    await sleep(10);
  }
}

/** Let the cgroup's processes run again (`unpause`; and `stop`, `kill`, `rm -f` before they signal). */
export function thaw(paths: Record<string, string> | undefined): void {
  const fz = freezerOf(paths);
  if (fz) writeCgroupFile(fz.file, fz.thaw);
}
// #endregion pause

// #region freeze
/**
 * Run `f` with the container's cgroup frozen, and thaw it after, whatever
 * happens. The freeze is recorded in containerDir/frozen-by first, so that
 * thawAbandoned() can undo it if this process is killed meanwhile.
 */
export async function whileFrozen<T>(paths: Record<string, string> | undefined, containerDir: string, f: () => Promise<T>): Promise<T> {
  const fz = freezerOf(paths);
  if (!fz) throw new Error('cannot pause the container: its cgroup has no freezer (use --pause=false to commit without pausing)');
  // Paused already (`pause`): it is a still tree as it is, and it stays
  // paused after, as Docker's commit leaves a paused container.
  if (fz.asked()) return f();
  // PID and start time: a PID alone may be another process's by the time
  // someone reads this record.
  const me = selfStamp();
  trace.emit(2, { op: 'write', path: recordOf(containerDir), value: me });
  fs.writeFileSync(recordOf(containerDir), me);
  try {
    writeCgroupFile(fz.file, fz.freeze);
    // The kernel stops the tasks one by one: wait until all are (a task in
    // an uninterruptible sleep stops only when it wakes up).
    for (let waited = 0; !fz.frozen(); waited += 10) {
      if (waited > 30_000) throw new Error(`cannot pause the container: its cgroup is not frozen after 30 s (${fz.file}); use --pause=false to commit without pausing`);
      await sleep(10);
    }
    return await f();
  } finally {
    writeCgroupFile(fz.file, fz.thaw);
    trace.emit(2, { op: 'remove', path: recordOf(containerDir) });
    fs.rmSync(recordOf(containerDir), { force: true });
  }
}
// #endregion freeze

/** Thaw a container whose freezer was left frozen by a command that died (see the top of this file). */
export function thawAbandoned(paths: Record<string, string> | undefined, containerDir: string): void {
  let stamp: string;
  try {
    stamp = fs.readFileSync(recordOf(containerDir), 'utf8');
  } catch {
    return; // nobody froze it
  }
  if (stampAlive(stamp)) return; // that command is still at work: its finally thaws the container
  const fz = freezerOf(paths);
  if (fz) writeCgroupFile(fz.file, fz.thaw);
  trace.emit(2, { op: 'remove', path: recordOf(containerDir) });
  fs.rmSync(recordOf(containerDir), { force: true });
}
