// Paths inside a container's root, resolved by the kernel. secureJoin
// (securejoin.ts) resolves a path inside a root in JavaScript, one lstat at
// a time: right for a root nobody else is changing, but a container that
// runs (or one that shares a volume with a running one) can swap a checked
// directory for a symlink between the check and the use. openat2(2) with
// RESOLVE_IN_ROOT does the whole walk in one system call, with "/", ".."
// and every symlink kept inside the directory it starts from, and hands
// back a descriptor: what it found, held, whatever the path becomes later.
// (runc mounts onto /proc/self/fd/N of such a descriptor for this reason.)
import fs from 'node:fs';
import { openat2, O_PATH, RESOLVE, SyscallError } from '../sys/libc.js';

const O_CLOEXEC = 0o2000000;
const { O_DIRECTORY, O_NOFOLLOW } = fs.constants;
/** Resolve inside the root; /proc's magic links (which jump anywhere) are refused outright. */
const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

/** The refusal of a mount whose destination leads to the root itself (the init's, and chapter 7's copy-up's). */
export const rootMountRefusal = (destination: string) =>
  `mount destination ${destination} leads to the container's root (a symlink in the image points there): refusing to mount over the whole container`;

/** A path that could not be made inside the root (the words name it). */
export class InRootError extends Error {}

/** The errno code of a failed system call, or undefined. */
export function errnoOf(e: unknown): string | undefined {
  const code = e instanceof SyscallError ? e.code : (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined; // a RunError's code is an exit status, not an errno
}

// #region resolve-in-root
/**
 * Open `p` (a path inside the root, absolute or not) as an O_PATH
 * descriptor, every component resolved inside the root. `follow`: whether
 * a symlink as the last component is followed (inside the root) or
 * opened itself. A trailing "/" or "/." follows it anyway, as lstat(2)
 * does.
 */
export function openInRoot(rootFd: number, p: string, follow: boolean, flags = 0): number {
  const rel = p.replace(/^\/+/, '') || '.';
  return openat2(rootFd, rel, O_PATH | O_CLOEXEC | flags | (follow ? 0 : O_NOFOLLOW), IN_ROOT);
}
// #endregion resolve-in-root

// #region mkdir-in-root
/**
 * A descriptor of the directory `dir` inside the root: an existing one, or
 * a chain of new ones made 0755 as Docker's MkdirAll does. Each missing
 * name is made in the directory we hold open (mkdir never follows a symlink
 * in its last name), then opened again inside the root.
 */
export function openDirCreating(rootFd: number, dir: string): number {
  try {
    return openInRoot(rootFd, dir, true, O_DIRECTORY);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  const parts = dir.split('/').filter(Boolean);
  let fd = openInRoot(rootFd, '/', true, O_DIRECTORY);
  try {
    for (let i = 0; i < parts.length; i++) {
      const sofar = '/' + parts.slice(0, i + 1).join('/');
      let next: number;
      try {
        next = openInRoot(rootFd, sofar, true, O_DIRECTORY);
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw e;
        try {
          fs.mkdirSync(`/proc/self/fd/${fd}/${parts[i]}`, { mode: 0o755 });
        } catch (err) {
          // EEXIST: the name is there but leads nowhere (a symlink to a path the root does not have).
          const dangling = errnoOf(err) === 'EEXIST' ? ' (a symlink to nowhere inside the container?)' : '';
          throw new InRootError(`mkdir ${sofar}: ${(err as Error).message}${dangling}`, { cause: err });
        }
        next = openInRoot(rootFd, sofar, true, O_DIRECTORY);
      }
      fs.closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
// #endregion mkdir-in-root
