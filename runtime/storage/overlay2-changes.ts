// `docker diff` for overlay2: read a layer's changes off its upper dir.
//
// The upper dir holds only what the layer changed, so one walk of it,
// checking each path against the stack below, is enough:
//   - a 0/0 character device is a whiteout: D (the path was deleted);
//   - any other entry is C if the path exists in the parent's view of the
//     tree (copied up, or replaced), else A;
//   - directories that are in the upper dir only because something inside
//     them changed are C too (they exist below): `docker diff` lists the
//     parents of a change, and so does this walk;
//   - an opaque directory (trusted.overlay.opaque=y) hides everything below
//     it. Docker's first overlay walk reported it as "D" (moby#37880:
//     `mkdir /foo` showed "D /foo", because the kernel also marks new
//     directories inside merged ones opaque, and `rm -rf /etc && mkdir /etc`
//     showed "D /etc" for a directory that exists). Since moby#37313 Docker
//     compares the parent's and the layer's trees instead, which reports the
//     replaced directory as C, and each entry the parent had in it that the
//     layer no longer has as D. This walk gives that same answer: an opaque
//     directory is A or C like any other, plus D for each name the stack
//     below shows in it that the upper dir lacks (one D per name, not per
//     file under it, as a deleted directory is one D).
import fs from 'node:fs';
import path from 'node:path';
import type { Change } from './driver.js';
import { lgetxattr, SyscallError } from '../sys/libc.js';
import { listDir, walkLayer } from './walk.js';

const isWhiteout = (st: fs.Stats) => st.isCharacterDevice() && st.rdev === 0;

/** trusted.overlay.opaque=y ("x" means "has whiteouts inside" to newer kernels: not opaque) */
export function isOpaque(dir: string): boolean {
  return lgetxattr(dir, 'trusted.overlay.opaque')?.toString() === 'y';
}

function lstat(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * What the stack `layers` (topmost first) shows at `rel`, as overlayfs would:
 * the topmost layer that has the path wins, unless a layer above hides it
 * with a whiteout, with a non-directory in place of one of its parents, or
 * with an opaque parent directory. Each path is checked one component at a
 * time with lstat, so a symlink in a layer is never followed out of it.
 */
export function lookup(layers: string[], rel: string): fs.Stats | null {
  const parts = rel.split('/').filter(Boolean);
  for (const layer of layers) {
    let opaqueAbove = false;
    for (let k = 1; k <= parts.length; k++) {
      const p = path.join(layer, ...parts.slice(0, k));
      const st = lstat(p);
      if (!st) break; // not in this layer: a lower one may have it
      if (isWhiteout(st)) return null;
      if (k === parts.length) return st;
      if (!st.isDirectory()) return null;
      if (isOpaque(p)) opaqueAbove = true;
    }
    if (opaqueAbove) return null;
  }
  return null;
}

/** The names the stack shows inside the directory `rel`. */
export function listView(layers: string[], rel: string): string[] {
  const names = new Set<string>();
  for (const layer of layers) {
    // Only read a layer's directory if every part of its path is a real
    // directory in that layer (never through a symlink).
    const parts = rel.split('/').filter(Boolean);
    let ok = true;
    for (let k = 0; k <= parts.length && ok; k++) ok = lstat(path.join(layer, ...parts.slice(0, k)))?.isDirectory() ?? false;
    if (ok) for (const n of fs.readdirSync(path.join(layer, rel))) names.add(n);
  }
  return [...names].filter((n) => lookup(layers, path.posix.join(rel, n)) !== null).sort();
}


/** isOpaque of an entry that may vanish meanwhile (then it is not opaque: it is not there). */
function opaqueOrGone(p: string): boolean {
  try {
    return isOpaque(p);
  } catch (e) {
    if (e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return false;
    throw e;
  }
}

/**
 * The changes in `upper` over the stack `lowers` (topmost first), sorted by path.
 * The upper dir is the container's to change while we read it, so it is
 * walked as pack.ts walks it: each name opened with openat(O_PATH|O_NOFOLLOW)
 * from its directory's descriptor, its type from fstat of that descriptor,
 * a directory listed through its own descriptor (/proc/self/fd/N), with
 * an explicit stack. A swapped-in symlink is listed as a symlink, never
 * followed into a host directory. (The lowers are image layers: the
 * container cannot write them.)
 */
export function overlayChanges(upper: string, lowers: string[]): Change[] {
  const out = new Map<string, Change['kind']>();
  // The walk's own data for a directory: is it inside an opaque one?
  for (const e of walkLayer<{ opaque: boolean }>(upper)) {
    const st = fs.fstatSync(e.fd);
    if (isWhiteout(st)) {
      out.set('/' + e.rel, 'D');
      continue;
    }
    const below = lookup(lowers, e.rel);
    out.set('/' + e.rel, below ? 'C' : 'A');
    if (!st.isDirectory()) continue;
    // Inside an opaque directory the upper dir is all there is: what the
    // stack below had there and the upper dir does not is deleted.
    const opaque = (e.parent?.opaque ?? false) || opaqueOrGone(`/proc/self/fd/${e.parentFd}/${e.name}`);
    const names = listDir(e.fd);
    if (opaque && below?.isDirectory()) {
      const here = new Set(names);
      for (const n of listView(lowers, e.rel)) if (!here.has(n)) out.set('/' + path.posix.join(e.rel, n), 'D');
    }
    e.descend({ opaque }, names);
  }
  return [...out].map(([p, kind]) => ({ kind, path: p })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
