// State files are written atomically and changed under a lock, so that a
// crash leaves the old or the new file (never half of one) and two dockling
// processes never interleave their changes.
import fs from 'node:fs';
import path from 'node:path';

/** Write to a temporary file in the same directory, fsync, then rename over. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file); // rename(2) replaces `file` in one step
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // the old file stays as it was
    throw e;
  }
}

/**
 * A process's start time (clock ticks after boot, field 22 of
 * /proc/PID/stat), or null if it is gone. A PID alone may be reused by
 * another process once its owner is gone; PID and start time together name
 * one process for as long as the machine is up.
 */
export function startTime(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null; // no /proc entry: the process is gone
  }
}

/** "PID.START" of this process: what a record of "I hold this" should say. */
export const selfStamp = () => `${process.pid}.${startTime('self')}`;

/** Is the process a selfStamp() named still the one running? */
export function stampAlive(stamp: string): boolean {
  const m = /^(\d+)\.(\d+)$/.exec(stamp.trim());
  return m !== null && startTime(Number(m[1])) === m[2];
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/**
 * Try once to take a lock. The lock is a directory: mkdir(2) either makes
 * it or fails with EEXIST, atomically, on every filesystem. The holder's PID
 * is written inside so that a lock left by a killed process can be broken.
 */
function tryLock(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir);
    fs.writeFileSync(path.join(lockDir, 'pid'), selfStamp());
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (holderIsGone(lockDir)) {
      // Break a stale lock by renaming it away first: only one breaker wins.
      const stale = `${lockDir}.stale.${process.pid}`;
      try {
        fs.renameSync(lockDir, stale);
        fs.rmSync(stale, { recursive: true, force: true });
      } catch {
        /* someone else broke it */
      }
    }
    return false;
  }
}

const unlock = (lockDir: string) => fs.rmSync(lockDir, { recursive: true, force: true });
const timedOut = (lockDir: string) => new Error(`timed out waiting for the lock ${lockDir} (held by another dockling process)`);

/** Run fn while holding a lock (see tryLock). */
export function withLock<T>(lockDir: string, fn: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !tryLock(lockDir); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) throw timedOut(lockDir);
    sleepSync(wait);
  }
  try {
    return fn();
  } finally {
    unlock(lockDir);
  }
}

/** withLock for an async fn: waits without blocking the event loop. */
export async function withLockAsync<T>(lockDir: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !tryLock(lockDir); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) throw timedOut(lockDir);
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await fn();
  } finally {
    unlock(lockDir);
  }
}

/**
 * Run fn only if the lock is free now (one held by a process that is gone
 * is broken first); false if a live process holds it, or the directory it
 * lives in is gone. For work that must never wait on a live owner.
 */
export function withLockIfFree(lockDir: string, fn: () => void): boolean {
  try {
    if (!tryLock(lockDir) && !tryLock(lockDir)) return false; // the second try after breaking a stale one
  } catch {
    return false; // ENOENT: its directory was removed meanwhile
  }
  try {
    fn();
    return true;
  } finally {
    unlock(lockDir);
  }
}

/** Take a lock and keep it until the returned function is called (or this process dies). */
export function holdLock(lockDir: string, timeoutMs = 10_000): () => void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !tryLock(lockDir); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) throw timedOut(lockDir);
    sleepSync(wait);
  }
  return () => unlock(lockDir);
}

/** holdLock for a caller that must not block its event loop while it waits. */
export async function holdLockAsync(lockDir: string, timeoutMs = 10_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; !tryLock(lockDir); wait = Math.min(wait * 2, 200)) {
    if (Date.now() > deadline) throw timedOut(lockDir);
    await new Promise((r) => setTimeout(r, wait));
  }
  return () => unlock(lockDir);
}

function holderIsGone(lockDir: string): boolean {
  let holder = '';
  try {
    holder = fs.readFileSync(path.join(lockDir, 'pid'), 'utf8').trim();
  } catch {
    /* not written yet */
  }
  if (!holder) {
    // The holder is between mkdir and writing its pid, or was killed there
    // (the file made but still empty): the lock's age tells which. A live
    // holder writes its pid within microseconds; one killed there never will.
    try {
      return Date.now() - fs.statSync(lockDir).mtimeMs > 2000;
    } catch {
      return false; // the lock is gone: released meanwhile, nothing stale to break
    }
  }
  // "PID.START" (selfStamp): gone unless that very process still runs, so a
  // PID reused by another process does not keep a dead holder's lock.
  if (holder.includes('.')) return !stampAlive(holder);
  // A bare PID (a lock written by an older dockling).
  try {
    process.kill(Number(holder), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
