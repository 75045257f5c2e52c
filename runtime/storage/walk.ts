// Walking a layer that a running container may be changing under us
// (chapter 4: export, commit and diff of a running container).
//
// The container is the adversary here. Between our reading a name and our
// opening it, root inside can swap a directory with a symlink to a host
// directory (renameat2 RENAME_EXCHANGE, in a loop): a walk that opens
// `upper/x/a` by path then follows the symlink out of the layer and packs
// the host's files. So this walk holds a descriptor for every directory on
// the way down and opens each name with openat(parent, name,
// O_PATH|O_NOFOLLOW): one component, resolved inside the directory it
// holds, never a path. What the caller learns of an entry comes from the
// descriptor (fstat, readlinkat, /proc/self/fd/N), not from a path. A swap
// can then show us the symlink (as a symlink) or the directory, never what
// the symlink points to.
//
// An explicit stack, not recursion: a layer can be thousands of
// directories deep, more than a JavaScript stack holds.
import fs from 'node:fs';
import { openat, O_PATH, SyscallError } from '../sys/libc.js';

const O_CLOEXEC = 0o2000000;

/** One entry of the walk, open as an O_PATH descriptor (closed by the walk). */
export interface LayerEntry<T> {
  name: string;
  /** its path relative to the layer's root, without "./" */
  rel: string;
  /** O_PATH|O_NOFOLLOW descriptor of the entry itself */
  fd: number;
  /** descriptor of the directory it is in (/proc/self/fd/PARENT/NAME reaches it by name) */
  parentFd: number;
  /** what the caller passed to descend() for that directory (undefined at the root) */
  parent: T | undefined;
  /** walk into this entry (a directory) next; `names` if the caller has listed it already */
  descend(data?: T, names?: string[]): void;
}

/** The names in the directory we hold, read through its descriptor: /proc/self/fd/N is that directory, wherever it has moved. */
export function listDir(fd: number, order?: (a: string, b: string) => number): string[] {
  return fs.readdirSync(`/proc/self/fd/${fd}`).sort(order);
}

/** openat(parent, name, O_PATH|O_NOFOLLOW), or null when the name is gone (the container deleted or renamed it). */
function openEntry(parentFd: number, name: string): number | null {
  try {
    return openat(parentFd, name, O_PATH | fs.constants.O_NOFOLLOW | O_CLOEXEC);
  } catch (e) {
    if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return null;
    throw new Error(`cannot open ${name}: ${(e as Error).message}`, { cause: e });
  }
}

interface Frame<T> {
  fd: number;
  rel: string;
  names: string[];
  next: number;
  data: T | undefined;
}

// #region walk-layer
/**
 * Every entry under `dir`, a directory before its children, each
 * directory's names in `order`. A name that is gone by the time we open it
 * is skipped, as Docker's archiver skips a file that vanished. The caller
 * may await between entries (the walk waits where it yielded).
 */
export function* walkLayer<T = undefined>(dir: string | number, order?: (a: string, b: string) => number, exclude?: (rel: string) => boolean): Generator<LayerEntry<T>> {
  // A directory descriptor (one a caller found by a lookup inside a
  // container's root) is walked through a descriptor of its own: the
  // caller's stays open, and stays the caller's to close.
  const rootFd = typeof dir === 'number' ? openat(dir, '.', O_PATH | fs.constants.O_DIRECTORY | O_CLOEXEC) : fs.openSync(dir, O_PATH | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  const stack: Frame<T>[] = [{ fd: rootFd, rel: '', names: listDir(rootFd, order), next: 0, data: undefined }];
  try {
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next === top.names.length) {
        stack.pop();
        fs.closeSync(top.fd);
        continue;
      }
      const name = top.names[top.next++];
      const rel = top.rel ? `${top.rel}/${name}` : name;
      if (exclude?.(rel)) continue;
      const fd = openEntry(top.fd, name);
      if (fd === null) continue; // deleted since we listed the directory
      let into: Frame<T> | undefined;
      try {
        yield { name, rel, fd, parentFd: top.fd, parent: top.data, descend: (data, names) => (into = { fd, rel, names: names ?? listDir(fd, order), next: 0, data }) };
      } finally {
        // A directory the caller walks into keeps its descriptor until its
        // last child is done; every other entry's closes now.
        if (into) stack.push(into);
        else fs.closeSync(fd);
      }
    }
  } finally {
    for (const f of stack) fs.closeSync(f.fd);
  }
}
// #endregion walk-layer

/**
 * The bytes the files under `dir` take, as moby's directory.Size counts
 * them: directories not counted, a file with several hard links once.
 * Walked by descriptors (walkLayer), never following a symlink in it.
 */
export function treeSize(dir: string): number {
  let size = 0;
  const seen = new Set<string>();
  for (const e of walkLayer(dir)) {
    const st = fs.fstatSync(e.fd);
    if (st.isDirectory()) {
      e.descend(undefined);
      continue;
    }
    if (st.nlink > 1) {
      if (seen.has(`${st.dev}:${st.ino}`)) continue;
      seen.add(`${st.dev}:${st.ino}`);
    }
    size += st.size;
  }
  return size;
}
